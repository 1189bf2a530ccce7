import { Cron } from 'croner';
import { describeError } from './errors.js';
import type { Logger } from './ports.js';

export interface ScheduledJob {
  /** The next planned run, or null when none is planned. */
  nextRun(): Date | null;
  stop(): void;
}

/**
 * Runs `task` on a cron schedule (5 fields, or 6 with seconds first; in `timezone` when given).
 * A run that would overlap the previous one is skipped and logged, never queued.
 */
export function scheduleCron(
  name: string,
  pattern: string,
  opts: { timezone?: string; logger: Logger },
  task: () => Promise<unknown>,
): ScheduledJob {
  const log = opts.logger.child({ component: 'scheduler', action: name });
  const job = new Cron(
    pattern,
    {
      name,
      ...(opts.timezone ? { timezone: opts.timezone } : {}),
      protect: () => log.warn({}, `${name}: the previous run is still going; this run is skipped`),
      catch: (err: unknown) => log.error({ err: describeError(err) }, `${name} failed`),
    },
    async () => {
      const started = Date.now();
      await task();
      log.info({ durationMs: Date.now() - started }, `${name} finished`);
    },
  );
  log.info({ next: job.nextRun()?.toISOString() ?? null, pattern, timezone: opts.timezone ?? 'local' }, `${name} scheduled`);
  return { nextRun: () => job.nextRun(), stop: () => job.stop() };
}
