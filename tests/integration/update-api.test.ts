import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { loadConfig } from '../../src/core/config/load.js';
import { createUpdateChecker } from '../../src/core/update-check.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { testApp } from '../helpers/test-app.js';

const host = bed().dockerHost;
const run = uniqueName('upd');
const selector = `wdt.upd=${run}`;
const env = { WATCH_POLICY_ONLY_LABELS: selector, WATCH_UPDATE_SETTLE_TIME: '1s', WATCH_SCAN_CONCURRENCY: '3' };
const repoA = `${bed().regPlain}/wdt/${run}-a`;
const repoB = `${bed().regPlain}/wdt/${run}-b`;
const names = { a: `${run}-a`, b1: `${run}-b1`, b2: `${run}-b2`, compose: `${run}-compose`, plain: `${run}-plain` };

interface Envelope<T> { code: number; msg: string; data: T }
interface Entry { id: string; result: string; name: string; oldDigest?: string; newDigest?: string; oldImageId?: string; newImageId?: string; newContainerId?: string; trigger: { kind: string }; durationMs: number; startedAt: string }

function app() {
  const config = loadConfig({ env, readSecretFile: () => '' });
  return testApp(new DockerodePort(host), { env, checker: createUpdateChecker(config).checker });
}

describe('update API on the real engine', () => {
  const t = app();
  const json = async <T>(res: Response) => ({ status: res.status, body: (await res.json()) as Envelope<T> });

  beforeAll(async () => {
    for (const repo of [repoA, repoB]) {
      await buildImage(host, `${repo}:latest`);
      await pushImage(host, `${repo}:latest`);
    }
    const runIt = (name: string, image: string, labels: string[] = []) =>
      docker(host, ['run', '-d', '--network', 'none', '--name', name, '--label', selector, ...labels.flatMap((l) => ['--label', l]), image]);
    await runIt(names.a, `${repoA}:latest`);
    await runIt(names.b1, `${repoB}:latest`);
    await runIt(names.b2, `${repoB}:latest`);
    await runIt(names.compose, `${repoB}:latest`, ['com.docker.compose.project=shop', 'com.docker.compose.service=web']);
    await docker(host, ['run', '-d', '--network', 'none', '--stop-timeout', '1', '--name', names.plain, '--label', selector, '--label', 'watchdocker.skip=true', `${repoA}:latest`]);
    // New images under both tags.
    for (const repo of [repoA, repoB]) {
      await buildImage(host, `${repo}:latest`);
      await pushImage(host, `${repo}:latest`);
    }
  });

  afterAll(async () => {
    const ids = await docker(host, ['ps', '-aq', '--filter', `label=${selector}`]).catch(() => '');
    for (const id of ids.split('\n').filter(Boolean)) await dockerQuiet(host, ['rm', '-f', id]);
    await dockerQuiet(host, ['rmi', '-f', `${repoA}:latest`, `${repoB}:latest`]);
  });

  it('50 simultaneous update requests for one container make exactly one update', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => t.request(`/api/containers/${names.a}/update`, { method: 'POST' }).then((r) => json<Entry & { jobId?: string }>(r))));
    const ok = answers.filter((a) => a.status === 200);
    const conflicts = answers.filter((a) => a.status === 409);
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(49);
    const entry = ok[0]?.body.data as Entry;
    expect(entry.result).toBe('updated');
    for (const c of conflicts) {
      expect(c.body.code).toBe(40900);
      expect(c.body.data.jobId).toBe(entry.id);
    }
    expect(entry.oldDigest).toMatch(/^sha256:/);
    expect(entry.newDigest).toMatch(/^sha256:/);
    expect(entry.newDigest).not.toBe(entry.oldDigest);
    // One container holds the name, on the new image, and it shows as up to date.
    const list = await json<{ containers: { name: string; id: string; status: string; imageId: string }[] }>(await t.request('/api/containers'));
    const now = list.body.data.containers.filter((c) => c.name === names.a);
    expect(now).toHaveLength(1);
    expect(now[0]).toMatchObject({ id: entry.newContainerId, imageId: entry.newImageId, status: 'UpToDate' });
    // The old container is gone (update.removeOldContainer defaults to true).
    expect(await docker(host, ['ps', '-aq', '--filter', `label=${selector}`, '--filter', `name=${names.a}-wd-old`])).toBe('');
  });

  it('POST /api/updates/run updates what has an update, one image at a time, and skips compose containers', async () => {
    const res = await json<{ results: Entry[]; skipped: { name: string; reason: string }[] }>(await t.request('/api/updates/run', { method: 'POST' }));
    expect(res.status).toBe(200);
    expect(res.body.data.results.map((r) => [r.name, r.result]).sort()).toEqual([[names.b1, 'updated'], [names.b2, 'updated']]);
    expect(res.body.data.skipped).toEqual([{ name: names.compose, reason: expect.stringContaining('managed by compose project shop') }]);
    // Containers of one image were updated one after another, not at once.
    const [first, second] = [...res.body.data.results].sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt));
    expect(Date.parse(second?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(first?.startedAt ?? '') + (first?.durationMs ?? 0));
    const history = await json<{ entries: Entry[]; total: number }>(await t.request('/api/updates/history?page=1&pageSize=2'));
    expect(history.body.data.total).toBe(3);
    expect(history.body.data.entries).toHaveLength(2);
    expect(history.body.data.entries.map((e) => e.name).sort()).toEqual([names.b1, names.b2]);
    const page2 = await json<{ entries: Entry[] }>(await t.request('/api/updates/history?page=2&pageSize=2'));
    expect(page2.body.data.entries.map((e) => e.name)).toEqual([names.a]);
    expect((await t.request('/api/updates/history?pageSize=500')).status).toBe(400);
  });

  it('stops, starts and deletes containers; ids and names are validated first', async () => {
    const stop = await json<{ state: string }>(await t.request(`/api/containers/${names.plain}/stop`, { method: 'POST' }));
    expect(stop.status).toBe(200);
    expect(await docker(host, ['inspect', '--format', '{{.State.Running}}', names.plain])).toBe('false');
    expect((await t.request(`/api/containers/${names.plain}/start`, { method: 'POST' })).status).toBe(200);
    expect(await docker(host, ['inspect', '--format', '{{.State.Running}}', names.plain])).toBe('true');
    const refused = await json<null>(await t.request(`/api/containers/${names.plain}`, { method: 'DELETE' }));
    expect(refused.status).toBe(409);
    expect(refused.body.msg).toContain('is running');
    expect((await t.request(`/api/containers/${names.plain}?force=true`, { method: 'DELETE' })).status).toBe(200);
    expect(await docker(host, ['ps', '-aq', '--filter', `name=^${names.plain}$`])).toBe('');
    for (const bad of ['..%2F..%2Fimages%2Fx', '%20x', '-rf']) {
      const res = await json<null>(await t.request(`/api/containers/${bad}/stop`, { method: 'POST' }));
      expect(res.status).toBe(400);
      expect(res.body.msg).toContain('invalid container id or name');
    }
    expect((await t.request(`/api/containers/${run}-nope/start`, { method: 'POST' })).status).toBe(404);
  });

  it('deletes images: refuses one in use unless forced, prunes dangling ones', async () => {
    const inUse = await json<null>(await t.request(`/api/images?ref=${encodeURIComponent(`${repoA}:latest`)}`, { method: 'DELETE' }));
    expect(inUse.status).toBe(409);
    expect(inUse.body.msg).toContain(names.a);
    expect((await t.request('/api/images', { method: 'DELETE' })).status).toBe(400);
    expect((await json<null>(await t.request('/api/images?id=zzz', { method: 'DELETE' }))).body.msg).toContain('query parameter "id"');
    const danglingId = await buildImage(host, `${run}-dangling:x`);
    await docker(host, ['rmi', '--no-prune', `${run}-dangling:x`]).catch(() => docker(host, ['tag', danglingId, `${run}-keep:x`]));
    const pruned = await json<{ removed: string[] }>(await t.request('/api/images?prune=dangling', { method: 'DELETE' }));
    expect(pruned.status).toBe(200);
    expect(await docker(host, ['image', 'ls', '-q', '--no-trunc']).then((o) => o.includes(danglingId))).toBe(false);
  });
});
