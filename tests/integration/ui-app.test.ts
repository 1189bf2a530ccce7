import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bed } from '../helpers/bed.js';
import { launchChromium, type Browser } from '../helpers/browser.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { startRateLimitProxy, type RateLimitProxy } from '../helpers/registry-failure.js';
import { expectAccessible, shoot, startUiServer, type UiServer } from '../helpers/ui.js';

/**
 * The web UI in real Chromium against the real server and engine: the containers page with
 * real statuses, an update clicked in the page, live changes, images, history, compose
 * created in the editor, the host terminal, machine tokens, languages and themes; axe-core
 * on every page and screenshots at 1280 and 390 px.
 */

const host = bed().dockerHost;
const run = `wdui-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const selector = `wdui.run=${run}`;
const repoA = `${bed().regPlain}/wdui/${run}-a`;
const repoB = `${bed().regPlain}/wdui/${run}-b`;
/** The compose project's image: a new one is pushed under its tag before "Update". */
const repoC = `${bed().regPlain}/wdui/${run}-c`;
const gone = `127.0.0.1:5009/wdui/${run}-gone:latest`;
const names = { upd: `${run}-upd`, upd2: `${run}-upd2`, ok: `${run}-ok`, skip: `${run}-skip`, err: `${run}-err`, rl: `${run}-rl` };
/** A registry over its pull quota: the answer carries Retry-After, which the page must show. */
const RETRY_AFTER = 3600;
const project = `${run}-stack`.replace(/[^a-z0-9_-]/g, '');
const PASSWORD = 'ui-app-test-password-1';

describe('web UI: containers, update, images, compose, terminal, settings', () => {
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let appPath = '';
  let limiter: RateLimitProxy;
  let rlImage = '';
  const oldImages: string[] = [];

  const row = (name: string) => page.locator(`tr[data-name="${name}"]`);
  const nav = (label: string) => page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: label, exact: true });

  beforeAll(async () => {
    const runIt = (name: string, image: string, extra: string[] = [], cmd: string[] = []) =>
      docker(host, ['run', '-d', '--network', 'none', '--stop-timeout', '1', '--name', name, '--label', selector, ...extra, image, ...cmd]);
    // A real registry behind a proxy that answers 429 to manifest reads once the image is pushed.
    limiter = await startRateLimitProxy(bed().regPlain, RETRY_AFTER);
    rlImage = `${limiter.host}/wdui/${run}-rl:latest`;
    for (const repo of [repoA, repoB, repoC]) {
      const id = await buildImage(host, `${repo}:latest`);
      // (repo A's first image loses its tag to the second one below: removed by its ID)
      if (repo === repoA) oldImages.push(id);
      await pushImage(host, `${repo}:latest`);
    }
    await buildImage(host, rlImage);
    await pushImage(host, rlImage);
    await runIt(names.rl, rlImage);
    limiter.limiting = true;
    await buildImage(host, gone);
    await runIt(names.upd, `${repoA}:latest`);
    await runIt(names.upd2, `${repoA}:latest`);
    await runIt(names.ok, `${repoB}:latest`, [], ['sh', '-c', 'echo wdui-log-line; exec sleep 3600']);
    await runIt(names.skip, `${repoB}:latest`, ['--label', 'watchdocker.skip=true']);
    // A local build, forced to be checked, against a registry address nothing listens on.
    await runIt(names.err, gone, ['--label', 'watchdocker.force=true']);
    // A new image under repo A's tag: its container has an update.
    await buildImage(host, `${repoA}:latest`);
    await pushImage(host, `${repoA}:latest`);

    appPath = mkdtempSync(join(tmpdir(), 'wdui-apps-'));
    server = await startUiServer({
      USER_PASSWORD: PASSWORD,
      IS_OPEN_DOCKER_SHELL: 'true',
      APP_PATH: appPath,
      WATCH_POLICY_ONLY_LABELS: selector,
      WATCH_UPDATE_SETTLE_TIME: '1s',
      WATCH_SCAN_INITIAL_SCAN_ON_START: 'false',
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    // The UI follows the browser's language until one is picked; this file starts in English.
    await page.addInitScript("if (!localStorage.getItem('wd.lang')) localStorage.setItem('wd.lang', 'en')");
    await page.goto(`${server.base}/`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await dockerQuiet(host, ['compose', '-p', project, 'down', '--remove-orphans', '-t', '1']);
    const ids = await docker(host, ['ps', '-aq', '--filter', `label=${selector}`]).catch(() => '');
    for (const id of ids.split('\n').filter(Boolean)) await dockerQuiet(host, ['rm', '-f', id]);
    await dockerQuiet(host, ['rmi', '-f', `${repoA}:latest`, `${repoB}:latest`, `${repoC}:latest`, gone, ...(rlImage ? [rlImage] : []), ...oldImages]);
    await limiter?.close();
    if (appPath) rmSync(appPath, { recursive: true, force: true });
  });

  it('shows the containers with their statuses after "Scan now"', async () => {
    await page.getByRole('searchbox', { name: 'Search name, image or project' }).fill(run);
    await row(names.upd).waitFor();
    await page.getByRole('button', { name: 'Scan now' }).click();
    await page.getByText(/^Scan finished: \d+ containers checked\.$/).waitFor({ timeout: 30_000 });
    await page.locator(`tr[data-name="${names.upd}"][data-status="UpdateAvailable"]`).waitFor();
    expect(await row(names.ok).getAttribute('data-status')).toBe('UpToDate');
    expect(await row(names.skip).getAttribute('data-status')).toBe('Skipped');
    expect(await row(names.err).getAttribute('data-status')).toBe('Error');
    // Each badge as the user reads it, with the reason or message beside it where there is one.
    expect(await row(names.upd).locator('.badge').textContent()).toBe('Update available');
    expect(await row(names.ok).locator('.badge').textContent()).toBe('Up to date');
    expect(await row(names.ok).locator('.why').count()).toBe(0);
    expect(await row(names.skip).locator('.badge').textContent()).toBe('Skipped');
    expect(await row(names.skip).locator('.why').textContent()).toContain('watchdocker.skip');
    expect(await row(names.err).locator('.badge').textContent()).toBe('Error');
    expect(await row(names.err).locator('.why').textContent()).toContain('127.0.0.1:5009');
    // The registry answered 429 with Retry-After: "Rate limited", and when to try again.
    expect(limiter.refused).toBeGreaterThan(0);
    expect(await row(names.rl).getAttribute('data-status')).toBe('Error');
    expect(await row(names.rl).locator('.badge').textContent()).toBe('Rate limited');
    expect(await row(names.rl).locator('.why').textContent()).toBe(`rate limited by ${limiter.host}, retry after ${RETRY_AFTER} s`);
    for (const n of Object.values(names)) expect(await row(n).locator('.sub', { hasText: 'Last checked' }).textContent()).not.toContain('never');
    expect(await row(names.upd).textContent()).toContain(`${repoA}:latest`);
    // Filters: only the one with an update.
    await page.locator(`tr[data-name="${names.upd2}"][data-status="UpdateAvailable"]`).waitFor();
    await page.getByRole('combobox', { name: 'Status' }).selectOption('UpdateAvailable');
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.getByRole('combobox', { name: 'Status' }).selectOption('Error');
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('combobox', { name: 'Status' }).selectOption('RateLimited');
    expect(await page.locator('tbody tr').getAttribute('data-name')).toBe(names.rl);
    await page.getByRole('combobox', { name: 'Status' }).selectOption('');
    expect(await page.locator('tbody tr').count()).toBe(6);
    await expectAccessible(page, 'containers page');
    await shoot(page, 'containers');
  });

  it('updates a container from its row: the container is recreated and the badge changes without a reload', async () => {
    const before = await docker(host, ['inspect', '--format', '{{.Id}}', names.upd]);
    await page.evaluate('window.sameDocument = true');
    await page.getByRole('button', { name: `Update ${names.upd}`, exact: true }).click();
    await page.locator(`tr[data-name="${names.upd}"][data-status="UpToDate"]`).waitFor({ timeout: 60_000 });
    expect(await page.evaluate('window.sameDocument === true')).toBe(true);
    const after = await docker(host, ['inspect', '--format', '{{.Id}}', names.upd]);
    expect(after).not.toBe(before);
    expect(await docker(host, ['inspect', '--format', '{{.Config.Image}}', names.upd])).toBe(`${repoA}:latest`);
    await page.getByText(`${names.upd} updated.`).waitFor();
  });

  it('"Update all available" updates the rest after a confirmation', async () => {
    const before = await docker(host, ['inspect', '--format', '{{.Id}}', names.upd2]);
    await page.getByRole('button', { name: 'Update all available (1)' }).click();
    await page.getByRole('dialog').getByText('Update 1 containers that have an update?').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Update' }).click();
    await page.getByText(/^1 updated, 0 failed, \d+ skipped\.$/).waitFor({ timeout: 60_000 });
    await page.locator(`tr[data-name="${names.upd2}"][data-status="UpToDate"]`).waitFor();
    expect(await docker(host, ['inspect', '--format', '{{.Id}}', names.upd2])).not.toBe(before);
    expect(await page.getByRole('button', { name: 'Update all available (0)' }).isDisabled()).toBe(true);
  });

  it('shows a change made outside the page (docker stop) without a reload, from the event stream', async () => {
    await docker(host, ['stop', '-t', '1', names.skip]);
    await row(names.skip).getByRole('button', { name: `Start ${names.skip}` }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate('window.sameDocument === true')).toBe(true);
    // And back, from the page, with the confirmation for stop.
    await row(names.skip).getByRole('button', { name: `Start ${names.skip}` }).click();
    await row(names.skip).getByRole('button', { name: `Stop ${names.skip}` }).waitFor();
    expect(await docker(host, ['inspect', '--format', '{{.State.Running}}', names.skip])).toBe('true');
  });

  it('deletes a container after confirmation', async () => {
    await row(names.err).getByRole('button', { name: `Delete ${names.err}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Delete container ${names.err}?`).waitFor();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row(names.err).waitFor({ state: 'detached' });
    expect(await docker(host, ['ps', '-aq', '--filter', `name=^${names.err}$`])).toBe('');
  });

  it('container detail: configuration, live logs, a shell in the container, update history', async () => {
    await row(names.ok).getByRole('link', { name: names.ok }).click();
    await page.getByRole('heading', { name: names.ok }).waitFor();
    await page.getByText(`${repoB}:latest`).first().waitFor();
    await page.getByRole('region', { name: `Logs: ${names.ok}` }).or(page.getByLabel(`Logs: ${names.ok}`)).filter({ hasText: 'wdui-log-line' }).waitFor();
    // A shell inside the container (docker exec in a PTY), loaded when asked for.
    await page.getByRole('button', { name: 'Open a shell in the container' }).click();
    const term = page.getByRole('region', { name: `Shell: ${names.ok}` });
    await term.locator('.xterm-rows').waitFor();
    await term.locator('.xterm').click();
    await page.keyboard.type('echo wdui-in-$((2+3))\n');
    await term.locator('.xterm-rows').filter({ hasText: 'wdui-in-5' }).waitFor();
    await expectAccessible(page, 'container detail page');
    await shoot(page, 'container-detail');
    await page.getByRole('link', { name: '← Containers' }).click();
    await row(names.upd).getByRole('link', { name: names.upd, exact: true }).click();
    await page.getByRole('heading', { name: names.upd, exact: true }).waitFor();
    await page.locator('tr[data-result="updated"]').first().waitFor();
  });

  it('images page: sizes and the containers using them', async () => {
    await nav('Images').click();
    await page.getByRole('heading', { name: 'Images' }).waitFor();
    await page.getByRole('searchbox').fill(run);
    const img = page.locator('tbody tr', { hasText: `${repoB}:latest` });
    await img.waitFor();
    expect(await img.textContent()).toContain(names.ok);
    expect(await img.textContent()).toMatch(/\d+(\.\d)? (B|KB|MB)/);
    await expectAccessible(page, 'images page');
    await shoot(page, 'images');
    // The image of the container deleted above is used by nobody now: delete it from its row.
    const unused = page.locator('tbody tr', { hasText: gone });
    await unused.getByRole('button', { name: `Delete ${gone}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await unused.waitFor({ state: 'detached' });
    expect(await docker(host, ['images', '-q', gone])).toBe('');
  });

  it('update history page lists the update', async () => {
    await nav('Update history').click();
    await page.getByRole('heading', { name: 'Update history' }).waitFor();
    await page.locator('tr[data-result="updated"]').filter({ has: page.getByRole('link', { name: names.upd, exact: true }) }).waitFor();
    await expectAccessible(page, 'update history page');
    await shoot(page, 'history');
  });

  it('compose: a project created in the editor is refused while invalid, then starts and shows running', async () => {
    await nav('Compose').click();
    await page.getByRole('heading', { name: 'Compose projects' }).waitFor();
    await page.getByRole('link', { name: 'New project' }).click();
    await page.getByRole('heading', { name: 'New project' }).waitFor();
    await page.getByLabel('Project name').fill(project);
    const editor = page.locator('.cm-content');
    await editor.waitFor();
    const setYaml = async (text: string) => {
      await editor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.insertText(text);
    };
    await setYaml(`services:\n  app:\n    image: ${bed().baseImage}\n    bogus_key: 1\n`);
    await page.getByRole('button', { name: 'Create and start' }).click();
    const problem = page.getByTestId('compose-error');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('bogus_key');
    await expectAccessible(page, 'compose editor');
    await shoot(page, 'compose-editor');
    await setYaml(`services:\n  app:\n    image: ${repoC}:latest\n    command: ["sh", "-c", "echo wdui-compose-log; exec sleep 3600"]\n    stop_grace_period: 1s\n    network_mode: none\n    labels:\n      wdui.run: "${run}"\n`);
    await page.getByRole('button', { name: 'Create and start' }).click();
    await page.getByRole('heading', { name: 'Compose projects' }).waitFor();
    await page.locator(`article[data-project="${project}"][data-status="running"]`).waitFor({ timeout: 30_000 });
    expect(await docker(host, ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`])).not.toBe('');
    await expectAccessible(page, 'compose page');
    await shoot(page, 'compose');
    // Its file opens in the editor again, as the server keeps it.
    const card = page.locator(`article[data-project="${project}"]`);
    await card.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: `Edit: ${project}` }).waitFor();
    await page.locator('.cm-content').filter({ hasText: 'wdui-compose-log' }).waitFor();
    expect(await page.getByLabel('Project name').inputValue()).toBe(project);
    await page.getByRole('link', { name: '← Compose projects' }).click();
    // The project's logs, live from the page.
    await card.getByRole('button', { name: 'Logs' }).click();
    await page.getByLabel(`Logs: ${project}`).filter({ hasText: /app.*\| wdui-compose-log/ }).waitFor();
    const progress = page.getByLabel(`Progress: ${project}`);
    const appContainer = () => docker(host, ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`]);
    const inspect = (id: string, fmt: string) => docker(host, ['inspect', '--format', fmt, id]);
    // Restart: the progress streams below the project; the same container runs again, started anew.
    const first = await appContainer();
    const startedAt = await inspect(first, '{{.State.StartedAt}}');
    await page.getByRole('button', { name: `Restart ${project}` }).click();
    await progress.filter({ hasText: '✓ restart' }).waitFor({ timeout: 30_000 });
    expect(await progress.textContent()).toMatch(new RegExp(`▶ restart\\n(.*\\n)*.*Container ${project}-app-1\\s+Restarting`));
    await page.getByText(`Restart of ${project}: done.`).waitFor();
    await page.locator(`article[data-project="${project}"][data-status="running"]`).waitFor();
    expect(await appContainer()).toBe(first);
    expect(await inspect(first, '{{.State.StartedAt}}')).not.toBe(startedAt);
    // A new image under the service's tag, in the registry only (the local tag is dropped, as on
    // a host that has not pulled yet); a scan then marks the project "update available".
    const oldImage = await inspect(first, '{{.Image}}');
    oldImages.push(oldImage);
    const newImage = await buildImage(host, `${repoC}:latest`);
    await pushImage(host, `${repoC}:latest`);
    await docker(host, ['rmi', `${repoC}:latest`]);
    await nav('Containers').click();
    await page.getByRole('button', { name: 'Scan now' }).click();
    await page.getByText(/^Scan finished: \d+ containers checked\.$/).waitFor({ timeout: 30_000 });
    await nav('Compose').click();
    const badge = card.locator('header .badge.b-UpdateAvailable');
    await badge.waitFor();
    expect(await badge.textContent()).toBe('update available');
    expect(await card.locator('.services li', { hasText: 'app' }).locator('.badge.b-UpdateAvailable').count()).toBe(1);
    // Pull: the new image is on the host now; the service still runs the old one (still an update).
    await page.getByRole('button', { name: `Pull ${project}` }).click();
    await progress.filter({ hasText: '✓ pull' }).waitFor({ timeout: 60_000 });
    expect(await progress.textContent()).toMatch(/▶ pull\n(.*\n)*.*\bapp\s+Pull/);
    await page.getByText(`Pull of ${project}: done.`).waitFor();
    expect(await docker(host, ['image', 'inspect', '--format', '{{.Id}}', `${repoC}:latest`])).toBe(newImage);
    expect(await appContainer()).toBe(first);
    expect(await badge.count()).toBe(1);
    await expectAccessible(page, 'compose page with an update and an action\'s progress');
    await shoot(page, 'compose-actions');
    // Update: the service's container is recreated on the new image; the badge goes.
    await page.getByRole('button', { name: `Update ${project}` }).click();
    await progress.filter({ hasText: '✓ update' }).waitFor({ timeout: 60_000 });
    expect(await progress.textContent()).toMatch(new RegExp(`▶ update\\n(.*\\n)*.*Container ${project}-app-1\\s+Recreated`));
    await page.getByText(`Update of ${project}: done.`).waitFor();
    await page.locator(`article[data-project="${project}"][data-status="running"]`).waitFor();
    const recreated = await appContainer();
    expect(recreated).not.toBe(first);
    expect(await inspect(recreated, '{{.Image}}')).toBe(newImage);
    await badge.waitFor({ state: 'detached' });
    expect(await card.locator('.badge.b-UpdateAvailable').count()).toBe(0);
    // Stop from the page: the action's progress streams below the project, and the status follows.
    await page.getByRole('button', { name: `Stop ${project}` }).click();
    await page.getByLabel(`Progress: ${project}`).filter({ hasText: '✓ stop' }).waitFor({ timeout: 30_000 });
    await page.locator(`article[data-project="${project}"][data-status="stopped"]`).waitFor({ timeout: 30_000 });
    // Delete with its files.
    await page.getByRole('button', { name: `Delete ${project}` }).click();
    await page.getByRole('dialog').getByLabel('Also delete its files').check();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.locator(`article[data-project="${project}"]`).waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('host terminal runs a command and shows its output, UTF-8 included', async () => {
    await nav('Terminal').click();
    await page.getByRole('heading', { name: 'Host terminal' }).waitFor();
    const term = page.locator('.xterm-rows');
    await term.waitFor();
    await page.locator('.xterm').click();
    // The output differs from what is typed: $((6*7)) and the octal escapes are the shell's work.
    await page.keyboard.type("echo wdui-$((6*7)); printf '\\344\\275\\240\\345\\245\\275\\n'\n");
    await term.filter({ hasText: 'wdui-42' }).waitFor();
    await term.filter({ hasText: /你\s?好/ }).waitFor();
    await expectAccessible(page, 'terminal page');
    await shoot(page, 'terminal');
  });

  it('settings: a machine token is shown once and can be revoked', async () => {
    await nav('Settings').click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByLabel('Token name').fill('wdui-ci');
    await page.getByLabel('Images or repositories (comma separated)').fill(repoA);
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.getByTestId('new-token').textContent()) ?? '';
    expect(token).toMatch(/^wdm_[A-Za-z0-9_-]{40,}$/);
    await page.locator('tr[data-token="wdui-ci"]').waitFor();
    await expectAccessible(page, 'settings page');
    await shoot(page, 'settings');
    await page.getByRole('button', { name: 'Revoke wdui-ci' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.locator('tr[data-token="wdui-ci"]').waitFor({ state: 'detached' });
    await page.getByTestId('new-token').waitFor({ state: 'detached' });
  });

  it('switches to Chinese (remembered across a reload) and to the dark theme', async () => {
    await nav('Containers').click();
    await page.getByRole('combobox', { name: 'Language' }).selectOption('zh');
    await page.getByRole('heading', { name: '容器' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: '容器' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    await page.getByRole('searchbox').fill(run);
    await row(names.upd).waitFor();
    await expectAccessible(page, 'containers page in Chinese');
    await shoot(page, 'containers-zh');
    await page.getByRole('combobox', { name: '主题' }).selectOption('dark');
    expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(13, 17, 23)');
    await expectAccessible(page, 'containers page, dark theme');
    await shoot(page, 'containers-dark');
    await page.getByRole('combobox', { name: '主题' }).selectOption('auto');
    await page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
  });
});
