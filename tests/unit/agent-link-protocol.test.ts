import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/core/agent-link/ops.js';
import { FrameError, MAX_CREDIT, OPS, PING_TEXT, SequenceCounter, SequenceGuard, parseFrame, type Frame } from '../../src/core/agent-link/protocol.js';

const req = (seq: number, op = 'listContainers', args: unknown[] = [{ all: true }]) => JSON.stringify({ t: 'req', seq, id: `r${seq}`, op, args });

describe('agent link frames', () => {
  it('accepts every well-formed frame kind', () => {
    const frames: Frame[] = [
      { t: 'challenge', seq: 1, nonce: 'abc_-', protocol: 1, server: '0.1.0' },
      { t: 'auth', seq: 1, host: 'web-1', agentVersion: '0.1.0', protocol: 1, publicKey: 'AAAA', signature: 'BBBB', joinToken: 'wdj_x' },
      { t: 'hello', seq: 2, host: 'web-1', enrolled: true },
      { t: 'refused', seq: 2, code: 401, msg: 'no' },
      { t: 'req', seq: 3, id: 'a1', op: 'inspectContainer', args: ['web'], idempotencyKey: 'k1' },
      { t: 'res', seq: 2, id: 'a1', result: { x: 1 } },
      { t: 'err', seq: 3, id: 'a1', code: 40400, msg: 'no such container', data: { engineStatus: 404 } },
      { t: 'open', seq: 4, id: 's1', op: 'pullImage', args: ['busybox:latest'], credit: 16 },
      { t: 'data', seq: 4, id: 's1', item: { status: 'Downloading' } },
      { t: 'end', seq: 5, id: 's1' },
      { t: 'cancel', seq: 5, id: 's1' },
      { t: 'credit', seq: 6, id: 's1', n: 8 },
      { t: 'ping' },
      { t: 'pong' },
    ];
    for (const f of frames) expect(parseFrame(JSON.stringify(f))).toEqual(f);
  });

  it('refuses an operation the protocol does not name (no Engine API pass-through)', () => {
    expect(() => parseFrame(req(1, 'exec'))).toThrow(FrameError);
    expect(() => parseFrame(req(1, 'POST /containers/create'))).toThrow(/op/);
    expect(() => parseFrame(JSON.stringify({ t: 'open', seq: 1, id: 'x', op: 'engineApi', args: [], credit: 1 }))).toThrow(/op/);
    expect(OPS).not.toContain('exec');
  });

  it('names what is wrong with a malformed frame', () => {
    expect(() => parseFrame('{nope')).toThrow('frame is not JSON');
    expect(() => parseFrame(JSON.stringify({ t: 'teleport', seq: 1 }))).toThrow(/invalid frame at "t"/);
    expect(() => parseFrame(JSON.stringify({ t: 'req', seq: 0, id: 'a', op: 'ping', args: [] }))).toThrow(/seq/);
    expect(() => parseFrame(JSON.stringify({ t: 'req', seq: 1, id: 'a b', op: 'ping', args: [] }))).toThrow(/id/);
    expect(() => parseFrame(JSON.stringify({ t: 'req', seq: 1, id: 'a', op: 'ping', args: [], extra: 1 }))).toThrow(/extra/);
    expect(() => parseFrame(JSON.stringify({ t: 'credit', seq: 1, id: 'a', n: MAX_CREDIT + 1 }))).toThrow(/n/);
    expect(() => parseFrame(JSON.stringify({ t: 'auth', seq: 1, host: 'Bad_Host', agentVersion: '1', protocol: 1, publicKey: 'A', signature: 'B' }))).toThrow(/host/);
    expect(() => parseFrame('x'.repeat(5 * 1024 * 1024))).toThrow(/too large/);
  });

  it('refuses replayed and reordered frames', () => {
    const guard = new SequenceGuard();
    guard.accept(parseFrame(req(1)));
    guard.accept(parseFrame(req(2)));
    expect(() => guard.accept(parseFrame(req(2)))).toThrow('frame 2 replayed (last was 2)');
    expect(() => guard.accept(parseFrame(req(1)))).toThrow(/replayed/);
    expect(() => guard.accept(parseFrame(req(4)))).toThrow('frame 4 out of order (expected 3)');
    guard.accept(parseFrame(req(3)));
    expect(guard.last).toBe(3);
    // Heartbeats carry no content and no number: they never move the sequence.
    guard.accept(parseFrame(PING_TEXT));
    expect(guard.last).toBe(3);
  });

  it('numbers outgoing frames from where a hibernated link left off', () => {
    const out = new SequenceCounter(41);
    expect(out.stamp({ t: 'end', id: 'a' })).toEqual({ t: 'end', id: 'a', seq: 42 });
    expect(out.stamp({ t: 'ping' })).toEqual({ t: 'ping' });
    expect(out.stamp({ t: 'cancel', id: 'a' })).toEqual({ t: 'cancel', id: 'a', seq: 43 });
  });

  it('validates the arguments of each operation', () => {
    expect(parseArgs('listContainers', [{ all: false }])).toEqual({ ok: true, args: [{ all: false }] });
    expect(parseArgs('stopContainer', ['web', { timeoutSeconds: 5 }]).ok).toBe(true);
    expect(parseArgs('stopContainer', ['web']).ok).toBe(true);
    const bad = parseArgs('renameContainer', ['web']);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.msg).toMatch(/^renameContainer: bad arguments/);
    expect(parseArgs('listContainers', [{ all: 'yes' }]).ok).toBe(false);
    expect(parseArgs('containerLogs', ['web', { tail: -1 }]).ok).toBe(false);
    expect(parseArgs('streamLogs', ['web', { tail: 10, follow: true }]).ok).toBe(true);
    expect(parseArgs('streamLogs', ['web', { follow: 'yes' }]).ok).toBe(false);
    expect(parseArgs('events', [{ types: ['container'] }]).ok).toBe(true);
    expect(parseArgs('events', []).ok).toBe(true);
    expect(parseArgs('events', [{ since: 0 }]).ok).toBe(false);
    expect(parseArgs('registryCheck', [{ registry: 'r', apiHost: 'r', repository: 'a', tag: 'b' }, { id: 'sha256:x', repoDigests: [], platform: { os: 'linux', architecture: 'amd64' } }]).ok).toBe(true);
  });
});
