import { describe, expect, it } from 'vitest';
import { RegistryError, RegistryHTTPError, RegistryNetworkError, RegistryTimeoutError } from '../../src/core/registry/errors.js';
import { parseRetryAfter } from '../../src/core/registry/rate-limit.js';
import { Transport, type FetchLike, type TransportOptions } from '../../src/core/registry/transport.js';
import { silentLogger } from '../../src/core/ports.js';
import { fakeTime } from '../helpers/registry-fake.js';

const ctx = { registry: 'reg.test', repository: 'o/r' };
const refused = () => new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });

/** A transport over a scripted fetch: each step answers one attempt. */
function scripted(steps: (Response | Error | (() => Response | Promise<Response>))[], over: Partial<TransportOptions> = {}) {
  const time = fakeTime();
  let calls = 0;
  const fetch: FetchLike = async () => {
    const step = steps[Math.min(calls++, steps.length - 1)];
    if (step instanceof Error) throw step;
    return typeof step === 'function' ? step() : (step as Response).clone();
  };
  const t = new Transport({
    fetch, sleep: time.sleep, clock: time.clock, random: () => 0.5, logger: silentLogger,
    timeoutMs: 15_000, maxAttempts: 3, maxRetryAfterMs: 10_000, backoffBaseMs: 250, backoffMaxMs: 4_000, ...over,
  });
  return { t, time, calls: () => calls };
}

const status = (s: number, headers: Record<string, string> = {}) => new Response(s === 204 ? null : 'x', { status: s, headers });

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    return err as RegistryError;
  }
  throw new Error('expected a failure');
}

describe('Retry-After', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it.each([
    ['30', 30_000],
    ['0', 0],
    ['1.5', 1_500],
    ['Wed, 01 Jan 2025 00:00:12 GMT', 12_000],
    ['Tue, 31 Dec 2024 23:59:00 GMT', 0],
    ['soon', undefined],
    [null, undefined],
  ])('%s → %s ms', (value, want) => {
    expect(parseRetryAfter(value, now)).toBe(want);
  });
});

describe('back-off with full jitter', () => {
  it.each([
    [1, 0.5, 125], [2, 0.5, 250], [3, 0.5, 500], [6, 0.5, 2_000], [7, 0.5, 2_000], [10, 0.999, 3_996], [1, 0, 0],
  ])('attempt %i with random %f waits %i ms', (attempt, r, want) => {
    const { t } = scripted([], { random: () => r });
    expect(t.backoffMs(attempt)).toBe(want);
  });

  it('retries network errors with growing waits, then fails as unreachable', async () => {
    const { t, time, calls } = scripted([refused()]);
    const err = await failure(t.request('head', 'https://reg.test/v2/', {}, ctx));
    expect(err).toBeInstanceOf(RegistryNetworkError);
    expect(err.kind).toBe('unreachable');
    expect(err.message).toBe('registry reg.test unreachable: connection refused');
    expect(calls()).toBe(3);
    expect(time.sleeps).toEqual([125, 250]);
    expect(t.stats).toMatchObject({ head: 3, retries: 2 });
  });

  it('recovers when a retry succeeds', async () => {
    const { t, time } = scripted([status(503), refused(), status(200)]);
    expect((await t.request('get', 'https://reg.test/x', {}, ctx)).status).toBe(200);
    expect(time.sleeps).toEqual([125, 250]);
    expect(t.stats).toMatchObject({ get: 3, retries: 2 });
  });

  it('fails with kind server after three 5xx', async () => {
    const { t } = scripted([status(502)]);
    const err = await failure(t.request('get', 'https://reg.test/x', {}, ctx));
    expect(err).toBeInstanceOf(RegistryHTTPError);
    expect(err).toMatchObject({ kind: 'server', httpStatus: 502 });
    expect(err.message).toBe('registry reg.test failed with HTTP 502 for reg.test/o/r (after 3 attempts); try again later');
  });

  it('hands 4xx other than 429 back at once', async () => {
    const { t, calls } = scripted([status(404)]);
    expect((await t.request('get', 'https://reg.test/x', {}, ctx)).status).toBe(404);
    expect(calls()).toBe(1);
  });

  it('does not retry a time-out and says how long it waited', async () => {
    let calls = 0;
    const fetch: FetchLike = (_url, init) => {
      calls++;
      return new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    };
    const time = fakeTime();
    const t = new Transport({ fetch, sleep: time.sleep, clock: time.clock, random: () => 0.5, logger: silentLogger, timeoutMs: 30, maxAttempts: 3, maxRetryAfterMs: 10_000, backoffBaseMs: 250, backoffMaxMs: 4_000 });
    const err = await failure(t.request('head', 'https://reg.test/x', {}, ctx));
    expect(err).toBeInstanceOf(RegistryTimeoutError);
    expect(err.kind).toBe('unreachable');
    expect(err.message).toBe('registry reg.test unreachable: no answer within 30 ms');
    expect(calls).toBe(1);
  });
});

describe('429', () => {
  it('waits out a short Retry-After in seconds and tries again', async () => {
    const { t, time } = scripted([status(429, { 'Retry-After': '2' }), status(200)]);
    expect((await t.request('head', 'https://reg.test/x', {}, ctx)).status).toBe(200);
    expect(time.sleeps).toEqual([2_000]);
    expect(t.stats).toMatchObject({ head: 2, retries: 1, rateLimited: 1 });
  });

  it('waits out a short Retry-After given as an HTTP date', async () => {
    const time0 = fakeTime().clock.now();
    const { t, time } = scripted([status(429, { 'Retry-After': new Date(time0 + 5_000).toUTCString() }), status(200)]);
    await t.request('head', 'https://reg.test/x', {}, ctx);
    expect(time.sleeps).toEqual([5_000]);
  });

  it.each([
    ['a long Retry-After', { 'Retry-After': '30' }, 'rate limited by reg.test, retry after 30 s', 30],
    ['no Retry-After', {}, 'rate limited by reg.test; try again later', undefined],
    ['an unreadable Retry-After', { 'Retry-After': 'later' }, 'rate limited by reg.test; try again later', undefined],
  ])('fails fast on %s', async (_name, headers, message, retryAfter) => {
    const { t, time, calls } = scripted([status(429, headers), status(200)]);
    const err = await failure(t.request('head', 'https://reg.test/x', {}, ctx));
    expect(err).toMatchObject({ kind: 'rate_limited', message, retryAfterSeconds: retryAfter });
    expect(err.data).toMatchObject({ kind: 'rate_limited', registry: 'reg.test', repository: 'o/r' });
    expect(calls()).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it('gives up after the last attempt even when Retry-After is short', async () => {
    const { t, calls } = scripted([status(429, { 'Retry-After': '1' })]);
    const err = await failure(t.request('head', 'https://reg.test/x', {}, ctx));
    expect(err).toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 1 });
    expect(calls()).toBe(3);
  });

  it('respects a configured maximum wait', async () => {
    const { t } = scripted([status(429, { 'Retry-After': '3' }), status(200)], { maxRetryAfterMs: 2_000 });
    expect((await failure(t.request('head', 'https://reg.test/x', {}, ctx))).message).toBe('rate limited by reg.test, retry after 3 s');
  });
});

describe('rate-limit headers and body limits', () => {
  it('notes ratelimit-remaining per registry', async () => {
    const { t, time } = scripted([status(200, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' })]);
    await t.request('head', 'https://reg.test/x', {}, ctx);
    expect(t.rateLimit('reg.test')).toEqual({ remaining: 76, limit: 100, windowSeconds: 21600, observedAt: time.clock.now() });
    expect(t.rateLimit('other.test')).toBeUndefined();
  });

  it('refuses a body over the cap, declared or streamed', async () => {
    const { t } = scripted([]);
    const declared = new Response('x'.repeat(10), { headers: { 'Content-Length': '5000' } });
    await expect(t.readBody(declared, 1024, ctx, 'manifest')).rejects.toMatchObject({ kind: 'invalid', message: 'registry reg.test sent a manifest larger than 1 KiB for reg.test/o/r' });
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(new Uint8Array(600));
      },
    });
    await expect(t.readBody(new Response(stream), 1024, ctx, 'manifest')).rejects.toMatchObject({ kind: 'invalid' });
    expect(await t.readBody(new Response('hello'), 1024, ctx, 'manifest')).toEqual(new TextEncoder().encode('hello'));
  });
});
