/**
 * Streams, compose and the web shell through the split deployment: the real Worker in workerd
 * (wrangler dev --local), real agent processes over ws://127.0.0.1, the real engine and
 * `docker compose`. Every WebSocket route takes ?host= and reaches that host's agent.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bed } from '../helpers/bed.js';
import type { CliRun } from '../helpers/cli-process.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { startAgent, startWorker, stopAgent, until, type EdgeWorker, workerApi, type Envelope } from '../helpers/edge-worker.js';
import { WsClient } from '../helpers/ws-client.js';


const dockerHost = bed().dockerHost;
const run = `wdl-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const PASSWORD = 'link test password 2c9e';
const dir = mkdtempSync(join(tmpdir(), 'wdl-'));
const appPath = join(dir, 'apps');
const vars = { USER_NAME: 'admin', USER_PASSWORD: PASSWORD };
/** The host whose agent allows the shell and has an APP_PATH; the other has neither. */
const SH = 'wdl-sh';
const PLAIN = 'wdl-plain';
const P = `${run}-cmp`;
const svc = (say: string) =>
  `    image: ${bed().baseImage}\n    network_mode: host\n    stop_grace_period: 1s\n    command: ["sh", "-c", "echo ${say}; trap 'exit 0' TERM; while true; do sleep 1; done"]\n`;
const yaml = `services:\n  web:\n${svc('hello-from-web')}  side:\n${svc('hello-from-side')}`;

let worker: EdgeWorker;
let token = '';
const agents: CliRun[] = [];

const api = <T = any>(path: string, init: RequestInit = {}) => workerApi<T>(worker, token, path, init, 60_000);

const wsUrl = (path: string) => `${worker.url.replace('http', 'ws')}${path}`;
const auth = () => ({ authorization: `Bearer ${token}`, origin: worker.url });

/** Processes on this machine whose command line has every one of `words`. */
function processes(...words: string[]): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (words.every((w) => args.some((a) => a.includes(w)))) found.push(Number(pid));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** The output of a shell session so far, as one string. */
const output = (c: WsClient) => c.frames.filter((f) => f.type === 'output').map((f) => f.data as string).join('');
const printed = (c: WsClient, re: RegExp, what: string) => c.waitFor(() => re.test(output(c)), what);

describe.runIf(bed().compose)('split deployment: streams, compose and the shell through Worker + agent', () => {
  beforeAll(async () => {
    mkdirSync(appPath);
    worker = await startWorker({ persistDir: join(dir, 'state'), vars });
    const res = await fetch(`${worker.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    token = ((await res.json()) as Envelope<{ token: string }>).data.token;
    for (const [host, env] of [[SH, { IS_OPEN_DOCKER_SHELL: 'true', APP_PATH: appPath, SHELL: '/bin/sh' }], [PLAIN, {}]] as const) {
      const created = await api<{ joinToken: string }>('/api/hosts', { method: 'POST', body: JSON.stringify({ name: host }) });
      expect(created.status, created.body.msg).toBe(201);
      agents.push(startAgent({ url: worker.url, host, keyFile: join(dir, `${host}.key`), joinToken: created.body.data.joinToken, dockerHost, env }));
    }
    await until('both agents online', async () => {
      const hosts = (await api<{ hosts: Array<{ name: string; online: boolean }> }>('/api/hosts')).body.data.hosts;
      return hosts.filter((h) => h.online).length === 2;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${agents.map((a) => a.stdout() + a.stderr()).join('\n').slice(-3000)}`);
    });
    await docker(dockerHost, ['run', '-d', '--network', 'none', '--name', `${run}-talk`, bed().baseImage, 'sh', '-c', 'for i in 1 2 3 4 5 6; do echo "line-$i"; done; sleep 1; echo oops >&2; touch /tmp/said; while true; do sleep 1; done']);
  });

  afterAll(async () => {
    await dockerQuiet(dockerHost, ['compose', '-p', P, 'down', '--timeout', '1']);
    for (const n of ['talk', 'ev', 'spew']) await dockerQuiet(dockerHost, ['rm', '-f', `${run}-${n}`]);
    await Promise.all(agents.map(stopAgent));
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams a container\'s logs from the agent (tail, stdout and stderr), then ends', async () => {
    await until('the container\'s last line', () => docker(dockerHost, ['exec', `${run}-talk`, 'ls', '/tmp/said']).then(() => true, () => false));
    const c = await WsClient.open(wsUrl(`/api/containers/${run}-talk/logs/ws?host=${SH}&tail=4`), auth());
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1000);
    const lines = c.frames.filter((f) => f.type === 'line');
    expect(lines.map((l) => l.text)).toEqual(['line-4', 'line-5', 'line-6', 'oops']);
    expect(lines.map((l) => l.stream)).toEqual(['stdout', 'stdout', 'stdout', 'stderr']);
    expect(lines[0]?.container).toBe(`${run}-talk`);
    expect(c.frames.at(-1)).toEqual({ type: 'end' });
    // An unknown container is refused before the upgrade.
    expect(await WsClient.refusal(wsUrl(`/api/containers/${run}-nope/logs/ws?host=${SH}`), auth())).toBe(404);
  });

  it('streams container events from the host: a start and a stop are seen', async () => {
    const c = await WsClient.open(wsUrl(`/api/events/ws?host=${SH}`), auth());
    // The agent's event stream is open once a ping round trip has gone through the same link.
    await new Promise((r) => setTimeout(r, 500));
    await docker(dockerHost, ['run', '-d', '--network', 'none', '--name', `${run}-ev`, bed().baseImage, 'sleep', '300']);
    await docker(dockerHost, ['stop', '-t', '0', `${run}-ev`]);
    const mine = (action: string) => (f: Record<string, unknown>) => f.type === 'event' && (f.event as { name: string; action: string }).name === `${run}-ev` && (f.event as { action: string }).action === action;
    await c.waitFor(mine('start'), 'the start event');
    await c.waitFor(mine('die'), 'the die event');
    c.close();
    await c.waitClosed();
  });

  it('manages a compose project on the host: created, started, listed running, logs, progress, deleted', async () => {
    const created = await api(`/api/compose/create?host=${SH}`, { method: 'POST', body: JSON.stringify({ name: P, yaml }) });
    expect(created.status, created.body.msg).toBe(201);
    expect(readFileSync(join(appPath, P, 'compose.yaml'), 'utf8')).toBe(yaml);
    const progress = await WsClient.open(wsUrl(`/api/compose/progress/ws?host=${SH}&name=${P}`), auth());
    const started = await api(`/api/compose/start?host=${SH}`, { method: 'POST', body: JSON.stringify({ name: P }) });
    expect(started.status, started.body.msg).toBe(200);
    expect(started.body.data).toMatchObject({ name: P, action: 'start', ok: true });
    await progress.waitFor((f) => f.type === 'done' && f.action === 'start' && f.ok === true, 'the start action done');
    expect(progress.frames.some((f) => f.type === 'start' && f.action === 'start')).toBe(true);
    progress.close();
    const listed = await api<Array<{ name: string; status: string; managed: boolean; folder: string; services: Array<{ name: string }> }>>(`/api/compose?host=${SH}`);
    const project = listed.body.data.find((p) => p.name === P);
    expect(project).toMatchObject({ status: 'running', managed: true, folder: join(appPath, P) });
    expect(project?.services.map((s) => s.name).sort()).toEqual(['side', 'web']);
    // The other host has no APP_PATH: nothing of this project's files there, and create says why.
    const elsewhere = await api(`/api/compose/create?host=${PLAIN}`, { method: 'POST', body: JSON.stringify({ name: `${P}-x`, yaml }) });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.msg).toContain('APP_PATH');

    const logs = await WsClient.open(wsUrl(`/api/compose/logs/ws?host=${SH}&name=${P}&tail=10&follow=1`), auth());
    await logs.waitFor((f) => f.type === 'line' && f.service === 'web' && f.text === 'hello-from-web', 'the web service\'s line');
    await logs.waitFor((f) => f.type === 'line' && f.service === 'side' && f.text === 'hello-from-side', 'the side service\'s line');
    expect(processes('compose', 'logs', P).length).toBeGreaterThan(0);
    logs.close();
    // Closing the client's socket cancels the stream on the agent: `docker compose logs` is gone.
    await until('no docker compose logs process left', async () => processes('compose', 'logs', P).length === 0);

    const deleted = await api(`/api/compose/delete?host=${SH}`, { method: 'DELETE', body: JSON.stringify({ name: P, removeFiles: true }) });
    expect(deleted.status, deleted.body.msg).toBe(200);
    const after = await api<Array<{ name: string }>>(`/api/compose?host=${SH}`);
    expect(after.body.data.some((p) => p.name === P)).toBe(false);
    expect(readdirSync(appPath)).not.toContain(P);
  });

  it('opens a shell on the host through the agent: Chinese text, resize, and the PTY ends when the socket closes', async () => {
    expect((await api(`/api/shell/status?host=${SH}`)).body.data).toEqual({ enabled: true });
    // As the browser opens it: the page's Origin and a one-time ticket, no Authorization header.
    const { ticket } = (await api<{ ticket: string }>('/api/v1/auth/ws-ticket', { method: 'POST' })).body.data;
    const c = await WsClient.open(wsUrl(`/api/shell/ws?host=${SH}&cols=80&rows=24&ticket=${ticket}`), { origin: worker.url });
    c.send({ type: 'input', data: 'echo "$((6*7))-你好"; echo "pid=$$"\r' });
    await printed(c, /42-你好/, 'the Chinese text');
    const pid = Number(/pid=(\d+)/.exec(output(c))?.[1] ?? (await printed(c, /pid=\d+/, 'the shell pid'), /pid=(\d+)/.exec(output(c))?.[1]));
    expect(pid).toBeGreaterThan(1);
    c.send({ type: 'resize', cols: 132, rows: 40 });
    c.send({ type: 'input', data: 'stty size\r' });
    await printed(c, /40 132/, 'stty size after the resize');
    expect(processes('/bin/sh').includes(pid) || readdirSync('/proc').includes(String(pid))).toBe(true);
    c.close();
    await until('the shell process gone', async () => !readdirSync('/proc').includes(String(pid)));
  });

  it('opens a shell inside a container of the host (docker exec on the agent) and ends it with the socket', async () => {
    const id = await docker(dockerHost, ['inspect', '-f', '{{.Id}}', `${run}-talk`]);
    const c = await WsClient.open(wsUrl(`/api/containers/${run}-talk/shell/ws?host=${SH}&cols=100&rows=30`), auth());
    c.send({ type: 'input', data: 'echo "$((6*7))-你好-$(hostname)"; stty size\r' });
    await printed(c, new RegExp(`42-你好-${id.slice(0, 12)}`), 'output from inside the container');
    await printed(c, /30 100/, 'the size given at open');
    expect(processes('exec', '-it', id).length).toBeGreaterThan(0);
    c.close();
    await until('the docker exec process gone', async () => processes('exec', '-it', id).length === 0);
  });

  it('refuses the shell when the agent was not started with IS_OPEN_DOCKER_SHELL=true, before any process starts', async () => {
    expect((await api(`/api/shell/status?host=${PLAIN}`)).body.data).toEqual({ enabled: false });
    expect(await WsClient.refusal(wsUrl(`/api/shell/ws?host=${PLAIN}`), auth())).toBe(403);
    expect(await WsClient.refusal(wsUrl(`/api/containers/${run}-talk/shell/ws?host=${PLAIN}`), auth())).toBe(403);
    // The control plane's guard applies too: a foreign Origin is refused.
    expect(await WsClient.refusal(wsUrl(`/api/shell/ws?host=${SH}`), { ...auth(), origin: 'http://evil.example' })).toBe(403);
  });

  it('answers a clear error before the upgrade for an offline or unknown host', async () => {
    const created = await api('/api/hosts', { method: 'POST', body: JSON.stringify({ name: 'wdl-off' }) });
    expect(created.status).toBe(201);
    for (const path of ['/api/events/ws?host=wdl-off', `/api/containers/x/logs/ws?host=wdl-off`, `/api/compose/logs/ws?name=x&host=wdl-off`, '/api/shell/ws?host=wdl-off']) {
      expect(await WsClient.refusal(wsUrl(path), auth()), path).toBe(503);
    }
    expect(await WsClient.refusal(wsUrl('/api/events/ws?host=wdl-none'), auth())).toBe(404);
  });
});
