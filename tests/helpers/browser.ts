import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`, listed in tests/bed/install.sh). */
export const CHROMIUM = process.env.WD_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Browser {
  context: BrowserContext;
  close: () => Promise<void>;
}

/** Launches headless Chromium on a fresh user-data dir (removed by close()). */
export async function launchChromium(timeoutMs = 15_000): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (tests/bed/install.sh does)`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'wd-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: timeoutMs });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Adds a DevTools virtual authenticator to one page (a platform authenticator with resident keys
 * and user verification that answers by itself). Without one, navigator.credentials.create()
 * waits for its whole timeout.
 */
export async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

/**
 * The UMD bundle of @simplewebauthn/browser (global `SimpleWebAuthnBrowser`). Its exports map hides
 * dist/bundle, so resolve the package's main entry and walk up to the package root.
 */
export function simpleWebAuthnBrowserBundle(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@simplewebauthn/browser'));
  const isRoot = (d: string) => existsSync(join(d, 'package.json')) && (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string }).name === '@simplewebauthn/browser';
  // (script/ and esm/ hold package.json files of their own, without a name)
  while (!isRoot(dir)) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the @simplewebauthn/browser package root');
    dir = up;
  }
  return readFileSync(join(dir, 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
}
