import type { DockerLifecyclePort } from '../docker/port.js';
import { describeError } from '../errors.js';
import type { Logger, Store } from '../ports.js';
import { clearJournal, listJournals, type UpdateJournal } from './journal.js';
import { findNewContainer, nameOf, removeIfPresent, restoreOld } from './recovery.js';

export interface ReconcileOutcome {
  container: string;
  oldContainerId: string;
  /** The step the interrupted update was at. */
  step: string;
  /** kept-new: the update had passed its health wait; restored-old: rolled back; lost: neither exists; failed: left for next time. */
  result: 'kept-new' | 'restored-old' | 'lost' | 'failed';
  /** The container holding the name now, when there is one. */
  containerId?: string;
  error?: string;
}

type Docker = Pick<DockerLifecyclePort, 'inspectContainerRaw' | 'removeContainer' | 'renameContainer' | 'startContainer' | 'createContainer' | 'connectNetwork'>;

/**
 * Repairs the updates a crash interrupted, one open journal at a time, so that exactly one
 * container holds each original name, running if it ran before; our half-made containers are
 * removed and the old one is un-parked. Volumes are never removed. An update that had already
 * proved its new container healthy (step "cleanup") is completed; any other is rolled back.
 * A journal that cannot be settled (e.g. the engine is down) stays for the next run.
 */
export async function reconcile(store: Store, docker: Docker, logger: Logger): Promise<ReconcileOutcome[]> {
  const log = logger.child({ component: 'updater', action: 'reconcile' });
  const outcomes: ReconcileOutcome[] = [];
  for (const j of await listJournals(store)) {
    const base = { container: j.name, oldContainerId: j.containerId, step: j.step };
    try {
      const outcome = { ...base, ...(await settle(docker, j)) };
      await clearJournal(store, j.containerId);
      outcomes.push(outcome);
      (outcome.result === 'lost' ? log.error : log.warn).call(log, { container: j.name, step: j.step, result: outcome.result }, 'settled an interrupted update');
    } catch (err) {
      outcomes.push({ ...base, result: 'failed', error: describeError(err) });
      log.error({ container: j.name, step: j.step, err: describeError(err) }, 'could not settle an interrupted update; will try again at the next start');
    }
  }
  return outcomes;
}

async function settle(docker: Docker, j: UpdateJournal): Promise<Pick<ReconcileOutcome, 'result' | 'containerId'>> {
  const fresh = await findNewContainer(docker, j);
  const old = await docker.inspectContainerRaw(j.containerId);
  if (fresh && (j.step === 'cleanup' || !old)) {
    // Past the health wait (or nothing else left, e.g. an auto-remove container): keep the new one.
    if (old && !j.keepOld) await removeIfPresent(docker, old.Id);
    if (nameOf(fresh) !== j.name) await docker.renameContainer(fresh.Id, j.name);
    if (j.wasRunning && !fresh.State.Running) await docker.startContainer(fresh.Id);
    return { result: 'kept-new', containerId: fresh.Id };
  }
  if (fresh) await removeIfPresent(docker, fresh.Id);
  const restored = await restoreOld(docker, j);
  return restored === 'missing' ? { result: 'lost' } : { result: 'restored-old', containerId: j.containerId };
}
