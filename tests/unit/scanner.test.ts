import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { formatImageRef, type ImageRef } from '../../src/core/image-ref.js';
import { REFS_KEY, type ImageChecker } from '../../src/core/scanner.js';
import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { testApp } from '../helpers/test-app.js';

const sha = (c: string) => `sha256:${c.repeat(64)}`;

function host() {
  const docker = new MemoryDocker();
  docker.addImage({ id: sha('1'), repoTags: ['r.io/a:latest'], repoDigests: [`r.io/a@${sha('a')}`] });
  docker.addImage({ id: sha('2'), repoTags: ['r.io/b:latest'], repoDigests: [`r.io/b@${sha('b')}`] });
  docker.addImage({ id: sha('3'), repoTags: ['local:dev'], repoDigests: [] });
  docker.addContainer({ id: 'a1', name: 'a1', image: 'r.io/a:latest', imageId: sha('1') });
  docker.addContainer({ id: 'a2', name: 'a2', image: 'r.io/a:latest', imageId: sha('1') });
  docker.addContainer({ id: 'b1', name: 'b1', image: 'r.io/b:latest', imageId: sha('2') });
  docker.addContainer({ id: 'l1', name: 'l1', image: 'local:dev', imageId: sha('3') });
  docker.addContainer({ id: 's1', name: 's1', image: 'r.io/b:latest', imageId: sha('2'), labels: { 'watchdocker.skip': 'true' } });
  return docker;
}

/** A checker recording its calls; r.io/a has an update, r.io/b fails as the registry says. */
function recordingChecker(delayMs = 5) {
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const checker: ImageChecker = {
    prepare: async (refs: ImageRef[]) => {
      calls.push(`prepare ${refs.map(formatImageRef).sort().join(',')}`);
    },
    check: async (ref) => {
      calls.push(`check ${formatImageRef(ref)}`);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, delayMs));
      inFlight--;
      if (ref.repository === 'b') throw new AppError(ErrorCode.RegistryError, 'rate limited by r.io, retry after 30 s', { kind: 'rate_limited' });
      return { status: 'UpdateAvailable', remoteDigest: sha('f') };
    },
  };
  return { checker, calls, maxInFlight: () => maxInFlight };
}

describe('scanner', () => {
  it('checks each distinct image once, applies policy, and reports errors as Error, never UpToDate', async () => {
    const { checker, calls } = recordingChecker();
    const { request } = testApp(host(), { checker });
    const res = await request('/api/scan', { method: 'POST' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { counts: Record<string, number>; containers: Record<string, unknown>[] } };
    expect(body.data.counts).toEqual({ UpToDate: 0, UpdateAvailable: 2, Skipped: 2, Error: 1 });
    expect(calls).toEqual(['prepare r.io/a:latest,r.io/b:latest', 'check r.io/a:latest', 'check r.io/b:latest']);
    const by = Object.fromEntries(body.data.containers.map((c) => [c.name, c]));
    expect(by.a1).toMatchObject({ status: 'UpdateAvailable', skipped: false, currentDigest: sha('a'), remoteDigest: sha('f') });
    expect(by.a1?.lastCheckedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(by.b1).toMatchObject({ status: 'Error', errorKind: 'rate_limited', message: 'rate limited by r.io, retry after 30 s' });
    expect(by.b1).not.toHaveProperty('remoteDigest');
    expect(by.l1).toMatchObject({ status: 'Skipped', skipped: true, skipReason: 'local build (no RepoDigests)' });
    expect(by.s1).toMatchObject({ status: 'Skipped', skipReason: 'label watchdocker.skip=true' });
  });

  it('keeps results for GET /api/containers, and drops a result once the container runs another image', async () => {
    const docker = host();
    const { request } = testApp(docker, { checker: recordingChecker().checker });
    await request('/api/scan', { method: 'POST' });
    const get = async () => ((await (await request('/api/containers')).json()) as { data: { containers: { name: string; status: string }[] } }).data.containers;
    expect((await get()).find((c) => c.name === 'a1')?.status).toBe('UpdateAvailable');
    const a1 = docker.containers.get('a1');
    if (a1) a1.imageId = sha('2');
    expect((await get()).find((c) => c.name === 'a1')?.status).toBe('NotChecked');
  });

  it('keeps at most scan.concurrency checks in flight', async () => {
    const docker = new MemoryDocker();
    for (let i = 0; i < 12; i++) {
      docker.addImage({ id: sha(i.toString(16)), repoDigests: [`r.io/x${i}@${sha('a')}`] });
      docker.addContainer({ id: `c${i}`, name: `c${i}`, image: `r.io/x${i}:latest`, imageId: sha(i.toString(16)) });
    }
    const rec = recordingChecker(20);
    const { scanner } = testApp(docker, { checker: rec.checker, env: { WATCH_SCAN_CONCURRENCY: '3' } });
    const report = await scanner.scan();
    expect(report.counts.UpdateAvailable).toBe(12);
    expect(rec.maxInFlight()).toBe(3);
  });

  it('shares one running scan between concurrent callers', async () => {
    const rec = recordingChecker(20);
    const { scanner } = testApp(host(), { checker: rec.checker });
    const [a, b] = await Promise.all([scanner.scan(), scanner.scan()]);
    expect(a).toBe(b);
    expect(rec.calls.filter((c) => c.startsWith('check'))).toHaveLength(2);
  });

  it('starts the token warm-up from the container list, before the image inspects finish, with policy applied', async () => {
    const events: string[] = [];
    let release!: () => void;
    const inspectsMayFinish = new Promise<void>((r) => {
      release = r;
    });
    class SlowInspects extends MemoryDocker {
      override async inspectImage(idOrRef: string) {
        events.push('inspect start');
        // Held until prepare() starts (or 1 s, so a scanner that waits fails the test instead of hanging).
        await Promise.race([inspectsMayFinish, new Promise((r) => setTimeout(r, 1000))]);
        events.push('inspect end');
        return super.inspectImage(idOrRef);
      }
    }
    const docker = new SlowInspects();
    for (const [id, img] of host().images) docker.images.set(id, img);
    for (const [id, c] of host().containers) docker.containers.set(id, c);
    // A container the list shows by image ID (its tag moved): only an inspect names its reference.
    docker.addImage({ id: sha('4'), repoTags: [], repoDigests: [`r.io/c@${sha('c')}`] });
    docker.addContainer({ id: 'c1', name: 'c1', image: sha('4').slice(7, 19), imageId: sha('4') });
    const origInspect = docker.inspectContainer.bind(docker);
    docker.inspectContainer = async (id: string) => {
      const d = await origInspect(id);
      return d && id === 'c1' ? { ...d, image: 'r.io/c:latest' } : d;
    };
    const checker: ImageChecker = {
      prepare: async (refs) => {
        events.push(`prepare ${refs.map(formatImageRef).sort().join(',')}`);
        release();
      },
      check: async (ref) => {
        events.push(`check ${formatImageRef(ref)}`);
        return { status: 'UpToDate', remoteDigest: sha('f') };
      },
    };
    const { scanner } = testApp(docker, { checker });
    const report = await scanner.scan();
    expect(report.counts).toEqual({ UpToDate: 4, UpdateAvailable: 0, Skipped: 2, Error: 0 });
    // Skipped containers (label, local build) are not warmed; c1's reference, which only an
    // inspect reveals, is warmed when its own check starts, before that check.
    const prepares = events.filter((e) => e.startsWith('prepare'));
    expect(prepares).toEqual(['prepare r.io/a:latest,r.io/b:latest', 'prepare r.io/c:latest']);
    expect(events.indexOf('prepare r.io/a:latest,r.io/b:latest')).toBeLessThan(events.indexOf('inspect end'));
    expect(events.indexOf('prepare r.io/c:latest')).toBeGreaterThan(events.lastIndexOf('inspect end'));
    expect(events.indexOf('check r.io/c:latest')).toBeGreaterThan(events.indexOf('prepare r.io/c:latest'));
    expect(events.indexOf('check r.io/a:latest')).toBeGreaterThan(events.indexOf('prepare r.io/a:latest,r.io/b:latest'));
  });
});

describe('scanner after a restart', () => {
  it('warms the token for the references the last scan checked while the engine is still listing', async () => {
    const store = createStorage({ driver: memoryDriver() });
    const first = recordingChecker(0);
    await testApp(host(), { checker: first.checker, store }).scanner.scan();
    expect(await store.getItem(REFS_KEY)).toEqual(['r.io/a:latest', 'r.io/b:latest']);

    // A restarted server: same store, fresh scanner; the container list is held until a
    // prepare has started (or 1 s, so a scanner that waits for the list fails instead of hanging).
    const events: string[] = [];
    let release!: () => void;
    const prepared = new Promise<void>((r) => (release = r));
    class SlowList extends MemoryDocker {
      override async listContainers(q: { all: boolean }) {
        await Promise.race([prepared, new Promise((r) => setTimeout(r, 1000))]);
        events.push('list end');
        return super.listContainers(q);
      }
    }
    const docker = new SlowList();
    for (const [id, img] of host().images) docker.images.set(id, img);
    for (const [id, c] of host().containers) docker.containers.set(id, c);
    // A container on a reference the last scan did not check gets its own warm-up.
    docker.addImage({ id: sha('5'), repoTags: ['r.io/new:latest'], repoDigests: [`r.io/new@${sha('e')}`] });
    docker.addContainer({ id: 'n1', name: 'n1', image: 'r.io/new:latest', imageId: sha('5') });
    const checker: ImageChecker = {
      prepare: async (refs) => {
        events.push(`prepare ${refs.map(formatImageRef).sort().join(',')}`);
        release();
      },
      check: async () => ({ status: 'UpToDate', remoteDigest: sha('f') }),
    };
    const report = await testApp(docker, { checker, store }).scanner.scan();
    expect(report.counts.UpToDate).toBe(4);
    expect(events.filter((e) => e !== 'list end')).toEqual(['prepare r.io/a:latest,r.io/b:latest', 'prepare r.io/new:latest']);
    expect(events.indexOf('prepare r.io/a:latest,r.io/b:latest')).toBeLessThan(events.indexOf('list end'));
    expect(await store.getItem(REFS_KEY)).toEqual(['r.io/a:latest', 'r.io/b:latest', 'r.io/new:latest']);
  });
});

describe('scanner results after updates', () => {
  it('keeps every result when several updates finish at once', async () => {
    const { scanner } = testApp(host(), { checker: recordingChecker().checker });
    await scanner.scan();
    await Promise.all(['n1', 'n2', 'n3', 'n4'].map((id, i) => scanner.recordUpdated(id, sha(String(i + 5)), sha('e'))));
    const report = await scanner.last();
    expect(['n1', 'n2', 'n3', 'n4'].map((id) => report?.results[id]?.status)).toEqual(['UpToDate', 'UpToDate', 'UpToDate', 'UpToDate']);
  });
});
