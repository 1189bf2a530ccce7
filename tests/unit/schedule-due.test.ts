import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load.js';
import { dueTasks, nextCronTime, schedulePlan } from '../../src/core/schedule-due.js';

const at = (iso: string) => Date.parse(iso);
const plan = (env: Record<string, string>) => schedulePlan(loadConfig({ env, readSecretFile: () => '' }));

describe('what a scheduled tick runs (split deployment)', () => {
  it('reads the same config keys as the Node server', () => {
    expect(plan({ WATCH_SCAN_INTERVAL: '10m' })).toEqual({ scanIntervalMs: 600_000, initialScan: true, autoUpdate: null });
    expect(plan({ WATCH_SCAN_INITIAL_SCAN_ON_START: 'false', WATCH_UPDATE_ENABLED: 'true', WATCH_UPDATE_AUTO_UPDATE_CRON: '0 3 * * *', WATCH_UPDATE_TIMEZONE: 'Asia/Shanghai' }))
      .toEqual({ scanIntervalMs: 600_000, initialScan: false, autoUpdate: { cron: '0 3 * * *', timezone: 'Asia/Shanghai' } });
  });

  it('scans at the first tick (initialScanOnStart), then once the interval has passed since the last scan', () => {
    const p = plan({ WATCH_SCAN_INTERVAL: '10m' });
    const first = at('2026-01-01T00:00:00Z');
    expect(dueTasks({ firstTickAt: first, lastScanAt: null, lastUpdateAt: null }, p, first)).toEqual({ scan: true, update: false });
    const times = { firstTickAt: first, lastScanAt: first, lastUpdateAt: null };
    expect(dueTasks(times, p, first + 9 * 60_000).scan).toBe(false);
    expect(dueTasks(times, p, first + 10 * 60_000).scan).toBe(true);
    // Without the initial scan the first one waits for the interval from the host's first tick.
    const late = plan({ WATCH_SCAN_INTERVAL: '10m', WATCH_SCAN_INITIAL_SCAN_ON_START: 'false' });
    expect(dueTasks({ firstTickAt: first, lastScanAt: null, lastUpdateAt: null }, late, first + 5 * 60_000).scan).toBe(false);
    expect(dueTasks({ firstTickAt: first, lastScanAt: null, lastUpdateAt: null }, late, first + 10 * 60_000).scan).toBe(true);
    // An interval shorter than the one-minute tick: every tick.
    const short = plan({ WATCH_SCAN_INTERVAL: '20s' });
    expect(dueTasks(times, short, first + 60_000).scan).toBe(true);
  });

  it('auto-updates at the first tick at or after a time the cron names, in its time zone; missed times make one run', () => {
    const p = plan({ WATCH_UPDATE_ENABLED: 'true', WATCH_UPDATE_AUTO_UPDATE_CRON: '0 3 * * *', WATCH_UPDATE_TIMEZONE: 'Asia/Shanghai' });
    // 03:00 in Shanghai is 19:00 UTC the day before.
    const first = at('2026-01-01T12:00:00Z');
    const fresh = { firstTickAt: first, lastScanAt: null, lastUpdateAt: null };
    // A host seen for the first time does not run the cron times before it (like a server start).
    expect(dueTasks(fresh, p, first).update).toBe(false);
    expect(dueTasks(fresh, p, at('2026-01-01T18:59:00Z')).update).toBe(false);
    expect(dueTasks(fresh, p, at('2026-01-01T19:00:00Z')).update).toBe(true);
    const ran = { ...fresh, lastUpdateAt: at('2026-01-01T19:00:00Z') };
    expect(dueTasks(ran, p, at('2026-01-01T19:01:00Z')).update).toBe(false);
    // Three days without a tick (the platform was down): one run at the next tick, not three.
    expect(dueTasks(ran, p, at('2026-01-04T22:00:00Z')).update).toBe(true);
    // A cron with seconds runs at the next minute tick.
    const secs = plan({ WATCH_UPDATE_ENABLED: 'true', WATCH_UPDATE_AUTO_UPDATE_CRON: '30 15 * * * *', WATCH_UPDATE_TIMEZONE: 'UTC' });
    expect(nextCronTime('30 15 * * * *', 'UTC', first)).toBe(at('2026-01-01T12:15:30Z'));
    expect(dueTasks(fresh, secs, at('2026-01-01T12:15:00Z')).update).toBe(false);
    expect(dueTasks(fresh, secs, at('2026-01-01T12:16:00Z')).update).toBe(true);
  });
});
