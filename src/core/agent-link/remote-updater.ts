/**
 * The control plane's side of host-run updates (split deployment): the UpdateService's
 * ContainerUpdater sends the whole update to the host's agent in one request, and the host's
 * history takes the outcomes the agent reports later (a reply lost with the link, an update
 * the agent settled at its restart).
 */
import { randomId } from '../auth/encoding.js';
import { AppError, ErrorCode } from '../errors.js';
import type { Logger } from '../ports.js';
import type { ContainerUpdater } from '../update-service.js';
import { UpdateHistory, type HistoryEntry } from '../update-history.js';
import type { UpdateOptions, UpdateResult } from '../updater/update-options.js';
import { errorFromFrame } from './endpoint.js';
import type { HostUpdateOutcome } from './host-updates.js';
import { plain, type LinkTransport } from './remote-docker.js';

/** A pull, the old container's stop, the new one's health wait: one update, start to end. */
export const UPDATE_TIMEOUT_MS = 60 * 60_000;
/** Asking an agent for its unreported outcomes. */
const OUTCOMES_TIMEOUT_MS = 10_000;

/** True when the link failed after the request may have reached the agent (it may be running it). */
export function linkDropped(err: unknown): boolean {
  if (!(err instanceof AppError) || err.code !== ErrorCode.HostOffline) return false;
  const reason = err.data?.reason;
  return reason === 'disconnected' || reason === 'timeout';
}

/** The message of an update whose link dropped: honest about what happens next. */
export function interruptedMessage(host: string, container: string, reason: string): string {
  return `the link to host ${host} was lost while its agent was updating ${container} (${reason}): the agent finishes the update or rolls it back on the host, and this entry is replaced by the outcome when the agent reports it after reconnecting`;
}

/** The UpdateResult of an outcome, or the AppError it carries. */
export function resultOf(outcome: HostUpdateOutcome): UpdateResult {
  if (outcome.ok && outcome.result) return outcome.result;
  throw errorFromFrame(outcome.error ?? { code: ErrorCode.Internal, msg: 'the agent reported a failed update without details' });
}

/** Runs each update on the host's agent (`updateContainer`), with the update id as idempotency key. */
export class RemoteUpdater implements ContainerUpdater {
  constructor(
    private readonly link: LinkTransport,
    private readonly host: string,
    private readonly timeoutMs = UPDATE_TIMEOUT_MS,
  ) {}

  async update(idOrName: string, options: UpdateOptions = {}): Promise<UpdateResult> {
    // Progress is not relayed; the id names the update on the agent (a retry joins it).
    const { onProgress: _progress, updateId = randomId(12), ...rest } = options;
    let outcome: HostUpdateOutcome;
    try {
      outcome = (await this.link.call('updateContainer', [idOrName, plain(rest), updateId], { timeoutMs: this.timeoutMs, idempotencyKey: updateId })) as HostUpdateOutcome;
    } catch (err) {
      if (!linkDropped(err)) throw err;
      const reason = (err as AppError).data?.reason === 'timeout' ? 'no answer in time' : 'disconnected';
      throw new AppError(ErrorCode.HostOffline, interruptedMessage(this.host, idOrName, reason), { interrupted: true, updateId, host: this.host, reason: (err as AppError).data?.reason ?? null }, { cause: err });
    }
    return resultOf(outcome);
  }
}

/**
 * The history entry an outcome settles: the entry of the same id with the final result (its
 * trigger and start kept), or a new entry (trigger "agent") when there is none.
 */
export function entryFromOutcome(o: HostUpdateOutcome, existing: HistoryEntry | null): HistoryEntry {
  const { error: _e, rolledBack: _r, logs: _l, newContainerId: _n, newImageId: _i, newDigest: _d, ...kept } = existing ?? {
    id: o.updateId, trigger: { kind: 'agent' as const }, containerId: o.containerId, name: o.container, image: o.image, startedAt: o.startedAt, durationMs: 0, result: 'failed' as const,
  };
  const durationMs = Math.max(0, Date.parse(o.finishedAt) - Date.parse(kept.startedAt)) || 0;
  if (o.ok && o.result) {
    const r = o.result;
    return { ...kept, durationMs, result: r.outcome, newContainerId: r.containerId, ...(r.oldImageId ? { oldImageId: r.oldImageId } : {}), ...(r.newImageId ? { newImageId: r.newImageId } : {}) };
  }
  const data = o.error?.data ?? {};
  return {
    ...kept, durationMs, result: 'failed', error: o.error?.msg ?? 'failed on the host',
    ...(typeof data.rolledBack === 'boolean' ? { rolledBack: data.rolledBack } : {}),
    ...(typeof data.logs === 'string' && data.logs ? { logs: data.logs } : {}),
  };
}

export interface SyncDeps {
  link: Pick<LinkTransport, 'call'>;
  history: UpdateHistory;
  logger: Logger;
  /** Told of each update the sync recorded as done (the scanner's report learns the new container). */
  onUpdated?: (entry: HistoryEntry) => Promise<void>;
}

/**
 * Takes the agent's unreported outcomes into the history, then acknowledges them (only once
 * written). An entry that already holds a final result is kept as it is (the reply arrived).
 * Answers how many entries were written.
 */
export async function syncUpdateOutcomes(deps: SyncDeps): Promise<number> {
  const outcomes = (await deps.link.call('updateOutcomes', [], { timeoutMs: OUTCOMES_TIMEOUT_MS })) as HostUpdateOutcome[];
  if (!Array.isArray(outcomes) || outcomes.length === 0) return 0;
  const done: string[] = [];
  let written = 0;
  for (const o of outcomes) {
    const found = await deps.history.find(o.updateId);
    if (!found || found.entry.result === 'interrupted') {
      const entry = entryFromOutcome(o, found?.entry ?? null);
      await deps.history.put(entry);
      written++;
      if (entry.result === 'updated') await deps.onUpdated?.(entry).catch(() => undefined);
      deps.logger.info({ component: 'update', action: 'outcome', container: o.container, updateId: o.updateId, result: entry.result, source: o.source }, 'recorded an update outcome the agent reported');
    }
    done.push(o.updateId);
  }
  await deps.link.call('updateAck', [done], { timeoutMs: OUTCOMES_TIMEOUT_MS, idempotencyKey: randomId(12) });
  return written;
}

/**
 * A host's history that first takes in what its agent reported since (best effort: an offline
 * host shows what is known). Used by the history routes of the split deployment.
 */
export class HostHistory extends UpdateHistory {
  constructor(
    store: ConstructorParameters<typeof UpdateHistory>[0],
    private readonly sync: () => Promise<unknown>,
  ) {
    super(store);
  }

  override async page(page: number, pageSize: number): ReturnType<UpdateHistory['page']> {
    await this.sync().catch(() => undefined);
    return super.page(page, pageSize);
  }
}
