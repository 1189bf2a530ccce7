/**
 * Updates in the split deployment run on the host: the real Worker in workerd, a real agent
 * process (dist/cli.js) reached through a TCP proxy the test can cut, the real engine and the
 * bed's registry. The agent runs the core Updater itself, so an update finishes or rolls back
 * on the host when the link drops or the agent is killed, and the control plane's history
 * shows the outcome once the agent is back.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostUpdateHandlers } from '../../src/agent/agent-updates.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import type { HostUpdateOutcome } from '../../src/core/agent-link/host-updates.js';
import { silentLogger } from '../../src/core/ports.js';
import { bed } from '../helpers/bed.js';
import type { CliRun } from '../helpers/cli-process.js';
import { docker } from '../helpers/docker-cli.js';
import { startAgent, startLinkProxy, startWorker, stopAgent, until, workerApi, type EdgeWorker, type Envelope, type LinkProxy } from '../helpers/edge-worker.js';
import { BedScratch } from '../helpers/updater-bed.js';

interface Entry { id: string; name: string; result: string; error?: string; rolledBack?: boolean; logs?: string; newContainerId?: string; newImageId?: string; trigger: { kind: string } }

const dockerHost = bed().dockerHost;
const scratch = new BedScratch(dockerHost);
const PASSWORD = 'update test password 5e1a';
const dir = mkdtempSync(join(tmpdir(), 'wdu-'));
const HOST = `wdu-${process.pid}`;
const keyFile = join(dir, `${HOST}.key`);
/** The agent's own store: beside its key file. */
const dataDir = join(dir, `agent-${HOST}`);
/** Healthy only once the test creates /tmp/ok in it: holds an update in its health wait. */
const HOLD = ['HEALTHCHECK --interval=1s --timeout=2s --retries=1000 CMD test -f /tmp/ok'];

let worker: EdgeWorker;
let proxy: LinkProxy;
let token = '';
let agent: CliRun | null = null;

const api = <T = any>(path: string, init: RequestInit = {}) => workerApi<T>(worker, token, path, init, 120_000);
const history = async () => (await api<{ entries: Entry[] }>(`/api/updates/history?host=${HOST}&pageSize=100`)).body.data.entries;
const online = async () => (await api<{ hosts: Array<{ name: string; online: boolean }> }>('/api/hosts')).body.data.hosts.find((h) => h.name === HOST)?.online === true;
const launch = () => {
  agent = startAgent({ url: proxy.url, host: HOST, keyFile, dockerHost });
  return agent;
};

/** A running container on `<repo>:latest` = v1, with v2 pushed under the same tag. Returns v2's image ID too. */
async function withUpdate(prefix: string, v2: string[]) {
  const ref = `${scratch.repo(prefix)}:latest`;
  const name = scratch.name(prefix);
  await scratch.publish(ref, [], { keepTag: true });
  const id = await docker(dockerHost, ['run', '-d', '--name', name, '--network', 'none', ref]);
  const newImageId = await scratch.publish(ref, v2);
  return { ref, name, id, newImageId };
}

/** Containers whose name starts with `name`: "<id> <name> <state>". */
async function holders(name: string): Promise<string[]> {
  const all = (await docker(dockerHost, ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.State}}'])).split('\n');
  return all.filter((l) => l.split(' ')[1]?.startsWith(name));
}

/** The new container, once the engine shows it running in its health wait ("starting"). */
async function inHealthWait(name: string, newImageId: string): Promise<string> {
  return until(`a container of the new image in its health wait (${name})`, async () => {
    const ids = (await docker(dockerHost, ['ps', '-q', '--no-trunc', '--filter', `ancestor=${newImageId}`, '--filter', `name=${name}`, '--filter', 'health=starting'])).split('\n').filter(Boolean);
    return ids[0] ?? null;
  }, 60_000);
}

/** The outcomes the agent keeps until the control plane acknowledges them. */
const outcomeFiles = () => {
  try {
    return readdirSync(join(dataDir, 'updates', 'outcome'));
  } catch {
    return [];
  }
};

/** Starts an update through the Worker without awaiting it. */
const startUpdate = (name: string) => api<Entry>(`/api/containers/${name}/update?host=${HOST}`, { method: 'POST' });

describe('split deployment: updates run on the host', () => {
  beforeAll(async () => {
    worker = await startWorker({ persistDir: join(dir, 'state'), vars: { USER_NAME: 'admin', USER_PASSWORD: PASSWORD, WATCH_UPDATE_SETTLE_TIME: '2s' } });
    proxy = await startLinkProxy(() => worker.port);
    const res = await fetch(`${worker.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    token = ((await res.json()) as Envelope<{ token: string }>).data.token;
    const created = await api<{ joinToken: string }>('/api/hosts', { method: 'POST', body: JSON.stringify({ name: HOST }) });
    expect(created.status, created.body.msg).toBe(201);
    agent = startAgent({ url: proxy.url, host: HOST, keyFile, dockerHost, joinToken: created.body.data.joinToken });
    await until('the agent online', online, 60_000);
  });

  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await proxy?.close();
    await worker?.stop();
    await scratch.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('updates through Worker + agent: the new image runs under the name, the old container is gone', async () => {
    const { name, id, newImageId } = await withUpdate('ok', ['ENV MODE=v2']);
    const res = await startUpdate(name);
    expect(res.status, res.body.msg).toBe(200);
    expect(res.body.data).toMatchObject({ result: 'updated', name, newImageId });
    expect(await docker(dockerHost, ['inspect', '--format', '{{.Image}} {{.State.Running}}', name])).toBe(`${newImageId} true`);
    expect(await holders(name)).toEqual([`${res.body.data.newContainerId} ${name} running`]);
    expect(await docker(dockerHost, ['inspect', id]).catch(() => 'gone')).toBe('gone');
    const entry = (await history()).find((e) => e.id === res.body.data.id);
    expect(entry).toMatchObject({ result: 'updated', trigger: { kind: 'api' }, newImageId });
  });

  it('rolls back on the host when the new image\'s process exits at once: old container back, last log lines in the history', async () => {
    const { name, id } = await withUpdate('exits', ['CMD ["sh", "-c", "echo wd-first-line; echo wd-fatal-config-missing >&2; exit 3"]']);
    const res = await startUpdate(name);
    expect(res.status).toBe(500);
    expect(res.body.code).toBe(50002);
    expect(res.body.msg).toMatch(/exit code 3/);
    expect(res.body.msg).toContain('wd-fatal-config-missing');
    expect(res.body.data).toMatchObject({ result: 'failed', rolledBack: true, logs: expect.stringContaining('wd-first-line') });
    expect(await holders(name)).toEqual([`${id} ${name} running`]);
    const entry = (await history()).find((e) => e.id === res.body.data.id);
    expect(entry).toMatchObject({ result: 'failed', rolledBack: true, logs: expect.stringContaining('wd-fatal-config-missing') });
  });

  it('the agent killed in the health wait: on restart it rolls back on the host, and the history shows it after reconnect', async () => {
    const { name, id, newImageId } = await withUpdate('kill', HOLD);
    const pending = startUpdate(name);
    await inHealthWait(name, newImageId);
    const killed = agent!;
    killed.child.kill('SIGKILL');
    await killed.exited;
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.body.code).toBe(50005);
    expect(res.body.data).toMatchObject({ result: 'interrupted', name });
    expect(res.body.msg).toMatch(new RegExp(`link to host ${HOST} was lost while its agent was updating .*rolls it back on the host`));
    const updateId = res.body.data.id;
    // Offline: the history says so honestly.
    expect((await history()).find((e) => e.id === updateId)).toMatchObject({ result: 'interrupted' });
    // The journal is on the host's disk, 0600.
    const journals = readdirSync(join(dataDir, 'journal'));
    expect(journals).toEqual([id]);
    expect(statSync(join(dataDir, 'journal', id)).mode & 0o777).toBe(0o600);

    launch();
    const entry = await until('the outcome in the history', async () => (await history()).find((e) => e.id === updateId && e.result !== 'interrupted'), 60_000);
    expect(entry).toMatchObject({ result: 'failed', rolledBack: true, trigger: { kind: 'api' } });
    expect(entry.error).toMatch(/agent stopped while updating .* at its restart it put the old container back/);
    expect(await holders(name)).toEqual([`${id} ${name} running`]);
    expect(await docker(dockerHost, ['ps', '-aq', '--filter', `ancestor=${newImageId}`])).toBe('');
    expect(readdirSync(join(dataDir, 'journal'))).toEqual([]);
    // Reported once: taken and acknowledged, one entry of that id.
    expect((await history()).filter((e) => e.id === updateId)).toHaveLength(1);
  });

  it('the link drops mid-update but the agent lives: the update finishes on the host, and the control plane shows "updated" after reconnect', async () => {
    await until('the agent online', online, 60_000);
    const { name, id, newImageId } = await withUpdate('drop', HOLD);
    const pending = startUpdate(name);
    const fresh = await inHealthWait(name, newImageId);
    proxy.pause();
    proxy.drop();
    try {
      const res = await pending;
      expect(res.status).toBe(503);
      expect(res.body.data).toMatchObject({ result: 'interrupted', name });
      const updateId = res.body.data.id;
      // The health check passes now, with no link: the agent completes the update on its own.
      await docker(dockerHost, ['exec', fresh, 'touch', '/tmp/ok']);
      await until('the old container removed on the host', async () => (await holders(name)).join(',') === `${fresh} ${name} running`, 60_000);
      expect(await docker(dockerHost, ['inspect', id]).catch(() => 'gone')).toBe('gone');
      expect((await history()).find((e) => e.id === updateId)).toMatchObject({ result: 'interrupted' });
      expect(outcomeFiles()).toEqual([updateId]);
      proxy.resume();
      // Taken by the host's Durable Object when the agent says hello (no history read yet), then acknowledged.
      await until('the outcome acknowledged after reconnect', async () => outcomeFiles().length === 0, 60_000);
      // The object also marked the new container up to date in the host's scan report, as the history routes would.
      const listed = (await api<{ containers: { id: string; status: string }[] }>(`/api/containers?all=true&host=${HOST}`)).body.data.containers;
      expect(listed.find((c) => c.id === fresh)).toMatchObject({ status: 'UpToDate' });
      const entry = (await history()).find((e) => e.id === updateId);
      expect(entry).toMatchObject({ result: 'updated', newContainerId: fresh, newImageId, trigger: { kind: 'api' } });
      expect(entry?.error).toBeUndefined();
    } finally {
      proxy.resume();
    }
  });
});

describe('the agent\'s update operations on the real engine', () => {
  const local = new BedScratch(dockerHost);
  const store = mkdtempSync(join(tmpdir(), 'wdu-agent-'));
  afterAll(async () => {
    await local.cleanup();
    rmSync(store, { recursive: true, force: true });
  });

  it('runs the same update id once: a concurrent retry joins it, a later one gets the stored outcome', async () => {
    const ref = `${local.repo('idem')}:latest`;
    const name = local.name('idem');
    await local.publish(ref, [], { keepTag: true });
    await docker(dockerHost, ['run', '-d', '--name', name, '--network', 'none', ref]);
    const newImageId = await local.publish(ref, ['ENV V=2']);
    const { calls } = await hostUpdateHandlers({ docker: new DockerodePort(dockerHost), dataDir: store, logger: silentLogger });
    const args = [name, { settleMs: 1000, pollMs: 200 }, 'idem-1'];
    const [a, b] = (await Promise.all([calls.updateContainer!(args), calls.updateContainer!(args)])) as HostUpdateOutcome[];
    const c = (await calls.updateContainer!(args)) as HostUpdateOutcome;
    expect(a).toMatchObject({ ok: true, result: { outcome: 'updated', newImageId } });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const made = (await docker(dockerHost, ['ps', '-aq', '--no-trunc', '--filter', `ancestor=${newImageId}`])).split('\n').filter(Boolean);
    expect(made).toEqual([a?.result?.containerId]);
    expect(statSync(join(store, 'updates', 'outcome', 'idem-1')).mode & 0o777).toBe(0o600);
    expect(await calls.updateOutcomes!([])).toEqual([a]);
    expect(await calls.updateAck!([['idem-1']])).toBe(1);
    expect(await calls.updateOutcomes!([])).toEqual([]);
  });
});
