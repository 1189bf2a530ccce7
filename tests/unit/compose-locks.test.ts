import { describe, expect, it } from 'vitest';
import type { ComposeCommand, ComposePort, ComposeProjectRef, ComposeRunEvent } from '../../src/core/compose/port.js';
import { ProjectLocks } from '../../src/core/compose/project-locks.js';
import { AppError } from '../../src/core/errors.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { testApp } from '../helpers/test-app.js';

const IMG = `sha256:${'1'.repeat(64)}`;

function engine() {
  const docker = new MemoryDocker();
  docker.addImage({ id: IMG, repoTags: ['127.0.0.1:5000/app:1'], repoDigests: [], platform: { os: 'linux', architecture: 'amd64' } });
  docker.addContainer({
    id: 'c1'.padEnd(64, '0'), name: 'shop-web-1', image: '127.0.0.1:5000/app:1', imageId: IMG,
    labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web', 'com.docker.compose.project.working_dir': '/srv/shop', 'com.docker.compose.project.config_files': '/srv/shop/compose.yaml' },
  });
  return docker;
}

/** A gate a test opens by hand; `reached` resolves when the code under test arrives at it. */
function gate() {
  let arrive!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((r) => (arrive = r));
  const opened = new Promise<void>((r) => (open = r));
  return { reached, open, pass: async () => { arrive(); await opened; } };
}

/** A compose port whose commands wait at `hold` (when set); every call recorded. */
function composePort(hold: { run?: ReturnType<typeof gate>; pull?: ReturnType<typeof gate> }) {
  const calls: string[] = [];
  const port: ComposePort = {
    async up(p: ComposeProjectRef) { calls.push(`up ${p.name}`); return { output: '' }; },
    async pull(p: ComposeProjectRef) { calls.push(`pull ${p.name}`); await hold.pull?.pass(); return { output: '' }; },
    run(p: ComposeProjectRef, command: ComposeCommand): AsyncIterable<ComposeRunEvent> {
      return (async function* () {
        calls.push(`${command.op} ${p.name}`);
        await hold.run?.pass();
        yield { type: 'exit', code: 0 } as const;
      })();
    },
    async ls() { return []; },
    async config() { return { ok: true, model: {} }; },
    logs() { throw new Error('not used'); },
  };
  return { port, calls };
}

type Body = { code: number; msg: string };
const env = { WATCH_UPDATE_ALLOW_COMPOSE_UPDATE: 'true' };

describe('one lock per compose project, shared by compose actions and compose container updates', () => {
  it('a container update of a project while a compose action runs on it gets 409 naming the action, and runs nothing', async () => {
    const hold = { run: gate() };
    const { port, calls } = composePort(hold);
    const t = testApp(engine(), { env, compose: port });
    const stopping = t.compose.stop('shop');
    await hold.run.reached;
    const res = await t.request('/api/containers/shop-web-1/update', { method: 'POST' });
    expect([res.status, ((await res.json()) as Body).msg]).toEqual([409, 'project shop is busy: stop is running; try again when it has finished']);
    hold.run.open();
    expect((await stopping).ok).toBe(true);
    expect(calls).toEqual(['stop shop']);
    // Nothing attempted: no history entry.
    expect((await t.deps.history.page(1, 20)).total).toBe(0);
  });

  it('a compose action on a project while one of its containers is updated gets 409 naming the update', async () => {
    const hold = { pull: gate() };
    const { port, calls } = composePort(hold);
    const t = testApp(engine(), { env, compose: port });
    const updating = t.request('/api/containers/shop-web-1/update', { method: 'POST' });
    await hold.pull.reached;
    for (const action of ['stop', 'start', 'update']) {
      const res = await t.request(`/api/compose/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'shop' }) });
      expect([res.status, ((await res.json()) as Body).msg], action).toEqual([409, 'project shop is busy: update of shop-web-1 is running; try again when it has finished']);
    }
    hold.pull.open();
    expect((await updating).status).toBe(200);
    expect(calls).toEqual(['pull shop', 'up shop']);
    // Released afterwards: the next action runs.
    expect((await t.compose.stop('shop')).ok).toBe(true);
  });

  it('the lock itself: taken in one step, 409 names the holder, released once', () => {
    const locks = new ProjectLocks();
    const release = locks.acquire('p', 'delete');
    let refusal: unknown;
    try {
      locks.acquire('p', 'start');
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(AppError);
    expect((refusal as AppError).data).toEqual({ name: 'p', running: 'delete' });
    expect(locks.acquire('q', 'start')).toBeTypeOf('function');
    release();
    const again = locks.acquire('p', 'start');
    release(); // a second release of the old holder frees nothing
    expect(locks.running('p')).toBe('start');
    again();
    expect(locks.running('p')).toBeUndefined();
  });
});
