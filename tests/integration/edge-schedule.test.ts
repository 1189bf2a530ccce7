/**
 * Schedules and webhooks of the split deployment, end to end: the real Worker in workerd
 * (wrangler dev --local; /cdn-cgi/handler/scheduled runs its Cron Trigger at a chosen time),
 * real agent processes on the bed's two engines, a real registry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmacHex } from '../../src/core/webhook/signature.js';
import { bed } from '../helpers/bed.js';
import type { CliRun } from '../helpers/cli-process.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { runScheduled, startAgent, startWorker, stopAgent, until, workerApi, type EdgeWorker, type Envelope } from '../helpers/edge-worker.js';
import { buildImage, pushImage } from '../helpers/images.js';

const b = bed();
const e26 = b.dockerHost;
const e20 = b.dockerHost20;
const run = `wdc-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const label = `wdc.run=${run}`;
const autoRef = `${b.regPlain}/wdc/${run}-auto:latest`;
const privRef = `${b.regBasic}/wdc/${run}-priv:latest`;
const hookRef = `${b.regPlain}/wdc/${run}-hook:latest`;
const PASSWORD = 'schedule test password 4c1a';
const SECRET = 'schedule-test-webhook-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'wdc-'));
// Host names: the test's own, so a shared persist dir could never mix them with others'.
const hA = 'wdc-a';
const hB = 'wdc-b';
const hOff = 'wdc-off';

interface Entry { name: string; result: string; trigger: { kind: string }; newImageId?: string; host?: string }
interface Job { id: string; status: string; results: Entry[]; hosts: { host: string; status: string; matched: { name: string }[]; results: Entry[] }[]; offlineHosts: string[] }

let worker: EdgeWorker;
let token = '';
const agents: CliRun[] = [];
const imageIds = new Set<string>();

const api = <T = any>(path: string, init: RequestInit = {}) => workerApi<T>(worker, token, path, init, 30_000);
const imageId = (host: string, ref: string) => docker(host, ['image', 'inspect', '--format', '{{.Id}}', ref]);
const containerImage = (host: string, name: string) => docker(host, ['inspect', '--format', '{{.Image}}', name]);
/** The Worker's log records (console.log JSON lines in wrangler's output). */
const logs = () => worker.output().split('\n').map((l) => l.slice(l.indexOf('{'))).filter((l) => l.startsWith('{"level"')).map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string });
const logged = (host: string, text: string) => logs().filter((r) => r.host === host && r.msg.includes(text)).length;

async function enrol(name: string, dockerHost: string, env: Record<string, string> = {}): Promise<CliRun> {
  const created = await api<{ joinToken: string }>('/api/hosts', { method: 'POST', body: JSON.stringify({ name }) });
  expect(created.status, created.body.msg).toBe(201);
  const a = startAgent({ url: worker.url, host: name, keyFile: join(dir, `${name}.key`), joinToken: created.body.data.joinToken, dockerHost, env });
  agents.push(a);
  await until(`${name} online`, async () => (await api<{ hosts: { name: string; online: boolean }[] }>('/api/hosts')).body.data.hosts.find((h) => h.name === name)?.online);
  return a;
}

async function signedWebhook(query: string, payload: unknown): Promise<{ status: number; body: Envelope<{ jobId: string; matched: string[]; hosts: { host: string; matched: string[] }[] }> }> {
  const body = JSON.stringify(payload);
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${worker.url}/api/v1/webhooks/update${query}`, {
    method: 'POST', body,
    headers: { 'content-type': 'application/json', 'x-webhook-timestamp': ts, 'x-signature-256': `sha256=${await hmacHex(SECRET, `${ts}.${body}`)}` },
  });
  return { status: res.status, body: (await res.json()) as never };
}

const finishedJob = (id: string) => until(`webhook job ${id} done`, async () => {
  const job = (await api<Job>(`/api/v1/webhooks/jobs/${id}`)).body.data;
  return job.status === 'done' ? job : null;
}, 90_000);

describe('split deployment: Cron Trigger schedules and webhooks reach the hosts', () => {
  let agentA: CliRun;
  const minute = Math.floor(Date.now() / 60_000) * 60_000;

  beforeAll(async () => {
    const net = ['--network', 'none', '--label', label];
    for (const ref of [autoRef, privRef, hookRef]) {
      imageIds.add(await buildImage(e26, ref));
      await pushImage(e26, ref);
    }
    await docker(e26, ['run', '-d', ...net, '--name', `${run}-auto`, autoRef]);
    await docker(e26, ['run', '-d', ...net, '--name', `${run}-priv`, privRef]);
    await docker(e26, ['run', '-d', ...net, '--name', `${run}-hook`, hookRef]);
    // The other engine gets the image from the registry, as a host would.
    await docker(e20, ['pull', '-q', hookRef]);
    await docker(e20, ['run', '-d', ...net, '--name', `${run}-hook`, hookRef]);
    // A newer image under the auto-updated container's tag.
    imageIds.add(await buildImage(e26, autoRef));
    await pushImage(e26, autoRef);
    worker = await startWorker({
      persistDir: join(dir, 'state'), withoutAssets: true, workerLogs: true,
      vars: {
        USER_NAME: 'admin', USER_PASSWORD: PASSWORD, WATCH_POLICY_ONLY_LABELS: label, WATCH_WEBHOOK_SECRET: SECRET,
        WATCH_SCAN_INTERVAL: '5m', WATCH_UPDATE_ENABLED: 'true', WATCH_UPDATE_AUTO_UPDATE_CRON: '* * * * *', WATCH_UPDATE_TIMEZONE: 'UTC', WATCH_UPDATE_SETTLE_TIME: '3s',
      },
    });
    const res = await fetch(`${worker.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    token = ((await res.json()) as Envelope<{ token: string }>).data.token;
    // Only host A's agent knows the password of the basic-auth registry; the Worker does not.
    agentA = await enrol(hA, e26, { WATCH_REGISTRY_AUTH_0_HOST: b.regBasic, WATCH_REGISTRY_AUTH_0_USERNAME: b.regBasicUser, WATCH_REGISTRY_AUTH_0_PASSWORD: b.regBasicPass });
    await enrol(hB, e20);
    expect((await api('/api/hosts', { method: 'POST', body: JSON.stringify({ name: hOff }) })).status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    if (agentA?.child.exitCode === null) agentA.child.kill('SIGCONT');
    await Promise.all(agents.map(stopAgent));
    await worker?.stop();
    for (const host of [e26, e20]) {
      const ids = await docker(host, ['ps', '-aq', '--filter', `label=${label}`]).catch(() => '');
      for (const id of ids.split('\n').filter(Boolean)) await dockerQuiet(host, ['rm', '-f', id]);
      for (const ref of [autoRef, privRef, hookRef]) {
        const id = await imageId(host, ref).catch(() => '');
        if (id) imageIds.add(id);
      }
      // By ID: an image whose tag moved on stays behind under its registry digest.
      for (const id of imageIds) await dockerQuiet(host, ['rmi', '-f', id]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a tick scans each online host through its agent and skips the offline one', async () => {
    const ticked = await runScheduled(worker, minute);
    expect(ticked.status, ticked.text).toBe(200);
    await until('both scans finished', async () => logged(hA, 'scheduled scan finished') > 0 && logged(hB, 'scheduled scan finished') > 0);
    expect(logged(hOff, `host ${hOff} is offline: scheduled scan and auto-update skipped`)).toBe(1);
    const views = (await api<{ containers: { name: string; status: string; error?: string }[] }>(`/api/containers?host=${hA}`)).body.data.containers;
    const status = (n: string) => views.find((v) => v.name === `${run}-${n}`);
    expect(status('auto')?.status).toBe('UpdateAvailable');
    // The basic-auth registry answered with the agent's credentials: the check ran on the host.
    expect(status('priv')).toMatchObject({ status: 'UpToDate' });
    expect(status('hook')?.status).toBe('UpToDate');
    // Auto-update waits for the cron's next time after the host's first tick: nothing updated yet.
    expect((await api<{ entries: Entry[] }>(`/api/updates/history?host=${hA}`)).body.data.entries).toEqual([]);
  });

  it('the next tick auto-updates the container whose image was pushed anew; a tick while that run goes on skips the host', async () => {
    const oldId = await containerImage(e26, `${run}-auto`);
    const started = logged(hA, 'scheduled auto-update started');
    // Hold host A's run in the middle: its agent stops answering until SIGCONT.
    const second = runScheduled(worker, minute + 60_000);
    await until('the auto-update of A started', async () => logged(hA, 'scheduled auto-update started') > started);
    agentA.child.kill('SIGSTOP');
    try {
      const third = await runScheduled(worker, minute + 120_000);
      expect(third.status, third.text).toBe(200);
      await until('the overlapping tick skipped A', async () => logged(hA, 'is still going; this run is skipped'));
      // Host B's runs are its own: they went on.
      expect(logged(hB, 'is still going')).toBe(0);
    } finally {
      agentA.child.kill('SIGCONT');
    }
    expect((await second).status).toBe(200);
    const entries = await until('the scheduled update in the history', async () => {
      const e = (await api<{ entries: Entry[] }>(`/api/updates/history?host=${hA}`)).body.data.entries;
      return e.length > 0 ? e : null;
    }, 60_000);
    expect(entries).toEqual([expect.objectContaining({ name: `${run}-auto`, result: 'updated', trigger: { kind: 'schedule' } })]);
    const newId = await imageId(e26, autoRef);
    expect(newId).not.toBe(oldId);
    expect(await containerImage(e26, `${run}-auto`)).toBe(newId);
    // The run's lease was given back: the next tick runs host A again.
    const again = logged(hA, 'scheduled auto-update finished');
    expect((await runScheduled(worker, minute + 180_000)).status).toBe(200);
    await until('A runs at the next tick', async () => logged(hA, 'scheduled auto-update finished') > again);
  });

  it('a webhook with ?host= updates that host only; without it, every online host with a match', async () => {
    const oldA = await containerImage(e26, `${run}-hook`);
    const oldB = await containerImage(e20, `${run}-hook`);
    imageIds.add(await buildImage(e26, hookRef));
    await pushImage(e26, hookRef);

    const one = await signedWebhook(`?host=${hA}`, { images: [hookRef] });
    expect(one.status, one.body.msg).toBe(202);
    expect(one.body.data.hosts).toEqual([{ host: hA, jobId: expect.any(String), matched: [`${run}-hook`] }]);
    const jobA = await finishedJob(one.body.data.jobId);
    expect(jobA.results).toEqual([expect.objectContaining({ host: hA, name: `${run}-hook`, result: 'updated', trigger: { kind: 'webhook', by: 'hmac' } })]);
    expect(await containerImage(e26, `${run}-hook`)).not.toBe(oldA);
    expect(await containerImage(e20, `${run}-hook`)).toBe(oldB);

    // The registry's own notification of the push, fanned out.
    const pushed = { action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: `wdc/${run}-hook`, tag: 'latest' }, request: { host: b.regPlain } };
    const all = await signedWebhook('', { events: [pushed] });
    expect(all.status, all.body.msg).toBe(202);
    expect(all.body.data.hosts.map((h) => h.host).sort()).toEqual([hA, hB]);
    const job = await finishedJob(all.body.data.jobId);
    expect(job.offlineHosts).toEqual([hOff]);
    const byHost = Object.fromEntries(job.hosts.map((h) => [h.host, h.results.map((r) => `${r.name}:${r.result}`)]));
    expect(byHost).toEqual({ [hA]: [`${run}-hook:unchanged`], [hB]: [`${run}-hook:updated`] });
    // Host B pulled the new image from the registry and runs it.
    const newB = await containerImage(e20, `${run}-hook`);
    expect(newB).not.toBe(oldB);
    expect(await imageId(e20, hookRef)).toBe(newB);

    // A named host that is offline or unknown answers at once.
    const off = await signedWebhook(`?host=${hOff}`, { images: [hookRef] });
    expect(off).toMatchObject({ status: 503, body: { code: 50005 } });
    const unknown = await signedWebhook('?host=wdc-nobody', { images: [hookRef], containers: [] });
    expect(unknown.status).toBe(404);
  });
});
