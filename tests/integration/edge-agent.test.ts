/**
 * The split deployment end to end: the real Worker in workerd (wrangler dev --local, KV and
 * Durable Objects emulated), real agent processes over ws://127.0.0.1, the real engine and a
 * real registry of the test bed.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentLink, agentUrl, localHandlers } from '../../src/agent/agent-link.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { silentLogger } from '../../src/core/ports.js';
import { generateAgentKey, signChallenge } from '../../src/core/agent-link/enrolment.js';
import { PROTOCOL_VERSION } from '../../src/core/agent-link/protocol.js';
import { VERSION } from '../../src/version.js';
import { bed } from '../helpers/bed.js';
import type { CliRun } from '../helpers/cli-process.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { startAgent, startWorker, stopAgent, until, type EdgeWorker, workerApi, type Envelope } from '../helpers/edge-worker.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { testApp } from '../helpers/test-app.js';

interface View { name: string; status: string; [k: string]: unknown }
interface HostInfo { name: string; online: boolean; enrolled: boolean; agentVersion: string | null; lastSeen: string | null; containers: { total: number; running: number } | null }

const dockerHost = bed().dockerHost;
const run = `wde-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const label = `wde.run=${run}`;
const repo = `${bed().regPlain}/wde/${run}`;
const PASSWORD = 'edge test password 8f3b';
const dir = mkdtempSync(join(tmpdir(), 'wde-'));
const persistDir = join(dir, 'state');
const vars = { USER_NAME: 'admin', USER_PASSWORD: PASSWORD, WATCH_POLICY_ONLY_LABELS: label };
const h1 = 'wde-one';

let worker: EdgeWorker;
let oldStaleId = '';
let token = '';
const agents: CliRun[] = [];

const api = <T = any>(path: string, init: RequestInit = {}) => workerApi<T>(worker, token, path, init, 30_000);

async function login(): Promise<string> {
  const res = await fetch(`${worker.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  return ((await res.json()) as Envelope<{ token: string }>).data.token;
}

async function createHost(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await api<{ name: string; joinToken: string; expiresAt: string }>('/api/hosts', { method: 'POST', body: JSON.stringify({ name, ...extra }) });
  expect(status, body.msg).toBe(201);
  return body.data.joinToken;
}

const hostInfo = async (name: string) => (await api<{ hosts: HostInfo[] }>('/api/hosts')).body.data.hosts.find((h) => h.name === name);
const agent = (name: string, keyFile: string, joinToken?: string) => {
  const a = startAgent({ url: worker.url, host: name, keyFile, dockerHost, ...(joinToken ? { joinToken } : {}) });
  agents.push(a);
  return a;
};
/** The agent's log records (pino JSON lines). */
const records = (a: CliRun) => a.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
const mine = (views: View[]) => views.filter((v) => v.name.startsWith(run)).sort((a, b) => a.name.localeCompare(b.name));

describe('split deployment: Worker in workerd + agent', () => {
  beforeAll(async () => {
    await buildImage(dockerHost, `${repo}-app:latest`);
    await pushImage(dockerHost, `${repo}-app:latest`);
    await buildImage(dockerHost, `${repo}-stale:latest`);
    await pushImage(dockerHost, `${repo}-stale:latest`);
    const net = ['--network', 'none', '--label', label];
    await docker(dockerHost, ['run', '-d', ...net, '--name', `${run}-up`, `${repo}-app:latest`]);
    await docker(dockerHost, ['run', '-d', ...net, '--name', `${run}-stale`, `${repo}-stale:latest`]);
    await docker(dockerHost, ['create', ...net, '--name', `${run}-stopped`, `${repo}-app:latest`]);
    // A newer image under the stale container's tag.
    oldStaleId = await docker(dockerHost, ['image', 'inspect', '--format', '{{.Id}}', `${repo}-stale:latest`]);
    await buildImage(dockerHost, `${repo}-stale:latest`);
    await pushImage(dockerHost, `${repo}-stale:latest`);
    worker = await startWorker({ persistDir, vars });
    token = await login();
  });

  afterAll(async () => {
    await Promise.all(agents.map(stopAgent));
    await worker?.stop();
    for (const n of ['up', 'stale', 'stopped']) await dockerQuiet(dockerHost, ['rm', '-f', `${run}-${n}`]);
    // By ID: removing a tag leaves the image behind while its registry digest still names it.
    const ids = [oldStaleId];
    for (const ref of [`${repo}-app:latest`, `${repo}-stale:latest`]) ids.push(await docker(dockerHost, ['image', 'inspect', '--format', '{{.Id}}', ref]).catch(() => ''));
    for (const id of ids) if (id) await dockerQuiet(dockerHost, ['rmi', '-f', id]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a host with a single-use join token; the agent enrols (key file 0600) and is listed online', async () => {
    const joinToken = await createHost(h1);
    expect(joinToken).toMatch(/^wdj_[A-Za-z0-9_-]{43}$/);
    const keyFile = join(dir, 'one.key');
    const a = agent(h1, keyFile, joinToken);
    const info = await until('the agent online', async () => {
      const h = await hostInfo(h1);
      return h?.online ? h : null;
    });
    expect(info).toMatchObject({ enrolled: true, agentVersion: VERSION });
    expect(info.lastSeen).not.toBeNull();
    expect(info.containers?.total).toBeGreaterThanOrEqual(3);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(records(a).some((r) => r.action === 'enrolled')).toBe(true);
    // The token is never shown again.
    expect(JSON.stringify((await api('/api/hosts')).body)).not.toContain(joinToken);
    // A second host with the same name is a conflict.
    const again = await api('/api/hosts', { method: 'POST', body: JSON.stringify({ name: h1 }) });
    expect(again.status).toBe(409);
  });

  it('lists the containers through the agent exactly as the Node server does', async () => {
    const node = testApp(new DockerodePort(dockerHost), { env: { WATCH_POLICY_ONLY_LABELS: label } });
    const direct = (await (await node.request('/api/containers?all=true')).json()) as Envelope<{ containers: View[] }>;
    const remote = await api<{ containers: View[] }>(`/api/containers?all=true&host=${h1}`);
    expect(remote.status).toBe(200);
    expect(mine(remote.body.data.containers)).toHaveLength(3);
    expect(mine(remote.body.data.containers)).toEqual(mine(direct.data.containers));
    const running = await api<{ containers: View[] }>(`/api/containers?host=${h1}`);
    expect(mine(running.body.data.containers).map((c) => c.name)).toEqual([`${run}-stale`, `${run}-up`]);
    const images = await api<{ images: Array<{ repoTags: string[] }> }>(`/api/images?host=${h1}`);
    expect(images.body.data.images.some((i) => i.repoTags.includes(`${repo}-app:latest`))).toBe(true);
  });

  it('scans through the agent: the registry checks run on the host', async () => {
    const scan = await api<{ containers: View[] }>(`/api/scan?host=${h1}`, { method: 'POST' });
    expect(scan.status, scan.body.msg).toBe(200);
    const byName = Object.fromEntries(mine(scan.body.data.containers).map((c) => [c.name.slice(run.length + 1), c.status]));
    expect(byName).toMatchObject({ up: 'UpToDate', stale: 'UpdateAvailable' });
    // The report is kept for this host.
    const later = await api<{ containers: View[] }>(`/api/containers?host=${h1}`);
    expect(mine(later.body.data.containers).find((c) => c.name === `${run}-stale`)?.status).toBe('UpdateAvailable');
  });

  it('answers a clear error for an offline, unknown or badly named host, at once', async () => {
    await createHost('wde-off');
    const off = await api(`/api/containers?host=wde-off`);
    expect(off.status).toBe(503);
    expect(off.body).toMatchObject({ code: 50005, msg: 'host wde-off is offline: its agent is not connected' });
    expect((await hostInfo('wde-off'))).toMatchObject({ online: false, enrolled: false, lastSeen: null, containers: null });
    const unknown = await api(`/api/containers?host=wde-nobody`);
    expect(unknown.status).toBe(404);
    const bad = await api(`/api/containers?host=Not_A_Host`);
    expect(bad.status).toBe(400);
    expect(bad.body.msg).toMatch(/host "Not_A_Host"/);
    // Without a host the control plane says how to name one; it is ready itself.
    const none = await api('/api/containers');
    expect(none.body.msg).toMatch(/\?host=NAME/);
    expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);
  });

  it('refuses a forged key and a reused join token; the enrolled agent stays connected', async () => {
    const forged = agent(h1, join(dir, 'forged.key'));
    await until('the forged key refused', async () => records(forged).find((r) => r.action === 'refused'));
    expect(records(forged).find((r) => r.action === 'refused')?.err).toMatch(/not the one enrolled/);
    await stopAgent(forged);
    // The first host's token was used at enrolment: presenting it with another key fails.
    const joinToken = await createHost('wde-reuse');
    const first = agent('wde-reuse', join(dir, 'reuse-1.key'), joinToken);
    await until('the first agent enrolled', async () => records(first).find((r) => r.action === 'enrolled'));
    const second = agent('wde-reuse', join(dir, 'reuse-2.key'), joinToken);
    await until('the reused token refused', async () => records(second).find((r) => r.action === 'refused'));
    expect(records(second).find((r) => r.action === 'refused')?.err).toMatch(/already used/);
    await stopAgent(second);
    await stopAgent(first);
    expect(records(second).some((r) => r.action === 'enrolled' || r.action === 'connected')).toBe(false);
    expect((await hostInfo(h1))?.online).toBe(true);
    expect((await api(`/api/containers?host=${h1}`)).status).toBe(200);
  });

  it('refuses an expired join token', async () => {
    const joinToken = await createHost('wde-exp', { joinTokenTtlSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    const late = agent('wde-exp', join(dir, 'exp.key'), joinToken);
    await until('the expired token refused', async () => records(late).find((r) => r.action === 'refused'));
    expect(records(late).find((r) => r.action === 'refused')?.err).toMatch(/expired/);
    await stopAgent(late);
    expect(await hostInfo('wde-exp')).toMatchObject({ enrolled: false, online: false });
  });

  it('closes a link that sends a replayed, reordered or malformed frame, or anything before authenticating', async () => {
    const joinToken = await createHost('wde-raw');
    const key = await generateAgentKey();
    /** Opens a raw link, authenticates (or not), sends the frames, and resolves with the close. */
    const session = (frames: (string | object)[], opts: { auth: boolean; joinToken?: string }) => new Promise<{ code: number; reason: string; hello: boolean }>((resolve, reject) => {
      const ws = new WebSocket(`${worker.url.replace('http', 'ws')}/agent/connect?host=wde-raw`);
      let hello = false;
      ws.on('error', reject);
      ws.on('message', async (data) => {
        const f = JSON.parse(data.toString()) as { t: string; nonce?: string };
        if (f.t === 'challenge') {
          if (!opts.auth) {
            for (const x of frames) ws.send(typeof x === 'string' ? x : JSON.stringify(x));
            return;
          }
          const signature = await signChallenge(key, 'wde-raw', f.nonce!);
          ws.send(JSON.stringify({ t: 'auth', seq: 1, host: 'wde-raw', agentVersion: 'raw', protocol: PROTOCOL_VERSION, publicKey: key.publicKey, signature, ...(opts.joinToken ? { joinToken: opts.joinToken } : {}) }));
        }
        if (f.t === 'hello') {
          hello = true;
          for (const x of frames) ws.send(typeof x === 'string' ? x : JSON.stringify(x));
        }
      });
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), hello }));
    });
    const res = (seq: number) => ({ t: 'res', seq, id: 'nothing', result: null });
    const replay = await session([res(2), res(2)], { auth: true, joinToken });
    expect(replay).toMatchObject({ hello: true, code: 4400, reason: 'frame 2 replayed (last was 2)' });
    const reorder = await session([res(3)], { auth: true });
    expect(reorder).toMatchObject({ hello: true, code: 4400, reason: 'frame 3 out of order (expected 2)' });
    const unknownOp = await session([{ t: 'req', seq: 2, id: 'x', op: 'exec', args: [] }], { auth: true });
    expect(unknownOp).toMatchObject({ code: 4400 });
    expect(unknownOp.reason).toMatch(/^invalid frame at "op"/);
    const early = await session([res(1)], { auth: false });
    expect(early).toMatchObject({ hello: false, code: 4401, reason: 'expected an auth frame, got "res"' });
  });

  it('serves 20 agents connecting at once, each on its own host', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `wde-many-${i}`);
    const tokens: string[] = [];
    for (const n of names) tokens.push(await createHost(n));
    const handlers = localHandlers(new DockerodePort(dockerHost), { prepare: async () => {}, check: async () => ({ status: 'UpToDate', remoteDigest: '' }) });
    const links = await Promise.all(names.map(async (host, i) => new AgentLink({
      url: agentUrl(worker.url.replace('http', 'ws'), host), host, key: await generateAgentKey(), joinToken: tokens[i]!, handlers, logger: silentLogger, version: 'many', retryMinMs: 200, retryMaxMs: 2000,
    })));
    try {
      for (const l of links) l.start();
      await until('all 20 online', async () => {
        const hosts = (await api<{ hosts: HostInfo[] }>('/api/hosts')).body.data.hosts.filter((h) => names.includes(h.name));
        return hosts.length === 20 && hosts.every((h) => h.online && h.agentVersion === 'many');
      }, 60_000);
      expect(links.every((l) => l.state === 'online')).toBe(true);
      const answers = await Promise.all(names.map((n) => api<{ containers: View[] }>(`/api/containers?all=true&host=${n}`)));
      for (const a of answers) expect(mine(a.body.data.containers)).toHaveLength(3);
    } finally {
      await Promise.all(links.map((l) => l.stop()));
      for (const n of names) await api(`/api/hosts/${n}`, { method: 'DELETE' });
    }
  });

  it('streams a container\'s logs and the engine\'s events through the agent, over the Worker\'s WebSockets', async () => {
    const talk = `${run}-talk`;
    await docker(dockerHost, ['run', '-d', '--network', 'none', '--name', talk, `${repo}-app:latest`, 'sh', '-c', 'echo one; echo two; exec sleep 3600']);
    /** Opens a WebSocket route of the Worker and collects its frames until `done` says so. */
    const frames = (path: string, done: (f: any) => boolean, onOpen?: (ws: WebSocket) => void) => new Promise<any[]>((resolve, reject) => {
      const ws = new WebSocket(`${worker.url.replace('http', 'ws')}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const got: any[] = [];
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no awaited frame on ${path}; got ${JSON.stringify(got)}`));
      }, 30_000);
      ws.on('open', () => onOpen?.(ws));
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString()) as { type: string };
        got.push(f);
        if (done(f)) {
          clearTimeout(timer);
          ws.close();
          resolve(got);
        }
      });
      ws.on('unexpected-response', (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.on('error', reject);
    });
    try {
      const logs = await frames(`/api/containers/${talk}/logs/ws?tail=10&follow=1&host=${h1}`, (f) => f.type === 'line' && f.text === 'two');
      expect(logs.filter((f) => f.type === 'line').map((f) => f.text)).toEqual(['one', 'two']);
      // SIGWINCH changes nothing in the container, but the engine reports a "kill" event; sent
      // until one arrives, since the agent subscribes a moment after the socket opens.
      let poke: ReturnType<typeof setInterval> | undefined;
      const events = await frames(`/api/events/ws?host=${h1}`, (f) => f.type === 'event' && f.event.name === talk && f.event.action === 'kill', () => {
        poke = setInterval(() => void dockerQuiet(dockerHost, ['kill', '-s', 'WINCH', talk]), 500);
      }).finally(() => clearInterval(poke));
      expect(events.at(-1).event).toMatchObject({ type: 'container', action: 'kill', name: talk });
    } finally {
      await dockerQuiet(dockerHost, ['rm', '-f', talk]);
    }
  });

  it('updates a container through the agent (pull streamed with credit, recreate, history kept per host)', async () => {
    const newId = await docker(dockerHost, ['image', 'inspect', '--format', '{{.Id}}', `${repo}-stale:latest`]);
    const res = await api<{ result: string; newImageId: string; name: string }>(`/api/containers/${run}-stale/update?host=${h1}`, { method: 'POST' });
    expect(res.status, res.body.msg).toBe(200);
    expect(res.body.data).toMatchObject({ result: 'updated', name: `${run}-stale`, newImageId: newId });
    expect(await docker(dockerHost, ['inspect', '--format', '{{.Image}} {{.State.Running}}', `${run}-stale`])).toBe(`${newId} true`);
    const history = await api<{ items?: Array<{ name: string }>; entries?: Array<{ name: string }> }>(`/api/updates/history?host=${h1}`);
    expect(JSON.stringify(history.body.data)).toContain(`${run}-stale`);
    // Another host's history does not show it.
    expect(JSON.stringify((await api(`/api/updates/history?host=wde-off`)).body.data)).not.toContain(`${run}-stale`);
  });

  it('survives a restart of the Worker: the agent reconnects, hosts and keys are kept', async () => {
    const port = worker.port;
    await worker.stop();
    worker = await startWorker({ persistDir, vars, port });
    const info = await until('the agent back online', async () => {
      const h = await hostInfo(h1);
      return h?.online ? h : null;
    }, 45_000);
    expect(info.enrolled).toBe(true);
    expect(await hostInfo('wde-off')).toMatchObject({ online: false });
    const list = await api<{ containers: View[] }>(`/api/containers?all=true&host=${h1}`);
    expect(mine(list.body.data.containers)).toHaveLength(3);
    // The scan report of the host was kept too (KV).
    expect(mine(list.body.data.containers).find((c) => c.name === `${run}-up`)?.status).toBe('UpToDate');
  });

  it('revokes one host: its agent is disconnected and refused, the others stay', async () => {
    const a = agents[0]!;
    const del = await api(`/api/hosts/${h1}`, { method: 'DELETE' });
    expect(del.status, del.body.msg).toBe(200);
    await until('the agent disconnected', async () => records(a).find((r) => r.action === 'disconnected'));
    await until('the reconnect refused', async () => records(a).find((r) => r.action === 'connect' && r.status === 403));
    expect((await api(`/api/containers?host=${h1}`)).status).toBe(404);
    const hosts = (await api<{ hosts: HostInfo[] }>('/api/hosts')).body.data.hosts.map((h) => h.name);
    expect(hosts).not.toContain(h1);
    expect(hosts).toContain('wde-off');
    expect((await api(`/api/hosts/${h1}`, { method: 'DELETE' })).status).toBe(404);
  });
});
