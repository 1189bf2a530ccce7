import { Cron } from 'croner';
import type { LoadedConfig } from './config/load.js';

/**
 * When a scheduled scan or auto-update is due, for a scheduler that is woken by a clock
 * (the split deployment's Cron Trigger) rather than by its own timers. Portable and pure: the
 * state lives wherever the caller keeps it (a Durable Object on Workers).
 */
export interface SchedulePlan {
  /** scan.interval: a scan is due this long after the last one started. */
  scanIntervalMs: number;
  /** scan.initialScanOnStart: scan at the first tick that sees the host. */
  initialScan: boolean;
  /** update.enabled with update.autoUpdateCron and update.timezone; null when auto-update is off. */
  autoUpdate: { cron: string; timezone?: string } | null;
}

export interface ScheduleTimes {
  /** The first tick that saw the host (its "start"). */
  firstTickAt: number;
  /** Tick times of the last scheduled scan and auto-update; null when none ran yet. */
  lastScanAt: number | null;
  lastUpdateAt: number | null;
}

export interface DueTasks {
  scan: boolean;
  update: boolean;
}

export function schedulePlan(config: Pick<LoadedConfig, 'scan' | 'update' | 'derived'>): SchedulePlan {
  return {
    scanIntervalMs: config.derived.scanIntervalMs,
    initialScan: config.scan.initialScanOnStart,
    autoUpdate: config.update.enabled ? { cron: config.update.autoUpdateCron, ...(config.update.timezone ? { timezone: config.update.timezone } : {}) } : null,
  };
}

/** The first time the cron names strictly after `after` (ms), or null when it names none. */
export function nextCronTime(cron: string, timezone: string | undefined, after: number): number | null {
  const job = new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) });
  const next = job.nextRun(new Date(after));
  job.stop();
  return next ? next.getTime() : null;
}

/**
 * What is due at tick time `now`. A scan: at the host's first tick when initialScan, then once
 * scanIntervalMs has passed since the last one. An auto-update: when the cron named a time
 * after the last one (or after the host's first tick) that is not later than `now`; times
 * missed meanwhile make one run, not several.
 */
export function dueTasks(times: ScheduleTimes, plan: SchedulePlan, now: number): DueTasks {
  const scan = times.lastScanAt === null
    ? plan.initialScan || now - times.firstTickAt >= plan.scanIntervalMs
    : now - times.lastScanAt >= plan.scanIntervalMs;
  let update = false;
  if (plan.autoUpdate) {
    const next = nextCronTime(plan.autoUpdate.cron, plan.autoUpdate.timezone, times.lastUpdateAt ?? times.firstTickAt);
    update = next !== null && next <= now;
  }
  return { scan, update };
}
