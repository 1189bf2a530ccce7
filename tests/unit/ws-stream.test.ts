import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/core/channel.js';
import { pipeFrames, type FrameSink, type StreamFrame } from '../../src/handlers/ws-stream.js';

/** A socket whose unsent bytes only go down when the test says the client read them. */
class FakeSink implements FrameSink {
  sent: string[] = [];
  buffered = 0;
  open = true;
  closed: { code?: number; reason?: string } | null = null;
  send(text: string): void {
    if (!this.open) throw new Error('send on a closed socket');
    this.sent.push(text);
    this.buffered += text.length;
  }
  close(code?: number, reason?: string): void {
    this.open = false;
    this.closed = { code, reason };
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  isOpen(): boolean {
    return this.open;
  }
  frames(): StreamFrame[] {
    return this.sent.map((s) => JSON.parse(s) as StreamFrame);
  }
}

const line = (text: string): StreamFrame => ({ type: 'line', text });
const tick = () => new Promise((r) => setTimeout(r, 5));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await tick();
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('pipeFrames, back-pressure', () => {
  it('pulls from the source only while the socket has room', async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield `line ${i}`;
      }
    }
    const sink = new FakeSink();
    const pipe = pipeFrames(source(), sink, line, { highWaterBytes: 200, pollMs: 2 });
    await until(() => sink.sent.length > 0 && pulled === sink.sent.length, 'a few frames');
    await tick();
    await tick();
    const stuck = pulled;
    expect(sink.buffered).toBeGreaterThanOrEqual(200);
    expect(stuck).toBeLessThan(20); // nothing more is read while the client reads nothing
    sink.buffered = 0; // the client read everything
    await until(() => pulled > stuck, 'more frames after the client read');
    pipe.stop();
    await pipe.done;
  });

  it('ends with an end frame and a normal close', async () => {
    const sink = new FakeSink();
    const pipe = pipeFrames((async function* () {
      yield 'a';
      yield 'b';
    })(), sink, line);
    await pipe.done;
    expect(sink.frames()).toEqual([line('a'), line('b'), { type: 'end' }]);
    expect(sink.closed?.code).toBe(1000);
  });

  it('a failing source becomes an error frame and close 1011', async () => {
    const sink = new FakeSink();
    const pipe = pipeFrames((async function* () {
      yield 'a';
      throw new Error('engine went away');
    })(), sink, line);
    await pipe.done;
    expect(sink.frames().at(-1)).toMatchObject({ type: 'error', code: 500, msg: expect.stringContaining('engine went away') });
    expect(sink.closed?.code).toBe(1011);
  });

  it('stop() releases a source that is waiting for data', async () => {
    let released = 0;
    const ch = new Channel<string>({ onClose: () => released++ });
    const sink = new FakeSink();
    const pipe = pipeFrames(ch, sink, line);
    ch.push('x');
    await until(() => sink.sent.length === 1, 'the first frame');
    pipe.stop(); // the client went away while the source has nothing to say
    await pipe.done;
    expect(released).toBe(1);
  });
});

describe('pipeFrames, dropping (sources that cannot wait)', () => {
  it('keeps at most dropAfter frames for a client that reads nothing, and reports the drops', async () => {
    const ch = new Channel<string>();
    const sink = new FakeSink();
    const pipe = pipeFrames(ch, sink, line, { dropAfter: 10, highWaterBytes: 100, pollMs: 2 });
    for (let i = 0; i < 5000; i++) {
      ch.push(`event ${i}`);
      if (i % 100 === 0) await tick();
    }
    await tick();
    expect(pipe.maxQueued).toBeLessThanOrEqual(11); // ten frames and the dropped marker
    expect(pipe.dropped).toBeGreaterThan(4000);
    const sentBefore = sink.sent.length;
    sink.buffered = -1e9; // from now on the client reads everything at once
    await until(() => pipe.queued === 0, 'the queue to drain');
    ch.push('last');
    ch.end();
    await pipe.done;
    const frames = sink.frames();
    const delivered = frames.filter((f) => f.type === 'line').length;
    const dropped = frames.filter((f) => f.type === 'dropped').reduce((n, f) => n + (f.type === 'dropped' ? f.count : 0), 0);
    expect(delivered + dropped).toBe(5001); // every event is either delivered or counted
    expect(frames.at(-1)).toEqual({ type: 'end' });
    expect(frames.at(-2)).toEqual(line('last'));
    expect(frames.some((f) => f.type === 'dropped')).toBe(true);
    expect(sentBefore).toBeLessThan(20);
  });

  it('puts the dropped marker where the lost frames were', async () => {
    const ch = new Channel<string>();
    const sink = new FakeSink();
    sink.buffered = 1e9; // the client reads nothing yet
    const pipe = pipeFrames(ch, sink, line, { dropAfter: 10, highWaterBytes: 100, pollMs: 2 });
    for (let i = 0; i < 15; i++) ch.push(`e${i}`);
    await until(() => pipe.dropped === 5, 'five drops');
    sink.buffered = -1e9;
    await until(() => pipe.queued === 0, 'the queue to drain');
    ch.push('e15');
    ch.end();
    await pipe.done;
    expect(sink.frames()).toEqual([...Array.from({ length: 10 }, (_, i) => line(`e${i}`)), { type: 'dropped', count: 5 }, line('e15'), { type: 'end' }]);
  });

  it('stop() releases the source', async () => {
    let released = 0;
    const ch = new Channel<string>({ onClose: () => released++ });
    const sink = new FakeSink();
    const pipe = pipeFrames(ch, sink, line, { dropAfter: 5 });
    pipe.stop();
    await pipe.done;
    expect(released).toBe(1);
  });
});
