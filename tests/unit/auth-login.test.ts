import { describe, expect, it } from 'vitest';
import { GENERATED_PASSWORD_KEY } from '../../src/core/auth/credentials.js';
import { authApp, bearer, get, loginToken, post, TEST_PASSWORD, TEST_USER } from '../helpers/auth-app.js';
import { MemoryLogger } from '../helpers/auth-log.js';

const login = (t: ReturnType<typeof authApp>, username: string, password: string, peer?: string) => post(t, '/api/v1/auth/login', { username, password }, {}, peer);

describe('login', () => {
  it('answers a full token without 2FA', async () => {
    const t = authApp();
    const res = await login(t, TEST_USER, TEST_PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ username: TEST_USER, kind: 'full', requiresTwoFA: false });
    expect((await get(t, '/api/containers', bearer(String(res.body.data.token)))).status).toBe(200);
  });

  it('an unknown user and a wrong password get the same answer', async () => {
    const t = authApp();
    const wrongPassword = await login(t, TEST_USER, 'not the password');
    const unknownUser = await login(t, 'mallory', TEST_PASSWORD);
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(unknownUser.body).toEqual(wrongPassword.body);
    expect(wrongPassword.body).toEqual({ code: 401, msg: 'wrong user name or password', data: null });
  });

  it('an unknown user costs about as long as a wrong password (both run PBKDF2)', async () => {
    const t = authApp();
    await login(t, TEST_USER, 'warm-up', '198.51.100.1');
    const time = async (user: string, peer: string) => {
      const start = performance.now();
      await login(t, user, 'wrong password', peer);
      return performance.now() - start;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time(TEST_USER, `198.51.100.${10 + i}`));
      unknown.push(await time(`nobody-${i}`, `198.51.100.${20 + i}`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    // PBKDF2 with 100,000 rounds dominates: an early exit for unknown users would be ~100x faster.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  it('refuses malformed bodies without echoing them', async () => {
    const t = authApp();
    const res = await post(t, '/api/v1/auth/login', { username: TEST_USER, password: 123456789 });
    expect(res.status).toBe(400);
    expect(res.body.msg).toBe('body field "password": expected a password');
    const notJson = await t.app.request('/api/v1/auth/login', { method: 'POST', body: 'password=x' });
    expect(notJson.status).toBe(400);
  });

  it('without USER_PASSWORD: generates a password once, logs it once, stores only its hash, reuses it', async () => {
    const logger = new MemoryLogger();
    const first = authApp({ env: { USER_PASSWORD: '' }, logger });
    await first.auth.ready();
    const marked = logger.lines.filter((l) => l.includes('GENERATED PASSWORD'));
    expect(marked).toHaveLength(1);
    const password = /: (\S{24}) —/.exec(marked[0] ?? '')?.[1] ?? '';
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    const stored = JSON.stringify(await first.store.getItem(GENERATED_PASSWORD_KEY));
    expect(stored).toContain('pbkdf2-sha256');
    expect(stored).not.toContain(password);
    expect((await login(first, TEST_USER, password)).status).toBe(200);

    // A restart on the same store: the same password, and nothing logged again.
    const second = authApp({ env: { USER_PASSWORD: '' }, logger, store: first.store });
    expect((await login(second, TEST_USER, password)).status).toBe(200);
    expect(logger.lines.filter((l) => l.includes('GENERATED PASSWORD'))).toHaveLength(1);
  });

  it('there is no default admin/admin', async () => {
    const t = authApp({ env: { USER_NAME: 'admin', USER_PASSWORD: '' } });
    expect((await login(t, 'admin', 'admin')).status).toBe(401);
    expect((await login(t, 'admin', '')).status).toBe(400);
  });
});

describe('failed attempts are limited', () => {
  it('30 wrong passwords: 429 with Retry-After after the 10th, even for the right password', async () => {
    const t = authApp();
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof login>> | undefined;
    for (let i = 0; i < 30; i++) {
      last = await login(t, TEST_USER, `guess-${i}`);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(20).fill(429));
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last?.body.code).toBe(42900);
    expect(last?.body.msg).toMatch(/^too many failed attempts: try again in \d+ minutes$/);
    expect((await login(t, TEST_USER, TEST_PASSWORD)).status).toBe(429);
    // The window slides: 15 minutes later the right password works again.
    t.clock.advance(15 * 60_000 + 1000);
    expect((await login(t, TEST_USER, TEST_PASSWORD)).status).toBe(200);
  });

  it('a burst of parallel guesses gets no more than the limit checked', async () => {
    const t = authApp();
    const statuses = (await Promise.all(Array.from({ length: 30 }, (_, i) => login(t, TEST_USER, `parallel-${i}`)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it('successes do not count: the right password can be used any number of times', async () => {
    const t = authApp();
    for (let i = 0; i < 12; i++) expect((await login(t, TEST_USER, TEST_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 9; i++) await login(t, TEST_USER, 'wrong');
    expect((await login(t, TEST_USER, TEST_PASSWORD)).status).toBe(200);
  });

  it('counts per account (across addresses) and per address (across accounts)', async () => {
    const t = authApp();
    for (let i = 0; i < 10; i++) await login(t, TEST_USER, 'wrong', `203.0.113.${i + 1}`);
    expect((await login(t, TEST_USER, TEST_PASSWORD, '203.0.113.99')).status).toBe(429);

    const u = authApp();
    for (let i = 0; i < 10; i++) await login(u, `user-${i}`, 'wrong', '203.0.113.50');
    expect((await login(u, TEST_USER, TEST_PASSWORD, '203.0.113.50')).status).toBe(429);
    expect((await login(u, TEST_USER, TEST_PASSWORD, '203.0.113.51')).status).toBe(200);
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const direct = authApp();
    // A client rotating X-Forwarded-For is still one address.
    for (let i = 0; i < 10; i++) await post(direct, '/api/v1/auth/login', { username: `u${i}`, password: 'x' }, { 'x-forwarded-for': `198.18.0.${i}` }, '203.0.113.7');
    expect((await post(direct, '/api/v1/auth/login', { username: TEST_USER, password: TEST_PASSWORD }, { 'x-forwarded-for': '198.18.1.1' }, '203.0.113.7')).status).toBe(429);

    const proxied = authApp({ settings: { trustedProxies: [{ bytes: Uint8Array.of(10, 0, 0, 1), prefix: 32 }] } });
    for (let i = 0; i < 10; i++) await post(proxied, '/api/v1/auth/login', { username: `u${i}`, password: 'x' }, { 'x-forwarded-for': '198.18.0.66' }, '10.0.0.1');
    // Behind the proxy, another client is another address.
    expect((await post(proxied, '/api/v1/auth/login', { username: TEST_USER, password: TEST_PASSWORD }, { 'x-forwarded-for': '198.18.0.67' }, '10.0.0.1')).status).toBe(200);
    expect((await post(proxied, '/api/v1/auth/login', { username: TEST_USER, password: TEST_PASSWORD }, { 'x-forwarded-for': '198.18.0.66' }, '10.0.0.1')).status).toBe(429);
  });

  it('audits success, failure and lockout without naming a mistyped user', async () => {
    const logger = new MemoryLogger();
    const t = authApp({ logger });
    await loginToken(t);
    for (let i = 0; i < 10; i++) await login(t, i === 0 ? 'my-secret-typed-as-name' : TEST_USER, 'wrong');
    const audit = logger.entries().filter((e) => e.component === 'audit');
    expect(audit.map((e) => e.action)).toEqual(['login.success', ...Array(10).fill('login.failure'), 'login.lockout']);
    expect(audit[1]).toMatchObject({ user: '(unknown user)', address: '192.0.2.10' });
    expect(logger.lines.join('\n')).not.toContain('my-secret-typed-as-name');
    const stored = await t.auth.audit.recent();
    expect(stored.map((e) => e.event)).toContain('login.lockout');
  });
});
