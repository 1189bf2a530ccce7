import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { describe, expect, it } from 'vitest';
import { parseConfigCredential } from '../../src/core/auth/twofa-store.js';
import { expectedOrigin, selectRpId } from '../../src/core/auth/webauthn.js';
import { authApp, bearer, loginToken, post, type AuthTestApp } from '../helpers/auth-app.js';
import { SoftAuthenticator } from '../helpers/auth-soft-authenticator.js';

const SITE = { host: 'docker.example.com', origin: 'https://docker.example.com' };
const ALT = { host: 'alt.example.com', origin: 'https://alt.example.com' };

function app(): AuthTestApp {
  return authApp({ env: { IS_SECONDARY_VERIFICATION: 'true' }, settings: { twofa: { enabled: true, allowedDomains: ['docker.example.com', 'alt.example.com'], users: {} } } });
}

const call = (t: AuthTestApp, path: string, token: string, body: unknown = {}, site = SITE) => post(t, path, body, { ...bearer(token), host: site.host, origin: site.origin });

async function register(t: AuthTestApp, key: SoftAuthenticator, site = SITE) {
  const temp = await loginToken(t);
  const begin = await call(t, '/api/v1/2fa/setup/webauthn/begin', temp, {}, site);
  const options = begin.body.data as unknown as PublicKeyCredentialCreationOptionsJSON;
  const response = await key.register(options, site.origin);
  return { temp, options, response, finish: await call(t, '/api/v1/2fa/setup/webauthn/finish', temp, response, site) };
}

async function assertion(t: AuthTestApp, key: SoftAuthenticator, opts: { counter?: number; site?: typeof SITE } = {}) {
  const temp = await loginToken(t);
  const begin = await call(t, '/api/v1/2fa/verify/webauthn/begin', temp, {}, opts.site);
  const options = begin.body.data as unknown as PublicKeyCredentialRequestOptionsJSON;
  return { temp, begin, options, response: begin.status === 200 ? await key.authenticate(options, (opts.site ?? SITE).origin, { ...(opts.counter === undefined ? {} : { counter: opts.counter }) }) : null };
}

describe('RP ID and origin', () => {
  const allowed = ['docker.example.com', 'Alt.Example.com'];
  it('takes X-Forwarded-Host, else Host, only when listed', () => {
    expect(selectRpId({ forwardedHost: 'alt.example.com:8443', host: 'docker.example.com' }, allowed)).toBe('alt.example.com');
    expect(selectRpId({ forwardedHost: 'evil.example.net', host: 'docker.example.com:8080' }, allowed)).toBe('docker.example.com');
    expect(selectRpId({ host: 'DOCKER.example.com.' }, allowed)).toBe('docker.example.com');
    expect(selectRpId({ host: 'evil.example.net' }, allowed)).toBeNull();
    expect(selectRpId({ host: 'docker.example.com' }, [])).toBeNull();
  });
  it('wants an https origin on the RP ID or a subdomain', () => {
    expect(expectedOrigin('https://docker.example.com', 'docker.example.com')).toBe('https://docker.example.com');
    expect(expectedOrigin('https://ui.docker.example.com:8443', 'docker.example.com')).toBe('https://ui.docker.example.com:8443');
    expect(expectedOrigin('http://docker.example.com', 'docker.example.com')).toBeNull();
    expect(expectedOrigin('https://evildocker.example.com', 'docker.example.com')).toBeNull();
    expect(expectedOrigin('https://docker.example.com.evil.net', 'docker.example.com')).toBeNull();
    expect(expectedOrigin('null', 'docker.example.com')).toBeNull();
    expect(expectedOrigin('http://localhost:5173', 'localhost')).toBe('http://localhost:5173');
  });
  it('refuses a ceremony from a host that is not allowed', async () => {
    const t = app();
    const res = await call(t, '/api/v1/2fa/setup/webauthn/begin', await loginToken(t), {}, { host: 'evil.example.net', origin: 'https://evil.example.net' });
    expect(res.status).toBe(400);
    expect(res.body.msg).toContain('TWOFA_ALLOWED_DOMAINS');
  });
});

describe('WebAuthn ceremonies with a software authenticator', () => {
  it('registration options: RP, user, fresh challenge, no attestation, known keys excluded', async () => {
    const t = app();
    const key = new SoftAuthenticator();
    const { options, finish } = await register(t, key);
    expect(options).toMatchObject({ rp: { id: 'docker.example.com', name: 'Watch Docker' }, user: { name: 'operator' }, attestation: 'none' });
    expect(options.challenge.length).toBeGreaterThanOrEqual(43);
    const full = String(finish.body.data.token);
    const second = await call(t, '/api/v1/2fa/setup/webauthn/begin', full);
    expect((second.body.data as unknown as PublicKeyCredentialCreationOptionsJSON).excludeCredentials?.map((c) => c.id)).toEqual([key.id]);
    expect((second.body.data as unknown as PublicKeyCredentialCreationOptionsJSON).challenge).not.toBe(options.challenge);
  });

  it('registers, then verifies a login; the temp token becomes a full one', async () => {
    const t = app();
    const key = new SoftAuthenticator();
    const { finish } = await register(t, key);
    expect(finish.status).toBe(200);
    expect(finish.body.data).toMatchObject({ kind: 'full' });
    expect(finish.body.data.recoveryCodes).toHaveLength(10);
    const a = await assertion(t, key);
    const ok = await call(t, '/api/v1/2fa/verify/webauthn/finish', a.temp, a.response);
    expect(ok.status).toBe(200);
    expect(ok.body.data.kind).toBe('full');
  });

  it('a challenge is single-use: the same response twice fails the second time', async () => {
    const t = app();
    const key = new SoftAuthenticator();
    const reg = await register(t, key);
    expect((await call(t, '/api/v1/2fa/setup/webauthn/finish', reg.temp, reg.response)).status).toBe(401);
    const a = await assertion(t, key);
    expect((await call(t, '/api/v1/2fa/verify/webauthn/finish', a.temp, a.response)).status).toBe(200);
    // A fresh signature (higher counter) over the spent challenge still fails: the challenge is gone.
    const again = await key.authenticate(a.options, SITE.origin);
    expect((await call(t, '/api/v1/2fa/verify/webauthn/finish', await loginToken(t), again)).status).toBe(401);
  });

  it('a challenge expires', async () => {
    const t = app();
    const key = new SoftAuthenticator();
    await register(t, key);
    const a = await assertion(t, key);
    t.clock.advance(2 * 60_000 + 1);
    expect((await call(t, '/api/v1/2fa/verify/webauthn/finish', a.temp, a.response)).status).toBe(401);
  });

  it('a signature counter that does not grow is refused (a cloned key)', async () => {
    const t = app();
    const key = new SoftAuthenticator();
    await register(t, key);
    const a = await assertion(t, key, { counter: 5 });
    expect((await call(t, '/api/v1/2fa/verify/webauthn/finish', a.temp, a.response)).status).toBe(200);
    const b = await assertion(t, key, { counter: 5 });
    expect((await call(t, '/api/v1/2fa/verify/webauthn/finish', b.temp, b.response)).status).toBe(401);
    const c = await assertion(t, key, { counter: 6 });
    expect((await call(t, '/api/v1/2fa/verify/webauthn/finish', c.temp, c.response)).status).toBe(200);
  });

  it('a response made for another origin is refused', async () => {
    const t = app();
    const key = new SoftAuthenticator();
    const temp = await loginToken(t);
    const begin = await call(t, '/api/v1/2fa/setup/webauthn/begin', temp);
    const response = await key.register(begin.body.data as unknown as PublicKeyCredentialCreationOptionsJSON, 'https://evil.example.net');
    expect((await call(t, '/api/v1/2fa/setup/webauthn/finish', temp, response)).status).toBe(401);
  });

  it('credentials belong to one RP ID: a key registered on one domain is not offered on another', async () => {
    const t = app();
    const key = new SoftAuthenticator();
    await register(t, key);
    const other = await assertion(t, key, { site: ALT });
    expect(other.begin.status).toBe(409);
    expect(other.begin.body.msg).toContain('alt.example.com');
  });

  it('reads a go-webauthn credential from config.yaml', () => {
    const parsed = parseConfigCredential({ credential: { ID: 'AQIDBA==', PublicKey: 'pQECAyYgASFYIA==', Authenticator: { SignCount: 7 } }, rpid: 'Example.com' });
    expect(parsed).toEqual({ id: 'AQIDBA', publicKey: 'pQECAyYgASFYIA', counter: 7, rpID: 'example.com' });
    expect(parseConfigCredential({ credential: {} })).toBeNull();
  });
});
