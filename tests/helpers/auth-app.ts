import { generate } from 'otplib';
import type { Context } from 'hono';
import type { AtomicStore } from '../../src/core/atomic-store.js';
import type { AuthSettings } from '../../src/core/auth/settings.js';
import type { Clock, Logger, Store } from '../../src/core/ports.js';
import { MemoryDocker } from './memory-docker.js';
import { DEFAULT_PEER, TEST_PASSWORD, TEST_USER, testApp } from './test-app.js';

export { DEFAULT_PEER, TEST_PASSWORD, TEST_USER, testPeer } from './test-app.js';

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(public t = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface AuthAppOptions {
  env?: Record<string, string>;
  settings?: Partial<AuthSettings>;
  store?: Store;
  /** The auth state's AtomicStore (default: a lock over `store`, as on Node). */
  state?: AtomicStore;
  logger?: Logger;
  /** A TestClock (the default starts at 2026-01-15 12:00 UTC); override now() for the real clock. */
  clock?: TestClock;
  /** How the app learns the peer address; default: the `peer` of the request's env (testPeer). */
  getClientAddress?: (c: Context) => string | undefined;
}

/**
 * The real app with authentication wired the way createApp should wire it (installAuth before
 * every other route), plus a stand-in WebSocket route at /api/test/ws-probe (the real /api/shell/ws is the web shell). PBKDF2 runs 100,000
 * rounds here (the minimum the settings allow) to keep the suite quick.
 */
export function authApp(opts: AuthAppOptions = {}) {
  const clock = opts.clock ?? new TestClock();
  const t = testApp(new MemoryDocker(), {
    clock,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.state ? { state: opts.state } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.settings ? { settings: opts.settings } : {}),
    ...(opts.getClientAddress ? { getClientAddress: opts.getClientAddress } : {}),
  });
  t.app.get('/api/test/ws-probe', (c) => c.text(`upgraded for ${c.get('authSession').user}`));
  return { app: t.app, auth: t.auth, store: t.store, config: t.config, clock, settings: t.settings };
}

export type AuthTestApp = ReturnType<typeof authApp>;

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** POSTs JSON and returns the status, headers and parsed body. */
export async function post(t: AuthTestApp, path: string, body: unknown, headers: Record<string, string> = {}, peer = DEFAULT_PEER) {
  const res = await t.app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }, { peer });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { code: number; msg: string; data: Record<string, unknown> & { token?: string } } };
}

export async function get(t: AuthTestApp, path: string, headers: Record<string, string> = {}, peer = DEFAULT_PEER) {
  const res = await t.app.request(path, { headers }, { peer });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { code: number; msg: string; data: Record<string, unknown> } };
}

/** Logs in with the test account; the token (temp or full) from the answer. */
export async function loginToken(t: AuthTestApp, password = TEST_PASSWORD): Promise<string> {
  const res = await post(t, '/api/v1/auth/login', { username: TEST_USER, password });
  if (res.status !== 200 || typeof res.body.data.token !== 'string') throw new Error(`login failed: ${res.status} ${res.body.msg}`);
  return res.body.data.token;
}

/** The TOTP code for `secret` at the app clock's time, offset by `steps` 30 s steps. */
export function totpAt(secret: string, clock: Clock, steps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(clock.now() / 1000) + steps * 30 });
}

/** Sets up OTP through the API with a temp token: the secret, the full token and the recovery codes. */
export async function enrolOtp(t: AuthTestApp): Promise<{ secret: string; token: string; recoveryCodes: string[] }> {
  const temp = await loginToken(t);
  const init = await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(temp));
  const secret = String(init.body.data.secret);
  const done = await post(t, '/api/v1/2fa/setup/otp/verify', { code: await totpAt(secret, t.clock) }, bearer(temp));
  if (done.status !== 200) throw new Error(`otp setup failed: ${done.status} ${done.body.msg}`);
  return { secret, token: String(done.body.data.token), recoveryCodes: done.body.data.recoveryCodes as string[] };
}
