import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authApp, bearer, DEFAULT_PEER, get, post, TEST_PASSWORD, TEST_USER, totpAt, type AuthTestApp } from '../helpers/auth-app.js';
import { MemoryLogger } from '../helpers/auth-log.js';
import { SoftAuthenticator } from '../helpers/auth-soft-authenticator.js';

const JWT_SECRET = 'log-test-signing-secret-7f3a9c1e5b2d4f6a';
const SITE = { host: 'docker.example.com', origin: 'https://docker.example.com' };

/**
 * Runs every auth flow against one capturing logger (and console), remembers every secret
 * used on the way, and then searches all of the output for each of them.
 */
describe('no secret ever reaches a log', () => {
  const logger = new MemoryLogger();
  const consoleLines: string[] = [];
  const secrets = new Map<string, string>();
  const keep = (what: string, value: unknown) => {
    if (typeof value === 'string' && value.length > 0) secrets.set(value, what);
  };
  let generatedPassword = '';

  beforeAll(() => {
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map(String).join(' ')));
    }
  });
  afterAll(() => vi.restoreAllMocks());

  it('runs login, lockout, OTP, recovery, WebAuthn, tickets, logout and disable', async () => {
    keep('password', TEST_PASSWORD);
    keep('jwt secret', JWT_SECRET);
    const t: AuthTestApp = authApp({
      logger,
      env: { IS_SECONDARY_VERIFICATION: 'true' },
      settings: { jwtSecret: JWT_SECRET, twofa: { enabled: true, allowedDomains: [SITE.host], users: {} } },
    });
    const login = async (password = TEST_PASSWORD, peer = DEFAULT_PEER) => {
      const res = await post(t, '/api/v1/auth/login', { username: TEST_USER, password }, {}, peer);
      keep('token', res.body.data?.token);
      return res;
    };
    for (let i = 0; i < 12; i++) {
      keep('wrong password', `wrong-password-attempt-${i}`);
      await login(`wrong-password-attempt-${i}`, '198.51.100.7');
    }
    keep('password typed as user name', 'Tr0ub4dor&3-as-username');
    await post(t, '/api/v1/auth/login', { username: 'Tr0ub4dor&3-as-username', password: 'x' });
    t.clock.advance(16 * 60_000);

    const temp = String((await login()).body.data.token);
    const init = await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(temp));
    const secret = String(init.body.data.secret);
    keep('totp secret', secret);
    keep('otpauth uri', init.body.data.uri);
    await post(t, '/api/v1/2fa/setup/otp/verify', { code: '999999' }, bearer(temp));
    const code = await totpAt(secret, t.clock);
    keep('totp code', code);
    const done = await post(t, '/api/v1/2fa/setup/otp/verify', { code }, bearer(temp));
    const full = String(done.body.data.token);
    keep('token', full);
    const codes = done.body.data.recoveryCodes as string[];
    codes.forEach((c) => keep('recovery code', c));

    t.clock.advance(30_000);
    const replay = await post(t, '/api/v1/2fa/verify/otp', { code }, bearer(String((await login()).body.data.token)));
    expect(replay.status).toBe(401);
    const rec = await post(t, '/api/v1/2fa/verify/recovery', { code: codes[0] }, bearer(String((await login()).body.data.token)));
    keep('token', rec.body.data.token);

    const key = new SoftAuthenticator();
    const site = { ...bearer(full), ...SITE };
    const begin = await post(t, '/api/v1/2fa/setup/webauthn/begin', {}, site);
    keep('webauthn challenge', (begin.body.data as unknown as PublicKeyCredentialCreationOptionsJSON).challenge);
    const reg = await key.register(begin.body.data as unknown as PublicKeyCredentialCreationOptionsJSON, SITE.origin);
    const regDone = await post(t, '/api/v1/2fa/setup/webauthn/finish', reg, site);
    const full1 = String(regDone.body.data.token);
    keep('token', full1);
    const temp2 = String((await login()).body.data.token);
    const vBegin = await post(t, '/api/v1/2fa/verify/webauthn/begin', {}, { ...bearer(temp2), ...SITE });
    keep('webauthn challenge', (vBegin.body.data as unknown as PublicKeyCredentialRequestOptionsJSON).challenge);
    const assertion = await key.authenticate(vBegin.body.data as unknown as PublicKeyCredentialRequestOptionsJSON, SITE.origin);
    keep('webauthn signature', assertion.response.signature);
    const vDone = await post(t, '/api/v1/2fa/verify/webauthn/finish', assertion, { ...bearer(temp2), ...SITE });
    const full2 = String(vDone.body.data.token);
    keep('token', full2);

    const ticket = String((await post(t, '/api/v1/auth/ws-ticket', {}, bearer(full2))).body.data.ticket);
    keep('ws ticket', ticket);
    await t.app.request(`/api/test/ws-probe?ticket=${ticket}`, { headers: { upgrade: 'websocket', host: SITE.host, origin: 'https://evil.example.net' } });
    await t.app.request(`/api/test/ws-probe?ticket=${ticket}`, { headers: { upgrade: 'websocket', host: SITE.host, origin: SITE.origin } });
    await t.app.request(`/api/test/ws-probe?ticket=${ticket}`, { headers: { upgrade: 'websocket', host: SITE.host, origin: SITE.origin } });
    await get(t, '/api/containers', bearer(`${full2}x`));
    expect((await post(t, '/api/v1/auth/logout', {}, bearer(full1))).status).toBe(200);
    await get(t, '/api/containers', bearer(full1));
    t.clock.advance(30_000);
    const offCode = await totpAt(secret, t.clock);
    keep('totp code', offCode);
    expect((await post(t, '/api/v1/2fa/disable', { code: offCode }, bearer(full2))).status).toBe(200);

    // A generated password is logged once, on purpose, in its marked line.
    const fresh = authApp({ logger, env: { USER_PASSWORD: '' } });
    await fresh.auth.ready();
    generatedPassword = /: (\S{24}) —/.exec(logger.lines.find((l) => l.includes('GENERATED PASSWORD')) ?? '')?.[1] ?? '';
    keep('generated password', generatedPassword);
    await post(fresh, '/api/v1/auth/login', { username: TEST_USER, password: generatedPassword });
    await post(fresh, '/api/v1/auth/login', { username: TEST_USER, password: `${generatedPassword}!` });

    // The audit log really was written, so the search below searches something.
    const actions = new Set(logger.entries().map((e) => e.action));
    for (const a of ['login.failure', 'login.lockout', 'login.success', 'twofa.setup', 'twofa.failure', 'twofa.success', 'twofa.recovery-used', 'token.revoked', 'token.rejected', 'ws.origin-refused', 'twofa.disable']) {
      expect(actions, a).toContain(a);
    }
  });

  it('finds none of them in the output (the generated password only in its one marked line)', () => {
    expect(generatedPassword).toMatch(/^\S{24}$/);
    expect(secrets.size).toBeGreaterThan(25);
    const lines = [...logger.lines, ...consoleLines];
    for (const [value, what] of secrets) {
      const hits = lines.filter((l) => (/^\d{6}$/.test(value) ? new RegExp(`(?<!\\d)${value}(?!\\d)`).test(l) : l.includes(value)));
      if (what === 'generated password') {
        expect(hits, what).toHaveLength(1);
        expect(hits[0]).toContain('GENERATED PASSWORD');
      } else {
        expect(hits, `${what} appears in the log`).toEqual([]);
      }
    }
  });
});
