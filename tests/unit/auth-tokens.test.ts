import { decodeJwt, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER } from '../../src/core/auth/tokens.js';
import { authApp, bearer, get, loginToken, post, TEST_USER } from '../helpers/auth-app.js';

const SECRET = 'k'.repeat(24) + '-test-signing-secret-0123456789';
const key = new TextEncoder().encode(SECRET);

/** A token shaped like a real full token, signed as `sign` says. */
async function forge(t: ReturnType<typeof authApp>, change: { claims?: Record<string, unknown>; aud?: string; iss?: string; typ?: string; key?: Uint8Array; expSeconds?: number } = {}) {
  const now = Math.floor(t.clock.now() / 1000);
  return new SignJWT({ isTempToken: false, twoFAVerified: false, amr: ['pwd'], iatMs: t.clock.now(), ...change.claims })
    .setProtectedHeader({ alg: 'HS256', typ: change.typ ?? 'JWT' })
    .setIssuer(change.iss ?? ISSUER)
    .setAudience(change.aud ?? AUDIENCE.full)
    .setSubject(TEST_USER)
    .setJti('forged-jti-0123456789')
    .setIssuedAt(now)
    .setExpirationTime(change.expSeconds ?? now + 3600)
    .sign(change.key ?? key);
}

describe('tokens: every forgery is refused', () => {
  const t = authApp({ settings: { jwtSecret: SECRET } });
  const containers = (token: string) => get(t, '/api/containers', bearer(token));

  it('accepts a correctly made token (the control for the cases below)', async () => {
    expect((await containers(await forge(t))).status).toBe(200);
    expect((await containers(await loginToken(t))).status).toBe(200);
  });

  it('refuses alg "none"', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    const none = new UnsecuredJWT({ isTempToken: false, twoFAVerified: true, amr: ['pwd'], iatMs: t.clock.now() })
      .setIssuer(ISSUER).setAudience(AUDIENCE.full).setSubject(TEST_USER).setJti('forged-jti-0123456789').setIssuedAt(now).setExpirationTime(now + 3600).encode();
    const res = await containers(none);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses a token signed with another key', async () => {
    expect((await containers(await forge(t, { key: new TextEncoder().encode('another-key-of-thirty-two-bytes-or-more!') }))).status).toBe(401);
  });

  it('refuses a tampered payload (a temp token made to look full)', async () => {
    const twoFA = authApp({ settings: { jwtSecret: SECRET }, env: { IS_SECONDARY_VERIFICATION: 'true' } });
    const tempToken = await loginToken(twoFA);
    const [h, , s] = tempToken.split('.') as [string, string, string];
    const claims = { ...decodeJwt(tempToken), isTempToken: false, twoFAVerified: true, amr: ['pwd', 'otp'], aud: AUDIENCE.full };
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    expect((await get(twoFA, '/api/containers', bearer(tampered))).status).toBe(401);
    expect((await get(twoFA, '/api/v1/2fa/status', bearer(tampered))).status).toBe(401);
    expect((await get(twoFA, '/api/v1/2fa/status', bearer(tempToken))).status).toBe(200);
  });

  it('refuses an expired token, and one past 24 h', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    expect((await containers(await forge(t, { expSeconds: now - 1 }))).status).toBe(401);
    const real = await loginToken(t);
    t.clock.advance(24 * 3_600_000 + 1000);
    expect((await containers(real)).status).toBe(401);
  });

  it('refuses a wrong audience, issuer or typ, and claims that disagree with the audience', async () => {
    expect((await containers(await forge(t, { aud: 'someone-else' }))).status).toBe(401);
    expect((await containers(await forge(t, { iss: 'someone-else' }))).status).toBe(401);
    expect((await containers(await forge(t, { typ: 'at+jwt' }))).status).toBe(401);
    // A temp token relabelled as full, and a full token claiming to be temp.
    expect((await containers(await forge(t, { claims: { isTempToken: true } }))).status).toBe(401);
    expect((await get(t, '/api/v1/2fa/status', bearer(await forge(t, { aud: AUDIENCE.temp })))).status).toBe(401);
  });

  it('refuses a token without jti, and garbage', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    const noJti = await new SignJWT({ isTempToken: false, twoFAVerified: false, amr: ['pwd'], iatMs: t.clock.now() })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer(ISSUER).setAudience(AUDIENCE.full).setSubject(TEST_USER).setIssuedAt(now).setExpirationTime(now + 60).sign(key);
    expect((await containers(noJti)).status).toBe(401);
    expect((await containers('not.a.token')).status).toBe(401);
    expect((await get(t, '/api/containers', { authorization: 'Basic b3A6cHc=' })).status).toBe(401);
    expect((await get(t, '/api/containers')).status).toBe(401);
  });

  it('a token in the query string is not a credential', async () => {
    const token = await loginToken(t);
    expect((await get(t, `/api/containers?token=${token}`)).status).toBe(401);
    expect((await get(t, `/api/containers?access_token=${token}`)).status).toBe(401);
  });
});

describe('logout', () => {
  it('revokes the presented token only', async () => {
    const t = authApp();
    const a = await loginToken(t);
    const b = await loginToken(t);
    expect((await post(t, '/api/v1/auth/logout', {}, bearer(a))).status).toBe(200);
    expect((await get(t, '/api/containers', bearer(a))).status).toBe(401);
    expect((await get(t, '/api/containers', bearer(b))).status).toBe(200);
    expect((await post(t, '/api/v1/auth/logout', {}, bearer(a))).status).toBe(401);
  });

  it('with {"all": true} revokes every token issued before; later logins work', async () => {
    const t = authApp();
    const a = await loginToken(t);
    const b = await loginToken(t);
    t.clock.advance(1);
    expect((await post(t, '/api/v1/auth/logout', { all: true }, bearer(a))).status).toBe(200);
    expect((await get(t, '/api/containers', bearer(b))).status).toBe(401);
    t.clock.advance(1);
    expect((await get(t, '/api/containers', bearer(await loginToken(t)))).status).toBe(200);
    const audit = await get(t, '/api/v1/auth/audit', bearer(await loginToken(t)));
    expect((audit.body.data.events as { event: string }[]).map((e) => e.event)).toContain('token.revoked-all');
  });

  it('revocations are kept until the token would have expired, then swept', async () => {
    const t = authApp();
    const token = await loginToken(t);
    await post(t, '/api/v1/auth/logout', {}, bearer(token));
    expect(await t.store.getKeys('auth:revoked')).toHaveLength(1);
    expect(await t.auth.sweep()).toBe(0);
    t.clock.advance(24 * 3_600_000 + 1000);
    expect(await t.auth.sweep()).toBe(1);
    expect(await t.store.getKeys('auth:revoked')).toHaveLength(0);
  });

  it('the signing key is generated once and kept: tokens survive a restart on the same store', async () => {
    const first = authApp();
    const token = await loginToken(first);
    const second = authApp({ store: first.store, clock: first.clock });
    expect((await get(second, '/api/containers', bearer(token))).status).toBe(200);
    const other = authApp({ clock: first.clock });
    expect((await get(other, '/api/containers', bearer(token))).status).toBe(401);
  });
});
