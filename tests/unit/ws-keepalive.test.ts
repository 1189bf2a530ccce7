import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keepAlive, type FrameSink } from '../../src/handlers/ws-stream.js';

/** A socket that can ping; the test decides whether the client answers. */
class PingSink implements FrameSink {
  pings = 0;
  open = true;
  answers = true;
  sent: string[] = [];
  private pong: (() => void) | null = null;
  send(text: string): void {
    this.sent.push(text);
  }
  close(): void {
    this.open = false;
  }
  bufferedAmount(): number {
    return 0;
  }
  isOpen(): boolean {
    return this.open;
  }
  ping(): void {
    this.pings++;
    // A live client's pong comes back later, as over a network.
    if (this.answers) queueMicrotask(() => this.pong?.());
  }
  onPong(listener: () => void): () => void {
    this.pong = listener;
    return () => {
      this.pong = null;
    };
  }
  get listening(): boolean {
    return this.pong !== null;
  }
}

describe('keepAlive', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pings every interval and leaves a client that answers alone', async () => {
    const sink = new PingSink();
    const dead = vi.fn();
    const ka = keepAlive(sink, 30_000, dead);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(sink.pings).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.pings).toBe(1);
    await vi.advanceTimersByTimeAsync(10 * 30_000);
    expect(sink.pings).toBe(11);
    expect(dead).not.toHaveBeenCalled();
    ka.stop();
    expect(sink.listening).toBe(false);
    await vi.advanceTimersByTimeAsync(5 * 30_000);
    expect(sink.pings).toBe(11); // stopped: no more pings
  });

  it('declares a client dead once, when a ping is still unanswered as the next falls due', async () => {
    const sink = new PingSink();
    const dead = vi.fn();
    keepAlive(sink, 1_000, dead);
    await vi.advanceTimersByTimeAsync(3_000); // three answered pings
    expect(sink.pings).toBe(3);
    sink.answers = false; // the client vanished without closing
    await vi.advanceTimersByTimeAsync(1_000); // ping 4 goes out, unanswered
    expect(sink.pings).toBe(4);
    expect(dead).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000); // ping 5 would be due: the client is dead
    expect(dead).toHaveBeenCalledTimes(1);
    expect(sink.pings).toBe(4);
    expect(sink.listening).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(sink.pings).toBe(4);
  });

  it('counts any frame from the client as an answer', async () => {
    const sink = new PingSink();
    sink.answers = false;
    const dead = vi.fn();
    const ka = keepAlive(sink, 1_000, dead);
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      ka.heard(); // e.g. a {type:'ping'} text frame
    }
    expect(sink.pings).toBe(5);
    expect(dead).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('treats a ping that throws (socket already broken) as a dead client', async () => {
    const sink = new PingSink();
    sink.ping = () => {
      throw new Error('WebSocket is not open');
    };
    const dead = vi.fn();
    keepAlive(sink, 1_000, dead);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('stops by itself once the socket is closed, without calling a closed client dead', async () => {
    const sink = new PingSink();
    const dead = vi.fn();
    keepAlive(sink, 1_000, dead);
    await vi.advanceTimersByTimeAsync(1_000);
    sink.answers = false;
    sink.open = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sink.pings).toBe(1);
    expect(dead).not.toHaveBeenCalled();
    expect(sink.listening).toBe(false);
  });

  it('does nothing where the runtime cannot ping (no sink.ping)', async () => {
    const sink: FrameSink = { send: vi.fn(), close: vi.fn(), bufferedAmount: () => 0, isOpen: () => true };
    const dead = vi.fn();
    keepAlive(sink, 1_000, dead);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(dead).not.toHaveBeenCalled();
    expect(sink.send).not.toHaveBeenCalled();
    expect(sink.close).not.toHaveBeenCalled();
  });
});
