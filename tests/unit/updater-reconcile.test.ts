import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/ports.js';
import { journalKey, type UpdateJournal, type UpdateStep } from '../../src/core/updater/journal.js';
import { reconcile } from '../../src/core/updater/reconcile.js';
import { NEW_IMAGE, OLD_IMAGE, containerNames, fakeSetup, freeze } from '../helpers/updater-fixture.js';

/** Starts an update that freezes at `step` (as a process would, before a SIGKILL). */
async function crashAt(step: UpdateStep, opts: Parameters<typeof fakeSetup>[0] = {}, before?: (s: Awaited<ReturnType<typeof fakeSetup>>) => void) {
  const setup = await fakeSetup({ ...opts, onStep: (s) => (s === step ? freeze() : undefined) });
  before?.(setup);
  void setup.updater.update('web', { settleMs: 1_000 });
  for (let i = 0; i < 100 && setup.steps.at(-1)?.step !== step; i++) await new Promise((r) => setTimeout(r, 1));
  expect(setup.steps.at(-1)?.step).toBe(step);
  return setup;
}

describe('reconcile after a crash', () => {
  for (const step of ['stop', 'rename', 'create', 'start', 'health'] as const) {
    it(`at "${step}": the old container is back under its name, running; the new one is gone`, async () => {
      const { docker, store, id } = await crashAt(step);
      const outcomes = await reconcile(store, docker, silentLogger);
      expect(outcomes).toEqual([{ container: 'web', oldContainerId: id, step, result: 'restored-old', containerId: id }]);
      expect(containerNames(docker)).toEqual(['web']);
      expect(await docker.inspectContainerRaw('web')).toMatchObject({ Id: id, Image: OLD_IMAGE, State: { Running: true } });
      expect(await store.getKeys('journal')).toEqual([]);
    });
  }

  it('at "connect" (API < 1.44): rolled back too', async () => {
    const body = { HostConfig: { NetworkMode: 'a' }, NetworkingConfig: { EndpointsConfig: { a: {}, b: {} } } };
    const { docker, store } = await crashAt('connect', { body }, (s) => (s.docker.apiVersion = '1.41'));
    expect((await reconcile(store, docker, silentLogger))[0]?.result).toBe('restored-old');
    expect(containerNames(docker)).toEqual(['web']);
  });

  it('at "cleanup": the new container passed its health wait and is kept; the old one goes', async () => {
    const { docker, store, id } = await crashAt('cleanup');
    const [outcome] = await reconcile(store, docker, silentLogger);
    expect(outcome?.result).toBe('kept-new');
    expect(containerNames(docker)).toEqual(['web']);
    const now = await docker.inspectContainerRaw('web');
    expect(now).toMatchObject({ Image: NEW_IMAGE, State: { Running: true } });
    expect(now?.Id).not.toBe(id);
  });

  it('finds a new container the journal never recorded (crash right after create answered)', async () => {
    const { docker, store, id } = await crashAt('start');
    const j = (await store.getItem<UpdateJournal>(journalKey(id))) as UpdateJournal;
    delete j.newContainerId;
    await store.setItem(journalKey(id), { ...j, step: 'create' });
    expect((await reconcile(store, docker, silentLogger))[0]?.result).toBe('restored-old');
    expect(containerNames(docker)).toEqual(['web']);
    expect((await docker.inspectContainerRaw('web'))?.Id).toBe(id);
  });

  it('leaves alone a container of someone else that took the name, and keeps the journal', async () => {
    const { docker, store, id } = await crashAt('create');
    await docker.createContainer('web', { Image: OLD_IMAGE, HostConfig: { NetworkMode: 'none' } });
    const [outcome] = await reconcile(store, docker, silentLogger);
    expect(outcome).toMatchObject({ result: 'failed', error: expect.stringContaining('already in use') });
    expect(containerNames(docker)).toEqual(['web', `web-wd-old-${id.slice(0, 12)}`]);
    expect(await store.getKeys('journal')).toEqual([journalKey(id)]);
  });

  it('keeps the new container of an auto-remove one whose old container the engine removed', async () => {
    const { docker, store } = await crashAt('start', { body: { HostConfig: { NetworkMode: 'none', AutoRemove: true } } });
    const [outcome] = await reconcile(store, docker, silentLogger);
    expect(outcome?.result).toBe('kept-new');
    expect(await docker.inspectContainerRaw('web')).toMatchObject({ Image: NEW_IMAGE, State: { Running: true } });
  });

  it('reports an update whose containers are both gone, and closes its journal', async () => {
    const { docker, store } = await crashAt('rename');
    for (const c of [...docker.containers.values()]) await docker.removeContainer(c.id, { force: true });
    expect((await reconcile(store, docker, silentLogger))[0]?.result).toBe('lost');
    expect(await store.getKeys('journal')).toEqual([]);
  });

  it('tries again later when the engine is down', async () => {
    const { docker, store } = await crashAt('health');
    docker.failure = new Error('engine down');
    expect((await reconcile(store, docker, silentLogger))[0]).toMatchObject({ result: 'failed', error: 'engine down' });
    docker.failure = null;
    expect((await reconcile(store, docker, silentLogger))[0]?.result).toBe('restored-old');
  });
});
