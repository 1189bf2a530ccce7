/**
 * WebSocket plumbing shared by every streaming route, portable (Node's `ws` through
 * @hono/node-server, or Workers' WebSocketPair): the runtime hands in Hono's `upgradeWebSocket`
 * as `deps.upgradeWebSocket`, and this module pipes an `AsyncIterable` of frames to the socket
 * without ever holding more than a bounded amount of memory for a slow client.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { WSContext, WSEvents } from 'hono/ws';
import { AppError, ErrorCode, describeError, toAppError } from '../core/errors.js';
import type { AppEnv } from './context.js';

import type { StreamFrame } from './stream-frames.js';

export type { StreamFrame };

/** What the pipes need of a socket: small enough to fake in a unit test. */
export interface FrameSink {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued in the socket and not yet written to the network (0 where the runtime does not say). */
  bufferedAmount(): number;
  isOpen(): boolean;
  /**
   * Keep-alive through WebSocket ping control frames, where the runtime can send them (`ws` on
   * Node): sends a ping; `onPong` registers a listener for the answers (browsers and `ws`
   * clients answer by themselves) and returns its removal. Absent on Workers.
   */
  ping?(): void;
  onPong?(listener: () => void): () => void;
  /** Drops the connection at once, without a closing handshake (a client that stopped answering would never complete one). */
  terminate?(): void;
}

/** The `ws` library's socket, as far as the keep-alive uses it. */
interface PingableSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong', listener: () => void): unknown;
  off(event: 'pong', listener: () => void): unknown;
}

function pingable(raw: unknown): raw is PingableSocket {
  if (typeof raw !== 'object' || raw === null) return false;
  const r = raw as Record<string, unknown>;
  return typeof r.ping === 'function' && typeof r.terminate === 'function' && typeof r.on === 'function' && typeof r.off === 'function';
}

/** WSContext → FrameSink. `raw` is `ws`'s WebSocket on Node; Workers' socket has no bufferedAmount. */
export function sinkOf(ws: WSContext): FrameSink {
  const raw: unknown = ws.raw;
  const keepAlive: Partial<FrameSink> = pingable(raw)
    ? {
        ping: () => raw.ping(),
        onPong: (listener) => {
          raw.on('pong', listener);
          return () => void raw.off('pong', listener);
        },
        terminate: () => raw.terminate(),
      }
    : {};
  return {
    ...keepAlive,
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => {
      const raw: unknown = ws.raw;
      const n = typeof raw === 'object' && raw !== null && 'bufferedAmount' in raw ? raw.bufferedAmount : 0;
      return typeof n === 'number' ? n : 0;
    },
    isOpen: () => ws.readyState === 1,
  };
}

/** The largest frame a client may send (bigger: the socket is closed with 1009). Node's WebSocketServer gets it as maxPayload. */
export const WS_MAX_PAYLOAD = 64 * 1024;

/** Close codes: 1000 normal, 1001 going away, 1008 policy, 1009 too big, 1011 server error. */
export const WS_CLOSE = { normal: 1000, goingAway: 1001, policy: 1008, tooBig: 1009, serverError: 1011 } as const;

export interface PipeOptions {
  /**
   * Back-pressure: the next value is pulled from the source only while the socket holds fewer
   * than this many unsent bytes. Default 256 KiB.
   */
  highWaterBytes?: number;
  /** How often a full socket is looked at again. Default 25 ms. */
  pollMs?: number;
  /**
   * For sources that cannot wait (the Docker event stream): read them continuously into a queue
   * of at most this many frames; when it is full, frames are dropped and the client is told
   * `{type:'dropped', count}` before the next frame it gets. Without it the pipe back-pressures.
   */
  dropAfter?: number;
}

export interface Pipe {
  /** Resolves when the pipe has finished: the source ended or failed, or it was stopped (client gone). */
  done: Promise<'end' | 'error' | 'stopped'>;
  /** The client went away: stop and release the source (its iterator's return()). */
  stop(): void;
  /** Frames waiting in the drop queue, a dropped marker included (always 0 in back-pressure mode). */
  readonly queued: number;
  /** The largest the drop queue has been. */
  readonly maxQueued: number;
  /** Frames dropped so far. */
  readonly dropped: number;
}

const DEFAULT_HIGH_WATER = 256 * 1024;

/** The frame an error becomes: an AppError's code and message, anything else a plain "internal error". */
export function errorFrame(err: unknown): StreamFrame {
  const e = toAppError(err);
  return { type: 'error', code: e.code, msg: e.code === ErrorCode.Internal ? `internal error: ${describeError(err)}` : e.message };
}

/**
 * Sends every value of `source` as a JSON frame (`toFrame`), then `{type:'end'}` and a normal
 * close; a failure becomes `{type:'error'}` and close 1011. `stop()` (the client left) calls the
 * source iterator's return() at once, even while it waits for a value, so the source is released.
 */
export function pipeFrames<T>(source: AsyncIterable<T>, sink: FrameSink, toFrame: (value: T) => StreamFrame, opts: PipeOptions = {}): Pipe {
  const highWater = opts.highWaterBytes ?? DEFAULT_HIGH_WATER;
  const pollMs = opts.pollMs ?? 25;
  const it = source[Symbol.asyncIterator]();
  let stopped = false;
  let released = false;
  const wakers = new Set<() => void>();
  const release = (): void => {
    if (released) return;
    released = true;
    void Promise.resolve(it.return?.()).catch(() => {});
  };
  const wakeAll = (): void => {
    for (const w of wakers) w();
    wakers.clear();
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    release();
    wakeAll();
  };
  /** Waits until the socket has room (or the pipe stops). */
  const room = async (): Promise<void> => {
    while (!stopped && sink.bufferedAmount() >= highWater) {
      if (!sink.isOpen()) return stop();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          wakers.delete(wake);
          resolve();
        }, pollMs);
        const wake = (): void => {
          clearTimeout(t);
          resolve();
        };
        wakers.add(wake);
      });
    }
  };
  const send = (frame: StreamFrame): void => {
    if (stopped || !sink.isOpen()) return stop();
    sink.send(JSON.stringify(frame));
  };
  let outcome: 'end' | 'error' | 'stopped' = 'stopped';
  const finish = (frame: StreamFrame, code: number): void => {
    if (stopped) return;
    outcome = frame.type === 'end' ? 'end' : 'error';
    send(frame);
    stopped = true;
    released = true; // the source ended or failed by itself: nothing to release
    if (sink.isOpen()) sink.close(code, frame.type === 'end' ? 'end of stream' : 'stream failed');
  };

  const state = { queued: 0, maxQueued: 0, dropped: 0 };

  const backPressured = async (): Promise<void> => {
    for (;;) {
      await room();
      if (stopped) return;
      const r = await it.next();
      if (stopped) return;
      if (r.done) return finish({ type: 'end' }, WS_CLOSE.normal);
      send(toFrame(r.value));
    }
  };

  const dropping = async (max: number): Promise<void> => {
    // At most `max` frames wait, plus one {type:'dropped'} marker that stands where the lost
    // frames were (after the older frames still queued, before the newer ones).
    const queue: StreamFrame[] = [];
    let active: Promise<void> | null = null;
    let sourceDone: StreamFrame | null = null;
    /**
     * One sender at a time; a call while it runs returns the running one. A frame queued after
     * the sender saw an empty queue but before it finished is sent by a new sender (else the
     * last frame of a burst, e.g. a compose action's done, waited for a next frame forever).
     */
    const flush = (): Promise<void> => (active ??= sendQueued().finally(() => {
      active = null;
      if (queue.length > 0 && !stopped) void flush();
    }));
    const sendQueued = async (): Promise<void> => {
      while (!stopped && queue.length > 0) {
        await room();
        if (stopped) return;
        send(queue.shift() as StreamFrame);
        state.queued = queue.length;
      }
      if (sourceDone && !stopped) finish(sourceDone, sourceDone.type === 'end' ? WS_CLOSE.normal : WS_CLOSE.serverError);
    };
    try {
      for (;;) {
        const r = await it.next();
        if (stopped) return;
        if (r.done) break;
        if (queue.length < max) {
          queue.push(toFrame(r.value));
        } else {
          const last = queue.at(-1);
          if (last?.type === 'dropped') last.count++;
          else queue.push({ type: 'dropped', count: 1 });
          state.dropped++;
        }
        state.queued = queue.length;
        state.maxQueued = Math.max(state.maxQueued, queue.length);
        void flush();
      }
      sourceDone = { type: 'end' };
    } catch (err) {
      if (stopped) return;
      sourceDone = errorFrame(err);
    }
    // The running sender may have looked at sourceDone before it was set: run once more after it.
    while (active) await active;
    await flush();
  };

  const done = (async () => {
    try {
      await (opts.dropAfter === undefined ? backPressured() : dropping(opts.dropAfter));
    } catch (err) {
      if (!stopped) finish(errorFrame(err), WS_CLOSE.serverError);
    } finally {
      if (!released) release();
      stopped = true;
      wakeAll();
    }
    return outcome;
  })();

  return {
    done,
    stop,
    get queued() {
      return state.queued;
    },
    get maxQueued() {
      return state.maxQueued;
    },
    get dropped() {
      return state.dropped;
    },
  };
}

/** Stream routes ping their clients this often (deps.streamPingMs overrides it; tests pass shorter ones). */
export const DEFAULT_STREAM_PING_MS = 30_000;

export interface KeepAlive {
  /** The client answered a ping or sent a frame: it is alive. */
  heard(): void;
  stop(): void;
}

/**
 * Pings the client every `pingMs` (WebSocket ping control frames, which browsers and `ws`
 * clients answer by themselves). When a ping is still unanswered as the next one falls due
 * (no pong and no other frame from the client in between), `onDead` runs once: a client that
 * vanished without closing (laptop lid shut, network gone) is noticed within 2 × pingMs, instead
 * of holding its source (a followed log, a `docker compose logs` process) until a write fails.
 * Does nothing where the runtime cannot send pings (no `sink.ping`, e.g. Workers).
 */
export function keepAlive(sink: FrameSink, pingMs: number, onDead: () => void): KeepAlive {
  let answered = true;
  let stopped = false;
  const heard = (): void => {
    answered = true;
  };
  if (!sink.ping) return { heard, stop: () => {} };
  const ping = sink.ping.bind(sink);
  const offPong = sink.onPong?.(heard);
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    offPong?.();
  };
  const dead = (): void => {
    stop();
    onDead();
  };
  const timer = setInterval(() => {
    if (!sink.isOpen()) return stop();
    if (!answered) return dead();
    answered = false;
    try {
      ping();
    } catch {
      dead();
    }
  }, pingMs);
  return { heard, stop };
}

/**
 * Put before a WebSocket route: a plain GET (no `Upgrade: websocket`) gets a clear 426 instead
 * of falling through to "no route".
 */
export const requireUpgrade: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    c.header('Upgrade', 'websocket');
    throw new AppError(ErrorCode.BadRequest, `${c.req.path} is a WebSocket endpoint: open it with a WebSocket client (GET with Upgrade: websocket)`, null, { status: 426 });
  }
  await next();
};

/** Upgrades the request with the runtime's WebSocket support, or answers 501 where it has none. */
export function upgrade(c: Context<AppEnv>, events: WSEvents): Promise<Response> {
  const up = c.get('deps').upgradeWebSocket;
  if (!up) throw new AppError(ErrorCode.BadRequest, 'WebSockets are not available on this runtime', null, { status: 501 });
  return up(c, events);
}

/**
 * Upgrades and pipes the frames `open()` gives once the socket is open. `open()` runs after the
 * handshake: checks that must refuse the upgrade (bad input, unknown container) belong before
 * this call. A failure of `open()` reaches the client as an error frame.
 */
export function streamOver<T>(c: Context<AppEnv>, open: () => AsyncIterable<T> | Promise<AsyncIterable<T>>, toFrame: (value: T) => StreamFrame, opts: PipeOptions = {}): Promise<Response> {
  const { logger, streamPingMs } = c.get('deps');
  let pipe: Pipe | null = null;
  let alive: KeepAlive | null = null;
  let closed = false;
  const path = c.req.path;
  const gone = (): void => {
    closed = true;
    alive?.stop();
    pipe?.stop();
  };
  return upgrade(c, {
    onOpen: (_ev, ws) => {
      const sink = sinkOf(ws);
      alive = keepAlive(sink, streamPingMs ?? DEFAULT_STREAM_PING_MS, () => {
        logger.info({ component: 'ws', action: 'keepalive', path }, 'stream client stopped answering pings: closed');
        gone(); // releases the source at once (kills `docker compose logs`, destroys the log stream)
        if (sink.terminate) sink.terminate();
        else if (sink.isOpen()) sink.close(WS_CLOSE.goingAway, 'no answer to pings');
      });
      void (async () => {
        let source: AsyncIterable<T>;
        try {
          source = await open();
        } catch (err) {
          if (sink.isOpen()) {
            sink.send(JSON.stringify(errorFrame(err)));
            sink.close(WS_CLOSE.serverError, 'stream failed');
          }
          return;
        }
        pipe = pipeFrames(source, sink, toFrame, opts);
        if (closed) pipe.stop();
        await pipe.done;
        alive?.stop();
      })().catch((err: unknown) => logger.warn({ component: 'ws', action: 'stream', path, err: describeError(err) }, 'stream failed'));
    },
    // Stream routes take no input; any frame shows the client is there, and a JSON
    // {type:'ping'} (as the shell takes) is answered with {type:'pong'}.
    onMessage: (ev, ws) => {
      alive?.heard();
      if (typeof ev.data === 'string' && ev.data.length < 64 && ev.data.replace(/\s/g, '') === '{"type":"ping"}' && ws.readyState === 1) ws.send(JSON.stringify({ type: 'pong' }));
    },
    onClose: gone,
    onError: gone,
  });
}

/**
 * The values of `source` that pass `keep`. Unlike an async generator around a `for await`, an
 * early return() reaches the source at once, also while a next() waits for it.
 */
export function filtered<T>(source: AsyncIterable<T>, keep: (value: T) => boolean): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      return {
        async next() {
          for (;;) {
            const r = await it.next();
            if (r.done || keep(r.value)) return r;
          }
        },
        async return() {
          await it.return?.();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
