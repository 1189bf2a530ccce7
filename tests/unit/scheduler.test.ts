import { describe, expect, it } from 'vitest';
import { scheduleCron } from '../../src/core/scheduler.js';
import type { Logger } from '../../src/core/ports.js';

function recordingLogger() {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (_o, m) => lines.push(`debug ${m}`),
    info: (_o, m) => lines.push(`info ${m}`),
    warn: (_o, m) => lines.push(`warn ${m}`),
    error: (_o, m) => lines.push(`error ${m}`),
    child: () => logger,
  };
  return { logger, lines };
}

describe('scheduleCron', () => {
  it('runs on a seconds-precision schedule and never overlaps itself', async () => {
    const { logger, lines } = recordingLogger();
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    const job = scheduleCron('auto-update', '* * * * * *', { logger }, async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 2300));
      active--;
    });
    await new Promise((r) => setTimeout(r, 3500));
    job.stop();
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(2);
    expect(maxActive).toBe(1);
    expect(lines.filter((l) => l.includes('this run is skipped')).length).toBeGreaterThanOrEqual(1);
  });

  it('plans the next run in the given time zone', () => {
    const { logger } = recordingLogger();
    const job = scheduleCron('auto-update', '0 3 * * *', { timezone: 'Asia/Shanghai', logger }, async () => {});
    const next = job.nextRun();
    job.stop();
    expect(next).not.toBeNull();
    // 03:00 in Shanghai is 19:00 UTC.
    expect(next?.getUTCHours()).toBe(19);
    expect(next?.getUTCMinutes()).toBe(0);
  });

  it('logs a failed run and keeps the schedule', async () => {
    const { logger, lines } = recordingLogger();
    const job = scheduleCron('scan', '* * * * * *', { logger }, async () => {
      throw new Error('engine down');
    });
    await new Promise((r) => setTimeout(r, 2200));
    expect(job.nextRun()).not.toBeNull();
    job.stop();
    expect(lines.some((l) => l === 'error scan failed')).toBe(true);
  });
});
