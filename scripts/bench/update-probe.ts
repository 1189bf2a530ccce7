/**
 * The HTTP probe of bench:update: GET http://127.0.0.1:PORT/ every `intervalMs` (default 10 ms)
 * with a short time-out, in this process, recording when each request started and whether it
 * answered 200. From those samples, `outage()` finds the unavailability window: from the start
 * of the first failed request to the start of the first successful one after it.
 *
 * Each request opens a fresh connection (no agent, `Connection: close`): a kept-alive socket to
 * the old server must not hide that nothing listens any more.
 */
import { request } from 'node:http';

export interface ProbeSample {
  /** performance.now() when the request was sent. */
  t: number;
  ok: boolean;
  /** The body of a 200 answer (trimmed, first 200 characters), or why the request failed. */
  detail: string;
}

export interface ProbeOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Hard bounds on the loop: it ends by itself after this many requests or this long. */
  maxSamples?: number;
  maxMs?: number;
}

function getOnce(url: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ok, detail });
    };
    const req = request(url, { method: 'GET', agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 200) body += d;
      });
      res.on('end', () => finish(res.statusCode === 200, res.statusCode === 200 ? body.trim().slice(0, 200) : `HTTP ${res.statusCode}`));
      res.on('error', (err) => finish(false, err.message));
    });
    // A whole-request time-out (connect + answer), not an idle-socket one.
    const timer = setTimeout(() => {
      finish(false, `timeout ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    req.end();
  });
}

export class HttpProbe {
  readonly samples: ProbeSample[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly maxSamples: number;
  private readonly maxMs: number;

  constructor(private readonly url: string, opts: ProbeOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 10;
    this.timeoutMs = opts.timeoutMs ?? 200;
    this.maxSamples = opts.maxSamples ?? 5_000;
    this.maxMs = opts.maxMs ?? 30_000;
  }

  start(): void {
    if (this.loop) throw new Error('probe already started');
    this.running = true;
    this.loop = (async () => {
      const begin = performance.now();
      while (this.running && this.samples.length < this.maxSamples && performance.now() - begin < this.maxMs) {
        const t = performance.now();
        const r = await getOnce(this.url, this.timeoutMs);
        this.samples.push({ t, ...r });
        const left = this.intervalMs - (performance.now() - t);
        if (left > 0) await new Promise((res) => setTimeout(res, left));
      }
      this.running = false;
    })();
  }

  get active(): boolean {
    return this.running;
  }

  async stop(): Promise<ProbeSample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }

  /** Waits until `pred` holds for the samples so far; false when the loop ended or `timeoutMs` passed first. */
  async waitFor(pred: (s: readonly ProbeSample[]) => boolean, timeoutMs: number): Promise<boolean> {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      if (pred(this.samples)) return true;
      if (!this.running) return pred(this.samples);
      await new Promise((res) => setTimeout(res, 5));
    }
    return pred(this.samples);
  }
}

/** How many of the latest requests answered 200 in a row. */
export function trailingSuccesses(samples: readonly ProbeSample[]): number {
  let n = 0;
  for (let i = samples.length - 1; i >= 0 && samples[i]?.ok; i--) n++;
  return n;
}

export interface Outage {
  /** performance.now() of the first failed request at or after `from`. */
  start: number;
  /** performance.now() of the first successful request after it. */
  end: number;
  windowMs: number;
  /** Failed requests inside the window. */
  failures: number;
  /** Why the first and last requests of the window failed (ECONNREFUSED, timeout ...). */
  firstError: string;
  lastError: string;
  /** The body of the first answer after the window. */
  bodyAfter: string;
  /** Failed requests after the window closed: the service flapped. */
  laterFailures: number;
}

/** The first unavailability window that begins at or after `from`; null when none closed. */
export function outage(samples: readonly ProbeSample[], from: number): Outage | null {
  const i = samples.findIndex((s) => s.t >= from && !s.ok);
  if (i < 0) return null;
  const j = samples.findIndex((s, k) => k > i && s.ok);
  if (j < 0) return null;
  const first = samples[i] as ProbeSample;
  const back = samples[j] as ProbeSample;
  return {
    start: first.t,
    end: back.t,
    windowMs: back.t - first.t,
    failures: j - i,
    firstError: first.detail,
    lastError: (samples[j - 1] as ProbeSample).detail,
    bodyAfter: back.detail,
    laterFailures: samples.slice(j).filter((s) => !s.ok).length,
  };
}
