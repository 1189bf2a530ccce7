import { createStorage } from 'unstorage';
import { describe, expect, it } from 'vitest';
import { LocalAtomicStore } from '../../src/core/atomic-store.js';
import { hmacHex } from '../../src/core/webhook/signature.js';
import { authApp, bearer, enrolOtp, get, loginToken, post, TestClock, totpAt, type AuthTestApp } from '../helpers/auth-app.js';

/**
 * The Workers layout in one process: two app instances stand for two isolates. Each has its own
 * store (as if each read its own stale copy of KV) and its own memory; they share only the
 * AtomicStore, as isolates share the StateObject. Every single-use rule must then hold across
 * both: what one instance spends, the other sees spent. (A rule left on the per-isolate store
 * fails here: the other instance would not find the item at all.)
 */
const SECRET = 'isolates-webhook-secret-0123456789abcdef';
const RACERS = 20;

function isolates(): [AuthTestApp, AuthTestApp] {
  const state = new LocalAtomicStore(createStorage());
  const clock = new TestClock();
  const env = { IS_SECONDARY_VERIFICATION: 'true', WATCH_AUTH_MAX_FAILURES: '100', WATCH_WEBHOOK_SECRET: SECRET };
  return [authApp({ state, clock, env }), authApp({ state, clock, env })];
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe('single-use state shared by isolates (one AtomicStore, separate stores)', () => {
  it(`a TOTP code and a recovery code raced ${RACERS} times over both instances pass once each`, async () => {
    const [a, b] = isolates();
    const { secret, recoveryCodes } = await enrolOtp(a);
    const code = await totpAt(secret, a.clock, 1);
    const temps = await Promise.all(Array.from({ length: RACERS }, (_, i) => loginToken(i % 2 ? a : b)));
    const otp = await Promise.all(temps.map((t, i) => post(i % 2 ? b : a, '/api/v1/2fa/verify/otp', { code }, bearer(t))));
    expect(count(otp.map((r) => r.status), 200)).toBe(1);
    expect(count(otp.map((r) => r.status), 401)).toBe(RACERS - 1);

    const temps2 = await Promise.all(Array.from({ length: RACERS }, (_, i) => loginToken(i % 2 ? a : b)));
    const recovery = await Promise.all(temps2.map((t, i) => post(i % 2 ? b : a, '/api/v1/2fa/verify/recovery', { code: recoveryCodes[0] }, bearer(t))));
    expect(count(recovery.map((r) => r.status), 200)).toBe(1);
    expect(recovery.find((r) => r.status === 200)?.body.data.recoveryCodesLeft).toBe(recoveryCodes.length - 1);
  });

  it('a WebSocket ticket issued by one instance opens one socket on the other, once', async () => {
    const [a, b] = isolates();
    const { token } = await enrolOtp(a);
    const ticket = String((await post(a, '/api/v1/auth/ws-ticket', {}, bearer(token))).body.data.ticket);
    const answers = await Promise.all(Array.from({ length: RACERS }, () =>
      b.app.request(`/api/test/ws-probe?ticket=${ticket}`, { headers: { upgrade: 'websocket', connection: 'Upgrade', origin: 'http://localhost', host: 'localhost' } }, { peer: '127.0.0.1' })));
    expect(count(answers.map((r) => r.status), 200)).toBe(1);
    expect(count(answers.map((r) => r.status), 401)).toBe(RACERS - 1);
  });

  it('a signed webhook delivery raced over both instances passes once', async () => {
    const [a, b] = isolates();
    const body = JSON.stringify({ events: [{ action: 'pull', target: { repository: 'iso/app', tag: 'latest' }, request: { host: '127.0.0.1:5000' } }] });
    const ts = String(Math.floor(a.clock.now() / 1000));
    const headers = { 'content-type': 'application/json', 'x-webhook-timestamp': ts, 'x-signature-256': `sha256=${await hmacHex(SECRET, `${ts}.${body}`)}` };
    const answers = await Promise.all(Array.from({ length: RACERS }, (_, i) => (i % 2 ? a : b).app.request('/api/v1/webhooks/update', { method: 'POST', headers, body })));
    expect(count(answers.map((r) => r.status), 200)).toBe(1);
    expect(count(answers.map((r) => r.status), 401)).toBe(RACERS - 1);
  });

  it('a logout on one instance is seen by the other at once; tokens of one verify on the other', async () => {
    const [a, b] = isolates();
    const { token } = await enrolOtp(a);
    expect((await get(b, '/api/containers', bearer(token))).status).toBe(200);
    expect((await post(a, '/api/v1/auth/logout', {}, bearer(token))).status).toBe(200);
    expect((await get(b, '/api/containers', bearer(token))).status).toBe(401);
  });
});
