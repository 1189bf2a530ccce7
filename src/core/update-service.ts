import { randomBytes, toHex } from './auth/encoding.js';
import { KeyedLock } from './keyed-lock.js';
import type { ComposePort } from './compose/port.js';
import type { ProjectLocks } from './compose/project-locks.js';
import { Semaphore } from './concurrency.js';
import type { LoadedConfig } from './config/load.js';
import type { DockerPort, RegistryAuth } from './docker/port.js';
import { AppError, ErrorCode, describeError } from './errors.js';
import { repoDigestsFor, tryParseImageRef } from './image-ref.js';
import type { Clock, Logger } from './ports.js';
import { findCredential, type RegistryCredential } from './registry/credentials.js';
import type { Scanner } from './scanner.js';
import type { UpdateHistory, HistoryEntry, UpdateTriggerKind } from './update-history.js';
import type { UpdateOptions, UpdateResult } from './updater/updater.js';

/** What the service needs of the updater (src/core/updater). */
export interface ContainerUpdater {
  update(idOrName: string, options?: UpdateOptions): Promise<UpdateResult>;
}

export interface UpdateServiceDeps {
  docker: Pick<DockerPort, 'inspectContainer' | 'inspectImage'>;
  updater: ContainerUpdater;
  compose: ComposePort | null;
  /** ComposeService's per-project lock: a compose container's update holds its project like a compose action. */
  composeLocks: ProjectLocks;
  scanner: Scanner;
  history: UpdateHistory;
  config: LoadedConfig;
  credentials: readonly RegistryCredential[];
  logger: Logger;
  clock: Clock;
  /** Updater options fixed by the runtime (e.g. a shorter settle time in tests). */
  updaterOptions?: Partial<UpdateOptions>;
}

/** A container name or id as the Engine accepts it; anything else never reaches the Engine API. */
const CONTAINER_REF = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export function assertContainerRef(idOrName: string): void {
  if (!CONTAINER_REF.test(idOrName)) {
    throw new AppError(ErrorCode.BadRequest, `invalid container id or name ${JSON.stringify(idOrName.slice(0, 80))}: expected letters, digits, "_", "." or "-"`);
  }
}

interface Job {
  id: string;
  promise: Promise<HistoryEntry>;
}

/**
 * Runs updates with the guarantees the API promises: at most scan.concurrency at once,
 * containers of one image one after another, one job per container (a second request gets
 * 409 with the running job's id), compose containers only when allowed and then through
 * compose, and every attempt in the history.
 */
export class UpdateService {
  private readonly jobs = new Map<string, Job>();
  private readonly slots: Semaphore;
  private readonly imageLocks = new KeyedLock();
  private readonly admission = new KeyedLock();
  private seq = 0;

  constructor(private readonly deps: UpdateServiceDeps) {
    this.slots = new Semaphore(deps.config.scan.concurrency);
  }

  /** Updates one container now; resolves with its history entry (result "failed" included). */
  async updateOne(idOrName: string, trigger: { kind: UpdateTriggerKind; by?: string }): Promise<HistoryEntry> {
    assertContainerRef(idOrName);
    // Looking the container up and registering its job happen as one step, so that of many
    // simultaneous requests exactly one starts a job and the others see it.
    const { c, job } = await this.admission.run('admit', async () => {
      const c = await this.deps.docker.inspectContainer(idOrName);
      if (!c) throw new AppError(ErrorCode.NotFound, `no container ${idOrName}`);
      const running = this.jobs.get(c.id) ?? this.jobs.get(c.name);
      if (running) throw new AppError(ErrorCode.Conflict, `${c.name} is already being updated (job ${running.id})`, { jobId: running.id });
      // Unique across processes too: on Workers several isolates number their jobs, and a host's
      // agent takes this id as the update's idempotency key.
      const id = `${this.deps.clock.now().toString(36)}-${(++this.seq).toString(36)}-${toHex(randomBytes(6))}`;
      const job: Job = { id, promise: this.slots.run(() => this.imageLocks.run(c.image, () => this.run(id, c, trigger))) };
      this.jobs.set(c.id, job);
      this.jobs.set(c.name, job);
      return { c, job };
    });
    const { promise } = job;
    try {
      return await promise;
    } finally {
      this.jobs.delete(c.id);
      this.jobs.delete(c.name);
    }
  }

  /** Scans, then updates every container that has an update and passes policy. */
  async runAll(trigger: { kind: UpdateTriggerKind; by?: string }): Promise<{ results: HistoryEntry[]; skipped: { name: string; reason: string }[] }> {
    const report = await this.deps.scanner.scan();
    const containers = await this.deps.scanner.lastContainers();
    const skipped: { name: string; reason: string }[] = [];
    const todo: string[] = [];
    for (const c of containers) {
      if (report.results[c.id]?.status !== 'UpdateAvailable') continue;
      if (c.compose && !this.deps.config.update.allowComposeUpdate) skipped.push({ name: c.name, reason: composeRefusal(c.compose.project) });
      else todo.push(c.id);
    }
    const results = await Promise.all(
      todo.map((id) =>
        this.updateOne(id, trigger).catch((err: unknown) => {
          const name = containers.find((c) => c.id === id)?.name ?? id;
          skipped.push({ name, reason: describeError(err) });
          return null;
        }),
      ),
    );
    return { results: results.filter((r): r is HistoryEntry => r !== null), skipped };
  }

  private registryAuth(image: string): RegistryAuth | undefined {
    const ref = tryParseImageRef(image);
    const cred = ref ? findCredential(ref.registry, this.deps.credentials) : undefined;
    return ref && cred ? { username: cred.username, password: cred.password, serveraddress: ref.registry } : undefined;
  }

  private async digestOf(imageId: string | undefined, image: string): Promise<string | undefined> {
    const ref = tryParseImageRef(image);
    if (!imageId || !ref) return undefined;
    const img = await this.deps.docker.inspectImage(imageId).catch(() => null);
    return img ? repoDigestsFor(ref, img.repoDigests)[0] : undefined;
  }

  private async run(id: string, c: { id: string; name: string; image: string; imageId: string; labels: Record<string, string> }, trigger: HistoryEntry['trigger']): Promise<HistoryEntry> {
    const { config, logger, clock, history } = this.deps;
    const started = clock.now();
    const log = logger.child({ component: 'update', container: c.name, image: c.image });
    const base = { id, trigger, containerId: c.id, name: c.name, image: c.image, oldImageId: c.imageId, startedAt: new Date(started).toISOString() };
    let entry: HistoryEntry;
    const project = c.labels['com.docker.compose.project'];
    // Held like any compose action on the project: a busy project answers 409 (nothing attempted, no history entry).
    const release = project && config.update.allowComposeUpdate ? this.deps.composeLocks.acquire(project, `update of ${c.name}`) : undefined;
    try {
      const outcome = project ? await this.viaCompose(c, project) : await this.viaUpdater(id, c);
      entry = { ...base, ...outcome, durationMs: clock.now() - started };
      if (entry.result === 'updated' && entry.newContainerId && entry.newImageId) {
        await this.deps.scanner.recordUpdated(entry.newContainerId, entry.newImageId, entry.newDigest);
      }
      log.info({ action: 'update', result: entry.result, durationMs: entry.durationMs, digest: entry.newDigest }, `update ${entry.result}`);
    } catch (err) {
      const data = err instanceof AppError ? err.data ?? {} : {};
      entry = {
        ...base,
        // The host's agent still runs it (the link dropped): its outcome replaces this entry later.
        result: data.interrupted === true ? 'interrupted' : 'failed',
        durationMs: clock.now() - started,
        error: describeError(err),
        ...(typeof data.rolledBack === 'boolean' ? { rolledBack: data.rolledBack } : {}),
        ...(typeof data.logs === 'string' ? { logs: data.logs } : {}),
      };
      log.warn({ action: 'update', result: 'failed', durationMs: entry.durationMs, err: entry.error }, 'update failed');
    } finally {
      release?.();
    }
    // put: an entry of this id written meanwhile (an outcome a host's agent reported) is replaced, not doubled.
    await history.put(entry);
    return entry;
  }

  private async viaUpdater(updateId: string, c: { id: string; image: string }): Promise<Omit<HistoryEntry, 'id' | 'trigger' | 'containerId' | 'name' | 'image' | 'startedAt' | 'durationMs'>> {
    const auth = this.registryAuth(c.image);
    const r = await this.deps.updater.update(c.id, {
      removeOldContainer: this.deps.config.update.removeOldContainer,
      ...(auth ? { auth } : {}),
      ...this.deps.updaterOptions,
      updateId,
    });
    const [oldDigest, newDigest] = await Promise.all([this.digestOf(r.oldImageId, c.image), this.digestOf(r.newImageId, c.image)]);
    return {
      result: r.outcome, newContainerId: r.containerId, oldImageId: r.oldImageId, newImageId: r.newImageId,
      ...(oldDigest ? { oldDigest } : {}), ...(newDigest ? { newDigest } : {}),
    };
  }

  private async viaCompose(c: { id: string; name: string; image: string; imageId: string; labels: Record<string, string> }, project: string) {
    if (!this.deps.config.update.allowComposeUpdate) throw new AppError(ErrorCode.BadRequest, composeRefusal(project), { reason: 'compose' });
    const compose = this.deps.compose;
    const workingDir = c.labels['com.docker.compose.project.working_dir'];
    const service = c.labels['com.docker.compose.service'];
    const files = (c.labels['com.docker.compose.project.config_files'] ?? '').split(',').filter(Boolean);
    if (!compose || !workingDir || !service || files.length === 0) {
      throw new AppError(ErrorCode.UpdateFailed, `${c.name} carries incomplete compose labels; update it with docker compose in its project folder`);
    }
    const ref = { name: project, workingDir, files };
    await compose.pull(ref, { services: [service] });
    await compose.up(ref, { services: [service], noDeps: true });
    const now = await this.deps.docker.inspectContainer(c.name);
    const newImageId = now?.imageId;
    const newDigest = await this.digestOf(newImageId, c.image);
    return {
      result: newImageId && newImageId !== c.imageId ? ('updated' as const) : ('unchanged' as const),
      ...(now ? { newContainerId: now.id } : {}),
      ...(newImageId ? { newImageId } : {}),
      ...(newDigest ? { newDigest } : {}),
    };
  }
}

export function composeRefusal(project: string): string {
  return `managed by compose project ${project}: set update.allowComposeUpdate to let Watch Docker update it through docker compose`;
}
