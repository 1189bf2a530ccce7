import type { ContainerInspect, DockerLifecyclePort, HealthConfig } from '../docker/port.js';
import type { Clock } from '../ports.js';

export interface HealthWaitOptions {
  /** Without a healthcheck: how long the container must keep running, unrestarted. */
  settleMs: number;
  /** With a healthcheck: how long to wait for "healthy". Default: what the healthcheck itself allows. */
  healthTimeoutMs?: number;
  /** How often to look. */
  pollMs: number;
}

export type HealthVerdict = { ok: true } | { ok: false; reason: string };

export type Sleep = (ms: number) => Promise<void>;

export const sleepWithTimer: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const S = 1_000_000_000;
const MS = 1_000_000;

export function hasHealthcheck(h: HealthConfig | null | undefined): boolean {
  const test = h?.Test ?? [];
  return test.length > 0 && test[0] !== 'NONE';
}

/** The time a healthcheck may take to decide (start period, then retries+1 probes), plus a margin. */
export function healthDeadlineMs(h: HealthConfig): number {
  const interval = (h.Interval || 30 * S) / MS;
  const timeout = (h.Timeout || 30 * S) / MS;
  const retries = h.Retries || 3;
  return (h.StartPeriod ?? 0) / MS + (interval + timeout) * (retries + 1) + 5_000;
}

function exitReason(c: ContainerInspect): string {
  const err = c.State.Error ? ` (${c.State.Error})` : '';
  return `the new container stopped with exit code ${c.State.ExitCode ?? 'unknown'}${err}`;
}

function lastProbe(c: ContainerInspect): string {
  const log = c.State.Health?.Log ?? [];
  const out = log[log.length - 1]?.Output?.trim();
  return out ? `; last probe said: ${out.slice(0, 500)}` : '';
}

/**
 * Waits until a just-started container proves itself. With a healthcheck: "healthy" passes,
 * "unhealthy" fails. Without one: it must stay running, never restarted, for `settleMs`.
 * Either way, exiting or restarting fails at once.
 */
export async function waitForHealthy(
  docker: Pick<DockerLifecyclePort, 'inspectContainerRaw'>,
  id: string,
  opts: HealthWaitOptions,
  time: { clock: Clock; sleep: Sleep },
): Promise<HealthVerdict> {
  const first = await docker.inspectContainerRaw(id);
  if (!first) return { ok: false, reason: 'the new container disappeared' };
  const restarts = first.RestartCount ?? 0;
  const health = first.Config.Healthcheck;
  const checked = hasHealthcheck(health);
  const waitMs = checked && health ? (opts.healthTimeoutMs ?? healthDeadlineMs(health)) : opts.settleMs;
  const deadline = time.clock.now() + waitMs;
  let c: ContainerInspect | null = first;
  for (;;) {
    if (!c) return { ok: false, reason: 'the new container disappeared' };
    if (c.State.Restarting || (c.RestartCount ?? 0) > restarts) return { ok: false, reason: 'the new container exited and is being restarted by its restart policy' };
    if (!c.State.Running) return { ok: false, reason: exitReason(c) };
    if (checked) {
      const status = c.State.Health?.Status;
      if (status === 'healthy') return { ok: true };
      if (status === 'unhealthy') return { ok: false, reason: `the new container's healthcheck reports unhealthy${lastProbe(c)}` };
    }
    const left = deadline - time.clock.now();
    if (left <= 0) {
      return checked ? { ok: false, reason: `the new container was not healthy within ${Math.round(waitMs / 1000)} s${lastProbe(c)}` } : { ok: true };
    }
    await time.sleep(Math.min(opts.pollMs, left));
    c = await docker.inspectContainerRaw(id);
  }
}
