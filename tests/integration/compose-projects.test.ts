import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeCli } from '../../src/agent/compose-cli.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import type { ComposeProject } from '../../src/core/compose/service.js';
import type { ProgressEvent } from '../../src/core/compose/progress.js';
import { bed } from '../helpers/bed.js';
import { composeLogProcesses } from '../helpers/processes.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { testApp } from '../helpers/test-app.js';

const host = bed().dockerHost;
const id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const P = `wdc-${id}`;
const U = `wdc-upd-${id}`;
const EXT = `wdc-ext-${id}`;
const repoApp = `${bed().regPlain}/wdc/${id}-app`;
const repoOther = `${bed().regPlain}/wdc/${id}-other`;
const appPath = mkdtempSync(join(tmpdir(), 'wdc-app-'));
const outside = mkdtempSync(join(tmpdir(), 'wdc-outside-'));
const extDir = mkdtempSync(join(tmpdir(), 'wdc-ext-'));
/** Image IDs this file built, removed at the end (a replaced image is left untagged otherwise). */
const images: string[] = [];

/** A service that logs a line, then idles and stops at once on SIGTERM. */
const svc = (image: string, say: string) =>
  `    image: ${image}\n    network_mode: host\n    stop_grace_period: 2s\n    command: ["sh", "-c", "echo ${say}; trap 'exit 0' TERM; while true; do sleep 1; done"]\n`;
const yamlP = `services:\n  web:\n${svc(bed().baseImage, 'hello from web')}  side:\n${svc(bed().baseImage, 'hello from side')}`;

const cli = new ComposeCli(host);
const t = testApp(new DockerodePort(host), { compose: cli, composeFiles: new FsProjectFiles(appPath) });
type Body<T = unknown> = { code: number; msg: string; data: T };
async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: Body<T> }> {
  const init: RequestInit = { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) };
  const res = await t.request(path, init);
  return { status: res.status, body: (await res.json()) as Body<T> };
}
const list = async () => (await call<ComposeProject[]>('GET', '/api/compose')).body.data;
const project = async (name: string) => (await list()).find((p) => p.name === name);
const state = (name: string) => docker(host, ['inspect', '--format', '{{.State.Status}}', name]);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// No silent skip: the test bed always has docker compose v2 (tests/bed/install.sh); without it this file fails.
if (!bed().compose) throw new Error('the test bed has no docker compose v2 (WD_COMPOSE=1 is missing from /tmp/wd/bed.env): install the compose plugin (tests/bed/install.sh) and run tests/bed/up.sh again');

describe('compose projects on the real engine and docker compose', () => {
  beforeAll(async () => {
    writeFileSync(join(outside, 'sentinel'), 'keep me');
    writeFileSync(join(outside, 'compose.yaml'), 'services:\n  secret:\n    image: outside-only\n');
  });
  afterAll(async () => {
    for (const name of [P, U, EXT]) await dockerQuiet(host, ['compose', '-p', name, 'down', '--volumes', '--timeout', '1']);
    await dockerQuiet(host, ['rmi', '-f', `${repoApp}:latest`, `${repoOther}:latest`, ...images]);
    cli.dispose();
    for (const d of [appPath, outside, extDir]) rmSync(d, { recursive: true, force: true });
  });

  it('creates a project from YAML (validated by compose), refuses it a second time, and shows it stopped', async () => {
    const r = await call<ComposeProject>('POST', '/api/compose/create', { name: P, yaml: yamlP });
    expect(r.status, r.body.msg).toBe(201);
    expect(r.body.data).toMatchObject({ name: P, managed: true, folder: join(appPath, P), files: [join(appPath, P, 'compose.yaml')], status: 'stopped' });
    expect(r.body.data.services.map((s) => s.name)).toEqual(['side', 'web']);
    expect(readFileSync(join(appPath, P, 'compose.yaml'), 'utf8')).toBe(yamlP);
    const again = await call('POST', '/api/compose/create', { name: P, yaml: yamlP });
    expect([again.status, again.body.msg]).toEqual([409, `project ${P} already exists under APP_PATH; pass overwrite: true to replace its compose file`]);
    const file = await call<{ yaml: string }>('GET', `/api/compose/file?name=${P}`);
    expect(file.body.data).toEqual({ name: P, file: join(appPath, P, 'compose.yaml'), yaml: yamlP });
  });

  it('refuses invalid YAML with compose\'s own words, an alias bomb and an oversize file, saving nothing', async () => {
    const bad = await call('POST', '/api/compose/create', { name: `${P}-bad`, yaml: 'services:\n  web:\n    imagex: busybox\n' });
    expect(bad.status).toBe(400);
    expect(bad.body.msg).toContain('services.web Additional property imagex is not allowed');
    const syntax = await call('POST', '/api/compose/create', { name: `${P}-bad`, yaml: 'services:\n  web: [\n' });
    expect(syntax.status).toBe(400);
    expect(syntax.body.msg).toMatch(/^compose file is invalid: yaml: line \d+/);
    const laughs = `services: {}\nx-a: &a [x,x,x,x,x,x,x,x,x]\nx-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nx-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx-d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`;
    const bomb = await call('POST', '/api/compose/create', { name: `${P}-bad`, yaml: laughs });
    expect([bomb.status, bomb.body.code]).toEqual([400, 40000]);
    expect(bomb.body.msg).toContain('aliases expand too much');
    const big = await call('POST', '/api/compose/create', { name: `${P}-bad`, yaml: `services: {}\n#${'x'.repeat(300 * 1024)}\n` });
    expect([big.status, big.body.code]).toEqual([413, 40000]);
    expect(big.body.msg).toContain('the limit is 256 KiB');
    expect(existsSync(join(appPath, `${P}-bad`))).toBe(false);
  });

  it('starts it (running), one service stopped by hand makes it partial, stop makes it stopped, restart running again', async () => {
    const started = await call<{ ok: boolean; output: string }>('POST', '/api/compose/start', { name: P });
    expect(started.status, started.body.msg).toBe(200);
    expect(started.body.data).toMatchObject({ name: P, action: 'start', ok: true });
    expect(started.body.data.output).toContain(`Container ${P}-web-1  Started`);
    const running = await project(P);
    expect(running?.status).toBe('running');
    expect(running?.services.map((s) => [s.name, s.image, s.networks, s.containers.map((c) => c.state)])).toEqual([
      ['side', bed().baseImage, ['host'], ['running']],
      ['web', bed().baseImage, ['host'], ['running']],
    ]);

    await docker(host, ['stop', '--time', '5', `${P}-side-1`]);
    expect((await project(P))?.status).toBe('partial');

    const stopped = await call('POST', '/api/compose/stop', { name: P });
    expect(stopped.status, stopped.body.msg).toBe(200);
    expect((await project(P))?.status).toBe('stopped');
    expect(await state(`${P}-web-1`)).toBe('exited');

    const restarted = await call('POST', '/api/compose/restart', { name: P });
    expect(restarted.status, restarted.body.msg).toBe(200);
    expect((await project(P))?.status).toBe('running');
  });

  it('one action at a time: a concurrent second action gets 409 naming the running one, and progress streams it', async () => {
    const events: ProgressEvent[] = [];
    const sub = t.compose.progress(P)[Symbol.asyncIterator]();
    const collecting = (async () => {
      for (;;) {
        const r = await sub.next();
        if (r.done) return;
        events.push(r.value);
        if (r.value.type === 'done') return;
      }
    })();
    const both = await Promise.all([call('POST', '/api/compose/restart', { name: P }), call('POST', '/api/compose/stop', { name: P })]);
    const won = both.find((r) => r.status === 200);
    const lost = both.find((r) => r.status === 409);
    expect(won && lost, JSON.stringify(both)).toBeTruthy();
    const action = (won?.body.data as { action: string }).action;
    expect(lost?.body).toMatchObject({ code: 40900, msg: `project ${P} is busy: ${action} is running; try again when it has finished` });
    await collecting;
    await sub.return?.();
    expect(events[0]).toEqual({ type: 'start', action });
    expect(events).toContainEqual({ type: 'line', text: `Container ${P}-web-1  ${action === 'restart' ? 'Started' : 'Stopped'}` });
    expect(events.at(-1)).toEqual({ type: 'done', action, ok: true });
    if (action === 'stop') expect((await call('POST', '/api/compose/start', { name: P })).status).toBe(200);
  });

  it('logs arrive as lines per service, and stopping the iteration leaves no docker compose logs process', async () => {
    const seen: { service: string; text: string }[] = [];
    let whileRunning = 0;
    for await (const line of t.compose.logs(P, { follow: true, tail: 20 })) {
      seen.push(line);
      whileRunning = composeLogProcesses(P);
      if (line.text === 'hello from web') break;
    }
    expect(seen).toContainEqual(expect.objectContaining({ service: 'web', container: 'web-1', text: 'hello from web' }));
    expect(whileRunning).toBeGreaterThan(0);
    await until('docker compose logs to exit', () => composeLogProcesses(P) === 0);

    const only = [];
    for await (const line of t.compose.logs(P, { services: ['side'], tail: 5 })) only.push(line.service);
    expect(only.length).toBeGreaterThan(0);
    expect(new Set(only)).toEqual(new Set(['side']));
  });

  it('a compose file that no longer resolves shows its project as error, in compose\'s words', async () => {
    mkdirSync(join(appPath, 'broken'));
    writeFileSync(join(appPath, 'broken', 'docker-compose.yml'), 'services:\n  web:\n    imagex: busybox\n');
    expect(await project('broken')).toMatchObject({ managed: true, status: 'error', error: expect.stringContaining('services.web Additional property imagex is not allowed') });
    rmSync(join(appPath, 'broken'), { recursive: true });
  });

  it('refuses path traversal names everywhere with 40000', async () => {
    for (const name of ['../x', '..', '/etc', 'a/b', '%2e%2e%2f', 'UPPER', '']) {
      for (const [method, path, body] of [
        ['GET', `/api/compose/file?name=${encodeURIComponent(name)}`, undefined],
        ['POST', '/api/compose/start', { name }],
        ['POST', '/api/compose/create', { name, yaml: 'services: {}\n', overwrite: true }],
        ['DELETE', '/api/compose/delete', { name, removeFiles: true }],
      ] as const) {
        const r = await call(method, path, body);
        expect([r.status, r.body.code], `${method} ${path} ${name}`).toEqual([400, 40000]);
        expect(r.body.msg).toMatch(/project name/);
      }
    }
  });

  it('a symlinked project folder or compose file pointing outside APP_PATH is refused: nothing read, written or removed outside', async () => {
    symlinkSync(outside, join(appPath, 'evil'));
    mkdirSync(join(appPath, 'leak'));
    symlinkSync(join(outside, 'compose.yaml'), join(appPath, 'leak', 'compose.yaml'));
    const names = (await list()).map((p) => p.name);
    expect(names).not.toContain('evil');
    const leak = await project('leak');
    expect(leak?.status).toBe('error');
    expect(JSON.stringify(leak)).not.toContain('outside-only');

    const read = await call('GET', '/api/compose/file?name=evil');
    expect([read.status, read.body.msg]).toEqual([400, 'project evil refused: its folder is a symbolic link; Watch Docker only manages real folders inside APP_PATH']);
    const readLeak = await call('GET', '/api/compose/file?name=leak');
    expect(readLeak.status).toBe(400);
    expect(readLeak.body.msg).toContain('symbolic link pointing outside APP_PATH');
    expect(JSON.stringify(readLeak.body)).not.toContain('outside-only');
    // start and pull run compose on the file: refused before compose sees it.
    for (const action of ['start', 'pull']) {
      const r = await call('POST', `/api/compose/${action}`, { name: 'leak' });
      expect([r.status, r.body.msg], action).toEqual([400, 'project leak refused: its compose file is a symbolic link pointing outside APP_PATH; Watch Docker only manages real folders inside APP_PATH']);
      expect(JSON.stringify(r.body)).not.toContain('outside-only');
    }
    expect(await docker(host, ['ps', '-aq', '--filter', 'label=com.docker.compose.project=leak'])).toBe('');
    const del = await call('DELETE', '/api/compose/delete?name=evil&removeFiles=true');
    expect(del.status).toBe(400);
    const over = await call('POST', '/api/compose/create', { name: 'evil', yaml: 'services: {}\n', overwrite: true });
    expect(over.status).toBe(400);

    expect(readFileSync(join(outside, 'sentinel'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(outside, 'compose.yaml'), 'utf8')).toContain('outside-only');
    expect(lstatSync(join(appPath, 'evil')).isSymbolicLink()).toBe(true);
    rmSync(join(appPath, 'evil'));
    // Actions by project name only (no compose file read) still work, and the folder can go: its link is removed, not followed.
    const stopLeak = await call('POST', '/api/compose/stop', { name: 'leak' });
    expect(stopLeak.status, stopLeak.body.msg).toBe(200);
    const delLeak = await call('DELETE', '/api/compose/delete', { name: 'leak', removeFiles: true });
    expect(delLeak.status, delLeak.body.msg).toBe(200);
    expect(existsSync(join(appPath, 'leak'))).toBe(false);
    expect(readFileSync(join(outside, 'compose.yaml'), 'utf8')).toContain('outside-only');
  });

  it('a FIFO behind the compose file never hangs a request: the project shows as error', async () => {
    const dir = join(appPath, 'wdcf-fifo');
    mkdirSync(dir);
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    symlinkSync('pipe', join(dir, 'compose.yaml'));
    const why = 'project wdcf-fifo refused: its compose file is a named pipe, not a regular file; Watch Docker only manages real folders inside APP_PATH';
    expect(await project('wdcf-fifo')).toMatchObject({ managed: true, status: 'error', error: why });
    for (const [method, path, body] of [['GET', '/api/compose/file?name=wdcf-fifo', undefined], ['POST', '/api/compose/start', { name: 'wdcf-fifo' }], ['POST', '/api/compose/pull', { name: 'wdcf-fifo' }]] as const) {
      const r = await call(method, path, body);
      expect([r.status, r.body.msg], path).toEqual([400, why]);
    }
    rmSync(dir, { recursive: true });
  });

  it('a project started elsewhere shows up unmanaged; it can be stopped and taken down, but its files are not ours', async () => {
    const file = join(extDir, 'compose.yaml');
    writeFileSync(file, `services:\n  solo:\n${svc(bed().baseImage, 'ext')}`);
    await docker(host, ['compose', '-p', EXT, '-f', file, 'up', '-d'], { timeoutMs: 60_000 });
    expect(await project(EXT)).toMatchObject({ name: EXT, managed: false, folder: extDir, files: [file], status: 'running' });
    expect((await call('POST', '/api/compose/pull', { name: EXT })).body.msg).toContain('is not under APP_PATH');
    expect((await call('GET', `/api/compose/file?name=${EXT}`)).status).toBe(404);
    const noFiles = await call('DELETE', '/api/compose/delete', { name: EXT, removeFiles: true });
    expect([noFiles.status, noFiles.body.msg]).toEqual([400, `project ${EXT} is not under APP_PATH: there are no files to remove`]);
    const down = await call('DELETE', '/api/compose/delete', { name: EXT });
    expect(down.status, down.body.msg).toBe(200);
    expect(await project(EXT)).toBeUndefined();
    expect(existsSync(file)).toBe(true);
  });

  it('update pulls, then recreates only the service whose image changed', async () => {
    images.push(...(await Promise.all([buildImage(host, `${repoApp}:latest`), buildImage(host, `${repoOther}:latest`)])));
    await pushImage(host, `${repoApp}:latest`);
    await pushImage(host, `${repoOther}:latest`);
    const created = await call('POST', '/api/compose/create', { name: U, yaml: `services:\n  app:\n${svc(`${repoApp}:latest`, 'app')}  other:\n${svc(`${repoOther}:latest`, 'other')}` });
    expect(created.status, created.body.msg).toBe(201);
    expect((await call('POST', '/api/compose/start', { name: U })).status).toBe(200);
    const before = { app: await docker(host, ['inspect', '--format', '{{.Id}}', `${U}-app-1`]), other: await docker(host, ['inspect', '--format', '{{.Id}}', `${U}-other-1`]) };

    const newId = await buildImage(host, `${repoApp}:latest`);
    images.push(newId);
    await pushImage(host, `${repoApp}:latest`);
    await docker(host, ['rmi', `${repoApp}:latest`]); // only the registry has the new image now: the pull must fetch it
    const upd = await call<{ ok: boolean; services: string[]; output: string }>('POST', '/api/compose/update', { name: U });
    expect(upd.status, upd.body.msg).toBe(200);
    expect(upd.body.data).toMatchObject({ name: U, action: 'update', ok: true, services: ['app'] });
    expect(await docker(host, ['inspect', '--format', '{{.Image}}', `${U}-app-1`])).toBe(newId);
    expect(await docker(host, ['inspect', '--format', '{{.Id}}', `${U}-app-1`])).not.toBe(before.app);
    expect(await docker(host, ['inspect', '--format', '{{.Id}}', `${U}-other-1`])).toBe(before.other);

    const again = await call<{ services: string[]; output: string }>('POST', '/api/compose/update', { name: U });
    expect(again.body.data.services).toEqual([]);
    expect(again.body.data.output).toContain('no running service has a new image');
    const pulled = await call<{ ok: boolean }>('POST', '/api/compose/pull', { name: U });
    expect([pulled.status, pulled.body.data.ok]).toEqual([200, true]);
  });

  it('delete takes the project down and keeps its folder; with removeFiles the folder goes too', async () => {
    const kept = await call('DELETE', '/api/compose/delete', { name: P });
    expect(kept.status, kept.body.msg).toBe(200);
    expect(kept.body.data).toMatchObject({ name: P, action: 'delete', ok: true, removedFiles: false });
    expect(await docker(host, ['ps', '-aq', '--filter', `label=com.docker.compose.project=${P}`])).toBe('');
    expect(await project(P)).toMatchObject({ managed: true, status: 'stopped' });
    expect(existsSync(join(appPath, P, 'compose.yaml'))).toBe(true);

    const gone = await call('DELETE', `/api/compose/delete?name=${U}&removeFiles=true`);
    expect(gone.status, gone.body.msg).toBe(200);
    expect(existsSync(join(appPath, U))).toBe(false);
    expect(await project(U)).toBeUndefined();
    expect((await call('POST', '/api/compose/stop', { name: U })).status).toBe(404);
  });
});
