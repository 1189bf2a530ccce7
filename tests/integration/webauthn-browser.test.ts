import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bed } from '../helpers/bed.js';
import { addVirtualAuthenticator, launchChromium, simpleWebAuthnBrowserBundle, type Browser } from '../helpers/browser.js';
import { CLI, startCli, waitForPort, type CliRun } from '../helpers/cli-process.js';

/**
 * WebAuthn registration and login in real Chromium (Debian's, driven by playwright-core) with a
 * DevTools virtual authenticator, against the real built server (`node dist/cli.js`).
 *
 * The page (tests/fixtures/webauthn-page) is answered by a playwright route at
 * http://localhost:<app port>/__webauthn-test/, so the page and the API share one real origin;
 * every /api call goes over the network to the app, with the Host and Origin the browser sets.
 */

const USER = 'admin';
const PASSWORD = 'webauthn-browser-test-password-1';
const STEP_MS = 5_000;
const FIXTURE = fileURLToPath(new URL('../fixtures/webauthn-page/index.html', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/webauthn-browser/', import.meta.url));

interface ApiResult {
  status: number;
  body: { code: number; msg: string; data: Record<string, unknown> | null } | null;
}
interface Ceremony {
  begin: ApiResult;
  response?: Record<string, unknown>;
  browserError?: string;
  finish?: ApiResult;
}
/** What the page script defines (tests/fixtures/webauthn-page/index.html). */
interface PageApi {
  api: (path: string, token: string | null, body?: unknown) => Promise<ApiResult>;
  login: (username: string, password: string) => Promise<ApiResult>;
  register: (tempToken: string) => Promise<Ceremony>;
  authenticate: (tempToken: string) => Promise<Ceremony>;
  assertOnly: (optionsJSON: unknown) => Promise<{ response?: Record<string, unknown>; browserError?: string }>;
  show: (state: string, detail?: unknown) => void;
}
/** The page's global scope, as seen from functions run in it by page.evaluate (no DOM types here). */
type PageGlobal = { wd: PageApi };

const timings: Record<string, number> = {};
/** Runs one step with a short deadline and records how long it took. */
async function step<T>(name: string, work: () => Promise<T>, ms = STEP_MS): Promise<T> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`step "${name}" took longer than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
    let key = name;
    for (let n = 2; key in timings; n++) key = `${name} #${n}`;
    timings[key] = Math.round(performance.now() - started);
  }
}

const tokenOf = (r: ApiResult | undefined): string | undefined => (r?.body?.data?.token as string | undefined) ?? undefined;

describe('WebAuthn in real Chromium with a virtual authenticator', () => {
  let server: CliRun | undefined;
  let browser: Browser | undefined;
  let dataDir = '';
  let port = 0;
  let home = '';
  let page: Page;
  let firstAuthenticator: { cdp: Awaited<ReturnType<typeof addVirtualAuthenticator>>['cdp']; authenticatorId: string };
  let bundle = '';
  const html = readFileSync(FIXTURE, 'utf8');

  /** A new tab at ORIGIN/__webauthn-test/ (answered by the route), with its own virtual authenticator. */
  async function openPage(origin: string): Promise<{ page: Page; authenticatorId: string; cdp: Awaited<ReturnType<typeof addVirtualAuthenticator>>['cdp'] }> {
    if (!browser) throw new Error('no browser');
    const p = await browser.context.newPage();
    p.setDefaultTimeout(STEP_MS);
    await p.route('**/__webauthn-test/**', (route) => {
      const url = new URL(route.request().url());
      if (url.pathname.endsWith('.js')) return route.fulfill({ status: 200, contentType: 'text/javascript', body: bundle });
      return route.fulfill({ status: 200, contentType: 'text/html', body: html });
    });
    const { cdp, authenticatorId } = await addVirtualAuthenticator(p);
    await p.goto(`${origin}/__webauthn-test/index.html`);
    await p.waitForFunction("document.getElementById('state')?.textContent === 'ready'");
    return { page: p, cdp, authenticatorId };
  }

  const login = (p: Page) => step('login', () => p.evaluate(([u, pw]) => (globalThis as unknown as PageGlobal).wd.login(u as string, pw as string), [USER, PASSWORD]));

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    bundle = simpleWebAuthnBrowserBundle();
    dataDir = mkdtempSync(join(tmpdir(), 'wdt-webauthn-'));
    server = startCli([], {
      DOCKER_HOST: bed().dockerHost,
      WATCH_SERVER_ADDR: '127.0.0.1:0',
      WATCH_STORE_DATA_DIR: dataDir,
      USER_NAME: USER,
      USER_PASSWORD: PASSWORD,
      WATCH_AUTH_PASSWORD_ITERATIONS: '100000',
      IS_SECONDARY_VERIFICATION: 'true',
      TWOFA_ALLOWED_DOMAINS: 'localhost',
    });
    port = await step('server start', () => waitForPort(server as CliRun), 15_000);
    home = `http://localhost:${port}`;
    browser = await step('chromium launch', () => launchChromium(), 15_000);
    const opened = await step('open page', () => openPage(home));
    page = opened.page;
    firstAuthenticator = opened;
  });

  afterAll(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      const gone = await Promise.race([server.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5_000))]);
      if (!gone) server.child.kill('SIGKILL');
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
    console.log(`[webauthn-browser] timings (ms): ${JSON.stringify(timings)}`);
  });

  // Shared by the tests below, which run in order.
  let setupTemp = '';
  let registration: Ceremony | undefined;
  let loginTemp = '';
  let authentication: Ceremony | undefined;
  let fullToken = '';

  it('registers a security key, signs in with it, and the full token reads /api/containers', async () => {
    const first = await login(page);
    expect(first.status).toBe(200);
    expect(first.body?.data).toMatchObject({ requiresTwoFA: true, isSetup: false });
    setupTemp = tokenOf(first) as string;
    expect(setupTemp).toBeTruthy();

    const reg = await step('registration ceremony', () => page.evaluate((t) => (globalThis as unknown as PageGlobal).wd.register(t), setupTemp));
    registration = reg;
    expect(reg.begin.status, JSON.stringify(reg.begin.body)).toBe(200);
    expect(reg.begin.body?.data).toMatchObject({ rp: { id: 'localhost' } });
    expect(reg.browserError).toBeUndefined();
    expect(reg.finish?.status, JSON.stringify(reg.finish?.body)).toBe(200);
    expect(tokenOf(reg.finish)).toBeTruthy();
    const codes = reg.finish?.body?.data?.recoveryCodes as string[];
    expect(codes).toHaveLength(10);

    // A fresh login: the password alone gives a temp token, which cannot read the API.
    const second = await login(page);
    expect(second.body?.data).toMatchObject({ requiresTwoFA: true, isSetup: true, method: 'webauthn' });
    loginTemp = tokenOf(second) as string;
    expect((await page.evaluate((t) => (globalThis as unknown as PageGlobal).wd.api('/api/containers', t), loginTemp)).status).toBe(401);

    const auth = await step('authentication ceremony', () => page.evaluate((t) => (globalThis as unknown as PageGlobal).wd.authenticate(t), loginTemp));
    authentication = auth;
    expect(auth.begin.status, JSON.stringify(auth.begin.body)).toBe(200);
    expect(auth.browserError).toBeUndefined();
    expect(auth.finish?.status, JSON.stringify(auth.finish?.body)).toBe(200);
    const full = tokenOf(auth.finish) as string;
    expect(full).toBeTruthy();
    expect(full).not.toBe(loginTemp);
    fullToken = full;

    const containers = await step('GET /api/containers', () => page.evaluate((t) => (globalThis as unknown as PageGlobal).wd.api('/api/containers', t), full));
    expect(containers.status).toBe(200);
    expect(containers.body?.code).toBe(0);
    await page.evaluate((n) => (globalThis as unknown as PageGlobal).wd.show(`signed in: /api/containers answered ${n} containers`), containers.body?.data?.total);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'after-login.png'), fullPage: true });
  });

  it('refuses a replayed registration or assertion', async () => {
    if (!registration?.response || !authentication?.response) throw new Error('the ceremony test did not run');
    const post = (path: string, token: string, body: unknown) => page.evaluate(([pa, t, b]) => (globalThis as unknown as PageGlobal).wd.api(pa as string, t as string, b), [path, token, body] as const);

    // The same finish body again, with the same temp token: its challenge is spent.
    const again = await step('replay assertion', () => post('/api/v1/2fa/verify/webauthn/finish', loginTemp, authentication?.response));
    expect(again.status).toBe(401);
    expect(tokenOf(again)).toBeUndefined();

    // After a new login and a new challenge, the old assertion does not answer it.
    const temp = tokenOf(await login(page)) as string;
    expect((await post('/api/v1/2fa/verify/webauthn/begin', temp, {})).status).toBe(200);
    const stale = await step('replay assertion on a new challenge', () => post('/api/v1/2fa/verify/webauthn/finish', temp, authentication?.response));
    expect(stale.status).toBe(401);
    expect(tokenOf(stale)).toBeUndefined();

    // The registration response again: with its own temp token (spent by the setup); with the
    // full token, when no challenge is pending; and after a new begin, against the new challenge.
    const sameToken = await post('/api/v1/2fa/setup/webauthn/finish', setupTemp, registration.response);
    console.log(`[webauthn-browser] registration replayed with its temp token: ${sameToken.status} ${sameToken.body?.msg ?? ''}`);
    expect(sameToken.status).toBe(401);
    expect(tokenOf(sameToken)).toBeUndefined();
    const noChallenge = await post('/api/v1/2fa/setup/webauthn/finish', fullToken, registration.response);
    expect(noChallenge.status).toBe(401);
    expect(tokenOf(noChallenge)).toBeUndefined();
    expect((await post('/api/v1/2fa/setup/webauthn/begin', fullToken, {})).status).toBe(200);
    const staleReg = await step('replay registration on a new challenge', () => post('/api/v1/2fa/setup/webauthn/finish', fullToken, registration?.response));
    expect(staleReg.status).toBe(401);
    expect(tokenOf(staleReg)).toBeUndefined();
  });

  it('issues no full token to a page on an origin that is not allowed', async () => {
    if (!authentication?.response) throw new Error('the ceremony test did not run');
    // The key made on the first page, copied into the other pages' authenticators, so that only
    // the origin differs.
    const { credentials } = await firstAuthenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: firstAuthenticator.authenticatorId });
    expect(credentials).toHaveLength(1);
    const withKey = async (origin: string) => {
      const opened = await openPage(origin);
      await opened.cdp.send('WebAuthn.addCredential', { authenticatorId: opened.authenticatorId, credential: credentials[0] as (typeof credentials)[0] });
      return opened.page;
    };

    // 1. http://127.0.0.1:<port>: the Host is not in TWOFA_ALLOWED_DOMAINS, so the server
    //    starts no ceremony (and Chrome would refuse WebAuthn on an IP address anyway).
    const ip = await step('open page on 127.0.0.1', () => withKey(`http://127.0.0.1:${port}`));
    const ipLogin = await login(ip);
    expect(ipLogin.status).toBe(200);
    const ipTemp = tokenOf(ipLogin) as string;
    const ipAuth = await step('ceremony on 127.0.0.1', () => ip.evaluate((t) => (globalThis as unknown as PageGlobal).wd.authenticate(t), ipTemp));
    expect(ipAuth.begin.status).toBe(400);
    expect(ipAuth.begin.body?.msg).toContain('TWOFA_ALLOWED_DOMAINS');
    expect(ipAuth.finish).toBeUndefined();
    // (registering needs the full token once a factor is set up; from this host it is refused all the same)
    const ipReg = await ip.evaluate((t) => (globalThis as unknown as PageGlobal).wd.register(t), fullToken);
    expect(ipReg.begin.status).toBe(400);
    expect(ipReg.begin.body?.msg).toContain('TWOFA_ALLOWED_DOMAINS');
    expect(ipReg.finish).toBeUndefined();
    expect((await ip.evaluate((t) => (globalThis as unknown as PageGlobal).wd.api('/api/containers', t), ipTemp)).status).toBe(401);

    // Options for localhost (asked for from the allowed page) handed to the 127.0.0.1 page: the
    // browser itself refuses the RP ID.
    const temp = tokenOf(await login(page)) as string;
    const begin = await page.evaluate((t) => (globalThis as unknown as PageGlobal).wd.api('/api/v1/2fa/verify/webauthn/begin', t, {}), temp);
    expect(begin.status).toBe(200);
    const refused = await step('browser ceremony on 127.0.0.1', () => ip.evaluate((o) => (globalThis as unknown as PageGlobal).wd.assertOnly(o), begin.body?.data));
    console.log(`[webauthn-browser] Chromium on 127.0.0.1: ${refused.browserError ?? '(no error)'}`);
    expect(refused.response).toBeUndefined();
    expect(refused.browserError).toMatch(/SecurityError|invalid domain|not a valid domain/i);

    // 2. Another origin of the same RP ID (http://localhost:<other port>, answered by the route
    //    only): the browser signs, but clientDataJSON names that origin and the server, which
    //    expects http://localhost:<app port>, issues no token.
    const otherPort = port === 65_535 ? port - 1 : port + 1;
    const other = await step('open page on another localhost origin', () => withKey(`http://localhost:${otherPort}`));
    const signed = await step('ceremony on another origin', () => other.evaluate((o) => (globalThis as unknown as PageGlobal).wd.assertOnly(o), begin.body?.data));
    expect(signed.browserError).toBeUndefined();
    const clientData = JSON.parse(Buffer.from(String((signed.response?.response as { clientDataJSON: string }).clientDataJSON), 'base64url').toString('utf8')) as { origin: string };
    expect(clientData.origin).toBe(`http://localhost:${otherPort}`);
    const finish = await page.evaluate(([t, r]) => (globalThis as unknown as PageGlobal).wd.api('/api/v1/2fa/verify/webauthn/finish', t as string, r), [temp, signed.response] as const);
    expect(finish.status).toBe(401);
    expect(tokenOf(finish)).toBeUndefined();
    expect((await page.evaluate((t) => (globalThis as unknown as PageGlobal).wd.api('/api/containers', t), temp)).status).toBe(401);
  });
});
