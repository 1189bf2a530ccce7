import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { loadConfig } from '../../src/core/config/load.js';
import { createUpdateChecker } from '../../src/core/update-check.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { startCli } from '../helpers/cli-process.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { testApp } from '../helpers/test-app.js';

interface View { name: string; status: string; skipped: boolean; skipReason?: string; remoteDigest?: string; currentDigest?: string; message?: string; errorKind?: string; lastCheckedAt?: string }

const host = bed().dockerHost;
const run = uniqueName('scan');
const selector = `wdt.scan=${run}`;
const repo = (reg: string, name: string) => `${reg}/wdt/${run}-${name}`;

async function digestOf(ref: string): Promise<string> {
  const digests = JSON.parse(await docker(host, ['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])) as string[];
  return (digests.find((d) => d.startsWith(ref.split(':').slice(0, -1).join(':'))) ?? '').split('@')[1] ?? '';
}

describe('scan against real registries', () => {
  const containers: string[] = [];
  const images: string[] = [];
  const refs = {
    fresh: `${repo(bed().regPlain, 'fresh')}:latest`,
    stale: `${repo(bed().regPlain, 'stale')}:latest`,
    basic: `${repo(bed().regBasic, 'basic')}:latest`,
    token: `${repo(bed().regToken, 'token')}:latest`,
    gone: `${repo(bed().regPlain, 'gone')}:latest`,
    pinned: `${repo(bed().regPlain, 'pinned')}:1.2.3`,
  };
  let staleNewDigest = '';
  const runContainer = async (name: string, image: string, labels: string[] = []) => {
    const n = `${run}-${name}`;
    containers.push(n);
    await docker(host, ['run', '-d', '--network', 'none', '--name', n, '--label', selector, ...labels.flatMap((l) => ['--label', l]), image]);
  };

  beforeAll(async () => {
    for (const ref of Object.values(refs)) {
      await buildImage(host, ref);
      await pushImage(host, ref);
      images.push(ref);
    }
    for (const name of Object.keys(refs) as (keyof typeof refs)[]) await runContainer(name, refs[name]);
    await runContainer('skipme', refs.fresh, ['watchdocker.skip=true']);
    // A new image under the same tag: the container still runs the old one.
    const oldStaleId = await docker(host, ['image', 'inspect', '--format', '{{.Id}}', refs.stale]);
    await buildImage(host, refs.stale);
    await pushImage(host, refs.stale);
    staleNewDigest = await digestOf(refs.stale);
    images.push(oldStaleId);
    // Delete the "gone" tag's manifest from the registry.
    const goneDigest = await digestOf(refs.gone);
    const del = await fetch(`http://${bed().regPlain}/v2/wdt/${run}-gone/manifests/${goneDigest}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
  });

  afterAll(async () => {
    for (const c of containers) await dockerQuiet(host, ['rm', '-f', c]);
    for (const i of images) await dockerQuiet(host, ['rmi', '-f', i]);
  });

  const scanWith = async (env: Record<string, string>) => {
    const config = loadConfig({ env: { WATCH_POLICY_ONLY_LABELS: selector, ...env }, readSecretFile: () => '' });
    const { checker } = createUpdateChecker(config);
    const { request } = testApp(new DockerodePort(host), { env: { WATCH_POLICY_ONLY_LABELS: selector, ...env }, checker });
    const res = await request('/api/scan', { method: 'POST' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { containers: View[]; counts: Record<string, number> } };
    const mine = body.data.containers.filter((c) => c.name.startsWith(run));
    const listed = ((await (await request('/api/containers')).json()) as { data: { containers: View[] } }).data.containers;
    // The engine is shared with other tests: count only this test's containers.
    const counts: Record<string, number> = {};
    for (const c of mine) counts[c.status] = (counts[c.status] ?? 0) + 1;
    return { by: Object.fromEntries(mine.map((c) => [c.name.slice(run.length + 1), c])), listed, counts };
  };

  it('finds every status with the exact digests and a message a user can act on', async () => {
    const { by, listed, counts } = await scanWith({ WATCH_REGISTRY_AUTH_0_HOST: bed().regBasic, WATCH_REGISTRY_AUTH_0_USERNAME: bed().regBasicUser, WATCH_REGISTRY_AUTH_0_PASSWORD: bed().regBasicPass });
    expect(by.fresh).toMatchObject({ status: 'UpToDate', skipped: false });
    expect(by.fresh?.remoteDigest).toBe(by.fresh?.currentDigest);
    expect(by.token).toMatchObject({ status: 'UpToDate' });
    expect(by.basic).toMatchObject({ status: 'UpToDate' });
    expect(by.stale).toMatchObject({ status: 'UpdateAvailable', remoteDigest: staleNewDigest });
    expect(by.stale?.currentDigest).not.toBe(staleNewDigest);
    expect(by.gone).toMatchObject({ status: 'Error', errorKind: 'not_found' });
    expect(by.gone?.message).toContain('not found');
    expect(by.pinned).toMatchObject({ status: 'Skipped', skipped: true, skipReason: 'pinned version tag 1.2.3' });
    expect(by.skipme).toMatchObject({ status: 'Skipped', skipReason: 'label watchdocker.skip=true' });
    expect(by.fresh?.lastCheckedAt).toBeTruthy();
    expect(counts).toEqual({ UpToDate: 3, UpdateAvailable: 1, Skipped: 2, Error: 1 });
    // GET /api/containers shows the same results afterwards.
    expect(listed.find((c) => c.name === `${run}-stale`)).toMatchObject({ status: 'UpdateAvailable', remoteDigest: staleNewDigest });
  });

  it('reports missing credentials as an Error, never as up to date', async () => {
    const { by } = await scanWith({});
    expect(by.basic).toMatchObject({ status: 'Error', errorKind: 'unauthorized' });
    expect(by.basic?.message).toContain(bed().regBasic);
    expect(JSON.stringify(by)).not.toContain(bed().regBasicPass);
  });

  it('watch-docker scan --once --json prints the result and exits 1 when a check failed', async () => {
    const env = { DOCKER_HOST: host, WATCH_STORE_DRIVER: 'memory', WATCH_POLICY_ONLY_LABELS: selector, HOME: mkdtempSync(join(tmpdir(), 'wdt-home-')) };
    const cli = startCli(['scan', '--once', '--json'], env);
    expect(await cli.exited).toBe(1);
    const out = JSON.parse(cli.stdout()) as { containers: View[]; counts: Record<string, number> };
    const mine = out.containers.filter((c) => c.name.startsWith(run));
    expect(mine.filter((c) => c.status === 'Error').map((c) => c.name).sort()).toEqual([`${run}-basic`, `${run}-gone`]);
    expect(out.counts.Error).toBe(2);
    expect(out.containers.find((c) => c.name === `${run}-stale`)?.status).toBe('UpdateAvailable');

    // Only the healthy ones: exit 0, and a table for people.
    const ok = startCli(['scan', '--once'], { ...env, WATCH_POLICY_EXCLUDE_LABELS: '', WATCH_POLICY_SKIP_LABELS: 'watchdocker.skip=true' });
    await ok.exited;
    expect(ok.stdout()).toMatch(/NAME\s+STATUS\s+IMAGE\s+DETAIL/);
    expect(ok.stdout()).toContain(`${run}-stale`);
    await docker(host, ['rm', '-f', `${run}-gone`, `${run}-basic`]);
    const clean = startCli(['scan', '--once'], env);
    expect(await clean.exited).toBe(0);
    expect(clean.stdout()).toMatch(/\d+ containers: 2 up to date, 1 with updates, \d+ skipped, 0 failed/);
  });
});
