import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { bed } from './bed.js';
import { CLI, startCli, waitForPort, type CliRun } from './cli-process.js';

/** Browser tests of the web UI: the real built server (dist/cli.js with dist/web) and Debian's Chromium. */

export const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

export interface UiServer {
  run: CliRun;
  port: number;
  /** http://localhost:PORT (WebAuthn refuses 127.0.0.1). */
  base: string;
  dataDir: string;
  stop: () => Promise<void>;
}

/** Starts `node dist/cli.js` on a free port with its own data dir; the web UI must be built (npm run build). */
export async function startUiServer(env: Record<string, string>): Promise<UiServer> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  if (!existsSync(fileURLToPath(new URL('../../dist/web/index.html', import.meta.url)))) throw new Error('dist/web is missing: run `npm run build` (it builds the web UI)');
  const dataDir = mkdtempSync(join(tmpdir(), 'wdt-ui-'));
  const run = startCli([], {
    DOCKER_HOST: bed().dockerHost,
    WATCH_SERVER_ADDR: '127.0.0.1:0',
    WATCH_STORE_DATA_DIR: dataDir,
    WATCH_AUTH_PASSWORD_ITERATIONS: '100000',
    ...env,
  });
  const port = await waitForPort(run, 20_000);
  return {
    run,
    port,
    base: `http://localhost:${port}`,
    dataDir,
    stop: async () => {
      if (run.child.exitCode === null) {
        run.child.kill('SIGTERM');
        const gone = await Promise.race([run.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5_000))]);
        if (!gone) run.child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Saves the page at desktop (1280 px) and phone (390 px) width as test-artifacts/screenshots/NAME-{1280,390}.png. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const before = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  // Nothing may stick out sideways on a phone.
  const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  expect(overflow, `${name}: the page is wider than a 390 px phone`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize(before);
}

let axeSource = '';
/** Runs axe-core in the page; fails on any serious or critical violation (named with its nodes). */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  if (!axeSource) axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through DevTools, so the page's CSP (script-src 'self') does not block it.
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axeSource);
  const violations = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`)) as {
    id: string;
    impact: string;
    help: string;
    nodes: string[];
  }[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad, `${what}: axe-core found serious or critical violations`).toEqual([]);
}

/** A TOTP code from oathtool, an implementation independent of the server's (offset in seconds). */
export function oathtool(secret: string, offsetSeconds = 0): string {
  const args = ['--totp', '-b', secret];
  if (offsetSeconds !== 0) args.push('-N', `now ${offsetSeconds > 0 ? '+' : '-'} ${Math.abs(offsetSeconds)} seconds`);
  return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}

/** Navigates inside the single-page app (as a click on a link would), without a reload. */
export async function goInApp(page: Page, path: string): Promise<void> {
  await page.evaluate(`history.pushState(null, '', ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent('popstate'))`);
}
