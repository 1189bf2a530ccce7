import { LinkRequester, LinkResponder, type OpHandlers } from '../../src/core/agent-link/endpoint.js';
import { SequenceCounter, SequenceGuard, parseFrame, type Frame, type Unsequenced } from '../../src/core/agent-link/protocol.js';

/**
 * The two real ends of the agent link (LinkRequester on the control plane's side, LinkResponder
 * on the agent's) wired through JSON text, with the sequence checks both real ends make: the
 * socket is the only stand-in. `deliver` picks when a frame arrives: on a microtask (calls) or
 * on the next turn of the event loop (`immediate`, so a slow reader really lags behind).
 */
export function linkPair(handlers: OpHandlers, opts: { deliver?: 'microtask' | 'immediate' } = {}) {
  const log: Frame[] = [];
  const dataFrames = { n: 0 };
  const defer = opts.deliver === 'immediate' ? (fn: () => void) => void setImmediate(fn) : queueMicrotask;
  let requester!: LinkRequester;
  let responder!: LinkResponder;
  const toAgent = { out: new SequenceCounter(), in: new SequenceGuard() };
  const toServer = { out: new SequenceCounter(), in: new SequenceGuard() };
  const deliver = (dir: typeof toAgent, frame: Unsequenced, to: (f: Frame) => void) => {
    const text = JSON.stringify(dir.out.stamp(frame));
    defer(() => {
      const f = parseFrame(text);
      dir.in.accept(f);
      log.push(f);
      if (f.t === 'data') dataFrames.n++;
      to(f);
    });
  };
  requester = new LinkRequester((f) => deliver(toAgent, f, (x) => responder.handle(x)));
  responder = new LinkResponder((f) => deliver(toServer, f, (x) => requester.handle(x)), handlers);
  return { requester, responder, log, dataFrames };
}
