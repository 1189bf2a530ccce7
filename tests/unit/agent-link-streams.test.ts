/**
 * Live streams of the agent link with a slow reader: the agent's source is pulled only as far
 * as the credit granted, the Durable Object's relay holds a bounded batch, and a reader that
 * stops cancels the source on the agent. The two ends are the real LinkRequester and
 * LinkResponder wired through JSON text (the sockets are the only stand-in).
 */
import { describe, expect, it } from 'vitest';
import type { OpHandlers } from '../../src/core/agent-link/endpoint.js';
import { INITIAL_CREDIT, MAX_CREDIT, type StreamOp } from '../../src/core/agent-link/protocol.js';
import { RemoteDockerPort } from '../../src/core/agent-link/remote-docker.js';
import { StreamRelay } from '../../src/worker/stream-relay.js';
import { linkPair } from '../helpers/link-pair.js';

/** Frames arrive on the next turn of the event loop, so a slow reader really lags behind. */
const pair = (handlers: OpHandlers) => linkPair(handlers, { deliver: 'immediate' });

/** An endless source (a container printing as fast as it can) that counts what was pulled from it. */
function endless() {
  const state = { pulled: 0, released: false };
  const source: AsyncIterable<{ stream: 'stdout'; text: string }> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        state.pulled++;
        return { value: { stream: 'stdout' as const, text: `line ${state.pulled}` }, done: false };
      },
      async return() {
        state.released = true;
        return { value: undefined, done: true as const };
      },
    }),
  };
  return { state, source };
}

const settle = async (rounds = 50) => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

describe('agent link streams with a slow reader', () => {
  it('pulls from the agent\'s source only as far as the credit the reader gave', async () => {
    const { state, source } = endless();
    const { requester, dataFrames } = pair({ call: async () => null, stream: () => source });
    const port = new RemoteDockerPort({ call: (op, a, o) => requester.call(op, a, o), stream: (op: StreamOp, a, o) => requester.stream(op, a, o) });
    const it = port.streamLogs('web', { follow: true })[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ stream: 'stdout', text: 'line 1' });
    await settle();
    // Nothing more is read: the agent stopped at the credit granted, however long we wait.
    const stalled = state.pulled;
    expect(dataFrames.n).toBeLessThanOrEqual(INITIAL_CREDIT + INITIAL_CREDIT / 2);
    expect(stalled).toBeLessThanOrEqual(INITIAL_CREDIT + INITIAL_CREDIT / 2 + 1);
    await settle();
    expect(state.pulled).toBe(stalled);
    // Reading 100 lines moves the source on by about as many, in order.
    for (let i = 2; i <= 101; i++) expect((await it.next()).value).toEqual({ stream: 'stdout', text: `line ${i}` });
    await settle();
    expect(state.pulled).toBeGreaterThanOrEqual(101);
    expect(state.pulled).toBeLessThanOrEqual(101 + MAX_CREDIT);
    // The reader leaves: the source is released on the agent.
    await it.return?.();
    await settle();
    expect(state.released).toBe(true);
  });

  it('the Durable Object\'s relay holds at most its limit for a Worker that does not read, and cancels on request', async () => {
    const { state, source } = endless();
    const { requester, responder } = pair({ call: async () => null, stream: () => source });
    const finished: string[] = [];
    const relay = new StreamRelay(requester.stream('streamLogs', ['web', { follow: true }], { timeoutMs: 0 })[Symbol.asyncIterator](), () => finished.push('done'), 64, 60_000);
    await settle(200);
    expect(relay.size).toBe(64);
    // Relay (64) + items in flight under credit: bounded, whatever the source could give.
    expect(state.pulled).toBeLessThanOrEqual(64 + INITIAL_CREDIT * 2 + 1);
    const before = state.pulled;
    await settle(200);
    expect(state.pulled).toBe(before);
    const batch = await relay.next(10);
    expect(batch).toMatchObject({ ok: true, result: { done: false } });
    expect((batch as { result: { items: Array<{ text: string }> } }).result.items.map((i) => i.text)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 1}`));
    await relay.cancel();
    await settle();
    expect(state.released).toBe(true);
    expect(responder.running).toBe(0);
    expect(finished).toEqual(['done']);
  });

  it('a stream opened with more credit lets the agent run that far ahead, and no further', async () => {
    const { state, source } = endless();
    const { requester } = pair({ call: async () => null, stream: () => source });
    const it = requester.stream('streamLogs', ['web', { follow: true }], { timeoutMs: 0, credit: 128 })[Symbol.asyncIterator]();
    await it.next();
    await settle(400);
    expect(state.pulled).toBeGreaterThanOrEqual(128);
    expect(state.pulled).toBeLessThanOrEqual(128 + 64 + 1);
    await it.return?.();
  });

  it('a relay nobody reads within its lease is cancelled on the agent', async () => {
    const { state, source } = endless();
    const { requester, responder } = pair({ call: async () => null, stream: () => source });
    let gone = false;
    new StreamRelay(requester.stream('events', [], { timeoutMs: 0 })[Symbol.asyncIterator](), () => (gone = true), 8, 50);
    await new Promise((r) => setTimeout(r, 120));
    await settle();
    expect(gone).toBe(true);
    expect(state.released).toBe(true);
    expect(responder.running).toBe(0);
  });

  it('an error on the agent reaches the reader with its code', async () => {
    const { requester } = pair({
      call: async () => null,
      stream: () => ({
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            const { AppError, ErrorCode } = await import('../../src/core/errors.js');
            throw new AppError(ErrorCode.NotFound, 'no container ghost');
          },
        }),
      }),
    });
    const relay = new StreamRelay(requester.stream('streamLogs', ['ghost', {}], { timeoutMs: 0 })[Symbol.asyncIterator](), () => undefined);
    expect(await relay.next(10)).toMatchObject({ ok: false, code: 40400, msg: 'no container ghost' });
  });
});
