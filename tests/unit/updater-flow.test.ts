import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { NEW_IMAGE, OLD_IMAGE, REF, containerNames, fakeSetup } from '../helpers/updater-fixture.js';

const S = 1_000_000_000;

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('Updater on the in-memory engine', () => {
  it('replaces the container: same name, new image, user env kept, image env from the new image', async () => {
    const { docker, store, updater, id, steps } = await fakeSetup();
    const result = await updater.update('web', { settleMs: 1_000 });
    expect(result).toMatchObject({ outcome: 'updated', name: 'web', oldContainerId: id, oldImageId: OLD_IMAGE, newImageId: NEW_IMAGE, warnings: [] });
    const now = await docker.inspectContainerRaw('web');
    expect(now?.Id).toBe(result.containerId);
    expect(now?.Image).toBe(NEW_IMAGE);
    expect(now?.State.Running).toBe(true);
    expect(now?.Config.Env).toEqual(['PATH=/bin', 'APP_VERSION=2', 'SHARED=user', 'USER_VAR=mine']);
    expect(now?.Config).toMatchObject({ Cmd: ['serve', '--v2'], WorkingDir: '/app2', Labels: { version: '2' } });
    expect(containerNames(docker)).toEqual(['web']);
    expect(await docker.inspectContainerRaw(id)).toBeNull();
    expect(await store.getKeys('journal')).toEqual([]);
  });

  it('writes each step to the journal before taking it', async () => {
    const { updater, steps } = await fakeSetup();
    await updater.update('web', { settleMs: 1_000 });
    expect(steps).toEqual([
      { step: 'pull', stored: null },
      { step: 'inspect', stored: null },
      { step: 'stop', stored: 'stop' },
      { step: 'rename', stored: 'rename' },
      { step: 'create', stored: 'create' },
      { step: 'start', stored: 'start' },
      { step: 'health', stored: 'health' },
      { step: 'cleanup', stored: 'cleanup' },
    ]);
  });

  it('does nothing when the pull brings no new image (unless forced)', async () => {
    const { docker, updater, id } = await fakeSetup();
    docker.addRemote(REF, { id: OLD_IMAGE });
    expect(await updater.update('web')).toMatchObject({ outcome: 'unchanged', containerId: id });
    expect(docker.calls.some((c) => c.startsWith('stopContainer'))).toBe(false);
    const forced = await updater.update('web', { force: true, settleMs: 100 });
    expect(forced.outcome).toBe('updated');
    expect(forced.containerId).not.toBe(id);
  });

  it('leaves the container untouched when the pull fails, and passes credentials as plain data', async () => {
    const { docker, updater, id } = await fakeSetup();
    const auth = { username: 'u', password: 'p', serveraddress: 'reg.test' };
    const err = await failure(updater.update('web', { image: 'reg.test/app:missing', auth }));
    expect(err.code).toBe(ErrorCode.UpdateFailed);
    expect(err.data).toMatchObject({ step: 'pull', rolledBack: false });
    expect(err.message).toContain('was not touched');
    expect(docker.lastPullAuth).toEqual(auth);
    expect((await docker.inspectContainerRaw('web'))?.Id).toBe(id);
    expect((await docker.inspectContainerRaw('web'))?.State.Running).toBe(true);
    expect(docker.calls.filter((c) => /^(stop|rename|create)/.test(c))).toEqual([]);
  });

  it('rolls back when the new process exits at once, reporting its last log lines', async () => {
    const { docker, store, updater, id } = await fakeSetup({ behaviour: { exitCode: 3, logs: ['starting v2', 'fatal: missing CONFIG'] } });
    const err = await failure(updater.update('web', { settleMs: 1_000, logLines: 1 }));
    expect(err.code).toBe(ErrorCode.UpdateFailed);
    expect(err.message).toMatch(/exit code 3/);
    expect(err.message).toContain('fatal: missing CONFIG');
    expect(err.message).not.toContain('starting v2');
    expect(err.data).toMatchObject({ step: 'health', rolledBack: true, logs: 'fatal: missing CONFIG\n' });
    const back = await docker.inspectContainerRaw('web');
    expect(back).toMatchObject({ Id: id, Image: OLD_IMAGE, State: { Running: true } });
    expect(containerNames(docker)).toEqual(['web']);
    expect(await store.getKeys('journal')).toEqual([]);
  });

  it('rolls back when the new healthcheck says unhealthy, or stays starting too long', async () => {
    const health = { Healthcheck: { Test: ['CMD', 'check'], Interval: S, Retries: 1 } };
    for (const verdict of ['unhealthy', 'starting'] as const) {
      const { docker, updater, id } = await fakeSetup({ newConfig: health, behaviour: { health: verdict } });
      const err = await failure(updater.update('web', { healthTimeoutMs: 5_000 }));
      expect(err.message).toMatch(verdict === 'unhealthy' ? /unhealthy/ : /not healthy within 5 s/);
      expect((await docker.inspectContainerRaw('web'))?.Id).toBe(id);
      expect(containerNames(docker)).toEqual(['web']);
    }
  });

  it('passes on a healthy healthcheck without waiting for the settle time', async () => {
    const { updater, clock } = await fakeSetup({ newConfig: { Healthcheck: { Test: ['CMD', 'check'] } } });
    const t0 = clock.t;
    await updater.update('web', { settleMs: 60_000 });
    expect(clock.t - t0).toBeLessThan(1_000);
  });

  it('keeps the old container, parked and stopped, when asked; removes the old image when asked', async () => {
    const { docker, updater, id } = await fakeSetup();
    const result = await updater.update('web', { removeOldContainer: false, removeOldImage: true, settleMs: 100 });
    const parked = await docker.inspectContainerRaw(`web-wd-old-${id.slice(0, 12)}`);
    expect(parked).toMatchObject({ Id: id, State: { Running: false } });
    expect(result.warnings.join()).toMatch(/old image was kept/);
    expect(docker.images.has(OLD_IMAGE)).toBe(true);

    const second = await fakeSetup();
    await second.updater.update('web', { removeOldImage: true, settleMs: 100 });
    expect(second.docker.images.has(OLD_IMAGE)).toBe(false);
  });

  it('updates a stopped container without starting it', async () => {
    const { docker, updater, steps } = await fakeSetup({ start: false });
    const result = await updater.update('web');
    expect((await docker.inspectContainerRaw('web'))).toMatchObject({ Id: result.containerId, State: { Running: false } });
    expect(steps.map((s) => s.step)).not.toContain('start');
  });

  it('on API < 1.44 creates with one network and connects the others before start', async () => {
    const body = {
      HostConfig: { NetworkMode: 'front' },
      NetworkingConfig: { EndpointsConfig: { front: { Aliases: ['web-front'], IPAMConfig: { IPv4Address: '10.9.0.9' } } } },
    };
    const { docker, updater, id, steps } = await fakeSetup({ apiVersion: '1.41', body });
    await docker.connectNetwork('back', id, { Aliases: ['web-back'] });
    await updater.update('web', { settleMs: 100 });
    expect(steps.map((s) => s.step)).toEqual(['pull', 'inspect', 'stop', 'rename', 'create', 'connect', 'start', 'health', 'cleanup']);
    const nets = (await docker.inspectContainerRaw('web'))?.NetworkSettings.Networks ?? {};
    expect(Object.keys(nets)).toEqual(['front', 'back']);
    expect(nets.front).toMatchObject({ IPAddress: '10.9.0.9', Aliases: ['web-front', expect.any(String)] });
    expect(nets.back?.Aliases?.[0]).toBe('web-back');
    expect(nets.back?.Aliases).toHaveLength(2);
  });

  it('rolls back a create the engine refuses', async () => {
    const { docker, updater, id } = await fakeSetup({
      onStep: (step) => {
        if (step === 'create') docker.images.delete(NEW_IMAGE);
      },
    });
    const err = await failure(updater.update('web'));
    expect(err.data).toMatchObject({ step: 'create', rolledBack: true });
    expect(await docker.inspectContainerRaw('web')).toMatchObject({ Id: id, State: { Running: true } });
  });

  it('keeps the journal when the rollback itself fails', async () => {
    const { docker, store, updater, id } = await fakeSetup({
      behaviour: { exitCode: 1 },
      onStep: async (step) => {
        // Someone else's container takes the name while the update runs: the old one cannot get it back.
        if (step === 'rollback') {
          const { id: other } = await docker.createContainer('web-intruder', { Image: OLD_IMAGE, HostConfig: { NetworkMode: 'none' } });
          await docker.removeContainer((await docker.inspectContainerRaw('web'))?.Id ?? '', { force: true });
          await docker.renameContainer(other, 'web');
        }
      },
    });
    const err = await failure(updater.update('web', { settleMs: 100 }));
    expect(err.data).toMatchObject({ rolledBack: false });
    expect(err.message).toMatch(/repaired at the next start/);
    expect(await store.getKeys('journal')).toEqual([`journal:${id}`]);
  });

  it('refuses a second update of the same container while one runs', async () => {
    let release: () => void = () => undefined;
    const { updater } = await fakeSetup({ onStep: (step) => (step === 'health' ? new Promise<void>((r) => (release = r)) : undefined) });
    const first = updater.update('web', { settleMs: 100 });
    await new Promise((r) => setTimeout(r, 10));
    const err = await failure(updater.update('web'));
    expect(err.code).toBe(ErrorCode.Conflict);
    release();
    await first;
  });

  it('replaces an auto-remove container; on failure re-creates the old one from its image', async () => {
    const ok = await fakeSetup({ body: { HostConfig: { NetworkMode: 'none', AutoRemove: true } } });
    const result = await ok.updater.update('web', { settleMs: 100 });
    expect(containerNames(ok.docker)).toEqual(['web']);
    expect((await ok.docker.inspectContainerRaw('web'))?.HostConfig.AutoRemove).toBe(true);
    expect(result.outcome).toBe('updated');

    const bad = await fakeSetup({ body: { HostConfig: { NetworkMode: 'none', AutoRemove: true } }, behaviour: { exitCode: 2 } });
    const err = await failure(bad.updater.update('web', { settleMs: 100 }));
    expect(err.data).toMatchObject({ rolledBack: true });
    const back = await bad.docker.inspectContainerRaw('web');
    expect(back).toMatchObject({ Image: OLD_IMAGE, State: { Running: true }, HostConfig: { AutoRemove: true } });
    expect(back?.Config.Env).toContain('USER_VAR=mine');
  });

  it('an unknown container is not found; one made from an image ID needs the image named', async () => {
    const { updater, docker } = await fakeSetup();
    expect((await failure(updater.update('nope'))).code).toBe(ErrorCode.NotFound);
    await docker.createContainer('by-id', { Image: OLD_IMAGE, HostConfig: { NetworkMode: 'none' } });
    const err = await failure(updater.update('by-id'));
    expect(err.code).toBe(ErrorCode.BadRequest);
    expect(docker.calls.some((c) => c.startsWith('pullImage'))).toBe(false);
    expect((await updater.update('by-id', { image: REF, settleMs: 100 })).outcome).toBe('updated');
  });
});
