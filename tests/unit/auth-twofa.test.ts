import { describe, expect, it } from 'vitest';
import { newTotpSecret } from '../../src/core/auth/totp.js';
import { authApp, bearer, enrolOtp, get, loginToken, post, totpAt, type AuthTestApp } from '../helpers/auth-app.js';

const ON = { IS_SECONDARY_VERIFICATION: 'true' };
const STEP = 30_000;

async function verifyOtp(t: AuthTestApp, code: string, token?: string) {
  return post(t, '/api/v1/2fa/verify/otp', { code }, bearer(token ?? (await loginToken(t))));
}

describe('two-factor setup (design §6.3, first time)', () => {
  it('login gives a temp token and says no factor is set up; OTP setup upgrades it', async () => {
    const t = authApp({ env: ON });
    const login = await post(t, '/api/v1/auth/login', { username: 'operator', password: 'correct horse battery staple 42' });
    expect(login.body.data).toMatchObject({ kind: 'temp', requiresTwoFA: true, isSetup: false, method: null, methods: [] });
    const temp = String(login.body.data.token);

    const init = await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(temp));
    expect(init.status).toBe(200);
    const secret = String(init.body.data.secret);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(init.body.data.uri).toBe(`otpauth://totp/Watch%20Docker:operator?secret=${secret}&issuer=Watch%20Docker`);
    const qr = String(init.body.data.qrCode);
    expect(qr).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(qr.split(',')[1] ?? '', 'base64').toString()).toMatch(/^<svg[\s\S]*<\/svg>$/);

    expect((await post(t, '/api/v1/2fa/setup/otp/verify', { code: '000000' }, bearer(temp))).status).toBe(401);
    const done = await post(t, '/api/v1/2fa/setup/otp/verify', { code: await totpAt(secret, t.clock) }, bearer(temp));
    expect(done.status).toBe(200);
    expect(done.body.data.kind).toBe('full');
    const codes = done.body.data.recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
    expect((await get(t, '/api/containers', bearer(String(done.body.data.token)))).status).toBe(200);
    // The temp token was traded in: it no longer works anywhere.
    expect((await get(t, '/api/v1/2fa/status', bearer(temp))).status).toBe(401);
  });

  it('status never shows a secret, a credential or a recovery code', async () => {
    const t = authApp({ env: ON });
    const { secret, token, recoveryCodes } = await enrolOtp(t);
    const status = await get(t, '/api/v1/2fa/status', bearer(token));
    expect(status.body.data).toMatchObject({ enabled: true, isSetup: true, methods: ['otp'], recoveryCodesLeft: 10, tokenKind: 'full' });
    const text = JSON.stringify(status.body);
    expect(text).not.toContain(secret);
    for (const c of recoveryCodes) expect(text).not.toContain(c);
    // init again (with the full token) makes a new pending secret; the active one is never shown.
    const again = await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(token));
    expect(again.body.data.secret).not.toBe(secret);
  });

  it('a temp token cannot replace a factor that is already set up', async () => {
    const t = authApp({ env: ON });
    await enrolOtp(t);
    const temp = await loginToken(t);
    const res = await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(temp));
    expect(res.status).toBe(403);
    expect((await post(t, '/api/v1/2fa/setup/webauthn/begin', {}, bearer(temp))).status).toBe(403);
  });

  it('a user set up in twofa.users (config) counts as set up', async () => {
    const secret = newTotpSecret();
    const yaml = { twofa: { enabled: true, allowedDomains: [], users: { operator: { method: 'otp' as const, otpSecret: secret, webauthnCredentials: [], isSetup: true } } } };
    const t = authApp({ env: ON, settings: { twofa: yaml.twofa } });
    const login = await post(t, '/api/v1/auth/login', { username: 'operator', password: 'correct horse battery staple 42' });
    expect(login.body.data).toMatchObject({ isSetup: true, method: 'otp', methods: ['otp'] });
    const ok = await verifyOtp(t, await totpAt(secret, t.clock), String(login.body.data.token));
    expect(ok.status).toBe(200);
  });

  it('answers 409 when 2FA is off on the server', async () => {
    const t = authApp();
    const token = await loginToken(t);
    expect((await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(token))).status).toBe(409);
    expect((await get(t, '/api/v1/2fa/status', bearer(token))).body.data).toMatchObject({ enabled: false, isSetup: false });
  });
});

describe('two-factor verification (design §6.3, daily)', () => {
  it('a code is accepted once: sent again it is refused, and so is an older one', async () => {
    const t = authApp({ env: ON });
    const { secret } = await enrolOtp(t);
    t.clock.advance(STEP);
    const code = await totpAt(secret, t.clock);
    const older = await totpAt(secret, t.clock, -1);
    expect((await verifyOtp(t, code)).status).toBe(200);
    const replay = await verifyOtp(t, code);
    expect(replay.status).toBe(401);
    expect(replay.body.msg).toBe('the verification failed: check the code or the security key and try again');
    expect((await verifyOtp(t, older)).status).toBe(401);
  });

  it('accepts ±1 step of clock drift, not ±2', async () => {
    const t = authApp({ env: ON });
    const { secret } = await enrolOtp(t);
    t.clock.advance(10 * STEP);
    expect((await verifyOtp(t, await totpAt(secret, t.clock, -2))).status).toBe(401);
    expect((await verifyOtp(t, await totpAt(secret, t.clock, 2))).status).toBe(401);
    expect((await verifyOtp(t, await totpAt(secret, t.clock, -1))).status).toBe(200);
    t.clock.advance(10 * STEP);
    expect((await verifyOtp(t, await totpAt(secret, t.clock, 1))).status).toBe(200);
  });

  it('wrong codes lock out: 429 with Retry-After, even for the right code', async () => {
    const t = authApp({ env: ON });
    const { secret } = await enrolOtp(t);
    t.clock.advance(STEP);
    const temp = await loginToken(t);
    for (let i = 0; i < 10; i++) expect((await verifyOtp(t, String(100000 + i), temp)).status).toBe(401);
    const locked = await verifyOtp(t, await totpAt(secret, t.clock), temp);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a recovery code works once', async () => {
    const t = authApp({ env: ON });
    const { recoveryCodes } = await enrolOtp(t);
    const code = recoveryCodes[3] ?? '';
    const first = await post(t, '/api/v1/2fa/verify/recovery', { code: code.toLowerCase().replace(/-/g, ' ') }, bearer(await loginToken(t)));
    expect(first.status).toBe(200);
    expect(first.body.data.recoveryCodesLeft).toBe(9);
    expect((await get(t, '/api/containers', bearer(String(first.body.data.token)))).status).toBe(200);
    expect((await post(t, '/api/v1/2fa/verify/recovery', { code }, bearer(await loginToken(t)))).status).toBe(401);
    expect((await post(t, '/api/v1/2fa/verify/recovery', { code: recoveryCodes[4] }, bearer(await loginToken(t)))).status).toBe(200);
  });
});

describe('turning 2FA off', () => {
  it('needs a full token and a current factor, clears everything and revokes older tokens', async () => {
    const t = authApp({ env: ON });
    const { secret, token: full } = await enrolOtp(t);
    t.clock.advance(STEP);
    const temp = await loginToken(t);
    const other = String((await verifyOtp(t, await totpAt(secret, t.clock))).body.data.token);
    t.clock.advance(STEP);
    expect((await post(t, '/api/v1/2fa/disable', { code: await totpAt(secret, t.clock) }, bearer(temp))).status).toBe(403);
    expect((await post(t, '/api/v1/2fa/disable', { code: '123456' }, bearer(full))).status).toBe(401);

    const off = await post(t, '/api/v1/2fa/disable', { code: await totpAt(secret, t.clock) }, bearer(full));
    expect(off.status).toBe(200);
    for (const token of [full, other, temp]) expect((await get(t, '/api/v1/2fa/status', bearer(token))).status).toBe(401);

    t.clock.advance(1);
    const again = await post(t, '/api/v1/auth/login', { username: 'operator', password: 'correct horse battery staple 42' });
    expect(again.body.data).toMatchObject({ kind: 'temp', isSetup: false });
    const events = (await t.auth.audit.recent()).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['twofa.setup', 'twofa.success', 'twofa.failure', 'twofa.disable', 'token.revoked-all']));
  });

  it('a recovery code can turn it off too, and is spent', async () => {
    const t = authApp({ env: ON });
    const { token, recoveryCodes } = await enrolOtp(t);
    expect((await post(t, '/api/v1/2fa/disable', { code: recoveryCodes[0] }, bearer(token))).status).toBe(200);
  });
});
