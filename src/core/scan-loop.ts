import { describeError } from './errors.js';
import type { Logger } from './ports.js';
import type { Scanner } from './scanner.js';

export interface ScanLoop {
  stop(): void;
}

/**
 * Scans at start (when asked) and then every intervalMs, measured from the end of the last
 * scan, so scans never overlap. Portable: only setTimeout.
 */
export function startScanLoop(scanner: Scanner, opts: { intervalMs: number; initial: boolean; logger: Logger }): ScanLoop {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await scanner.scan();
    } catch (err) {
      opts.logger.error({ component: 'scanner', action: 'scan', err: describeError(err) }, 'scan failed');
    }
    if (!stopped) timer = setTimeout(tick, opts.intervalMs);
  };
  timer = setTimeout(tick, opts.initial ? 0 : opts.intervalMs);
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
