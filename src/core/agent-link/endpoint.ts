/**
 * The two ends of an authenticated link, independent of the socket: the requester (the
 * control plane) sends `req`/`open` and waits for answers; the responder (the agent) runs the
 * named operations and answers. Both get frames already parsed and sequence-checked, and send
 * unsequenced frames through a callback that numbers them.
 *
 * Streams use credit: the requester grants `credit` items at open and more as its consumer
 * takes them; the responder never sends more than it was granted, and the requester refuses
 * a peer that does. So neither side buffers more than MAX_CREDIT items of one stream.
 */
import { AppError, ErrorCode, describeError } from '../errors.js';
import { parseArgs } from './ops.js';
import { FrameError, INITIAL_CREDIT, MAX_CREDIT, STREAM_OPS, type CallOp, type Frame, type FrameOf, type StreamOp, type Unsequenced } from './protocol.js';

export type SendFrame = (frame: Unsequenced) => void;

const KNOWN_CODES = new Set<number>(Object.values(ErrorCode));

/** An AppError from an `err` frame (an unknown code becomes Internal). */
export function errorFromFrame(frame: { code: number; msg: string; data?: Record<string, unknown> | null | undefined }): AppError {
  const code = (KNOWN_CODES.has(frame.code) ? frame.code : ErrorCode.Internal) as ErrorCode;
  return new AppError(code, frame.msg, frame.data ?? null);
}

/** The `err` frame fields for anything thrown (only AppErrors keep their message). */
export function errorToFrame(err: unknown): { code: number; msg: string; data?: Record<string, unknown> | null } {
  if (err instanceof AppError) return { code: err.code, msg: err.message, data: err.data };
  return { code: ErrorCode.Internal, msg: 'internal error on the agent' };
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(err: AppError): void;
  timer: ReturnType<typeof setTimeout>;
}

interface PendingStream {
  items: unknown[];
  /** Items the responder may still send without more credit. */
  outstanding: number;
  /** Items taken by the consumer since the last credit frame. */
  consumed: number;
  done: boolean;
  error: AppError | null;
  wake: (() => void) | null;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export interface CallOptions {
  timeoutMs: number;
  idempotencyKey?: string;
}

let idCounter = 0;
function nextId(): string {
  idCounter = (idCounter + 1) % 1_000_000_000;
  return `${Date.now().toString(36)}-${idCounter.toString(36)}`;
}

/** The control plane's end: sends requests, matches answers, times out. */
export class LinkRequester {
  private readonly calls = new Map<string, PendingCall>();
  private readonly streams = new Map<string, PendingStream>();

  constructor(private readonly send: SendFrame) {}

  get pending(): number {
    return this.calls.size + this.streams.size;
  }

  call(op: CallOp, args: unknown[], opts: CallOptions): Promise<unknown> {
    const id = nextId();
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(id);
        reject(new AppError(ErrorCode.HostOffline, `the agent did not answer ${op} within ${Math.round(opts.timeoutMs / 1000)} s`, { op, reason: 'timeout' }));
      }, opts.timeoutMs);
      this.calls.set(id, { resolve, reject, timer });
      try {
        this.send({ t: 'req', id, op, args, ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) });
      } catch (err) {
        clearTimeout(timer);
        this.calls.delete(id);
        reject(new AppError(ErrorCode.HostOffline, `the link to the agent failed: ${describeError(err)}`, { op, reason: 'send' }));
      }
    });
  }

  /** Opens a stream; stopping the iteration (break / return()) cancels it on the agent. */
  stream(op: StreamOp, args: unknown[], opts: CallOptions): AsyncIterable<unknown> {
    const self = this;
    return {
      [Symbol.asyncIterator](): AsyncIterator<unknown> {
        const id = nextId();
        const s: PendingStream = {
          items: [], outstanding: INITIAL_CREDIT, consumed: 0, done: false, error: null, wake: null,
          // A live stream (follow) has no overall time limit: it ends when either side stops or the link drops.
          timer: opts.timeoutMs > 0 ? setTimeout(() => self.fail(id, new AppError(ErrorCode.HostOffline, `the agent did not finish ${op} within ${Math.round(opts.timeoutMs / 1000)} s`, { op, reason: 'timeout' })), opts.timeoutMs) : undefined,
        };
        self.streams.set(id, s);
        self.send({ t: 'open', id, op, args, credit: INITIAL_CREDIT, ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) });
        return {
          async next(): Promise<IteratorResult<unknown>> {
            for (;;) {
              if (s.items.length > 0) {
                const item = s.items.shift();
                s.consumed++;
                if (!s.done && s.consumed >= INITIAL_CREDIT / 2) {
                  self.send({ t: 'credit', id, n: s.consumed });
                  s.outstanding += s.consumed;
                  s.consumed = 0;
                }
                return { value: item, done: false };
              }
              if (s.error) throw s.error;
              if (s.done) return { value: undefined, done: true };
              await new Promise<void>((r) => (s.wake = r));
            }
          },
          async return(): Promise<IteratorResult<unknown>> {
            if (!s.done) {
              s.done = true;
              clearTimeout(s.timer);
              self.streams.delete(id);
              try {
                self.send({ t: 'cancel', id });
              } catch {
                // The link is gone: nothing runs on the agent for it any more.
              }
            }
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  private fail(id: string, err: AppError): void {
    const s = this.streams.get(id);
    if (!s) return;
    s.error = err;
    s.done = true;
    clearTimeout(s.timer);
    this.streams.delete(id);
    s.wake?.();
  }

  /** Takes an answer frame; throws FrameError for one that breaks the protocol. */
  handle(frame: Frame): void {
    switch (frame.t) {
      case 'res':
      case 'err': {
        const call = this.calls.get(frame.id);
        if (call) {
          this.calls.delete(frame.id);
          clearTimeout(call.timer);
          if (frame.t === 'res') call.resolve(frame.result);
          else call.reject(errorFromFrame(frame));
          return;
        }
        if (frame.t === 'err' && this.streams.has(frame.id)) return this.fail(frame.id, errorFromFrame(frame));
        return; // an answer after its timeout or cancel: dropped
      }
      case 'data': {
        const s = this.streams.get(frame.id);
        if (!s) return; // cancelled: items still in flight are dropped
        if (s.outstanding <= 0) throw new FrameError(`stream ${frame.id}: data beyond the credit granted`);
        s.outstanding--;
        s.items.push(frame.item);
        s.wake?.();
        s.wake = null;
        return;
      }
      case 'end': {
        const s = this.streams.get(frame.id);
        if (!s) return;
        s.done = true;
        clearTimeout(s.timer);
        this.streams.delete(frame.id);
        s.wake?.();
        return;
      }
      default:
        throw new FrameError(`the control plane does not accept "${frame.t}" frames from an agent`);
    }
  }

  /** The link is gone: every pending call and stream fails with HostOffline. */
  closeAll(reason: string): void {
    const err = () => new AppError(ErrorCode.HostOffline, `the link to the agent closed: ${reason}`, { reason: 'disconnected' });
    for (const [id, call] of this.calls) {
      clearTimeout(call.timer);
      this.calls.delete(id);
      call.reject(err());
    }
    for (const id of [...this.streams.keys()]) this.fail(id, err());
  }
}

/** What the agent runs for each operation. */
export interface OpHandlers {
  call(op: CallOp, args: unknown[]): Promise<unknown>;
  stream(op: StreamOp, args: unknown[]): AsyncIterable<unknown>;
}

interface RunningStream {
  credit: number;
  cancelled: boolean;
  wake: (() => void) | null;
  iterator: AsyncIterator<unknown> | null;
}

type Outcome = { ok: true; result: unknown } | { ok: false; err: ReturnType<typeof errorToFrame> };

/** The agent's end: validates each request's arguments, runs it, answers; remembers idempotent results. */
export class LinkResponder {
  private readonly streams = new Map<string, RunningStream>();
  private readonly done = new Map<string, Promise<Outcome>>();

  constructor(
    private readonly send: SendFrame,
    private readonly handlers: OpHandlers,
    private readonly idempotencyCapacity = 512,
  ) {}

  get running(): number {
    return this.streams.size;
  }

  handle(frame: Frame): void {
    switch (frame.t) {
      case 'req':
        void this.runCall(frame);
        return;
      case 'open':
        void this.runStream(frame);
        return;
      case 'credit': {
        const s = this.streams.get(frame.id);
        if (!s) return;
        s.credit = Math.min(MAX_CREDIT, s.credit + frame.n);
        s.wake?.();
        return;
      }
      case 'cancel': {
        const s = this.streams.get(frame.id);
        if (!s) return;
        this.stop(frame.id, s);
        return;
      }
      default:
        throw new FrameError(`an agent does not accept "${frame.t}" frames from the control plane`);
    }
  }

  private safeSend(frame: Unsequenced): void {
    try {
      this.send(frame);
    } catch {
      // The link closed under us; the control plane fails the request on its side.
    }
  }

  private async runCall(frame: FrameOf<'req'>): Promise<void> {
    const op = frame.op as CallOp;
    if ((STREAM_OPS as readonly string[]).includes(op)) {
      this.safeSend({ t: 'err', id: frame.id, code: ErrorCode.BadRequest, msg: `${frame.op} is a stream: open it, do not call it` });
      return;
    }
    const key = frame.idempotencyKey;
    let outcome = key ? this.done.get(key) : undefined;
    if (!outcome) {
      outcome = this.execute(op, frame.args);
      if (key) {
        this.done.set(key, outcome);
        if (this.done.size > this.idempotencyCapacity) this.done.delete(this.done.keys().next().value as string);
      }
    }
    const o = await outcome;
    this.safeSend(o.ok ? { t: 'res', id: frame.id, result: o.result } : { t: 'err', id: frame.id, ...o.err });
  }

  private async execute(op: CallOp, rawArgs: unknown[]): Promise<Outcome> {
    const parsed = parseArgs(op, rawArgs);
    if (!parsed.ok) return { ok: false, err: { code: ErrorCode.BadRequest, msg: parsed.msg } };
    try {
      const result = await this.handlers.call(op, parsed.args);
      return { ok: true, result: result === undefined ? null : result };
    } catch (err) {
      return { ok: false, err: errorToFrame(err) };
    }
  }

  private stop(id: string, s: RunningStream): void {
    s.cancelled = true;
    this.streams.delete(id);
    s.wake?.();
    // Releases the resource (kills the process, destroys the socket) behind the stream.
    void s.iterator?.return?.().catch(() => undefined);
  }

  private async runStream(frame: FrameOf<'open'>): Promise<void> {
    const op = frame.op as StreamOp;
    if (!(STREAM_OPS as readonly string[]).includes(op)) {
      this.safeSend({ t: 'err', id: frame.id, code: ErrorCode.BadRequest, msg: `${frame.op} is not a stream: call it` });
      return;
    }
    const parsed = parseArgs(op, frame.args);
    if (!parsed.ok) {
      this.safeSend({ t: 'err', id: frame.id, code: ErrorCode.BadRequest, msg: parsed.msg });
      return;
    }
    const s: RunningStream = { credit: frame.credit, cancelled: false, wake: null, iterator: null };
    this.streams.set(frame.id, s);
    try {
      s.iterator = this.handlers.stream(op, parsed.args)[Symbol.asyncIterator]();
      for (;;) {
        while (s.credit <= 0 && !s.cancelled) await new Promise<void>((r) => (s.wake = r));
        if (s.cancelled) return;
        const next = await s.iterator.next();
        if (s.cancelled) return;
        if (next.done) break;
        s.credit--;
        this.safeSend({ t: 'data', id: frame.id, item: next.value });
      }
      this.streams.delete(frame.id);
      this.safeSend({ t: 'end', id: frame.id });
    } catch (err) {
      if (!s.cancelled) {
        this.streams.delete(frame.id);
        this.safeSend({ t: 'err', id: frame.id, ...errorToFrame(err) });
      }
    }
  }

  /** The link is gone: running streams stop and release what they hold. */
  closeAll(): void {
    for (const [id, s] of this.streams) this.stop(id, s);
  }
}
