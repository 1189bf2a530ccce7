import type { AtomicStore } from '../atomic-store.js';
import type { Clock } from '../ports.js';
import type { WebhookJob } from './jobs.js';

/**
 * Where webhook jobs are kept for GET /api/v1/webhooks/jobs/:id. Node: in memory (one process
 * runs them and answers for them). Workers: Durable Object storage, so any isolate can answer.
 */
export interface JobStore {
  get(id: string): Promise<WebhookJob | null>;
  /** Writes the job as it is now (called when it is created and each time it changes). */
  save(job: WebhookJob): Promise<void>;
}

/** The last `keep` jobs in memory; jobs not yet done are never dropped. */
export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, WebhookJob>();

  constructor(private readonly keep = 200) {}

  async get(id: string): Promise<WebhookJob | null> {
    return this.jobs.get(id) ?? null;
  }

  async save(job: WebhookJob): Promise<void> {
    this.jobs.set(job.id, job);
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= this.keep) break;
      if (j.status === 'done') this.jobs.delete(id);
    }
  }
}

const JOB = 'webhook:job:';
/** How long a job can be looked up after its last change. */
export const JOB_KEEP_MS = 7 * 24 * 3_600_000;

/** Jobs in an AtomicStore (a Durable Object on Workers), each kept a week after its last change. */
export class AtomicJobStore implements JobStore {
  constructor(
    private readonly state: AtomicStore,
    private readonly clock: Clock,
  ) {}

  async get(id: string): Promise<WebhookJob | null> {
    if (!/^[a-z0-9-]{1,80}$/.test(id)) return null;
    return (await this.state.get<{ job: WebhookJob; exp: number }>(JOB + id))?.job ?? null;
  }

  async save(job: WebhookJob): Promise<void> {
    const now = this.clock.now();
    await this.state.set(JOB + job.id, { job, exp: now + JOB_KEEP_MS });
    // A new job clears out the expired ones.
    if (job.triggers === 1 && job.startedAt === undefined) await this.state.sweep([JOB.slice(0, -1)], now);
  }
}
