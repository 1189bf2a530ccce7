import { randomBytes, toHex } from '../auth/encoding.js';
import type { LoadedConfig } from '../config/load.js';
import { AppError, ErrorCode, describeError } from '../errors.js';
import { tryParseImageRef, type ImageRef } from '../image-ref.js';
import type { ContainerInfo } from '../inventory.js';
import { evaluatePolicy } from '../policy.js';
import type { Clock, Logger } from '../ports.js';
import type { HistoryEntry } from '../update-history.js';
import { composeRefusal } from '../update-service.js';
import { patternMatches, type ImagePattern } from './targets.js';
import { MemoryJobStore, type JobStore } from './job-store.js';

export type WebhookJobStatus = 'queued' | 'running' | 'done';

/** One webhook job as GET /api/v1/webhooks/jobs/:id shows it. */
export interface WebhookJob {
  id: string;
  status: WebhookJobStatus;
  /** Who triggered it: "token:<name>", "hmac", "github" or "user:<name>". */
  by: string;
  source: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Triggers that were merged into this job (the first one included). */
  triggers: number;
  matched: { name: string; image: string }[];
  skipped: { name: string; reason: string }[];
  results: HistoryEntry[];
}

export interface WebhookJobsDeps {
  listContainers: () => Promise<ContainerInfo[]>;
  updateOne: (name: string, trigger: { kind: 'webhook'; by?: string }) => Promise<HistoryEntry>;
  /** Drops cached registry answers, so the next check makes a fresh request. */
  forget?: (refs: ImageRef[]) => void;
  config: Pick<LoadedConfig, 'policy' | 'update'>;
  clock: Clock;
  logger: Logger;
  /** Where jobs are kept for lookups; default: the last `keep` (200) in memory. */
  store?: JobStore;
  keep?: number;
}

/** What the webhook route starts jobs with: WebhookJobs on one host, a fan-out over the hosts of a split deployment. */
export interface WebhookJobRunner {
  /** `opts.host`: the host the request named (split deployment); one host ignores it. `done` settles when the job has finished. */
  trigger(target: { images: ImagePattern[]; containers: string[] }, meta: { by: string; source: string }, opts?: { host?: string }): Promise<{ job: WebhookJob; coalesced: boolean; done?: Promise<void> }>;
  get(id: string): Promise<WebhookJob | undefined>;
}

interface Active {
  job: WebhookJob;
  /** Container names still to (re)update in the next pass. */
  pending: Set<string>;
  done: Promise<void>;
}

/**
 * Runs webhook-triggered updates as jobs. A trigger that names containers a queued or
 * running job already covers is merged into it (same job id): the job makes one more pass for
 * them after the current one, so a push that lands mid-update is not lost.
 */
export class WebhookJobs implements WebhookJobRunner {
  private readonly store: JobStore;
  private readonly active = new Map<string, Active>();
  private seq = 0;

  constructor(private readonly deps: WebhookJobsDeps) {
    this.store = deps.store ?? new MemoryJobStore(deps.keep);
  }

  /** A job this process runs, else the one kept in the store. */
  async get(id: string): Promise<WebhookJob | undefined> {
    return this.active.get(id)?.job ?? (await this.store.get(id)) ?? undefined;
  }

  /** Waits for a job to finish (for tests and the CLI). */
  async settled(id: string): Promise<WebhookJob | undefined> {
    await this.active.get(id)?.done;
    return this.get(id);
  }

  /** Writes the job's current state; a store that fails is logged, the job goes on. */
  private async save(job: WebhookJob): Promise<void> {
    await this.store.save(job).catch((err: unknown) => this.deps.logger.warn({ component: 'webhook', job: job.id, err }, 'could not save the webhook job'));
  }

  /** Matches containers and starts (or joins) a job; the job's id is known at once. */
  async trigger(target: { images: ImagePattern[]; containers: string[] }, meta: { by: string; source: string }): Promise<{ job: WebhookJob; coalesced: boolean; done?: Promise<void> }> {
    const { config } = this.deps;
    const all = await this.deps.listContainers();
    const wanted = new Set(target.containers.map((n) => n.replace(/^\//, '')));
    const matched: ContainerInfo[] = [];
    const skipped: { name: string; reason: string }[] = [];
    for (const c of all) {
      const ref = tryParseImageRef(c.image);
      const named = wanted.has(c.name) || wanted.has(c.id) || (wanted.size > 0 && [...wanted].some((w) => w.length >= 12 && c.id.startsWith(w)));
      if (!named && !(ref && target.images.some((p) => patternMatches(p, ref)))) continue;
      const decision = evaluatePolicy({ labels: c.labels, repoDigests: c.repoDigests, ref, image: c.image }, config.policy);
      if (decision.action === 'skip') skipped.push({ name: c.name, reason: decision.reason });
      else if (c.compose && !config.update.allowComposeUpdate) skipped.push({ name: c.name, reason: composeRefusal(c.compose.project) });
      else matched.push(c);
    }
    const names = matched.map((c) => c.name);
    for (const a of this.active.values()) {
      if (names.length > 0 && names.some((n) => a.job.matched.some((m) => m.name === n))) {
        for (const c of matched) {
          if (!a.job.matched.some((m) => m.name === c.name)) a.job.matched.push({ name: c.name, image: c.image });
          a.pending.add(c.name);
        }
        a.job.triggers++;
        await this.save(a.job);
        return { job: a.job, coalesced: true, done: a.done };
      }
    }
    const now = this.deps.clock.now();
    const job: WebhookJob = {
      // Random part: on Workers several isolates create jobs, each with its own counter.
      id: `wh-${now.toString(36)}-${(++this.seq).toString(36)}${toHex(randomBytes(3))}`,
      status: 'queued', by: meta.by, source: meta.source, createdAt: new Date(now).toISOString(), triggers: 1,
      matched: matched.map((c) => ({ name: c.name, image: c.image })), skipped, results: [],
    };
    if (matched.length === 0) {
      job.status = 'done';
      job.finishedAt = job.createdAt;
      await this.save(job);
      return { job, coalesced: false };
    }
    const active: Active = { job, pending: new Set(names), done: Promise.resolve() };
    // Active before the first await: a trigger arriving meanwhile joins this job.
    this.active.set(job.id, active);
    await this.save(job);
    active.done = this.run(active).finally(() => this.active.delete(job.id));
    return { job, coalesced: false, done: active.done };
  }

  private async run(a: Active): Promise<void> {
    const { job } = a;
    const log = this.deps.logger.child({ component: 'webhook', job: job.id });
    await Promise.resolve();
    job.status = 'running';
    job.startedAt = new Date(this.deps.clock.now()).toISOString();
    await this.save(job);
    while (a.pending.size > 0) {
      const pass = [...a.pending];
      a.pending.clear();
      const refs = pass.map((n) => job.matched.find((m) => m.name === n)?.image).map((i) => (i ? tryParseImageRef(i) : null)).filter((r): r is ImageRef => r !== null);
      this.deps.forget?.(refs);
      await Promise.all(
        pass.map(async (name) => {
          try {
            job.results.push(await this.deps.updateOne(name, { kind: 'webhook', by: job.by }));
          } catch (err) {
            const reason = err instanceof AppError && err.code === ErrorCode.Conflict ? `${describeError(err)}; left to that job` : describeError(err);
            job.skipped.push({ name, reason });
          }
          await this.save(job);
        }),
      );
    }
    job.status = 'done';
    job.finishedAt = new Date(this.deps.clock.now()).toISOString();
    await this.save(job);
    log.info({ action: 'webhook-job', by: job.by, results: job.results.map((r) => `${r.name}:${r.result}`), skipped: job.skipped.length }, 'webhook job done');
  }
}
