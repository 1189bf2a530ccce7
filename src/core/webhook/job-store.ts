import type { AtomicStore } from '../atomic-store.js';
import type { Clock } from '../ports.js';
import type { WebhookJob } from './jobs.js';

/**
 * Where webhook jobs are kept for GET /api/v1/webhooks/jobs/:id. Node: in memory (one process
 * runs them and answers for them). Workers: Durable Object storage, so any isolate can answer.
 */
export interface JobStore<T extends StoredJob = WebhookJob> {
  get(id: string): Promise<T | null>;
  /** Writes the job as it is now (called when it is created and each time it changes). */
  save(job: T): Promise<void>;
}

/** What a store needs of a job: its id, how many triggers it took, and (when it has one) its state. */
export interface StoredJob {
  id: string;
  triggers: number;
  status?: string;
  startedAt?: string;
}

/** The last `keep` jobs in memory; jobs not yet done are never dropped (a job without a status counts as done). */
export class MemoryJobStore<T extends StoredJob = WebhookJob> implements JobStore<T> {
  private readonly jobs = new Map<string, T>();

  constructor(private readonly keep = 200) {}

  async get(id: string): Promise<T | null> {
    return this.jobs.get(id) ?? null;
  }

  async save(job: T): Promise<void> {
    this.jobs.set(job.id, job);
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= this.keep) break;
      if ((j.status ?? 'done') === 'done') this.jobs.delete(id);
    }
  }
}

const JOB = 'webhook:job:';
/** How long a job can be looked up after its last change. */
export const JOB_KEEP_MS = 7 * 24 * 3_600_000;

/**
 * Jobs in an AtomicStore (a Durable Object on Workers), each kept a week after its last change.
 * `prefix` keeps kinds of jobs apart (one host's webhook jobs, the fan-out jobs over hosts).
 */
export class AtomicJobStore<T extends StoredJob = WebhookJob> implements JobStore<T> {
  constructor(
    private readonly state: AtomicStore,
    private readonly clock: Clock,
    private readonly prefix = JOB,
  ) {}

  async get(id: string): Promise<T | null> {
    if (!/^[a-z0-9-]{1,80}$/.test(id)) return null;
    return (await this.state.get<{ job: T; exp: number }>(this.prefix + id))?.job ?? null;
  }

  async save(job: T): Promise<void> {
    const now = this.clock.now();
    await this.state.set(this.prefix + job.id, { job, exp: now + JOB_KEEP_MS });
    // A new job clears out the expired ones.
    if (job.triggers === 1 && job.startedAt === undefined) await this.state.sweep([this.prefix.slice(0, -1)], now);
  }
}
