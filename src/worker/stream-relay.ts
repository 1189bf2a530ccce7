/**
 * A stream of the agent link, held by the host's Durable Object for the Worker that reads it.
 * The Worker pulls batches (`next`); a pump keeps at most `limit` items here, and pulls from the
 * link only while there is room, so the link's credit stops the agent when the Worker (and the
 * client behind it) is slow: nothing grows without bound. `cancel` (the client left) cancels
 * the stream on the agent, which releases what it holds there. A relay nobody asks for within
 * `leaseMs` is cancelled too (the Worker went away without saying so).
 */
import { errorToFrame } from '../core/agent-link/endpoint.js';

export type RelayBatch = { ok: true; result: { items: unknown[]; done: boolean } } | { ok: false; code: number; msg: string; data?: Record<string, unknown> | null };

export class StreamRelay {
  private readonly queue: unknown[] = [];
  private done = false;
  private failure: ReturnType<typeof errorToFrame> | null = null;
  private waiter: (() => void) | null = null;
  private room: (() => void) | null = null;
  private lease: ReturnType<typeof setTimeout> | undefined;
  private cancelled = false;
  private pulling = 0;

  constructor(
    private readonly it: AsyncIterator<unknown>,
    private readonly onFinished: () => void,
    private readonly limit = 64,
    private readonly leaseMs = 60_000,
  ) {
    this.renew();
    void this.pump();
  }

  /** Items held here now (at most `limit`). */
  get size(): number {
    return this.queue.length;
  }

  private renew(): void {
    clearTimeout(this.lease);
    this.lease = setTimeout(() => {
      if (this.pulling === 0) void this.cancel();
    }, this.leaseMs);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        while (this.queue.length >= this.limit && !this.cancelled) await new Promise<void>((r) => (this.room = r));
        if (this.cancelled) return;
        const r = await this.it.next();
        if (this.cancelled) return;
        if (r.done) break;
        this.queue.push(r.value);
        this.waiter?.();
        this.waiter = null;
      }
    } catch (err) {
      this.failure = errorToFrame(err);
    }
    this.done = true;
    this.waiter?.();
    this.waiter = null;
  }

  /** Up to `max` items, waiting for the first; `done` once the stream has ended and all were taken. */
  async next(max: number): Promise<RelayBatch> {
    this.pulling++;
    try {
      while (this.queue.length === 0 && !this.done && !this.cancelled) await new Promise<void>((r) => (this.waiter = r));
    } finally {
      this.pulling--;
      this.renew();
    }
    const items = this.queue.splice(0, Math.max(1, max));
    this.room?.();
    this.room = null;
    if (items.length === 0 && this.failure) {
      this.finish();
      return { ok: false, ...this.failure };
    }
    const done = this.queue.length === 0 && (this.done || this.cancelled) && !this.failure;
    if (done) this.finish();
    return { ok: true, result: { items, done } };
  }

  /** The reader left: cancel the stream on the agent. */
  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue.length = 0;
    this.waiter?.();
    this.room?.();
    this.finish();
    await this.it.return?.().catch(() => undefined);
  }

  private finish(): void {
    clearTimeout(this.lease);
    this.onFinished();
  }
}
