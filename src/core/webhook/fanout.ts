import { AppError, ErrorCode, describeError } from '../errors.js';
import type { Clock, Logger } from '../ports.js';
import type { HistoryEntry } from '../update-history.js';
import { randomBytes, toHex } from '../auth/encoding.js';
import { MemoryJobStore, type JobStore } from './job-store.js';
import type { WebhookJob, WebhookJobRunner, WebhookJobs, WebhookJobStatus } from './jobs.js';
import type { ImagePattern } from './targets.js';

/** One host's part of a fanned-out webhook job. */
export interface HostJobPart {
  host: string;
  /** The host's own job (null when the host could not be asked). */
  jobId: string | null;
  status: WebhookJobStatus;
  matched: { name: string; image: string }[];
  skipped: { name: string; reason: string }[];
  results: HistoryEntry[];
  /** Why the host could not be asked (it went offline, its containers could not be listed). */
  error?: string;
}

/**
 * A webhook job over several hosts, as GET /api/v1/webhooks/jobs/:id shows it: the fields of a
 * one-host job, each item naming its host, and each host's part.
 */
export interface FanoutJob extends WebhookJob {
  matched: { host: string; name: string; image: string }[];
  skipped: { host: string; name: string; reason: string }[];
  results: (HistoryEntry & { host: string })[];
  hosts: HostJobPart[];
  /** Hosts left out because they were offline when the webhook came. */
  offlineHosts: string[];
}

export interface FanoutDeps {
  /** The hosts and whether each is online now. */
  hosts: () => Promise<{ name: string; online: boolean }[]>;
  /** The webhook jobs of one host (the same object for the same host). */
  jobsFor: (host: string) => WebhookJobs;
  clock: Clock;
  logger: Logger;
  /** Where the fan-out jobs are kept for lookups from any isolate; default: the last `keep` (200) in memory. */
  store?: JobStore<FanoutRecord>;
  keep?: number;
}

/** A fan-out job as it is kept: which host job each host's part is. */
export interface FanoutRecord {
  id: string;
  by: string;
  source: string;
  createdAt: string;
  triggers: number;
  parts: { host: string; jobId: string | null; error?: string }[];
  offline: string[];
}

/**
 * Webhook jobs of the split deployment. With a host named (?host=) the webhook acts on that
 * host only (an offline or unknown host is an error at once); without, it goes to every online
 * host and the job lists the hosts whose containers matched. Each host runs its part as the
 * one-host WebhookJobs does (policy, compose refusal, coalescing of pushes that land mid-update).
 */
export class FanoutWebhookJobs implements WebhookJobRunner {
  private readonly store: JobStore<FanoutRecord>;
  /** "<host>/<host job id>" -> the fan-out job it belongs to (this isolate's jobs: a trigger joins them). */
  private readonly byHostJob = new Map<string, string>();
  private seq = 0;

  constructor(private readonly deps: FanoutDeps) {
    this.store = deps.store ?? new MemoryJobStore<FanoutRecord>(deps.keep);
  }

  async trigger(target: { images: ImagePattern[]; containers: string[] }, meta: { by: string; source: string }, opts: { host?: string } = {}): Promise<{ job: FanoutJob; coalesced: boolean; done: Promise<void> }> {
    const all = await this.deps.hosts();
    const offline: string[] = [];
    let names: string[];
    if (opts.host !== undefined) {
      const h = all.find((x) => x.name === opts.host);
      if (!h) throw new AppError(ErrorCode.NotFound, `no host ${opts.host} (GET /api/hosts lists them)`);
      if (!h.online) throw new AppError(ErrorCode.HostOffline, `host ${h.name} is offline: its agent is not connected`, { host: h.name, reason: 'offline' });
      names = [h.name];
    } else {
      names = all.filter((h) => h.online).map((h) => h.name);
      offline.push(...all.filter((h) => !h.online).map((h) => h.name));
    }
    const asked = await Promise.all(names.map(async (host) => {
      try {
        return { host, ...(await this.deps.jobsFor(host).trigger(target, meta)) };
      } catch (err) {
        this.deps.logger.warn({ component: 'webhook', host, err: describeError(err) }, `webhook: host ${host} could not be asked`);
        return { host, error: describeError(err) };
      }
    }));
    // A host takes part when something of it matched (or was skipped by policy), or it failed; a named host always.
    const parts = asked.filter((p) => opts.host !== undefined || ('error' in p ? true : p.job.matched.length > 0 || p.job.skipped.length > 0));
    const done = Promise.all(parts.map((p) => ('done' in p ? p.done : undefined))).then(() => undefined);
    // Every part joined a job of the same earlier fan-out job: this trigger is merged into it.
    const joined = parts.map((p) => ('job' in p && p.coalesced ? this.byHostJob.get(`${p.host}/${p.job.id}`) : undefined));
    const earlier = joined[0] ? await this.store.get(joined[0]) : null;
    if (earlier && joined.every((j) => j === earlier.id)) {
      earlier.triggers++;
      await this.store.save(earlier);
      return { job: await this.view(earlier), coalesced: true, done };
    }
    const now = this.deps.clock.now();
    const rec: FanoutRecord = {
      // Random part: on Workers several isolates create jobs, each with its own counter.
      id: `wh-${now.toString(36)}-${(++this.seq).toString(36)}${toHex(randomBytes(3))}`,
      by: meta.by, source: meta.source, createdAt: new Date(now).toISOString(), triggers: 1,
      parts: parts.map((p) => ('job' in p ? { host: p.host, jobId: p.job.id } : { host: p.host, jobId: null, error: p.error })),
      offline,
    };
    for (const p of rec.parts) if (p.jobId) this.byHostJob.set(`${p.host}/${p.jobId}`, rec.id);
    this.trimIndex();
    await this.store.save(rec);
    return { job: await this.view(rec), coalesced: false, done };
  }

  async get(id: string): Promise<FanoutJob | undefined> {
    const rec = await this.store.get(id);
    return rec ? this.view(rec) : undefined;
  }

  private async view(rec: FanoutRecord): Promise<FanoutJob> {
    const found = await Promise.all(rec.parts.map((p) => (p.jobId ? this.deps.jobsFor(p.host).get(p.jobId) : Promise.resolve(undefined))));
    const hosts: HostJobPart[] = rec.parts.map((p, i) => {
      const j = found[i];
      return {
        host: p.host, jobId: p.jobId, status: j?.status ?? 'done',
        matched: j?.matched ?? [], skipped: j?.skipped ?? [], results: j?.results ?? [],
        ...(p.error !== undefined ? { error: p.error } : j ? {} : { error: 'the host no longer knows this job' }),
      };
    });
    const status: WebhookJobStatus = hosts.every((h) => h.status === 'done') ? 'done' : hosts.some((h) => h.status !== 'queued') ? 'running' : 'queued';
    const jobs = found.filter((j): j is WebhookJob => j !== undefined);
    const started = jobs.map((j) => j.startedAt).filter((t): t is string => t !== undefined).sort();
    const finished = jobs.map((j) => j.finishedAt).filter((t): t is string => t !== undefined).sort();
    return {
      id: rec.id, status, by: rec.by, source: rec.source, createdAt: rec.createdAt, triggers: rec.triggers,
      ...(started[0] ? { startedAt: started[0] } : {}),
      ...(status === 'done' ? { finishedAt: finished[finished.length - 1] ?? rec.createdAt } : {}),
      matched: hosts.flatMap((h) => h.matched.map((m) => ({ host: h.host, ...m }))),
      skipped: hosts.flatMap((h) => h.skipped.map((s) => ({ host: h.host, ...s }))),
      results: hosts.flatMap((h) => h.results.map((r) => ({ host: h.host, ...r }))),
      hosts,
      offlineHosts: rec.offline,
    };
  }

  /** The coalescing index keeps the newest host jobs only. */
  private trimIndex(): void {
    const keep = (this.deps.keep ?? 200) * 4;
    for (const key of this.byHostJob.keys()) {
      if (this.byHostJob.size <= keep) break;
      this.byHostJob.delete(key);
    }
  }
}
