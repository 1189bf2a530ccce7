import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeCli } from '../../src/agent/compose-cli.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import { bed } from '../helpers/bed.js';
import { composeLogProcesses } from '../helpers/processes.js';
import { dockerQuiet } from '../helpers/docker-cli.js';
import { serveTestApp, WsClient } from '../helpers/ws-client.js';

const host = bed().dockerHost;
const P = `wdst-cmp-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const appPath = mkdtempSync(join(tmpdir(), 'wdst-app-'));
const svc = (say: string) =>
  `    image: ${bed().baseImage}\n    network_mode: host\n    stop_grace_period: 1s\n    command: ["sh", "-c", "echo ${say}; echo ${say}-on-stderr >&2; trap 'exit 0' TERM; while true; do sleep 1; done"]\n`;

/** The real CLI, counting `docker compose ls` runs (a full project list runs it once). */
class CountingCli extends ComposeCli {
  lsRuns = 0;
  override ls(): ReturnType<ComposeCli['ls']> {
    this.lsRuns++;
    return super.ls();
  }
}
const cli = new CountingCli(host);
const yaml = `services:\n  web:\n${svc('hello-from-web')}  side:\n${svc('hello-from-side')}`;

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
    app = await serveTestApp(new DockerodePort(host), { compose: cli, composeFiles: new FsProjectFiles(appPath) });
    auth = { authorization: `Bearer ${await app.login()}` };
    const created = await post('/api/compose/create', { name: P, yaml });
    expect(created.status, created.body.msg).toBe(201);
  });
  afterAll(async () => {
    await dockerQuiet(host, ['compose', '-p', P, 'down', '--timeout', '1']);
    await app?.close();
    cli.dispose();
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

  it('follows the progress of a project that does not exist yet: create\'s start, lines and done', async () => {
    const name = `${P}-new`;
    const progress = await WsClient.open(app.wsUrl(`/api/compose/progress/ws?name=${name}`), auth);
    const created = await post('/api/compose/create', { name, yaml });
    expect(created.status, created.body.msg).toBe(201);
    expect(await progress.waitFor((f) => f.type === 'done', 'the done frame')).toEqual({ type: 'done', action: 'create', ok: true });
    expect(progress.frames.filter((f) => f.type !== 'done')).toEqual([{ type: 'start', action: 'create' }, { type: 'line', text: `saved ${join(appPath, name, 'compose.yaml')}` }]);
    progress.close();
  });

  it('streams the project\'s logs per service, following, and kills `docker compose logs` when the client leaves', async () => {
    const all = await WsClient.open(app.wsUrl(`/api/compose/logs/ws?name=${P}&tail=10&follow=1`), auth);
    expect(await all.waitFor((f) => f.text === 'hello-from-web', 'web\'s line')).toMatchObject({ type: 'line', service: 'web' });
    await all.waitFor((f) => f.text === 'hello-from-side', 'side\'s line');
    const side = await WsClient.open(app.wsUrl(`/api/compose/logs/ws?name=${P}&service=side&tail=10&follow=1`), auth);
    expect(await side.waitFor((f) => f.text === 'hello-from-side', 'side\'s line')).toMatchObject({ service: 'side' });
    await until('two compose logs processes', () => composeLogProcesses(P) >= 2);
    expect(side.frames.some((f) => f.service === 'web')).toBe(false);
    // A line the container wrote on stderr: compose prints it on its stdout too, so no frame claims a stream.
    expect(await all.waitFor((f) => f.text === 'hello-from-web-on-stderr', 'web\'s stderr line')).toEqual({ type: 'line', service: 'web', container: 'web-1', text: 'hello-from-web-on-stderr' });
    expect(all.frames.filter((f) => 'stream' in f)).toEqual([]);
    all.close();
    side.close();
    await until('no compose logs process left', () => composeLogProcesses(P) === 0);
  });

  it('refuses before the upgrade: bad name, unknown project, unknown service, missing name', async () => {
    expect(await WsClient.refusal(app.wsUrl('/api/compose/logs/ws?name=..%2Fx'), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl('/api/compose/logs/ws?name=wdst-no-such-project'), auth)).toBe(404);
    expect(await WsClient.refusal(app.wsUrl(`/api/compose/logs/ws?name=${P}&service=nope`), auth)).toBe(404);
    expect(await WsClient.refusal(app.wsUrl('/api/compose/progress/ws'), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl('/api/compose/progress/ws?name=%2Fetc'), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl(`/api/compose/logs/ws?name=${P}&name=wdst-other`), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl(`/api/compose/progress/ws?name=${P}&name=wdst-other`), auth)).toBe(400);
    expect(composeLogProcesses(P)).toBe(0);
  });

  it('a logs or progress upgrade checks the project lightly: no docker compose ls (no full project list)', async () => {
    const before = cli.lsRuns;
    const logs = await WsClient.open(app.wsUrl(`/api/compose/logs/ws?name=${P}&service=side&tail=1`), auth);
    const progress = await WsClient.open(app.wsUrl(`/api/compose/progress/ws?name=${P}`), auth);
    await logs.waitFor((f) => f.type === 'end' || f.type === 'line', 'a frame from the logs');
    logs.close();
    progress.close();
    expect(cli.lsRuns - before).toBe(0);
    // The counter counts: a full list runs compose ls.
    expect((await fetch(`${app.base}/api/compose`, { headers: auth })).status).toBe(200);
    expect(cli.lsRuns - before).toBe(1);
  });
});
