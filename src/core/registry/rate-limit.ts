/** Reading what a registry says about its limits: Retry-After and Docker Hub's ratelimit-* headers. */

/** The last `ratelimit-*` headers a registry sent (Docker Hub: "ratelimit-remaining: 76;w=21600"). */
export interface RateLimitInfo {
  remaining: number;
  limit: number | undefined;
  windowSeconds: number | undefined;
  /** Clock time (ms) of the answer that carried it. */
  observedAt: number;
}

/**
 * Parses Retry-After: delta seconds ("30") or an HTTP date. Milliseconds from `now`, never
 * negative; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerNumber(value: string | null): { n: number; w: number | undefined } | undefined {
  const m = value === null ? null : /^\s*(\d+)(?:\s*;\s*w=(\d+))?/.exec(value);
  return m ? { n: Number(m[1]), w: m[2] === undefined ? undefined : Number(m[2]) } : undefined;
}

/** The rate-limit state in a response's headers, or undefined when it has none. */
export function parseRateLimit(headers: Headers, now: number): RateLimitInfo | undefined {
  const remaining = headerNumber(headers.get('ratelimit-remaining'));
  if (!remaining) return undefined;
  const limit = headerNumber(headers.get('ratelimit-limit'));
  return { remaining: remaining.n, limit: limit?.n, windowSeconds: remaining.w ?? limit?.w, observedAt: now };
}
