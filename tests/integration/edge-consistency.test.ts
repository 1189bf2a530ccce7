import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type EdgeWorker, type Envelope } from '../helpers/edge-worker.js';

/**
 * Single-use rules on the real Worker in workerd: the same TOTP code, WebSocket ticket or signed
 * webhook delivery sent 20 times at once is accepted exactly once, and that state lives in the
 * StateObject Durable Object, not in KV (wiping KV loses none of it).
 *
 * Local workerd runs the Worker in one isolate, so these requests race inside it; across
 * isolates the guarantee rests on the object (its contract: state-object.test.ts).
 */
const PASSWORD = 'cons-test-password-0123';
const SECRET = 'cons-webhook-secret-0123456789';
const RACERS = 20;
const dir = mkdtempSync(join(tmpdir(), 'wd-cons-edge-'));
const persistDir = join(dir, 'state');
const vars = { USER_NAME: 'admin', USER_PASSWORD: PASSWORD, IS_SECONDARY_VERIFICATION: 'true', WATCH_AUTH_MAX_FAILURES: '100', WATCH_WEBHOOK_SECRET: SECRET };
let worker: EdgeWorker;

/** A TOTP code from oathtool (liboath) for the time `atMs`. */
function oathtool(secret: string, atMs: number): string {
  const at = new Date(atMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', '--digits=6', '--time-step-size=30s', `--now=${at}`, secret], { encoding: 'utf8' }).trim();
}

async function call<T = any>(path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string; method?: string } = {}): Promise<{ status: number; body: Envelope<T> }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${worker.url}${path}`, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Envelope<T> };
  } catch {
    throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}\n${worker.output().slice(-3000)}`);
  }
}

const login = async () => (await call<{ token: string; isSetup: boolean }>('/api/v1/auth/login', { body: { username: 'admin', password: PASSWORD } })).body.data;

/** A WebSocket upgrade with `?ticket=`: 101 when accepted, else the refusal's status. */
function upgradeWithTicket(ticket: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${worker.url}/api/events/ws?ticket=${encodeURIComponent(ticket)}`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), origin: worker.url },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A registry notification with only a pull: accepted with nothing to update (no host needed). */
const pullOnly = JSON.stringify({ events: [{ action: 'pull', target: { repository: 'cons/app', tag: 'latest' }, request: { host: '127.0.0.1:5000' } }] });

const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

describe('single-use rules on the Worker (state in the StateObject Durable Object)', () => {
  let secret = '';
  let setupToken = '';
  let raceToken = '';
  let raceCode = '';

  beforeAll(async () => {
    worker = await startWorker({ persistDir, vars });
  });

  afterAll(async () => {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`one TOTP code sent ${RACERS} times at once (each with its own temp token) is accepted once`, async () => {
    const temp = (await login()).token;
    const init = await call<{ secret: string }>('/api/v1/2fa/setup/otp/init', { token: temp, body: {} });
    expect(init.status).toBe(200);
    secret = init.body.data.secret;
    const setup = await call<{ token: string }>('/api/v1/2fa/setup/otp/verify', { token: temp, body: { code: oathtool(secret, Date.now()) } });
    expect(setup.status).toBe(200);
    setupToken = setup.body.data.token;

    const temps = await Promise.all(Array.from({ length: RACERS }, async () => (await login()).token));
    // The next time step: newer than the one setup used, and within the ±1 step tolerance.
    raceCode = oathtool(secret, Date.now() + 30_000);
    const answers = await Promise.all(temps.map((t) => call<{ token: string }>('/api/v1/2fa/verify/otp', { token: t, body: { code: raceCode } })));
    expect(tally(answers.map((a) => a.status))).toEqual({ 200: 1, 401: RACERS - 1 });
    raceToken = answers.find((a) => a.status === 200)?.body.data.token ?? '';
    expect((await call('/api/hosts', { token: raceToken })).status).toBe(200);
  });

  it(`one WebSocket ticket used ${RACERS} times at once opens one socket`, async () => {
    const issued = await call<{ ticket: string }>('/api/v1/auth/ws-ticket', { token: setupToken, body: {} });
    expect(issued.status).toBe(200);
    const statuses = await Promise.all(Array.from({ length: RACERS }, () => upgradeWithTicket(issued.body.data.ticket)));
    expect(tally(statuses)).toEqual({ 101: 1, 401: RACERS - 1 });
  });

  it(`one signed webhook delivery sent ${RACERS} times at once passes once`, async () => {
    const body = pullOnly;
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = { 'x-webhook-timestamp': ts, 'x-signature-256': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}` };
    const answers = await Promise.all(Array.from({ length: RACERS }, () => call('/api/v1/webhooks/update', { raw: body, headers })));
    expect(tally(answers.map((a) => a.status))).toEqual({ 200: 1, 401: RACERS - 1 });
    expect(answers.find((a) => a.status === 200)?.body.data).toMatchObject({ jobId: null, ignored: 1, source: 'registry' });
    // Job lookups read the webhook-jobs object: an unknown id is a clean 404.
    expect((await call('/api/v1/webhooks/jobs/wh-cons-none', { token: setupToken })).status).toBe(404);
  });

  it('keeps the 2FA record, the used code, revocations, machine tokens and the signing key in the Durable Object: a Worker restarted with KV wiped still has them', async () => {
    expect((await call('/api/v1/auth/logout', { token: raceToken, body: {} })).status).toBe(200);
    const created = await call<{ token: string }>('/api/v1/tokens', { token: setupToken, body: { name: 'cons-ci', scope: { images: ['127.0.0.1:5000/cons/app'] } } });
    expect(created.status).toBe(201);
    const machine = created.body.data.token;
    await worker.stop();
    const kvDir = join(persistDir, 'v3', 'kv');
    expect(existsSync(kvDir) && readdirSync(kvDir).length > 0).toBe(true);
    rmSync(kvDir, { recursive: true, force: true });
    worker = await startWorker({ persistDir, vars, port: worker.port });

    // The token signed before the restart still verifies (the generated key is in the object) …
    expect((await call('/api/hosts', { token: setupToken })).status).toBe(200);
    // … the logged-out one stays revoked, the user still has a second factor, and the raced code stays used.
    expect((await call('/api/hosts', { token: raceToken })).status).toBe(401);
    const again = await login();
    expect(again.isSetup).toBe(true);
    expect((await call('/api/v1/2fa/verify/otp', { token: again.token, body: { code: raceCode } })).status).toBe(401);
    // The machine token is still known; once revoked it is refused at once.
    expect((await call('/api/v1/webhooks/update', { token: machine, raw: pullOnly })).status).toBe(200);
    expect((await call('/api/v1/tokens/cons-ci', { token: setupToken, method: 'DELETE' })).status).toBe(200);
    expect((await call('/api/v1/webhooks/update', { token: machine, raw: pullOnly })).status).toBe(401);
  });
});
