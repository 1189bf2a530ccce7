import { describe, expect, it } from 'vitest';
import { LinkRequester, type OpHandlers } from '../../src/core/agent-link/endpoint.js';
import { authenticate, generateAgentKey, newHost, newNonce, signChallenge, type HostRecord } from '../../src/core/agent-link/enrolment.js';
import { type CallOp, type FrameOf, type Unsequenced } from '../../src/core/agent-link/protocol.js';
import { RemoteDockerPort } from '../../src/core/agent-link/remote-docker.js';
import { linkPair } from '../helpers/link-pair.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';

/** The real ends of the link, delivering on microtasks, with a Docker port on the requesting end. */
function pair(handlers: OpHandlers) {
  const { requester, responder, log } = linkPair(handlers);
  const transport = {
    call: (op: CallOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }) => requester.call(op, args, opts),
    stream: (op: 'pullImage', args: unknown[], opts: { timeoutMs: number }) => requester.stream(op, args, opts),
  };
  return { requester, responder, log, port: new RemoteDockerPort(transport, { callMs: 2000, pullMs: 5000, registryMs: 2000 }) };
}

describe('agent link requests', () => {
  it('carries calls, results and AppErrors with their codes and data', async () => {
    const calls: string[] = [];
    const { port } = pair({
      call: async (op, args) => {
        calls.push(`${op} ${JSON.stringify(args)}`);
        if (op === 'inspectContainer') return null;
        if (op === 'startContainer') throw new AppError(ErrorCode.NotFound, 'no such container: ghost', { engineStatus: 404 });
        if (op === 'listContainers') return [{ id: 'a', name: 'web' }];
        return undefined;
      },
      stream: () => (async function* () {})(),
    });
    expect(await port.listContainers({ all: true })).toEqual([{ id: 'a', name: 'web' }]);
    expect(await port.inspectContainer('ghost')).toBeNull();
    const err = await port.startContainer('ghost').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: ErrorCode.NotFound, message: 'no such container: ghost', data: { engineStatus: 404 }, status: 404 });
    await port.stopContainer('web', { timeoutSeconds: 3 });
    expect(calls).toEqual(['listContainers [{"all":true}]', 'inspectContainer ["ghost"]', 'startContainer ["ghost"]', 'stopContainer ["web",{"timeoutSeconds":3}]']);
  });

  it('refuses bad arguments on the agent before running anything', async () => {
    let ran = 0;
    const { requester } = pair({ call: async () => ++ran, stream: () => (async function* () {})() });
    const err = await requester.call('renameContainer', ['only-one'], { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.BadRequest });
    expect((err as Error).message).toMatch(/^renameContainer: bad arguments/);
    expect(ran).toBe(0);
  });

  it('runs a request with a known idempotency key once, answering the retry with the same result', async () => {
    let runs = 0;
    const { requester } = pair({ call: async () => ({ id: `c${++runs}`, warnings: [] }), stream: () => (async function* () {})() });
    const a = await requester.call('createContainer', ['web', {}], { timeoutMs: 2000, idempotencyKey: 'key-1' });
    const b = await requester.call('createContainer', ['web', {}], { timeoutMs: 2000, idempotencyKey: 'key-1' });
    const c = await requester.call('createContainer', ['web', {}], { timeoutMs: 2000, idempotencyKey: 'key-2' });
    expect(a).toEqual({ id: 'c1', warnings: [] });
    expect(b).toEqual(a);
    expect(c).toEqual({ id: 'c2', warnings: [] });
    expect(runs).toBe(2);
  });

  it('times out a call the agent never answers with HostOffline, and fails pending calls when the link closes', async () => {
    const { requester } = pair({ call: () => new Promise(() => undefined), stream: () => (async function* () {})() });
    const t = await requester.call('ping', [], { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(t).toMatchObject({ code: ErrorCode.HostOffline, data: { reason: 'timeout' } });
    const pending = requester.call('info', [], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 10));
    requester.closeAll('agent went away');
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.HostOffline, message: 'the link to the agent closed: agent went away' });
    expect(requester.pending).toBe(0);
  });
});

describe('agent link streams', () => {
  it('delivers every item in order and never runs ahead of the credit granted', async () => {
    let produced = 0;
    let maxAhead = 0;
    let consumed = 0;
    const { port } = pair({
      call: async () => null,
      stream: () => (async function* () {
        for (let i = 0; i < 100; i++) {
          produced++;
          maxAhead = Math.max(maxAhead, produced - consumed);
          yield { status: `step ${i}` };
        }
      })(),
    });
    const seen: string[] = [];
    for await (const ev of port.pullImage('busybox:latest')) {
      seen.push(ev.status ?? '');
      consumed++;
      // A slow consumer: the producer must wait for credit instead of filling a buffer.
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(seen).toHaveLength(100);
    expect(seen[99]).toBe('step 99');
    expect(maxAhead).toBeLessThanOrEqual(16 + 1);
  });

  it('cancels the producer (and releases it) when the consumer stops', async () => {
    let released = false;
    let produced = 0;
    const { port, responder, log } = pair({
      call: async () => null,
      stream: () => (async function* () {
        try {
          for (;;) {
            produced++;
            yield { status: 'x' };
          }
        } finally {
          released = true;
        }
      })(),
    });
    let n = 0;
    for await (const _ of port.pullImage('busybox:latest')) if (++n === 3) break;
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toBe(true);
    expect(responder.running).toBe(0);
    expect(log.some((f) => f.t === 'cancel')).toBe(true);
    expect(produced).toBeLessThan(40);
  });

  it('refuses to call a stream operation or to open a call operation', async () => {
    const { requester } = pair({ call: async () => 'ran', stream: () => (async function* () {})() });
    await expect(requester.call('streamLogs' as never, ['web', {}], { timeoutMs: 2000 })).rejects.toMatchObject({ code: ErrorCode.BadRequest, message: /is a stream/ });
    const it = requester.stream('listContainers' as never, [{ all: true }], { timeoutMs: 2000 })[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: ErrorCode.BadRequest, message: /is not a stream/ });
  });

  it('throws the agent\'s error at the consumer', async () => {
    const { port } = pair({
      call: async () => null,
      stream: () => (async function* () {
        yield { status: 'Pulling' };
        throw new AppError(ErrorCode.DockerError, 'pull failed: manifest unknown');
      })(),
    });
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const ev of port.pullImage('x:1')) seen.push(ev);
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    expect(err).toMatchObject({ code: ErrorCode.DockerError, message: 'pull failed: manifest unknown' });
  });

  it('refuses a responder that sends beyond its credit', () => {
    const sent: Unsequenced[] = [];
    const requester = new LinkRequester((f) => sent.push(f));
    const it = requester.stream('pullImage', ['x:1'], { timeoutMs: 1000 })[Symbol.asyncIterator]();
    void it;
    const open = sent[0] as Unsequenced<FrameOf<'open'>>;
    for (let i = 0; i < open.credit; i++) requester.handle({ t: 'data', seq: i + 1, id: open.id, item: i });
    expect(() => requester.handle({ t: 'data', seq: 99, id: open.id, item: 'more' })).toThrow(/beyond the credit/);
    void it.return?.();
  });
});

describe('enrolment and keys', () => {
  const auth = async (record: HostRecord | null, key: Awaited<ReturnType<typeof generateAgentKey>>, nonce: string, joinToken?: string, host = 'web-1') =>
    authenticate(record, { t: 'auth', seq: 1, host, agentVersion: '0.1.0', protocol: 1, publicKey: key.publicKey, signature: await signChallenge(key, host, nonce), ...(joinToken ? { joinToken } : {}) }, nonce, 1_000);

  it('enrols with a join token once, then accepts only the enrolled key signing a fresh challenge', async () => {
    const { record, joinToken } = await newHost('web-1', 0);
    expect(JSON.stringify(record)).not.toContain(joinToken);
    const key = await generateAgentKey();
    const first = await auth(record, key, newNonce(), joinToken);
    expect(first).toMatchObject({ ok: true, enrolled: true });
    const enrolled = (first as { record: HostRecord }).record;
    expect(enrolled.publicKey).toBe(key.publicKey);
    expect(enrolled.join?.used).toBe(true);
    expect(await auth(enrolled, key, newNonce())).toMatchObject({ ok: true, enrolled: false });
    // The token is used up: another key cannot enrol with it.
    const other = await generateAgentKey();
    expect(await auth(enrolled, other, newNonce(), joinToken)).toMatchObject({ ok: false, msg: /already used/ });
    expect(await auth(enrolled, other, newNonce())).toMatchObject({ ok: false, msg: /not the one enrolled/ });
  });

  it('refuses an expired token, a wrong token, an unknown host and a signature over another nonce', async () => {
    const { record, joinToken } = await newHost('web-1', 0, 500);
    const key = await generateAgentKey();
    expect(await auth(record, key, newNonce(), joinToken)).toMatchObject({ ok: false, msg: /expired/ });
    const fresh = await newHost('web-1', 0);
    expect(await auth(fresh.record, key, newNonce(), 'wdj_forged')).toMatchObject({ ok: false, msg: /not valid/ });
    expect(await auth(null, key, newNonce(), fresh.joinToken)).toMatchObject({ ok: false, msg: /not known/ });
    const frame: FrameOf<'auth'> = { t: 'auth', seq: 1, host: 'web-1', agentVersion: '1', protocol: 1, publicKey: key.publicKey, signature: await signChallenge(key, 'web-1', newNonce()), joinToken: fresh.joinToken };
    expect(await authenticate(fresh.record, frame, newNonce(), 1_000)).toMatchObject({ ok: false, msg: /signature/ });
  });
});
