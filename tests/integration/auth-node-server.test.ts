import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpRange } from '../../src/core/auth/client-address.js';
import { nodePeerAddress } from '../../src/handlers/auth-client-address.js';
import { authApp, TEST_PASSWORD, TEST_USER } from '../helpers/auth-app.js';

/** The auth layer behind a real @hono/node-server socket: the peer address comes from the socket. */
describe('on a real Node server', () => {
  const t = authApp({ getClientAddress: nodePeerAddress, settings: { trustedProxies: [parseIpRange('127.0.0.1') ?? { bytes: new Uint8Array(), prefix: 0 }] } });
  let server: ServerType;
  let base = '';

  beforeAll(async () => {
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const login = (password: string, forwardedFor?: string) =>
    fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) }, body: JSON.stringify({ username: TEST_USER, password }) });

  it('logs in over HTTP and reads the socket address for the audit and the limits', async () => {
    expect((await login(TEST_PASSWORD)).status).toBe(200);
    await login('wrong', '198.51.100.23');
    const events = await t.auth.audit.recent();
    expect(events.at(-2)).toMatchObject({ event: 'login.success', address: '127.0.0.1' });
    // 127.0.0.1 is a trusted proxy here, so the forwarded address is the client.
    expect(events.at(-1)).toMatchObject({ event: 'login.failure', address: '198.51.100.23' });
  });

  it('answers 401 without a token and 429 with Retry-After after the limit', async () => {
    expect((await fetch(`${base}/api/containers`)).status).toBe(401);
    for (let i = 0; i < 9; i++) await login(`wrong-${i}`, '198.51.100.24');
    const locked = await login(TEST_PASSWORD, '198.51.100.25');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
