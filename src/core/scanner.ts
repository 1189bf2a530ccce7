import { Semaphore } from './concurrency.js';
import { KeyedLock } from './keyed-lock.js';
import type { LoadedConfig } from './config/load.js';
import type { Platform } from './docker/port.js';
import { AppError, describeError } from './errors.js';
import { formatImageRef, tryParseImageRef, type ImageRef } from './image-ref.js';
import type { ContainerInfo, ContainerStatus, Inventory, ListedContainer } from './inventory.js';
import { evaluatePolicy } from './policy.js';
import type { Clock, Logger, Store } from './ports.js';

/** What the scanner needs from the registry side: an exact check of one local image. */
export interface ImageChecker {
  /** Warms what a batch of checks will need (e.g. one token for many repositories). */
  prepare(refs: ImageRef[]): Promise<void>;
  check(ref: ImageRef, local: { id: string; repoDigests: string[]; platform: Platform }): Promise<{ status: 'UpToDate' | 'UpdateAvailable'; remoteDigest: string }>;
  /** Drops a cached answer for the reference, so the next check asks the registry. */
  forget?(ref: ImageRef): void;
}

/** The outcome for one container (design §3.1). */
export interface ContainerCheck {
  containerId: string;
  imageId: string;
  status: Exclude<ContainerStatus, 'NotChecked'>;
  skipped: boolean;
  skipReason?: string;
  remoteDigest?: string;
  /** What went wrong or what to know, in words a user can act on. */
  message?: string;
  /** For Error: unauthorized, not_found, unreachable, rate_limited, server, invalid. */
  errorKind?: string;
  lastCheckedAt: string;
}

export interface ScanReport {
  startedAt: string;
  durationMs: number;
  counts: Record<Exclude<ContainerStatus, 'NotChecked'>, number>;
  results: Record<string, ContainerCheck>;
}

export const SCAN_KEY = 'scan:last';
/** The references the last scan checked: the next scan warms their token before the engine answers. */
export const REFS_KEY = 'scan:refs';
const MAX_REMEMBERED_REFS = 500;

/**
 * Marks a container as running an image just pulled for its tag in the stored scan report, so it
 * shows as up to date until the next scan says otherwise. Scanner.recordUpdated runs it under
 * its lock; the split deployment's host link runs it for outcomes an agent reports on reconnect.
 */
export async function markUpdated(store: Store, clock: Clock, containerId: string, imageId: string, digest: string | undefined): Promise<void> {
  const now = new Date(clock.now()).toISOString();
  const report = (await store.getItem<ScanReport>(SCAN_KEY)) ?? { startedAt: now, durationMs: 0, counts: { UpToDate: 0, UpdateAvailable: 0, Skipped: 0, Error: 0 }, results: {} };
  report.results[containerId] = {
    containerId, imageId, status: 'UpToDate', skipped: false, ...(digest ? { remoteDigest: digest } : {}), lastCheckedAt: now,
  };
  await store.setItem(SCAN_KEY, report);
}

function errorKindOf(err: unknown): string {
  const kind = err instanceof AppError ? err.data?.kind : undefined;
  return typeof kind === 'string' ? kind : 'unknown';
}

/**
 * Scans every container: policy first, then at most scan.concurrency registry checks at once,
 * one check per distinct (reference, local image); results go to the store. Concurrent calls
 * share the scan that is running.
 */
export class Scanner {
  private running: Promise<ScanReport> | null = null;
  private lastInventory: ContainerInfo[] = [];
  private readonly reportLock = new KeyedLock();

  constructor(
    private readonly deps: { inventory: Inventory; checker: ImageChecker; store: Store; logger: Logger; clock: Clock; config: LoadedConfig },
  ) {}

  scan(): Promise<ScanReport> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Forgets cached registry answers for these references (e.g. a webhook says they changed). */
  forget(refs: readonly ImageRef[]): void {
    for (const ref of refs) this.deps.checker.forget?.(ref);
  }

  /** The containers as the last scan found them. */
  async lastContainers(): Promise<ContainerInfo[]> {
    return this.lastInventory;
  }

  /**
   * Records that a container now runs an image just pulled for its tag, so it shows as up to
   * date until the next scan says otherwise.
   */
  async recordUpdated(containerId: string, imageId: string, digest: string | undefined): Promise<void> {
    const { store, clock } = this.deps;
    // Read-modify-write of one key: updates finishing together must not drop each other's result.
    await this.reportLock.run(SCAN_KEY, () => markUpdated(store, clock, containerId, imageId, digest));
  }

  /** Keeps the references this scan checked (group keys are "REF IMAGE-ID"), when they changed. */
  private async rememberRefs(groupKeys: Iterable<string>): Promise<void> {
    const refs = [...new Set([...groupKeys].map((k) => k.split(' ')[0] as string))].sort().slice(0, MAX_REMEMBERED_REFS);
    const { store, logger } = this.deps;
    try {
      const before = await store.getItem<string[]>(REFS_KEY);
      if (JSON.stringify(before) !== JSON.stringify(refs)) await store.setItem(REFS_KEY, refs);
    } catch (err) {
      logger.debug({ component: 'scanner', action: 'remember-refs', err: describeError(err) }, 'could not keep the scanned references; the next scan warms its token after listing');
    }
  }

  /** The last scan's results, or null before the first one. */
  last(): Promise<ScanReport | null> {
    return this.deps.store.getItem<ScanReport>(SCAN_KEY);
  }

  private async run(): Promise<ScanReport> {
    const { inventory, checker, store, logger, clock, config } = this.deps;
    const started = clock.now();
    const warmUp = (refs: ImageRef[]) =>
      checker.prepare(refs).catch((err: unknown) => logger.debug({ component: 'scanner', action: 'prepare', err: describeError(err) }, 'token warm-up failed; checks will authenticate one by one'));
    // Token warm-ups by reference. The first starts at once, for the references the last scan
    // checked (kept in the store, so a restarted server has them too), while the engine lists
    // the containers: the token round trip overlaps the Docker side instead of following it.
    // References the container list adds are warmed as soon as it names them; references only
    // an inspect reveals (a container listed by image ID), when their own check starts.
    const warmups = new Map<string, Promise<void>>();
    const warm = (refs: Iterable<ImageRef>) => {
      const fresh = new Map<string, ImageRef>();
      for (const r of refs) if (!warmups.has(formatImageRef(r))) fresh.set(formatImageRef(r), r);
      if (fresh.size === 0) return;
      const pending = warmUp([...fresh.values()]);
      for (const k of fresh.keys()) warmups.set(k, pending);
    };
    const remembered = store.getItem<string[]>(REFS_KEY).then(
      (keys) => warm((Array.isArray(keys) ? keys : []).map((k) => tryParseImageRef(k)).filter((r): r is ImageRef => r !== null)),
      () => undefined,
    );
    const onListed = (listed: ListedContainer[]) => {
      const refs: ImageRef[] = [];
      for (const c of listed) {
        const ref = tryParseImageRef(c.image);
        if (!ref || evaluatePolicy({ labels: c.labels, repoDigests: c.repoDigests, ref, image: c.image }, config.policy).action === 'skip') continue;
        refs.push(ref);
      }
      warm(refs);
    };
    const results: Record<string, ContainerCheck> = {};
    const stamp = () => new Date(clock.now()).toISOString();
    const slots = new Semaphore(config.scan.concurrency);
    // One check per distinct (reference, local image), started as soon as its first container
    // is known; containers that join later take the same outcome.
    const groups = new Map<string, { members: ContainerInfo[]; outcome?: Omit<ContainerCheck, 'containerId' | 'imageId' | 'lastCheckedAt'>; done: Promise<void> }>();
    const record = (c: ContainerInfo, outcome: Omit<ContainerCheck, 'containerId' | 'imageId' | 'lastCheckedAt'>) => {
      results[c.id] = { containerId: c.id, imageId: c.imageId, ...outcome, lastCheckedAt: stamp() };
    };
    const check = async (ref: ImageRef, first: ContainerInfo, note: string | undefined) => {
      const key = formatImageRef(ref);
      // Wait for the batched token, or warm up a reference only an inspect revealed.
      warm([ref]);
      await warmups.get(key);
      try {
        const r = await checker.check(ref, { id: first.imageId, repoDigests: first.repoDigests, platform: first.platform as Platform });
        return { status: r.status, skipped: false, remoteDigest: r.remoteDigest, ...(note ? { message: note } : {}) } as const;
      } catch (err) {
        logger.warn({ component: 'scanner', action: 'check', image: key, err: describeError(err) }, 'registry check failed');
        return { status: 'Error', skipped: false, errorKind: errorKindOf(err), message: describeError(err) } as const;
      }
    };
    const onContainer = (c: ContainerInfo) => {
      const ref = tryParseImageRef(c.image);
      const decision = evaluatePolicy({ labels: c.labels, repoDigests: c.repoDigests, ref, image: c.image }, config.policy);
      if (decision.action === 'skip' || !ref) {
        const reason = decision.action === 'skip' ? decision.reason : 'no image reference';
        results[c.id] = { containerId: c.id, imageId: c.imageId, status: 'Skipped', skipped: true, skipReason: reason, lastCheckedAt: stamp() };
        return;
      }
      if (!c.platform) {
        results[c.id] = { containerId: c.id, imageId: c.imageId, status: 'Error', skipped: false, errorKind: 'invalid', message: `the image ${c.imageId} is no longer on this host`, lastCheckedAt: stamp() };
        return;
      }
      const key = `${formatImageRef(ref)} ${c.imageId}`;
      const existing = groups.get(key);
      if (existing) {
        existing.members.push(c);
        if (existing.outcome) record(c, existing.outcome);
        return;
      }
      const group: { members: ContainerInfo[]; outcome?: Omit<ContainerCheck, 'containerId' | 'imageId' | 'lastCheckedAt'>; done: Promise<void> } = { members: [c], done: Promise.resolve() };
      group.done = slots.run(() => check(ref, c, decision.note)).then((outcome) => {
        group.outcome = outcome;
        for (const m of group.members) record(m, outcome);
      });
      groups.set(key, group);
    };
    const containers = await inventory.containers({ includeStopped: config.docker.includeStopped }, onListed, onContainer);
    this.lastInventory = containers;
    await Promise.all([...groups.values()].map((g) => g.done));
    await remembered;
    await this.rememberRefs(groups.keys());

    const counts = { UpToDate: 0, UpdateAvailable: 0, Skipped: 0, Error: 0 };
    for (const r of Object.values(results)) counts[r.status]++;
    const report: ScanReport = { startedAt: new Date(started).toISOString(), durationMs: clock.now() - started, counts, results };
    await this.reportLock.run(SCAN_KEY, () => store.setItem(SCAN_KEY, report));
    logger.info({ component: 'scanner', action: 'scan', durationMs: report.durationMs, ...counts }, 'scan finished');
    return report;
  }
}
