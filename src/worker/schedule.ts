/**
 * Scheduled scans and auto-updates of the split deployment.
 *
 * The Worker's Cron Trigger (wrangler.toml [triggers], every minute) is the clock. At each
 * tick the Worker lists the hosts; for every online one it asks that host's HostSchedule
 * Durable Object what is due (scan.interval, update.autoUpdateCron in update.timezone — see
 * src/core/schedule-due.ts) and takes the host's run lease there, then runs the scan, or the
 * same `updates.runAll({kind: 'schedule'})` as the Node server, through the host's deps (so the
 * Docker calls and the registry checks run on its agent). The lease lives in Durable Object
 * storage, so it holds across isolates: a tick that finds the host's previous run still going
 * skips the host and logs it. Offline hosts are skipped and logged without any call to them.
 *
 * Why a Cron Trigger and not Durable Object alarms: a Cron Trigger fires for every host with
 * nothing to arm (an alarm must be set by someone first, and re-armed after every run and
 * restart), and its one-minute resolution is what the config needs in practice (scan.interval
 * in minutes, autoUpdateCron at a time of day). What a one-minute clock changes — seconds in a
 * cron, intervals under a minute — is listed in the README.
 */
import { DurableObject } from 'cloudflare:workers';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { dueTasks, schedulePlan, type DueTasks, type SchedulePlan, type ScheduleTimes } from '../core/schedule-due.js';
import type { AppDeps } from '../handlers/context.js';
import type { EdgeEnv } from './edge-hosts.js';
import type { HostStatus } from './host-link.js';

/**
 * How long a run holds its host without renewing. A run renews its lease while it goes on; one
 * the platform cut off (a scheduled event past its limits, an isolate restart) can neither
 * renew nor release it: the host's next run then waits at most this long.
 */
export const RUN_LEASE_MS = 15 * 60_000;
const RENEW_EVERY_MS = RUN_LEASE_MS / 3;

interface State extends ScheduleTimes {
  /** The host's createdAt: a host revoked and created again under the same name starts afresh. */
  generation: string;
  running: { id: string; since: number; until: number; tick: number; due: DueTasks } | null;
}

export type BeginOutcome =
  | { run: true; id: string; due: DueTasks }
  | { run: false; reason: 'running'; since: number }
  | { run: false; reason: 'not-due' };

const STATE = 'state';

/** One per host (idFromName(host)): when its scheduled runs last ran, and the lease of the run going on. */
export class HostSchedule extends DurableObject<Record<string, unknown>> {
  /** Decides what is due at tick `tick` and, when something is, takes the host's run lease. */
  async begin(generation: string, plan: SchedulePlan, tick: number): Promise<BeginOutcome> {
    // Storage calls without other I/O between them run as one step (input gates): two ticks
    // arriving together cannot both take the lease.
    let s = await this.ctx.storage.get<State>(STATE);
    if (!s || s.generation !== generation) s = { generation, firstTickAt: tick, lastScanAt: null, lastUpdateAt: null, running: null };
    const now = Date.now();
    if (s.running && s.running.until > now) {
      await this.ctx.storage.put(STATE, s);
      return { run: false, reason: 'running', since: s.running.since };
    }
    s.running = null;
    const due = dueTasks(s, plan, tick);
    if (!due.scan && !due.update) {
      await this.ctx.storage.put(STATE, s);
      return { run: false, reason: 'not-due' };
    }
    const id = crypto.randomUUID();
    s.running = { id, since: now, until: now + RUN_LEASE_MS, tick, due };
    await this.ctx.storage.put(STATE, s);
    return { run: true, id, due };
  }

  /** Extends the lease of the run `id` while it goes on; false when it is no longer the host's run. */
  async renew(id: string): Promise<boolean> {
    const s = await this.ctx.storage.get<State>(STATE);
    if (!s?.running || s.running.id !== id) return false;
    s.running.until = Date.now() + RUN_LEASE_MS;
    await this.ctx.storage.put(STATE, s);
    return true;
  }

  /** Ends the run `id`: records its tick as the last scan (and auto-update) and frees the host. */
  async end(id: string): Promise<boolean> {
    const s = await this.ctx.storage.get<State>(STATE);
    if (!s?.running || s.running.id !== id) return false;
    const { tick, due } = s.running;
    // An auto-update scans first (runAll), so it counts as a scan too.
    s.lastScanAt = tick;
    if (due.update) s.lastUpdateAt = tick;
    s.running = null;
    await this.ctx.storage.put(STATE, s);
    return true;
  }

  async state(): Promise<State | null> {
    return (await this.ctx.storage.get<State>(STATE)) ?? null;
  }
}

export interface ScheduleEnv extends EdgeEnv {
  HOST_SCHEDULE: DurableObjectNamespace<HostSchedule>;
}

/** Every host of the registry with its status (one RPC to its HostLink each). */
export async function hostStatuses(env: EdgeEnv): Promise<{ name: string; status: HostStatus }[]> {
  const names = await env.HOST_REGISTRY.get(env.HOST_REGISTRY.idFromName('registry')).list();
  return Promise.all(names.map(async (name) => ({ name, status: await env.HOST_LINK.get(env.HOST_LINK.idFromName(name)).status() })));
}

export interface TickOutcome {
  host: string;
  outcome: 'offline' | 'running' | 'not-due' | 'scanned' | 'updated' | 'failed';
  detail?: string;
}

/**
 * One tick of the Cron Trigger: every online host's due scan / auto-update, the hosts in
 * parallel (a slow host does not hold the others up). Never throws: failures are logged.
 */
export async function runScheduledTick(opts: { env: ScheduleEnv; base: AppDeps; selectHost: (name: string) => AppDeps; tick: number; logger: Logger }): Promise<TickOutcome[]> {
  const { env, base, selectHost, tick } = opts;
  const log = opts.logger.child({ component: 'scheduler' });
  const plan = schedulePlan(base.config);
  let hosts: { name: string; status: HostStatus }[];
  try {
    hosts = await hostStatuses(env);
  } catch (err) {
    log.error({ action: 'tick', err: describeError(err) }, 'scheduled tick: could not list the hosts');
    return [];
  }
  return Promise.all(hosts.map(async ({ name, status }): Promise<TickOutcome> => {
    const hlog = log.child({ host: name });
    if (!status.online) {
      hlog.info({ action: 'tick', outcome: 'offline' }, `host ${name} is offline: scheduled scan and auto-update skipped`);
      return { host: name, outcome: 'offline' };
    }
    const schedule = env.HOST_SCHEDULE.get(env.HOST_SCHEDULE.idFromName(name));
    let begun: BeginOutcome;
    try {
      begun = await schedule.begin(status.createdAt ?? '', plan, tick);
    } catch (err) {
      hlog.error({ action: 'tick', err: describeError(err) }, `host ${name}: could not read its schedule`);
      return { host: name, outcome: 'failed', detail: describeError(err) };
    }
    if (!begun.run) {
      if (begun.reason === 'running') {
        const since = new Date(begun.since).toISOString();
        hlog.warn({ action: 'tick', outcome: 'running', since }, `host ${name}: the previous scheduled run (since ${since}) is still going; this run is skipped`);
        return { host: name, outcome: 'running', detail: since };
      }
      return { host: name, outcome: 'not-due' };
    }
    const deps = selectHost(name);
    const started = Date.now();
    const action = begun.due.update ? 'auto-update' : 'scan';
    hlog.info({ action, tick: new Date(tick).toISOString() }, `host ${name}: scheduled ${action} started`);
    let outcome: TickOutcome;
    const renewing = setInterval(() => {
      schedule.renew(begun.id).catch((err: unknown) => hlog.warn({ action, err: describeError(err) }, `host ${name}: could not renew its run's lease`));
    }, RENEW_EVERY_MS);
    try {
      if (begun.due.update) {
        const { results, skipped } = await deps.updates.runAll({ kind: 'schedule' });
        hlog.info({ action, durationMs: Date.now() - started, results: results.map((r) => `${r.name}:${r.result}`), skipped: skipped.length }, `host ${name}: scheduled ${action} finished`);
        outcome = { host: name, outcome: 'updated', detail: results.map((r) => `${r.name}:${r.result}`).join(',') };
      } else {
        const report = await deps.scanner.scan();
        hlog.info({ action, durationMs: Date.now() - started, ...report.counts }, `host ${name}: scheduled ${action} finished`);
        outcome = { host: name, outcome: 'scanned' };
      }
    } catch (err) {
      hlog.error({ action, durationMs: Date.now() - started, err: describeError(err) }, `host ${name}: scheduled ${action} failed`);
      outcome = { host: name, outcome: 'failed', detail: describeError(err) };
    } finally {
      clearInterval(renewing);
    }
    await schedule.end(begun.id).catch((err: unknown) => hlog.error({ action, err: describeError(err) }, `host ${name}: could not end its scheduled run`));
    return outcome;
  }));
}
