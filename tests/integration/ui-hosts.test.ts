import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bed } from '../helpers/bed.js';
import { launchChromium, type Browser } from '../helpers/browser.js';
import type { CliRun } from '../helpers/cli-process.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { startAgent, startWorker, stopAgent, type EdgeWorker } from '../helpers/edge-worker.js';
import { expectAccessible, shoot } from '../helpers/ui.js';

/**
 * The web UI of the split deployment in real Chromium: the Worker in workerd (wrangler dev
 * --local) serving the built UI through [assets], sign-in, a host added in Settings → Hosts,
 * a real agent started with the join token the page shows, the host online in the switcher,
 * and the containers page listing a container of the bed through that host.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dockerHost = bed().dockerHost;
const run = `wduh-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const label = `wduh.run=${run}`;
const PASSWORD = 'ui hosts test password 5c1e';
const hostName = `${run}-a`;
const spare = `${run}-b`;
const box = `${run}-box`;
const dir = mkdtempSync(join(tmpdir(), 'wduh-'));

describe('web UI on Workers: hosts page, host switcher, containers through an agent', () => {
  let worker: EdgeWorker;
  let browser: Browser;
  let page: Page;
  let agent: CliRun | null = null;

  const nav = (name: string) => page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name, exact: true });
  const switcher = () => page.getByRole('combobox', { name: 'Host' });

  beforeAll(async () => {
    // The UI as the build made it; built here only when missing (no rebuild of a shared tree).
    if (!existsSync(join(ROOT, 'dist/web/index.html'))) execFileSync('npm', ['run', 'build:web'], { cwd: ROOT, stdio: 'inherit' });
    await docker(dockerHost, ['run', '-d', '--network', 'none', '--stop-timeout', '1', '--label', label, '--name', box, 'wd-busybox:latest', 'sleep', '3600']);
    worker = await startWorker({ persistDir: join(dir, 'state'), vars: { USER_NAME: 'admin', USER_PASSWORD: PASSWORD, WATCH_POLICY_ONLY_LABELS: label } });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.addInitScript("if (!localStorage.getItem('wd.lang')) localStorage.setItem('wd.lang', 'en')");
  }, 80_000);

  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await browser?.close();
    await worker?.stop();
    await dockerQuiet(dockerHost, ['rm', '-f', box]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, adds a host, shows its join token and agent command once; the agent started with it comes online', async () => {
    await page.goto(`${worker.url}/`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
    // /api/hosts answers on Workers: the Hosts entry appears.
    await nav('Hosts').click();
    await page.getByRole('heading', { name: 'Hosts', level: 1 }).waitFor();
    await page.getByText('No hosts yet').waitFor();

    await page.getByLabel('Host name').fill(hostName);
    await page.getByRole('button', { name: 'Add host' }).click();
    const joinToken = (await page.getByTestId('join-token').textContent())?.trim() ?? '';
    expect(joinToken).toMatch(/^wdj_[A-Za-z0-9_-]{43}$/);
    const command = (await page.getByTestId('agent-command').textContent()) ?? '';
    expect(command).toContain(`AGENT_JOIN_TOKEN=${joinToken} watch-docker agent --url ${worker.url.replace(/^http/, 'ws')} --host ${hostName}`);
    await page.locator(`tr[data-host="${hostName}"]`).getByText('waiting for its agent').waitFor();
    // The switcher shows it, offline, and picked it (the only host).
    expect(await switcher().inputValue()).toBe(hostName);
    expect(await switcher().locator('option').allTextContents()).toEqual([`${hostName} (offline)`]);
    await expectAccessible(page, 'hosts page (token shown)');

    agent = startAgent({ url: worker.url, host: hostName, keyFile: join(dir, 'a.key'), joinToken, dockerHost });
    // The page refreshes the list by itself.
    await page.locator(`tr[data-host="${hostName}"]`).getByText('online', { exact: true }).waitFor({ timeout: 30_000 });
    const version = (await page.locator(`tr[data-host="${hostName}"] td.mono`).textContent())?.trim();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await page.locator(`tr[data-host="${hostName}"] td[data-label="Last seen"]`).textContent()).not.toBe('—');
    await switcher().locator('option', { hasText: hostName }).waitFor({ state: 'attached' });
    expect(await switcher().locator('option').allTextContents()).toEqual([hostName]);
    await expectAccessible(page, 'hosts page');
    await shoot(page, 'hosts');
  });

  it('lists the host\'s containers through the agent and keeps the live event stream on that host', async () => {
    await nav('Containers').click();
    await page.getByRole('searchbox', { name: 'Search name, image or project' }).fill(run);
    await page.locator(`tr[data-name="${box}"]`).waitFor({ timeout: 30_000 });
    expect(await page.locator(`tr[data-name="${box}"]`).textContent()).toContain('wd-busybox:latest');
    // The event stream's WebSocket names the host (?host=): it connects.
    await page.locator('.live-dot.on').waitFor();
    expect(await page.evaluate("localStorage.getItem('wd.host')")).toBe(hostName);
  });

  it('switching to an offline host shows its error; switching back reloads the containers; revoke asks first', async () => {
    await nav('Hosts').click();
    await page.getByLabel('Host name').fill(spare);
    await page.getByRole('button', { name: 'Add host' }).click();
    await page.locator(`tr[data-host="${spare}"]`).waitFor();
    await nav('Containers').click();
    await page.locator(`tr[data-name="${box}"]`).waitFor();
    await switcher().selectOption(spare);
    await page.getByRole('alert').getByText(`host ${spare} is offline`).waitFor();
    expect(await page.locator(`tr[data-name="${box}"]`).count()).toBe(0);
    await switcher().selectOption(hostName);
    await page.getByRole('searchbox', { name: 'Search name, image or project' }).fill(run);
    await page.locator(`tr[data-name="${box}"]`).waitFor();

    await nav('Hosts').click();
    await page.getByRole('button', { name: `Revoke ${spare}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Revoke host ${spare}?`).waitFor();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page.locator(`tr[data-host="${spare}"]`).waitFor({ state: 'detached' });
    expect(await switcher().locator('option').allTextContents()).toEqual([hostName]);
  });

  it('the switcher follows the host going offline and back on every page, without a visit to Hosts', async () => {
    await nav('Containers').click();
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search name, image or project' }).fill(run);
    await page.locator(`tr[data-name="${box}"]`).waitFor();
    await page.evaluate('window.sameDocument = true');
    const hostsCalls: string[] = [];
    page.on('request', (r) => void (new URL(r.url()).pathname === '/api/hosts' && hostsCalls.push(r.method())));
    // The agent goes away: the switcher says so within its poll interval (10 s), here on Containers.
    if (agent) await stopAgent(agent);
    agent = null;
    await switcher().locator('option', { hasText: `${hostName} (offline)` }).waitFor({ state: 'attached', timeout: 30_000 });
    expect(new URL(page.url()).pathname).toBe('/');
    expect(hostsCalls.length).toBeGreaterThan(0);
    expect(hostsCalls.every((m) => m === 'GET')).toBe(true);
    // Still the chosen host (it is only offline), on the same page, never reloaded.
    expect(await switcher().inputValue()).toBe(hostName);
    // Back: the agent reconnects with its key (no join token now) and the switcher follows, on Images.
    agent = startAgent({ url: worker.url, host: hostName, keyFile: join(dir, 'a.key'), dockerHost });
    await nav('Images').click();
    await page.getByRole('heading', { name: 'Images' }).waitFor();
    await switcher().locator('option', { hasText: new RegExp(`^${hostName}$`) }).waitFor({ state: 'attached', timeout: 30_000 });
    expect(await switcher().locator('option').allTextContents()).toEqual([hostName]);
    expect(await page.evaluate('window.sameDocument === true')).toBe(true);
  });
});
