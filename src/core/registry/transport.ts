import type { Clock, Logger } from '../ports.js';
import { parseRateLimit, parseRetryAfter, type RateLimitInfo } from './rate-limit.js';
import { isForbiddenHostname, isLoopbackHostname } from './security.js';
import { RegistryError, RegistryHTTPError, RegistryNetworkError, RegistryTimeoutError, isTimeout, networkReason, whereOf, type RegistryErrorContext } from './errors.js';

/** The fetch the client uses; the global fetch satisfies it, tests pass a fake. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** What each request is for; the stats count them by kind. */
export type RequestKind = 'ping' | 'token' | 'head' | 'get';

/** Request counters (every attempt counts, retries too) for benchmarks and logs. */
export interface RegistryStats {
  ping: number;
  token: number;
  head: number;
  get: number;
  /** Attempts after the first (network errors, 5xx, short 429s). */
  retries: number;
  /** 429 answers seen. */
  rateLimited: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export type { RateLimitInfo };

export const emptyStats = (): RegistryStats => ({ ping: 0, token: 0, head: 0, get: 0, retries: 0, rateLimited: 0 });

export interface TransportOptions {
  fetch: FetchLike;
  sleep: (ms: number) => Promise<void>;
  clock: Clock;
  /** A number in [0, 1), for the back-off jitter. */
  random: () => number;
  logger: Logger;
  timeoutMs: number;
  maxAttempts: number;
  /** A 429 whose Retry-After is longer than this fails at once. */
  maxRetryAfterMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface RequestContext extends RegistryErrorContext {
  /** "registry 127.0.0.1:5002" or "token server of 127.0.0.1:5002": the subject of messages. */
  subject?: string;
}

/**
 * HTTP for the registry client: one time-out per attempt, retries with exponential back-off and
 * full jitter on network errors and 5xx, short 429s waited out (Retry-After), long ones failed
 * fast. Returns every other answer (2xx, 3xx, 4xx) for the caller to interpret.
 */
export class Transport {
  readonly stats: RegistryStats = emptyStats();
  private readonly rateLimits = new Map<string, RateLimitInfo>();

  constructor(private readonly opts: TransportOptions) {}

  /** Full jitter: a random delay in [0, min(max, base·2^(attempt−1))). */
  backoffMs(attempt: number): number {
    const ceiling = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** (attempt - 1));
    return Math.floor(this.opts.random() * ceiling);
  }

  rateLimit(registry: string): RateLimitInfo | undefined {
    return this.rateLimits.get(registry);
  }

  async request(kind: RequestKind, url: string, init: RequestInit, ctx: RequestContext): Promise<Response> {
    const { maxAttempts, timeoutMs, logger } = this.opts;
    const subject = ctx.subject ?? `registry ${ctx.registry}`;
    for (let attempt = 1; ; attempt++) {
      this.stats[kind]++;
      if (attempt > 1) this.stats.retries++;
      let res: Response;
      try {
        res = await this.fetchFollowing(url, init, ctx, subject);
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        if (isTimeout(err)) throw new RegistryTimeoutError(`${subject} unreachable: no answer within ${formatSeconds(timeoutMs)}`, ctx, timeoutMs);
        const reason = networkReason(err);
        if (attempt < maxAttempts) {
          const delay = this.backoffMs(attempt);
          logger.debug({ component: 'registry', action: kind, registry: ctx.registry, attempt, delayMs: delay, reason }, 'network error; retrying');
          await this.opts.sleep(delay);
          continue;
        }
        throw new RegistryNetworkError(`${subject} unreachable: ${reason}`, ctx, err);
      }
      this.noteRateLimit(ctx.registry, res.headers);
      if (res.status === 429) {
        this.stats.rateLimited++;
        const waitMs = parseRetryAfter(res.headers.get('retry-after'), this.opts.clock.now());
        discard(res);
        if (waitMs !== undefined && waitMs <= this.opts.maxRetryAfterMs && attempt < maxAttempts) {
          logger.info({ component: 'registry', action: kind, registry: ctx.registry, attempt, delayMs: waitMs }, 'rate limited; waiting as Retry-After asks');
          await this.opts.sleep(waitMs);
          continue;
        }
        const seconds = waitMs === undefined ? undefined : Math.ceil(waitMs / 1000);
        const when = seconds === undefined ? '; try again later' : `, retry after ${seconds} s`;
        throw new RegistryHTTPError('rate_limited', `rate limited by ${ctx.registry}${when}`, ctx, 429, seconds);
      }
      if (res.status >= 500) {
        discard(res);
        if (attempt < maxAttempts) {
          const delay = this.backoffMs(attempt);
          logger.debug({ component: 'registry', action: kind, registry: ctx.registry, attempt, delayMs: delay, status: res.status }, 'server error; retrying');
          await this.opts.sleep(delay);
          continue;
        }
        throw new RegistryHTTPError('server', `${subject} failed with HTTP ${res.status} for ${whereOf(ctx)} (after ${attempt} attempts); try again later`, ctx, res.status);
      }
      return res;
    }
  }

  /**
   * fetch with redirects followed by hand (at most 5), so that no hop goes to a link-local or
   * metadata address, none downgrades https to http, and Authorization never leaves its origin.
   * One time-out covers the whole chain.
   */
  private async fetchFollowing(url: string, init: RequestInit, ctx: RequestContext, subject: string): Promise<Response> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    const headers = new Headers(init.headers);
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const res = await this.opts.fetch(current.toString(), { ...init, headers, redirect: 'manual', signal });
      const location = REDIRECTS.has(res.status) ? res.headers.get('location') : null;
      if (location === null) return res;
      discard(res);
      const next = new URL(location, current);
      const refuse = (why: string) => new RegistryError('invalid', `${subject} redirected ${whereOf(ctx)} ${why}`, ctx);
      if (hop >= MAX_REDIRECTS) throw refuse(`more than ${MAX_REDIRECTS} times`);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw refuse(`to the unsupported scheme ${next.protocol}`);
      if (isForbiddenHostname(next.hostname)) throw refuse(`to ${next.hostname}, a link-local or cloud metadata address; refusing`);
      if (current.protocol === 'https:' && next.protocol === 'http:' && !isLoopbackHostname(next.hostname)) throw refuse('from https to plain http; refusing');
      if (next.origin !== current.origin) headers.delete('authorization');
      current = next;
    }
  }

  /** Reads a body of at most maxBytes; a larger one is refused (RegistryError 'invalid'). */
  async readBody(res: Response, maxBytes: number, ctx: RequestContext, what: string): Promise<Uint8Array<ArrayBuffer>> {
    const tooLarge = () => new RegistryError('invalid', `${ctx.subject ?? `registry ${ctx.registry}`} sent a ${what} larger than ${Math.round(maxBytes / 1024)} KiB for ${whereOf(ctx)}`, ctx);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      discard(res);
      throw tooLarge();
    }
    if (!res.body) return new Uint8Array(0);
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge();
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      if (isTimeout(err)) throw new RegistryTimeoutError(`${ctx.subject ?? `registry ${ctx.registry}`} unreachable: no answer within ${formatSeconds(this.opts.timeoutMs)}`, ctx, this.opts.timeoutMs);
      throw new RegistryNetworkError(`${ctx.subject ?? `registry ${ctx.registry}`} unreachable: ${networkReason(err)} while reading a ${what}`, ctx, err);
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.byteLength;
    }
    return out;
  }

  private noteRateLimit(registry: string, headers: Headers): void {
    const info = parseRateLimit(headers, this.opts.clock.now());
    if (!info) return;
    this.rateLimits.set(registry, info);
    if (info.remaining <= 10) this.opts.logger.warn({ component: 'registry', registry, remaining: info.remaining }, 'registry pull rate limit nearly used up');
  }
}

/** Lets go of a body we do not read, so the connection can be reused. */
export function discard(res: Response): void {
  res.body?.cancel().catch(() => undefined);
}

export function formatSeconds(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
