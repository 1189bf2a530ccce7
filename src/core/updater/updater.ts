import type { ContainerInspect, ImageInspect } from '../docker/port.js';
import { AppError, ErrorCode, describeError } from '../errors.js';
import { tryParseImageRef } from '../image-ref.js';
import { systemClock, type Clock, type Logger } from '../ports.js';
import { sleepWithTimer, waitForHealthy, type Sleep } from './health-wait.js';
import { clearJournal, listJournals, writeJournal, type UpdateJournal, type UpdateStep } from './journal.js';
import { parkedName, planRecreate, stopTimeoutOf } from './recreate-plan.js';
import { reconcile, type ReconcileOutcome } from './reconcile.js';
import { findNewContainer, removeIfPresent, restoreOld } from './recovery.js';
import type { UpdateOptions, UpdateResult, UpdaterDeps } from './update-options.js';

export type { UpdateOptions, UpdateResult, UpdaterDeps, UpdaterDocker } from './update-options.js';

const DEFAULTS = { removeOldContainer: true, removeOldImage: false, settleMs: 5_000, pollMs: 500, logLines: 50, force: false };

/**
 * Replaces a container by a faithful copy on a freshly pulled image (design §3.4): pull, stop,
 * park the old one under another name, create and start the new one, wait for it to prove
 * healthy, then remove the old one — or put the old one back. Every step is journaled in the
 * store before it is taken; `reconcile()` repairs what a crash left behind.
 */
export class Updater {
  private readonly inFlight = new Set<string>();
  private readonly clock: Clock;
  private readonly sleep: Sleep;

  constructor(private readonly deps: UpdaterDeps) {
    this.clock = deps.clock ?? systemClock;
    this.sleep = deps.sleep ?? sleepWithTimer;
  }

  /** Repairs interrupted updates; run it once at start-up, before any update. */
  reconcile(): Promise<ReconcileOutcome[]> {
    return reconcile(this.deps.store, this.deps.docker, this.deps.logger);
  }

  async update(idOrName: string, options: UpdateOptions = {}): Promise<UpdateResult> {
    const current = await this.deps.docker.inspectContainerRaw(idOrName);
    if (!current) throw new AppError(ErrorCode.NotFound, `no container ${idOrName}`, { container: idOrName });
    // Keyed by name too: mid-update, the name already points at the new container.
    const keys = [current.Id, current.Name.replace(/^\//, '')];
    const busy = () => new AppError(ErrorCode.Conflict, `an update of ${idOrName} is running or was interrupted; it is reconciled at the next start`, { container: idOrName });
    if (keys.some((k) => this.inFlight.has(k))) throw busy();
    for (const k of keys) this.inFlight.add(k);
    try {
      if ((await listJournals(this.deps.store)).some((j) => keys.includes(j.containerId) || keys.includes(j.name))) throw busy();
      return await this.run(current, { ...DEFAULTS, ...options });
    } finally {
      for (const k of keys) this.inFlight.delete(k);
    }
  }

  private async run(current: ContainerInspect, o: UpdateOptions & typeof DEFAULTS): Promise<UpdateResult> {
    const { docker, store } = this.deps;
    const name = current.Name.replace(/^\//, '');
    const image = o.image ?? current.Config.Image ?? '';
    // Created from an image ID (or its tag since re-pointed by hand): there is nothing to pull.
    if (!tryParseImageRef(image)) {
      throw new AppError(ErrorCode.BadRequest, `${name} was not created from an image reference (${JSON.stringify(image)}); name the image to update to`, { container: name, image });
    }
    const log = this.deps.logger.child({ component: 'updater', container: name, image });
    await this.deps.onStep?.('pull', null);
    try {
      for await (const ev of docker.pullImage(image, o.auth ? { auth: o.auth } : {})) o.onProgress?.(ev);
    } catch (err) {
      throw new AppError(ErrorCode.UpdateFailed, `pulling ${image} failed; ${name} was not touched: ${describeError(err)}`, { container: name, image, step: 'pull', rolledBack: false }, { cause: err });
    }
    await this.deps.onStep?.('inspect', null);
    const c = await docker.inspectContainerRaw(current.Id);
    if (!c) throw new AppError(ErrorCode.NotFound, `container ${name} disappeared during the update`, { container: name });
    const newImage = await docker.inspectImageRaw(image);
    if (!newImage) throw new AppError(ErrorCode.UpdateFailed, `the engine has no image ${image} after pulling it; ${name} was not touched`, { container: name, image, step: 'inspect', rolledBack: false });
    const base = { name, oldContainerId: c.Id, oldImageId: c.Image, newImageId: newImage.Id };
    if (newImage.Id === c.Image && !o.force) return { ...base, outcome: 'unchanged', containerId: c.Id, warnings: [] };

    const oldImage = await docker.inspectImageRaw(c.Image);
    const { apiVersion } = await docker.info();
    const plan = planRecreate(c, oldImage?.Config, { image, apiVersion });
    const now = new Date(this.clock.now()).toISOString();
    const j: UpdateJournal = {
      v: 1, containerId: c.Id, name: plan.name, parkedName: parkedName(plan.name, c.Id), image, oldImageId: c.Image,
      wasRunning: c.State.Running || c.State.Restarting, autoRemove: c.HostConfig.AutoRemove === true, keepOld: !o.removeOldContainer,
      step: 'stop', startedAt: now, updatedAt: now,
    };
    const warnings: string[] = [];
    let failure: { step: UpdateStep; reason: string; cause?: unknown } | null = null;
    try {
      if (j.wasRunning && !j.autoRemove) {
        await this.enter(j, 'stop');
        await docker.stopContainer(c.Id, { timeoutSeconds: stopTimeoutOf(c) });
      }
      await this.enter(j, 'rename');
      await docker.renameContainer(c.Id, j.parkedName);
      await this.enter(j, 'create');
      const created = await docker.createContainer(plan.name, plan.body);
      j.newContainerId = created.id;
      warnings.push(...created.warnings);
      if (plan.connect.length > 0) {
        await this.enter(j, 'connect');
        for (const n of plan.connect) await docker.connectNetwork(n.network, created.id, n.endpoint);
      }
      if (j.wasRunning && j.autoRemove) {
        // The engine deletes an auto-remove container once stopped, so it goes only now that
        // its successor exists (and holds its anonymous volumes, which are therefore kept).
        await this.enter(j, 'stop');
        await docker.stopContainer(c.Id, { timeoutSeconds: stopTimeoutOf(c) });
      }
      if (j.wasRunning) {
        await this.enter(j, 'start');
        await docker.startContainer(created.id);
        await this.enter(j, 'health');
        const verdict = await waitForHealthy(docker, created.id, o, { clock: this.clock, sleep: this.sleep });
        if (!verdict.ok) failure = { step: 'health', reason: verdict.reason };
      }
    } catch (err) {
      failure = { step: j.step, reason: describeError(err), cause: err };
    }
    if (failure) return this.rollback(j, failure, o.logLines, () => planRecreate(c, oldImage?.Config, { image: c.Image, apiVersion }));

    await this.enter(j, 'cleanup');
    const result: UpdateResult = { ...base, outcome: 'updated', containerId: j.newContainerId ?? '', warnings };
    try {
      if (!j.keepOld && !j.autoRemove) await removeIfPresent(docker, c.Id);
      await clearJournal(store, c.Id);
    } catch (err) {
      // Updated all the same; reconcile finishes the clean-up at the next start.
      log.warn({ action: 'cleanup', err: describeError(err) }, 'the old container could not be removed');
      result.warnings.push(`the old container ${j.parkedName} could not be removed: ${describeError(err)}`);
      return result;
    }
    if (o.removeOldImage) await this.removeOldImage(c.Image, newImage, result, log);
    log.info({ action: 'updated', newContainerId: result.containerId, imageId: newImage.Id }, `updated ${name}`);
    return result;
  }

  /** Writes the journal naming the step about to be taken, then lets the hook see it. */
  private async enter(j: UpdateJournal, step: UpdateStep): Promise<void> {
    j.step = step;
    j.updatedAt = new Date(this.clock.now()).toISOString();
    await writeJournal(this.deps.store, j);
    this.deps.logger.debug({ component: 'updater', container: j.name, action: step });
    await this.deps.onStep?.(step, { ...j });
  }

  private async rollback(j: UpdateJournal, failure: { step: UpdateStep; reason: string; cause?: unknown }, logLines: number, recreateOld: Parameters<typeof restoreOld>[2]): Promise<never> {
    const { docker, store } = this.deps;
    const data = { container: j.name, image: j.image, step: failure.step, reason: failure.reason, logs: '', rolledBack: false };
    try {
      await this.enter(j, 'rollback');
      const fresh = await findNewContainer(docker, j);
      if (fresh) {
        data.logs = await docker.containerLogs(fresh.Id, { tail: logLines }).catch(() => '');
        await removeIfPresent(docker, fresh.Id);
      }
      await restoreOld(docker, j, j.autoRemove ? recreateOld : undefined);
      await clearJournal(store, j.containerId);
      data.rolledBack = true;
    } catch (err) {
      this.deps.logger.error({ component: 'updater', container: j.name, action: 'rollback', err: describeError(err) }, 'rollback failed');
      throw new AppError(ErrorCode.UpdateFailed, `updating ${j.name} failed at "${failure.step}" (${failure.reason}) and putting the old container back failed too: ${describeError(err)}; it is repaired at the next start`, data, { cause: err });
    }
    this.deps.logger.warn({ component: 'updater', container: j.name, action: 'rolled-back', step: failure.step, err: failure.reason });
    const tail = data.logs.trim() ? `\nLast log lines of the new container:\n${data.logs.trimEnd()}` : '';
    throw new AppError(ErrorCode.UpdateFailed, `updating ${j.name} to ${j.image} failed at "${failure.step}": ${failure.reason}. The old container is back${j.wasRunning ? ' and running' : ''}.${tail}`, data, { cause: failure.cause });
  }

  private async removeOldImage(oldImageId: string, newImage: ImageInspect, result: UpdateResult, log: Logger): Promise<void> {
    if (oldImageId === newImage.Id) return;
    try {
      await this.deps.docker.removeImage(oldImageId);
    } catch (err) {
      log.info({ action: 'remove-image', imageId: oldImageId, err: describeError(err) }, 'the old image stays');
      result.warnings.push(`the old image was kept: ${describeError(err)}`);
    }
  }
}

