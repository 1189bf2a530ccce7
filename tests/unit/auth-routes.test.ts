import { describe, expect, it } from 'vitest';
import { pathAccess } from '../../src/handlers/auth-middleware.js';
import { authApp, bearer, enrolOtp, get, loginToken, post, type AuthTestApp } from '../helpers/auth-app.js';

/** Every route the app serves, from Hono's own table (middleware entries left out). */
function routes(t: AuthTestApp): { method: string; path: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of t.app.routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    const path = r.path.replace(/:[^/]+/g, 'x');
    const key = `${r.method} ${path}`;
    if (!seen.has(key)) out.push({ method: r.method, path });
    seen.add(key);
  }
  return out;
}

async function call(t: AuthTestApp, route: { method: string; path: string }, headers: Record<string, string> = {}) {
  return t.app.request(route.path, { method: route.method, headers: { 'content-type': 'application/json', ...headers }, ...(route.method === 'GET' ? {} : { body: '{}' }) });
}

const isTwoFa = (path: string) => path.startsWith('/api/v1/2fa/') || path === '/api/v1/auth/logout';

describe('which routes need which token', () => {
  const t = authApp({ env: { IS_SECONDARY_VERIFICATION: 'true' } });
  const all = routes(t);

  it('the table holds the routes this suite is about', () => {
    const names = all.map((r) => `${r.method} ${r.path}`);
    for (const expected of ['GET /api/containers', 'POST /api/scan', 'GET /api/images', 'GET /api/shell/ws', 'POST /api/v1/auth/login', 'POST /api/v1/auth/ws-ticket', 'GET /api/v1/2fa/status', 'POST /api/v1/2fa/disable']) {
      expect(names).toContain(expected);
    }
  });

  it('without a token: 401 on every /api route except login; /healthz and /readyz stay open', async () => {
    for (const r of all) {
      const res = await call(t, r);
      if (!r.path.startsWith('/api/')) expect.soft(res.status, `${r.method} ${r.path}`).not.toBe(401);
      else if (r.path === '/api/v1/auth/login') expect.soft(res.status, r.path).toBe(400);
      else expect.soft(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it('a temp token is refused on every route outside /api/v1/2fa/* (WebSocket path included)', async () => {
    const temp = await loginToken(t);
    let tried = 0;
    for (const r of all.filter((x) => x.path.startsWith('/api/') && !isTwoFa(x.path) && x.path !== '/api/v1/auth/login')) {
      const res = await call(t, r, bearer(temp));
      expect.soft(res.status, `${r.method} ${r.path}`).toBe(401);
      expect.soft(((await res.json()) as { msg: string }).msg).toContain('two-factor verification is not finished');
      tried++;
    }
    expect(tried).toBeGreaterThan(4);
    const ws = await t.app.request('/api/test/ws-probe', { headers: { upgrade: 'websocket', origin: 'http://localhost', host: 'localhost', ...bearer(temp) } });
    expect(ws.status).toBe(401);
    // ... while the 2FA routes take it.
    expect((await get(t, '/api/v1/2fa/status', bearer(temp))).status).toBe(200);
  });

  it('no spelling of a path gets around the guard', async () => {
    for (const path of ['//api/containers', '/api//containers', '/API/containers', '/api/containers/', '/api/%63ontainers', '/api/v1/2fa/../../containers', '/api/v1/2fa/%2e%2e/%2e%2e/containers']) {
      const res = await t.app.request(path);
      expect.soft([401, 404], path).toContain(res.status);
    }
    expect(pathAccess('//API//containers')).toBe('full');
    expect(pathAccess('/api')).toBe('full');
    expect(pathAccess('/healthz')).toBe('open');
  });

  it('a full token (after the second factor) opens the API', async () => {
    const { token } = await enrolOtp(t);
    expect((await get(t, '/api/containers', bearer(token))).status).toBe(200);
  });

  it('with 2FA on, a full token made before 2FA was turned on is refused', async () => {
    const plain = authApp();
    const oldFull = await loginToken(plain);
    const now2fa = authApp({ env: { IS_SECONDARY_VERIFICATION: 'true' }, store: plain.store, clock: plain.clock });
    expect((await get(plain, '/api/containers', bearer(oldFull))).status).toBe(200);
    expect((await get(now2fa, '/api/containers', bearer(oldFull))).status).toBe(401);
  });
});

describe('WebSocket upgrades', () => {
  const t = authApp();
  const upgrade = (query: string, headers: Record<string, string>) =>
    t.app.request(`/api/test/ws-probe${query}`, { headers: { upgrade: 'websocket', connection: 'Upgrade', host: 'docker.example.com', ...headers } });

  it('a ticket opens one WebSocket, once', async () => {
    const token = await loginToken(t);
    const issued = await post(t, '/api/v1/auth/ws-ticket', {}, bearer(token));
    expect(issued.status).toBe(200);
    const ticket = String(issued.body.data.ticket);
    const first = await upgrade(`?ticket=${ticket}`, { origin: 'https://docker.example.com' });
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('upgraded for operator');
    expect((await upgrade(`?ticket=${ticket}`, { origin: 'https://docker.example.com' })).status).toBe(401);
  });

  it('a ticket is not accepted on a plain request, nor after 30 s, nor after logout', async () => {
    const token = await loginToken(t);
    const ticket = async () => String((await post(t, '/api/v1/auth/ws-ticket', {}, bearer(token))).body.data.ticket);
    expect((await t.app.request(`/api/containers?ticket=${await ticket()}`)).status).toBe(401);
    const late = await ticket();
    t.clock.advance(31_000);
    expect((await upgrade(`?ticket=${late}`, { origin: 'https://docker.example.com' })).status).toBe(401);
    const revoked = await ticket();
    await post(t, '/api/v1/auth/logout', {}, bearer(token));
    expect((await upgrade(`?ticket=${revoked}`, { origin: 'https://docker.example.com' })).status).toBe(401);
  });

  it('refuses an upgrade whose Origin is another site, even with a valid ticket or token', async () => {
    const token = await loginToken(t);
    const ticket = String((await post(t, '/api/v1/auth/ws-ticket', {}, bearer(token))).body.data.ticket);
    const res = await upgrade(`?ticket=${ticket}`, { origin: 'https://evil.example.net' });
    expect(res.status).toBe(403);
    expect((await upgrade('', { origin: 'https://evil.example.net', ...bearer(token) })).status).toBe(403);
    expect((await upgrade('', { origin: 'null', ...bearer(token) })).status).toBe(403);
    // Refusing on Origin spent nothing: the ticket still works from the right page.
    expect((await upgrade(`?ticket=${ticket}`, { origin: 'https://docker.example.com' })).status).toBe(200);
  });

  it('without Origin (not a browser) only a Bearer header opens it', async () => {
    const token = await loginToken(t);
    const ticket = String((await post(t, '/api/v1/auth/ws-ticket', {}, bearer(token))).body.data.ticket);
    expect((await upgrade(`?ticket=${ticket}`, {})).status).toBe(403);
    expect((await upgrade('', bearer(token))).status).toBe(200);
  });

  it('auth.allowedOrigins admits another origin; X-Forwarded-Host counts only from a trusted proxy', async () => {
    const t2 = authApp({ settings: { allowedOrigins: ['https://ui.example.org'] } });
    const token = await loginToken(t2);
    const up = (headers: Record<string, string>, peer?: string) =>
      t2.app.request('/api/test/ws-probe', { headers: { upgrade: 'websocket', host: 'internal:8080', ...bearer(token), ...headers } }, peer ? { peer } : undefined);
    expect((await up({ origin: 'https://ui.example.org' })).status).toBe(200);
    expect((await up({ origin: 'https://docker.example.com', 'x-forwarded-host': 'docker.example.com' })).status).toBe(403);
    const proxied = authApp({ settings: { trustedProxies: [{ bytes: Uint8Array.of(10, 0, 0, 0), prefix: 8 }] } });
    const ptoken = await loginToken(proxied);
    const viaProxy = await proxied.app.request('/api/test/ws-probe', { headers: { upgrade: 'websocket', host: 'internal:8080', origin: 'https://docker.example.com', 'x-forwarded-host': 'docker.example.com', ...bearer(ptoken) } }, { peer: '10.1.2.3' });
    expect(viaProxy.status).toBe(200);
  });
});
