/**
 * A push-to-pull bridge: a producer pushes items, a consumer iterates them. Unlike an async
 * generator, `return()` takes effect at once even while a `next()` is waiting, so a consumer
 * that goes away (a closed WebSocket) releases the producer's resource immediately.
 */
export interface ChannelOptions {
  /** Called once when the consumer stops early (`return()`/`throw()`): kill, close, unsubscribe. */
  onClose?: () => void;
  /** Above this many queued items `onFull` is called (back-pressure: pause the source). */
  highWaterMark?: number;
  onFull?: () => void;
  /** Called when the queue has drained after `onFull`: resume the source. */
  onDrain?: () => void;
}

export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private closed = false;
  private full = false;

  constructor(private readonly opts: ChannelOptions = {}) {}

  /** Items queued and not yet taken. */
  get size(): number {
    return this.queue.length;
  }

  /** True once the consumer stopped or the producer ended: pushing is then pointless. */
  get done(): boolean {
    return this.closed || this.ended;
  }

  push(item: T): void {
    if (this.done) return;
    const w = this.waiting.shift();
    if (w) return w.resolve({ value: item, done: false });
    this.queue.push(item);
    const hw = this.opts.highWaterMark;
    if (hw !== undefined && !this.full && this.queue.length >= hw) {
      this.full = true;
      this.opts.onFull?.();
    }
  }

  /** Ends the stream: the consumer gets the queued items, then done (or the error). */
  end(error?: unknown): void {
    if (this.done) return;
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    if (this.queue.length === 0) this.flushWaiting();
  }

  private flushWaiting(): void {
    for (const w of this.waiting.splice(0)) {
      if (this.failure && !this.closed) w.reject(this.failure.error);
      else w.resolve({ value: undefined, done: true });
    }
    if (this.failure && !this.closed) this.failure = null;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift() as T;
      if (this.full && this.queue.length <= Math.floor((this.opts.highWaterMark ?? 0) / 2)) {
        this.full = false;
        this.opts.onDrain?.();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.ended) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = null;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = 0;
      for (const w of this.waiting.splice(0)) w.resolve({ value: undefined, done: true });
      if (!this.ended) this.opts.onClose?.();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * An iterable that starts its source on the first `next()` (e.g. after an async look-up) and
 * passes `return()` through to it, also when the source is still starting.
 */
export function lazyIterable<T>(start: () => Promise<AsyncIterable<T>>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let inner: Promise<AsyncIterator<T>> | undefined;
      let closed = false;
      const open = () => (inner ??= start().then((it) => it[Symbol.asyncIterator]()));
      return {
        async next() {
          if (closed) return { value: undefined, done: true };
          const it = await open();
          if (closed) return { value: undefined, done: true };
          return it.next();
        },
        async return() {
          closed = true;
          if (inner) await inner.then((it) => it.return?.(), () => undefined);
          return { value: undefined, done: true };
        },
      };
    },
  };
}
