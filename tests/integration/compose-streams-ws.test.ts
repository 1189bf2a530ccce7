import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeCli } from '../../src/agent/compose-cli.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import { bed } from '../helpers/bed.js';
import { dockerQuiet } from '../helpers/docker-cli.js';
import { serveTestApp, WsClient } from '../helpers/ws-client.js';

const host = bed().dockerHost;
const P = `wdst-cmp-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const appPath = mkdtempSync(join(tmpdir(), 'wdst-app-'));
const svc = (say: string) =>
  `    image: ${bed().baseImage}\n    network_mode: host\n    stop_grace_period: 1s\n    command: ["sh", "-c", "echo ${say}; trap 'exit 0' TERM; while true; do sleep 1; done"]\n`;
const yaml = `services:\n  web:\n${svc('hello-from-web')}  side:\n${svc('hello-from-side')}`;

/** Processes of `docker compose … logs` for the project (the CLI and its plugin). */
function logProcesses(): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args.includes('compose') && args.includes('logs') && args.includes(P)) n++;
    } catch {
      // gone while we looked
    }
  }
  return n;
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// No silent skip: the test bed always has docker compose v2 (tests/bed/install.sh); without it this file fails.
if (!bed().compose) throw new Error('the test bed has no docker compose v2 (WD_COMPOSE=1 is missing from /tmp/wd/bed.env): install the compose plugin (tests/bed/install.sh) and run tests/bed/up.sh again');

describe('compose streams over WebSocket', () => {
  let app: Awaited<ReturnType<typeof serveTestApp>>;
  let auth: Record<string, string>;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${app.base}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { msg: string; data: { ok?: boolean } } };
  };

  beforeAll(async () => {
    app = await serveTestApp(new DockerodePort(host), { compose: new ComposeCli(host), composeFiles: new FsProjectFiles(appPath) });
    auth = { authorization: `Bearer ${await app.login()}` };
    const created = await post('/api/compose/create', { name: P, yaml });
    expect(created.status, created.body.msg).toBe(201);
  });
  afterAll(async () => {
    await dockerQuiet(host, ['compose', '-p', P, 'down', '--timeout', '1']);
    await app?.close();
    rmSync(appPath, { recursive: true, force: true });
  });

  it('streams the progress of an action: start, its lines, done', async () => {
    const progress = await WsClient.open(app.wsUrl(`/api/compose/progress/ws?name=${P}`), auth);
    const started = await post('/api/compose/start', { name: P });
    expect(started.status, started.body.msg).toBe(200);
    await progress.waitFor((f) => f.type === 'start' && f.action === 'start', 'the start frame');
    const done = await progress.waitFor((f) => f.type === 'done', 'the done frame', 60_000);
    expect(done).toMatchObject({ type: 'done', action: 'start', ok: true });
    const i = progress.frames.findIndex((f) => f.type === 'start');
    const j = progress.frames.findIndex((f) => f.type === 'done');
    expect(progress.frames.slice(i + 1, j).every((f) => f.type === 'line' && typeof f.text === 'string')).toBe(true);
    progress.close();
  });

  it('streams the project\'s logs per service, following, and kills `docker compose logs` when the client leaves', async () => {
    const all = await WsClient.open(app.wsUrl(`/api/compose/logs/ws?name=${P}&tail=10&follow=1`), auth);
    expect(await all.waitFor((f) => f.text === 'hello-from-web', 'web\'s line')).toMatchObject({ type: 'line', service: 'web' });
    await all.waitFor((f) => f.text === 'hello-from-side', 'side\'s line');
    const side = await WsClient.open(app.wsUrl(`/api/compose/logs/ws?name=${P}&service=side&tail=10&follow=1`), auth);
    expect(await side.waitFor((f) => f.text === 'hello-from-side', 'side\'s line')).toMatchObject({ service: 'side' });
    await until('two compose logs processes', () => logProcesses() >= 2);
    expect(side.frames.some((f) => f.service === 'web')).toBe(false);
    all.close();
    side.close();
    await until('no compose logs process left', () => logProcesses() === 0);
  });

  it('refuses before the upgrade: bad name, unknown project, unknown service, missing name', async () => {
    expect(await WsClient.refusal(app.wsUrl('/api/compose/logs/ws?name=..%2Fx'), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl('/api/compose/logs/ws?name=wdst-no-such-project'), auth)).toBe(404);
    expect(await WsClient.refusal(app.wsUrl(`/api/compose/logs/ws?name=${P}&service=nope`), auth)).toBe(404);
    expect(await WsClient.refusal(app.wsUrl('/api/compose/progress/ws'), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl('/api/compose/progress/ws?name=%2Fetc'), auth)).toBe(400);
    expect(logProcesses()).toBe(0);
  });
});
