import { createStorage } from 'unstorage';
import { describe, expect, it } from 'vitest';
import { HostUpdateRunner, type HostUpdateOutcome } from '../../src/core/agent-link/host-updates.js';
import { parseArgs } from '../../src/core/agent-link/ops.js';
import { HostHistory, RemoteUpdater, entryFromOutcome, syncUpdateOutcomes } from '../../src/core/agent-link/remote-updater.js';
import type { LinkTransport } from '../../src/core/agent-link/remote-docker.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/ports.js';
import { UpdateHistory, type HistoryEntry } from '../../src/core/update-history.js';
import { Updater } from '../../src/core/updater/updater.js';
import { NEW_IMAGE, OLD_IMAGE, containerNames, fakeSetup, freeze } from '../helpers/updater-fixture.js';

/** A runner over the fixture's in-memory engine and store (as the agent builds it). */
async function runnerFor(setup: Awaited<ReturnType<typeof fakeSetup>>, updater: Pick<Updater, 'update' | 'reconcile'> = setup.updater) {
  const runner = new HostUpdateRunner({ updater, docker: setup.docker, store: setup.store, logger: silentLogger, clock: setup.clock });
  await runner.start();
  return runner;
}
const creates = (setup: Awaited<ReturnType<typeof fakeSetup>>) => setup.docker.calls.filter((c) => c.startsWith('createContainer')).length;

/** Lets an update run until the fixture's updater reaches `step`. */
async function reach(setup: Awaited<ReturnType<typeof fakeSetup>>, step: string) {
  for (let i = 0; i < 200 && setup.steps.at(-1)?.step !== step; i++) await new Promise((r) => setTimeout(r, 1));
  expect(setup.steps.at(-1)?.step).toBe(step);
}

describe('the agent\'s host-run updates', () => {
  it('runs an update once per id, stores its outcome before answering, and forgets it on ack', async () => {
    const setup = await fakeSetup();
    const runner = await runnerFor(setup);
    const first = await runner.update('web', { settleMs: 1000 }, 'u-1');
    expect(first).toMatchObject({ updateId: 'u-1', source: 'update', container: 'web', containerId: setup.id, ok: true, result: { outcome: 'updated', oldImageId: OLD_IMAGE, newImageId: NEW_IMAGE } });
    expect(await runner.outcomes()).toEqual([first]);
    // The same id again: the stored outcome, nothing run.
    expect(await runner.update('web', { settleMs: 1000 }, 'u-1')).toEqual(first);
    expect(creates(setup)).toBe(1);
    expect(await runner.ack(['u-1', 'u-unknown'])).toBe(1);
    expect(await runner.outcomes()).toEqual([]);
    expect(await setup.store.getKeys('updates')).toEqual([]);
  });

  it('joins a retried request to the running update of the same id', async () => {
    const setup = await fakeSetup();
    const runner = await runnerFor(setup);
    const [a, b] = await Promise.all([runner.update('web', { settleMs: 1000 }, 'u-2'), runner.update('web', { settleMs: 1000 }, 'u-2')]);
    expect(a).toEqual(b);
    expect(creates(setup)).toBe(1);
    expect(containerNames(setup.docker)).toEqual(['web']);
  });

  it('keeps a rolled-back update\'s error with its data; credentials are never stored', async () => {
    const setup = await fakeSetup({ behaviour: { exitCode: 3 } });
    const runner = await runnerFor(setup);
    const auth = { username: 'robot', password: 'pw-never-stored-7d1', serveraddress: 'reg.test' };
    const out = await runner.update('web', { settleMs: 1000, auth }, 'u-3');
    expect(out.ok).toBe(false);
    expect(out.error).toMatchObject({ code: ErrorCode.UpdateFailed, data: { step: 'health', rolledBack: true } });
    expect(out.error?.msg).toMatch(/exit code 3/);
    const stored = await Promise.all((await setup.store.getKeys('')).map((k) => setup.store.getItem(k)));
    expect(JSON.stringify(stored)).not.toContain('pw-never-stored-7d1');
  });

  it('refuses updates until interrupted ones are settled', async () => {
    const setup = await fakeSetup();
    const runner = new HostUpdateRunner({ updater: setup.updater, docker: setup.docker, store: setup.store, logger: silentLogger });
    await expect(runner.update('web', {}, 'u-4')).rejects.toMatchObject({ code: ErrorCode.Conflict });
  });

  /** An update frozen at `step` (as by a SIGKILL), then a new runner over the same store and engine. */
  async function restartedAfter(step: string) {
    const setup = await fakeSetup({ onStep: (s) => (s === step ? freeze() : undefined) });
    const runner = await runnerFor(setup);
    void runner.update('web', { settleMs: 1000 }, 'u-crash');
    await reach(setup, step);
    const again = new Updater({ docker: setup.docker, store: setup.store, logger: silentLogger, clock: setup.clock });
    const next = await runnerFor(setup, again);
    return { setup, outcomes: await next.outcomes() };
  }

  it('reports an update killed in its health wait under its id: rolled back at the restart', async () => {
    const { setup, outcomes } = await restartedAfter('health');
    expect(outcomes).toEqual([expect.objectContaining({ updateId: 'u-crash', source: 'reconcile', container: 'web', ok: false })]);
    expect(outcomes[0]?.error).toMatchObject({ code: ErrorCode.UpdateFailed, data: { step: 'health', rolledBack: true } });
    expect(outcomes[0]?.error?.msg).toMatch(/agent stopped while updating web \(at "health"\); at its restart it put the old container back/);
    expect(await setup.docker.inspectContainerRaw('web')).toMatchObject({ Id: setup.id, State: { Running: true } });
    expect(await setup.store.getKeys('updates:running')).toEqual([]);
  });

  it('reports an update killed after its health wait as updated (completed at the restart)', async () => {
    const { setup, outcomes } = await restartedAfter('cleanup');
    expect(outcomes).toEqual([expect.objectContaining({ updateId: 'u-crash', ok: true, result: expect.objectContaining({ outcome: 'updated', oldImageId: OLD_IMAGE, newImageId: NEW_IMAGE }) })]);
    expect(containerNames(setup.docker)).toEqual(['web']);
  });

  it('reports an update killed during its pull as failed with the container untouched', async () => {
    const { setup, outcomes } = await restartedAfter('pull');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ updateId: 'u-crash', ok: false, error: { data: { rolledBack: false } } });
    expect(outcomes[0]?.error?.msg).toMatch(/before it changed the container; it is as it was/);
    expect(await setup.docker.inspectContainerRaw('web')).toMatchObject({ Id: setup.id, Image: OLD_IMAGE });
  });
});

/** A link whose calls are answered by `answer` and recorded. */
function fakeLink(answer: (op: string, args: unknown[]) => unknown) {
  const calls: Array<{ op: string; args: unknown[]; opts: { timeoutMs: number; idempotencyKey?: string } }> = [];
  const link: LinkTransport = {
    call: async (op, args, opts) => {
      calls.push({ op, args, opts });
      return answer(op, args);
    },
    stream: () => (async function* () {})(),
  };
  return { link, calls };
}

const okOutcome = (updateId: string, extra: Partial<HostUpdateOutcome> = {}): HostUpdateOutcome => ({
  updateId, source: 'update', container: 'web', containerId: 'old-id', image: 'reg.test/app:latest', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:07.000Z', ok: true,
  result: { outcome: 'updated', name: 'web', containerId: 'new-id', oldContainerId: 'old-id', oldImageId: OLD_IMAGE, newImageId: NEW_IMAGE, warnings: [] },
  ...extra,
});

describe('the control plane\'s RemoteUpdater', () => {
  it('sends the whole update with its id as idempotency key, without callbacks; answers the result', async () => {
    const { link, calls } = fakeLink(() => okOutcome('job-1'));
    const result = await new RemoteUpdater(link, 'h1').update('web', { settleMs: 2000, removeOldContainer: true, updateId: 'job-1', onProgress: () => undefined });
    expect(result).toMatchObject({ outcome: 'updated', containerId: 'new-id' });
    expect(calls).toEqual([{ op: 'updateContainer', args: ['web', { settleMs: 2000, removeOldContainer: true }, 'job-1'], opts: expect.objectContaining({ idempotencyKey: 'job-1' }) }]);
    // What it sends passes the agent's strict schema.
    expect(parseArgs('updateContainer', calls[0]!.args).ok).toBe(true);
    expect(parseArgs('updateContainer', ['web', { settleMs: 1, exec: 'x' }, 'job-1'])).toMatchObject({ ok: false });
  });

  it('turns a failed outcome into its AppError, with the rollback data', async () => {
    const { link } = fakeLink(() => ({ ...okOutcome('j'), ok: false, result: undefined, error: { code: ErrorCode.UpdateFailed, msg: 'rolled back: exit code 3', data: { rolledBack: true, logs: 'boom' } } }));
    const err = await new RemoteUpdater(link, 'h1').update('web', { updateId: 'j' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: ErrorCode.UpdateFailed, message: 'rolled back: exit code 3', data: { rolledBack: true, logs: 'boom' } });
  });

  it('says honestly that the host finishes on its own when the link drops; an offline host is just offline', async () => {
    const dropped = fakeLink(() => {
      throw new AppError(ErrorCode.HostOffline, 'the link to the agent closed: closed (1006)', { reason: 'disconnected' });
    });
    const err = await new RemoteUpdater(dropped.link, 'h1').update('web', { updateId: 'j2' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.HostOffline, data: { interrupted: true, updateId: 'j2', host: 'h1', reason: 'disconnected' } });
    expect((err as Error).message).toMatch(/link to host h1 was lost while its agent was updating web .*finishes the update or rolls it back on the host.*replaced by the outcome/);
    const offline = fakeLink(() => {
      throw new AppError(ErrorCode.HostOffline, 'host h1 is offline', { reason: 'offline' });
    });
    const err2 = await new RemoteUpdater(offline.link, 'h1').update('web', { updateId: 'j3' }).catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: ErrorCode.HostOffline, message: 'host h1 is offline', data: { reason: 'offline' } });
  });
});

describe('taking reported outcomes into a host\'s history', () => {
  const entry = (id: string, result: HistoryEntry['result'], extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
    id, trigger: { kind: 'api' }, containerId: 'old-id', name: 'web', image: 'reg.test/app:latest', startedAt: '2026-01-01T00:00:01.000Z', durationMs: 5, result, ...extra,
  });

  it('replaces an interrupted entry in place, keeps a final one, adds an unknown one, then acks all', async () => {
    const history = new UpdateHistory(createStorage());
    await history.add(entry('a-1', 'interrupted', { error: 'the link was lost' }));
    await history.add(entry('a-2', 'updated', { newDigest: 'sha256:kept' }));
    const rolledBack = okOutcome('a-1', { ok: false, result: undefined, source: 'reconcile', error: { code: ErrorCode.UpdateFailed, msg: 'put the old container back', data: { rolledBack: true, logs: 'last lines' } } });
    const order: string[] = [];
    const { link, calls } = fakeLink((op) => {
      order.push(op);
      return op === 'updateOutcomes' ? [rolledBack, okOutcome('a-2'), okOutcome('rc-x')] : 3;
    });
    const updated: string[] = [];
    expect(await syncUpdateOutcomes({ link, history, logger: silentLogger, onUpdated: async (e) => void updated.push(e.id) })).toBe(2);
    const { entries, total } = await history.page(1, 10);
    expect(total).toBe(3);
    const byId = Object.fromEntries(entries.map((e) => [e.id, e]));
    expect(byId['a-1']).toEqual({ ...entry('a-1', 'failed'), durationMs: 6000, error: 'put the old container back', rolledBack: true, logs: 'last lines' });
    expect(byId['a-2']).toEqual(entry('a-2', 'updated', { newDigest: 'sha256:kept' }));
    expect(byId['rc-x']).toMatchObject({ trigger: { kind: 'agent' }, result: 'updated', newContainerId: 'new-id', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 7000 });
    expect(updated).toEqual(['rc-x']);
    expect(order).toEqual(['updateOutcomes', 'updateAck']);
    expect(calls[1]?.args).toEqual([['a-1', 'a-2', 'rc-x']]);
  });

  it('does not ack when writing fails, and a host history syncs before it is read', async () => {
    const failing = new UpdateHistory({ getItem: async () => null, getKeys: async () => [], removeItem: async () => undefined, setItem: async () => { throw new Error('kv down'); } });
    const { link, calls } = fakeLink((op) => (op === 'updateOutcomes' ? [okOutcome('b-1')] : 1));
    await expect(syncUpdateOutcomes({ link, history: failing, logger: silentLogger })).rejects.toThrow('kv down');
    expect(calls.map((c) => c.op)).toEqual(['updateOutcomes']);

    const store = createStorage();
    const synced: HostHistory = new HostHistory(store, () => syncUpdateOutcomes({ link, history: synced, logger: silentLogger }));
    expect((await synced.page(1, 10)).entries.map((e) => e.id)).toEqual(['b-1']);
    // Offline: the history is still shown.
    const offline = new HostHistory(store, async () => {
      throw new AppError(ErrorCode.HostOffline, 'offline');
    });
    expect((await offline.page(1, 10)).total).toBe(1);
  });

  it('an outcome without an entry becomes one with what the agent knows', () => {
    const e = entryFromOutcome(okOutcome('z', { ok: false, result: undefined, error: { code: 50002, msg: 'nope', data: null } }), null);
    expect(e).toEqual({ id: 'z', trigger: { kind: 'agent' }, containerId: 'old-id', name: 'web', image: 'reg.test/app:latest', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 7000, result: 'failed', error: 'nope' });
  });
});
