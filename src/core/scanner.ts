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
    await this.reportLock.run(SCAN_KEY, async () => {
      const now = new Date(clock.now()).toISOString();
      const report = (await this.last()) ?? { startedAt: now, durationMs: 0, counts: { UpToDate: 0, UpdateAvailable: 0, Skipped: 0, Error: 0 }, results: {} };
      report.results[containerId] = {
        containerId, imageId, status: 'UpToDate', skipped: false, ...(digest ? { remoteDigest: digest } : {}), lastCheckedAt: now,
      };
      await store.setItem(SCAN_KEY, report);
    });
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
    // The token warm-up starts as soon as the container list names the references (policy
    // applied as below), while the image inspects run; references only an inspect reveals
    // (a container listed by image ID) are warmed when their own check starts.
    const warmed = new Set<string>();
    let early: Promise<void> | undefined;
    const onListed = (listed: ListedContainer[]) => {
      const refs = new Map<string, ImageRef>();
      for (const c of listed) {
        const ref = tryParseImageRef(c.image);
        if (!ref || evaluatePolicy({ labels: c.labels, repoDigests: c.repoDigests, ref, image: c.image }, config.policy).action === 'skip') continue;
        refs.set(formatImageRef(ref), ref);
      }
      for (const k of refs.keys()) warmed.add(k);
      if (refs.size > 0) early = warmUp([...refs.values()]);
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
      if (warmed.has(key)) await early;
      else {
        warmed.add(key);
        await warmUp([ref]);
      }
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

    const counts = { UpToDate: 0, UpdateAvailable: 0, Skipped: 0, Error: 0 };
    for (const r of Object.values(results)) counts[r.status]++;
    const report: ScanReport = { startedAt: new Date(started).toISOString(), durationMs: clock.now() - started, counts, results };
    await this.reportLock.run(SCAN_KEY, () => store.setItem(SCAN_KEY, report));
    logger.info({ component: 'scanner', action: 'scan', durationMs: report.durationMs, ...counts }, 'scan finished');
    return report;
  }
}
