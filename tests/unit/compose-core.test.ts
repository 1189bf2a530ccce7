import { describe, expect, it } from 'vitest';
import { parseLogLine } from '../../src/agent/compose-cli.js';
import { Channel } from '../../src/core/channel.js';
import { ActionRunner } from '../../src/core/compose/action-runner.js';
import { summariseModel, type ComposeContainer } from '../../src/core/compose/model.js';
import type { ComposePort, ComposeRunEvent } from '../../src/core/compose/port.js';
import { ProgressBus, type ProgressEvent } from '../../src/core/compose/progress.js';
import { assertProjectName } from '../../src/core/compose/project-name.js';
import { buildProjects, projectStatus } from '../../src/core/compose/projects.js';
import { checkComposeUpload, MAX_COMPOSE_BYTES } from '../../src/core/compose/upload.js';
import { AppError } from '../../src/core/errors.js';

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('project names', () => {
  it.each(['../x', '..', '/etc', 'a/b', '%2e%2e%2f', 'Web', '', '-x', '_x', 'a b', 'a\\b', '.', 'a.b', 'x'.repeat(65)])('refuses %j with 40000 naming the problem', (name) => {
    const e = refusal(() => assertProjectName(name));
    expect(e.code).toBe(40000);
    expect(e.message).toMatch(name === '' ? /required/ : name.length > 64 ? /too long/ : /invalid project name/);
  });
  it.each(['web', 'a', '0app', 'my_app-2', 'x'.repeat(64)])('accepts %j', (name) => {
    expect(() => assertProjectName(name)).not.toThrow();
  });
});

const c = (service: string, state: string, extra: Partial<ComposeContainer> = {}): ComposeContainer => ({
  id: `id-${service}-${state}`, name: `p-${service}-1`, project: 'p', service, configFiles: ['/srv/p/compose.yaml'], workingDir: '/srv/p',
  state, status: state, image: 'img:1', imageId: 'sha256:1', ports: [], networks: ['host'], volumes: [], ...extra,
});
const svc = (...states: string[]) => ({ containers: states.map((s, i) => ({ name: `c${i}`, state: s })) });

describe('project status (design §4.2)', () => {
  it('running when every service runs, stopped when none does, partial in between', () => {
    expect(projectStatus([svc('running'), svc('running', 'exited')]).status).toBe('running');
    expect(projectStatus([svc('exited'), svc()]).status).toBe('stopped');
    expect(projectStatus([svc('running'), svc('exited')]).status).toBe('partial');
    expect(projectStatus([]).status).toBe('stopped');
  });
  it('error for a file that does not resolve, or a dead or crash-looping container', () => {
    expect(projectStatus([svc('running')], 'compose file is invalid: x')).toEqual({ status: 'error', error: 'compose file is invalid: x' });
    expect(projectStatus([svc('running'), svc('restarting')])).toEqual({ status: 'error', error: 'container c0 is restarting' });
    expect(projectStatus([svc('dead')]).status).toBe('error');
  });
});

describe('merging APP_PATH folders, compose ls and container labels', () => {
  it('shows a project started elsewhere as unmanaged, with folder and files from its labels', () => {
    const [p] = buildProjects({ managed: [], ls: [{ name: 'p', status: 'running(1)', configFiles: ['/srv/p/compose.yaml'] }], containers: [c('web', 'running')], verdicts: {} });
    expect(p).toMatchObject({ name: 'p', managed: false, folder: '/srv/p', files: ['/srv/p/compose.yaml'], status: 'running' });
    expect(p?.services[0]).toMatchObject({ name: 'web', image: 'img:1', networks: ['host'], containers: [{ name: 'p-web-1', state: 'running' }] });
  });
  it('a managed project lists its declared services, also those without containers, and its own folder', () => {
    const managed = [{ name: 'p', folder: '/apps/p', file: '/apps/p/compose.yaml', services: { web: { image: 'img:1', ports: ['8080->80/tcp'], networks: ['p_default'], volumes: [] }, db: { image: 'db:1', ports: [], networks: [], volumes: [] } } }];
    const [p] = buildProjects({ managed, ls: [], containers: [c('web', 'running')], verdicts: {} });
    expect(p).toMatchObject({ managed: true, folder: '/apps/p', files: ['/apps/p/compose.yaml'], status: 'partial' });
    expect(p?.services.map((s) => [s.name, s.containers.length, s.ports])).toEqual([['db', 0, []], ['web', 1, ['8080->80/tcp']]]);
  });
  it('a project only compose ls knows still shows, its folder taken from the config file', () => {
    const [p] = buildProjects({ managed: [], ls: [{ name: 'q', status: 'exited(1)', configFiles: ['/x/q/docker-compose.yml'] }], containers: [], verdicts: {} });
    expect(p).toMatchObject({ name: 'q', folder: '/x/q', files: ['/x/q/docker-compose.yml'], status: 'stopped', services: [] });
  });
  it('updateAvailable only from a verdict about the image the container runs now', () => {
    const containers = [c('web', 'running', { id: 'a', imageId: 'sha256:new' }), c('side', 'running', { id: 'b', imageId: 'sha256:1' })];
    const verdicts = { a: { status: 'UpdateAvailable', imageId: 'sha256:old' }, b: { status: 'UpdateAvailable', imageId: 'sha256:1' } };
    const [p] = buildProjects({ managed: [], ls: [], containers, verdicts });
    expect(p?.services.map((s) => [s.name, s.updateAvailable])).toEqual([['side', true], ['web', false]]);
    expect(p?.updateAvailable).toBe(true);
  });
});

describe('compose model summary', () => {
  it('keeps images, ports, networks and volumes, and drops everything else (environment included)', () => {
    const s = summariseModel({
      services: {
        web: { image: 'w:1', environment: { SECRET: 'hunter2' }, ports: [{ target: 80, published: '8080', host_ip: '127.0.0.1', protocol: 'tcp' }], networks: { default: null }, volumes: [{ type: 'volume', source: 'data', target: '/d' }, { type: 'bind', source: '/srv/x', target: '/x', read_only: true }] },
        h: { image: 'h:1', network_mode: 'host' },
      },
      networks: { default: { name: 'p_default' } },
      volumes: { data: { name: 'p_data' } },
    });
    expect(s).toEqual({
      web: { image: 'w:1', ports: ['127.0.0.1:8080->80/tcp'], networks: ['p_default'], volumes: ['p_data:/d', '/srv/x:/x:ro'] },
      h: { image: 'h:1', ports: [], networks: ['host'], volumes: [] },
    });
    expect(JSON.stringify(s)).not.toContain('hunter2');
  });
});

describe('upload checks', () => {
  it('refuses an oversize file with 413 and the limit', () => {
    const e = refusal(() => checkComposeUpload(`services: {}\n#${'x'.repeat(MAX_COMPOSE_BYTES)}`));
    expect([e.code, e.status]).toEqual([40000, 413]);
    expect(e.message).toMatch(/too large.*256 KiB/);
  });
  it('refuses an alias bomb and a merge-key bomb', () => {
    const laughs = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    expect(refusal(() => checkComposeUpload(laughs)).message).toMatch(/aliases expand too much/);
    const merges = ['x0: &x0 {k: 1, j: 2}', ...Array.from({ length: 6 }, (_, i) => `x${i + 1}: &x${i + 1} {<<: [*x${i}, *x${i}, *x${i}, *x${i}]}`)].join('\n');
    expect(refusal(() => checkComposeUpload(merges)).message).toMatch(/aliases expand too much/);
  });
  it('lets ordinary anchors pass and hands unparsable YAML on (compose words the refusal)', () => {
    expect(checkComposeUpload('x-common: &c {restart: always}\nservices:\n  a: {<<: *c, image: a}\n  b: {<<: *c, image: b}\n')).toEqual({ ok: true });
    expect(checkComposeUpload('services:\n  a: [\n')).toMatchObject({ ok: false });
  });
});

describe('Channel', () => {
  it('return() while a next() waits ends it at once and runs onClose once', async () => {
    let closed = 0;
    const ch = new Channel<number>({ onClose: () => closed++ });
    const pending = ch.next();
    await ch.return();
    await ch.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });
  it('delivers queued items before the end or the error', async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.push(2);
    ch.end(new Error('boom'));
    expect((await ch.next()).value).toBe(1);
    expect((await ch.next()).value).toBe(2);
    await expect(ch.next()).rejects.toThrow('boom');
  });
});

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) out.push((await it.next()).value as T);
  return out;
}

describe('progress bus', () => {
  it('replays the running action to a late subscriber, then goes live, and keeps listening across actions', async () => {
    const bus = new ProgressBus();
    bus.publish('p', { type: 'start', action: 'start' });
    bus.publish('p', { type: 'line', text: 'one' });
    const it = bus.subscribe('p')[Symbol.asyncIterator]();
    bus.publish('p', { type: 'line', text: 'two' });
    bus.publish('p', { type: 'done', action: 'start', ok: true });
    bus.publish('p', { type: 'start', action: 'stop' });
    expect(await take<ProgressEvent>(it, 5)).toEqual([
      { type: 'start', action: 'start' }, { type: 'line', text: 'one' }, { type: 'line', text: 'two' },
      { type: 'done', action: 'start', ok: true }, { type: 'start', action: 'stop' },
    ]);
    expect(bus.listeners('p')).toBe(1);
    await it.return?.();
    expect(bus.listeners('p')).toBe(0);
  });
  it('an idle project replays nothing', async () => {
    const bus = new ProgressBus();
    bus.publish('p', { type: 'start', action: 'a' });
    bus.publish('p', { type: 'done', action: 'a', ok: true });
    const it = bus.subscribe('p')[Symbol.asyncIterator]();
    bus.publish('p', { type: 'start', action: 'b' });
    expect(await take(it, 1)).toEqual([{ type: 'start', action: 'b' }]);
    await it.return?.();
  });
});

describe('one action at a time per project', () => {
  it('a second action gets 409 naming the running one; another project is not blocked', async () => {
    const gate = new Channel<ComposeRunEvent>();
    const compose = { run: () => gate } as unknown as ComposePort;
    const runner = new ActionRunner(compose);
    const first = runner.run('p', 'restart', (ctx) => ctx.exec({ name: 'p', workingDir: '', files: [] }, { op: 'restart' }));
    const e = await runner.run('p', 'stop', async () => undefined).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).status).toBe(409);
    expect((e as AppError).message).toContain('restart is running');
    await expect(runner.run('q', 'stop', async () => 'ok')).resolves.toMatchObject({ name: 'q', ok: true });
    gate.push({ type: 'line', text: 'done it' });
    gate.push({ type: 'exit', code: 0 });
    gate.end();
    await expect(first).resolves.toMatchObject({ ok: true, output: 'done it' });
    expect(runner.running('p')).toBeUndefined();
  });
});

describe('docker compose logs lines', () => {
  it('splits the container prefix from the text, strips terminal codes and keeps later bars', () => {
    // No stream: compose prints stdout and stderr lines of its containers alike.
    expect(parseLogLine('\x1b[2Kweb-1  | hello')).toEqual({ service: 'web', container: 'web-1', text: 'hello' });
    expect(parseLogLine('my-api-12 | a | b')).toEqual({ service: 'my-api', container: 'my-api-12', text: 'a | b' });
    expect(parseLogLine('canceled')).toBeNull();
  });
});
