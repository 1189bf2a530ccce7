/**
 * Updates run by a host's agent itself (split deployment). The control plane asks for one
 * update with an id (its history entry's id); the agent runs it with the same core Updater as
 * the Node server, on its local Docker port, with the journal in its own store, so the update
 * finishes or rolls back on the host even when the link drops. Each outcome is stored under
 * its id BEFORE the reply is sent and kept until the control plane acknowledges it, so a reply
 * that never arrived, or an update settled by `reconcile()` after the agent restarted, is
 * reported when the control plane asks again (`updateOutcomes`).
 */
import type { DockerLifecyclePort } from '../docker/port.js';
import { AppError, ErrorCode, describeError } from '../errors.js';
import { systemClock, type Clock, type Logger, type Store } from '../ports.js';
import type { ReconcileOutcome } from '../updater/reconcile.js';
import type { UpdateOptions, UpdateResult } from '../updater/update-options.js';

/** The final result of one update on the host, as stored until acknowledged and sent over the link. */
export interface HostUpdateOutcome {
  updateId: string;
  /** update: the reply to an updateContainer request; reconcile: settled at the agent's start after an interruption. */
  source: 'update' | 'reconcile';
  /** The container's name. */
  container: string;
  /** The container that was to be replaced (empty when it was not found). */
  containerId: string;
  image: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** When ok. */
  result?: UpdateResult;
  /** When not ok: the AppError's code, message and data (rolledBack, logs, step …). */
  error?: { code: number; msg: string; data?: Record<string, unknown> | null };
}

/** What an update in progress leaves in the store, so an interruption can be reported under its id. */
interface RunningRecord {
  updateId: string;
  container: string;
  containerId: string;
  image: string;
  oldImageId: string;
  startedAt: string;
}

export interface HostUpdateRunnerDeps {
  updater: { update(idOrName: string, options?: UpdateOptions): Promise<UpdateResult>; reconcile(): Promise<ReconcileOutcome[]> };
  docker: Pick<DockerLifecyclePort, 'inspectContainerRaw'>;
  store: Store;
  logger: Logger;
  clock?: Clock;
}

const OUTCOME = 'updates:outcome';
const RUNNING = 'updates:running';

/** The agent's end of host-run updates: idempotent by update id, outcomes kept until acknowledged. */
export class HostUpdateRunner {
  private readonly running = new Map<string, Promise<HostUpdateOutcome>>();
  private readonly clock: Clock;
  private ready: Promise<void> | null = null;

  constructor(private readonly deps: HostUpdateRunnerDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /**
   * Settles what an earlier run of the agent left (the Updater's reconcile), and keeps one
   * outcome per interrupted update for the control plane. Run it once, before serving updates.
   */
  start(): Promise<void> {
    this.ready ??= this.settle();
    return this.ready;
  }

  private async settle(): Promise<void> {
    const { store, docker, logger } = this.deps;
    const records = new Map<string, RunningRecord>();
    for (const key of await store.getKeys(RUNNING)) {
      const r = await store.getItem<RunningRecord>(key);
      if (r?.updateId) records.set(r.containerId, r);
    }
    const settled = await this.deps.updater.reconcile();
    for (const rc of settled) {
      const record = records.get(rc.oldContainerId);
      records.delete(rc.oldContainerId);
      const updateId = record?.updateId ?? `rc-${this.clock.now().toString(36)}-${rc.oldContainerId.slice(0, 12)}`;
      const base = {
        updateId, source: 'reconcile' as const, container: rc.container, containerId: rc.oldContainerId,
        image: record?.image ?? '', startedAt: record?.startedAt ?? this.now(), finishedAt: this.now(),
      };
      await this.keep(fromReconcile(base, rc, record, await docker.inspectContainerRaw(rc.containerId ?? rc.container).catch(() => null)));
      // One that could not be settled stays journaled: the next start reports it under the same id.
      if (record && rc.result !== 'failed') await store.removeItem(`${RUNNING}:${record.updateId}`);
    }
    // Interrupted with no journal open: before the container was touched (the pull), or after
    // the journal was cleared but before the outcome was stored. The engine says which.
    for (const r of records.values()) {
      const now = await docker.inspectContainerRaw(r.container).catch(() => null);
      const base = { updateId: r.updateId, source: 'reconcile' as const, container: r.container, containerId: r.containerId, image: r.image, startedAt: r.startedAt, finishedAt: this.now() };
      if (now && now.Image !== r.oldImageId && now.Id !== r.containerId) {
        await this.keep({ ...base, ok: true, result: { outcome: 'updated', name: r.container, containerId: now.Id, oldContainerId: r.containerId, oldImageId: r.oldImageId, newImageId: now.Image, warnings: ['the agent stopped just after the update finished'] } });
      } else {
        await this.keep({
          ...base, ok: false,
          error: { code: ErrorCode.UpdateFailed, msg: `the agent stopped while updating ${r.container}, before it changed the container${now ? '; it is as it was' : ', and no container holds that name now'}`, data: { rolledBack: false, interrupted: false } },
        });
      }
      await store.removeItem(`${RUNNING}:${r.updateId}`);
    }
    if (settled.length > 0 || records.size > 0) logger.warn({ component: 'agent', action: 'reconcile', settled: settled.length }, 'settled updates an earlier run of the agent left');
  }

  /**
   * Runs one update, once per id: a request with an id that is running joins it; one that
   * finished gets its stored outcome. Resolves with the outcome (a failed update included).
   */
  async update(idOrName: string, options: UpdateOptions, updateId: string): Promise<HostUpdateOutcome> {
    if (!this.ready) throw new AppError(ErrorCode.Conflict, 'the agent has not settled interrupted updates yet');
    await this.ready;
    const joined = this.running.get(updateId);
    if (joined) return joined;
    // Registered before anything is awaited, so a concurrent retry joins it.
    const p = (async () => {
      const stored = await this.deps.store.getItem<HostUpdateOutcome>(`${OUTCOME}:${updateId}`);
      return stored ?? this.run(idOrName, options, updateId);
    })().finally(() => this.running.delete(updateId));
    this.running.set(updateId, p);
    return p;
  }

  private async run(idOrName: string, options: UpdateOptions, updateId: string): Promise<HostUpdateOutcome> {
    const { store, docker, updater, logger } = this.deps;
    const startedAt = this.now();
    const current = await docker.inspectContainerRaw(idOrName).catch(() => null);
    const record: RunningRecord = {
      updateId, container: current?.Name.replace(/^\//, '') ?? idOrName, containerId: current?.Id ?? '',
      image: options.image ?? current?.Config.Image ?? '', oldImageId: current?.Image ?? '', startedAt,
    };
    // Credentials and callbacks are never stored: only what names the update.
    if (current) await store.setItem(`${RUNNING}:${updateId}`, record);
    let outcome: HostUpdateOutcome;
    const base = { updateId, source: 'update' as const, container: record.container, containerId: record.containerId, image: record.image, startedAt };
    try {
      const result = await updater.update(idOrName, options);
      outcome = { ...base, finishedAt: this.now(), ok: true, result };
    } catch (err) {
      if (!(err instanceof AppError)) logger.error({ component: 'agent', action: 'update', container: record.container, err: describeError(err) }, 'an update failed unexpectedly');
      outcome = { ...base, finishedAt: this.now(), ok: false, error: errorFields(err) };
    }
    // Stored before the reply: if the reply is lost, the control plane asks for it again.
    await this.keep(outcome);
    if (current) await store.removeItem(`${RUNNING}:${updateId}`);
    return outcome;
  }

  private async keep(outcome: HostUpdateOutcome): Promise<void> {
    await this.deps.store.setItem(`${OUTCOME}:${outcome.updateId}`, outcome);
  }

  /** Every outcome the control plane has not acknowledged yet, oldest first. */
  async outcomes(): Promise<HostUpdateOutcome[]> {
    const out: HostUpdateOutcome[] = [];
    for (const key of await this.deps.store.getKeys(OUTCOME)) {
      const o = await this.deps.store.getItem<HostUpdateOutcome>(key);
      if (o?.updateId) out.push(o);
    }
    return out.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  /** Forgets acknowledged outcomes; answers how many there were. */
  async ack(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of ids) {
      const key = `${OUTCOME}:${id}`;
      if ((await this.deps.store.getItem(key)) === null) continue;
      await this.deps.store.removeItem(key);
      n++;
    }
    return n;
  }

  /** Resolves when no update is running (for a graceful stop). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  get busy(): number {
    return this.running.size;
  }
}

/** An AppError's fields (anything else: an internal error, without details). */
function errorFields(err: unknown): NonNullable<HostUpdateOutcome['error']> {
  if (err instanceof AppError) return { code: err.code, msg: err.message, data: err.data ?? null };
  return { code: ErrorCode.Internal, msg: 'internal error on the agent during the update (see its log)', data: null };
}

/** The outcome of an update that reconcile settled. */
function fromReconcile(
  base: Omit<HostUpdateOutcome, 'ok' | 'result' | 'error'>,
  rc: ReconcileOutcome,
  record: RunningRecord | undefined,
  holder: { Id: string; Image: string } | null,
): HostUpdateOutcome {
  const where = `the agent stopped while updating ${rc.container} (at "${rc.step}")`;
  switch (rc.result) {
    case 'kept-new':
      return {
        ...base, ok: true,
        result: {
          outcome: 'updated', name: rc.container, containerId: rc.containerId ?? holder?.Id ?? '', oldContainerId: rc.oldContainerId,
          oldImageId: record?.oldImageId ?? '', newImageId: holder?.Image ?? '', warnings: [`${where}; it had passed its health wait, so the agent completed it at its restart`],
        },
      };
    case 'restored-old':
      return { ...base, ok: false, error: { code: ErrorCode.UpdateFailed, msg: `${where}; at its restart it put the old container back`, data: { step: rc.step, rolledBack: true } } };
    case 'lost':
      return { ...base, ok: false, error: { code: ErrorCode.UpdateFailed, msg: `${where}; at its restart neither the old nor the new container was left`, data: { step: rc.step, rolledBack: false } } };
    case 'failed':
      return { ...base, ok: false, error: { code: ErrorCode.UpdateFailed, msg: `${where}; settling it at its restart failed (${rc.error ?? 'unknown error'}); it is tried again at the next start`, data: { step: rc.step, rolledBack: false } } };
  }
}
