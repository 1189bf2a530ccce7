import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { parseImageRef } from '../../src/core/image-ref.js';
import { RegistryClient } from '../../src/core/registry/client.js';
import { createUpdateChecker, UpdateChecker, type LocalImage } from '../../src/core/update-check.js';
import { digestOf, fakeImage, fakeIndex, fakeTime, FakeRegistry } from '../helpers/registry-fake.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const TTL = 300_000;

function setup(opts: { omitDigestHeader?: boolean } = {}) {
  const time = fakeTime();
  const fake = new FakeRegistry({ host: 'reg.test', now: time.clock.now, ...opts });
  const client = new RegistryClient({ fetch: fake.fetch, sleep: time.sleep, clock: time.clock, random: () => 0.5 });
  const checker = new UpdateChecker({ client, cacheTtlMs: TTL, clock: time.clock });
  const ref = parseImageRef('reg.test/o/app:1');
  const gets = () => fake.count('GET', '/manifests/');
  const heads = () => fake.count('HEAD', '/manifests/');
  return { time, fake, client, checker, ref, gets, heads };
}

/** An index with amd64 (config A) and arm64 (config B) children, tagged o/app:1. */
function pushMulti(fake: FakeRegistry, configAmd = digestOf('a'), configArm = digestOf('b'), mediaType?: string) {
  const amdChild = fake.put('o/app', undefined, fakeImage(configAmd));
  const armChild = fake.put('o/app', undefined, fakeImage(configArm));
  const index = fake.put('o/app', '1', fakeIndex([{ digest: amdChild, platform: amd64 }, { digest: armChild, platform: arm64 }, { digest: digestOf('9'), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }], mediaType));
  return { amdChild, armChild, index };
}

const local = (id: string, repoDigests: string[] = [], platform = amd64): LocalImage => ({ id, repoDigests, platform });

describe('exact update check', () => {
  it('is UpToDate from RepoDigests membership with one HEAD and no manifest GET', async () => {
    const { fake, checker, ref, gets, heads } = setup();
    const { index } = pushMulti(fake);
    const r = await checker.check(ref, local(digestOf('0'), [`reg.test/other@${digestOf('7')}`, `reg.test/o/app@${digestOf('8')}`, `reg.test/o/app@${index}`]));
    expect(r).toEqual({ status: 'UpToDate', remoteDigest: index, checkedAt: '2023-11-14T22:13:20.000Z' });
    expect([heads(), gets()]).toEqual([1, 0]);
  });

  it("is UpToDate when the image ID is the tag's digest (Docker's containerd image store)", async () => {
    const { fake, checker, ref, gets } = setup();
    const { index } = pushMulti(fake);
    expect((await checker.check(ref, local(index))).status).toBe('UpToDate');
    expect(gets()).toBe(0);
  });

  it('does not take a digest of another repository as a match', async () => {
    const { fake, checker, ref } = setup();
    const { index } = pushMulti(fake);
    const r = await checker.check(ref, local(digestOf('0'), [`reg.test/o/other@${index}`]));
    expect(r.status).toBe('UpdateAvailable');
  });

  it.each([
    ['OCI index', 'application/vnd.oci.image.index.v1+json'],
    ['Docker manifest list', 'application/vnd.docker.distribution.manifest.list.v2+json'],
  ])('%s: only another platform rebuilt → UpToDate, via the platform child config digest', async (_name, mediaType) => {
    const { fake, checker, ref, gets } = setup();
    const first = pushMulti(fake, digestOf('a'), digestOf('b'), mediaType);
    const image = local(digestOf('a'), [`reg.test/o/app@${first.index}`]);
    const second = pushMulti(fake, digestOf('a'), digestOf('c'), mediaType); // arm64 rebuilt
    expect(second.index).not.toBe(first.index);
    const r = await checker.check(ref, image);
    expect(r).toMatchObject({ status: 'UpToDate', remoteDigest: second.index, platformDigest: first.amdChild });
    expect(gets()).toBe(2); // the index and the amd64 child
  });

  it('our platform rebuilt → UpdateAvailable', async () => {
    const { fake, checker, ref } = setup();
    const first = pushMulti(fake, digestOf('a'), digestOf('b'));
    const second = pushMulti(fake, digestOf('d'), digestOf('b'));
    const r = await checker.check(ref, local(digestOf('a'), [`reg.test/o/app@${first.index}`]));
    expect(r).toMatchObject({ status: 'UpdateAvailable', remoteDigest: second.index, platformDigest: second.amdChild });
  });

  it('chooses the arm64 child for an arm64 image', async () => {
    const { fake, checker, ref } = setup();
    const { armChild } = pushMulti(fake);
    const r = await checker.check(ref, local(digestOf('b'), [], { os: 'linux', architecture: 'arm64' }));
    expect(r).toMatchObject({ status: 'UpToDate', platformDigest: armChild });
  });

  it('a single-platform tag: compares the config digest with the image ID', async () => {
    const { fake, checker, ref } = setup();
    const d = fake.put('o/app', '1', fakeImage(digestOf('a')));
    expect(await checker.check(ref, local(digestOf('a')))).toMatchObject({ status: 'UpToDate', remoteDigest: d });
    checker.clear();
    expect(await checker.check(ref, local(digestOf('e')))).toMatchObject({ status: 'UpdateAvailable', remoteDigest: d });
  });

  it('no entry for the platform → a not_found RegistryError saying what the index offers', async () => {
    const { fake, checker, ref } = setup();
    pushMulti(fake);
    const err = await checker.check(ref, local(digestOf('a'), [], { os: 'linux', architecture: 's390x' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: ErrorCode.RegistryError, data: { kind: 'not_found' }, message: 'reg.test/o/app:1 has no image for linux/s390x (it offers linux/amd64, linux/arm64/v8)' });
  });

  it('a deleted tag is not_found, never UpToDate', async () => {
    const { fake, checker, ref } = setup();
    const d = fake.put('o/app', '1', fakeImage(digestOf('a')));
    fake.untag('o/app', '1');
    await expect(checker.check(ref, local(digestOf('a'), [`reg.test/o/app@${d}`]))).rejects.toMatchObject({ kind: 'not_found', message: 'tag 1 not found in reg.test/o/app' });
  });

  it('caches manifests by digest forever, the tag for cacheTTL', async () => {
    const { fake, checker, ref, gets, heads, time } = setup();
    pushMulti(fake);
    const image = local(digestOf('a'));
    await checker.check(ref, image);
    expect([heads(), gets()]).toEqual([1, 2]);
    await checker.check(ref, image); // within TTL: nothing sent
    expect([heads(), gets()]).toEqual([1, 2]);
    time.advance(TTL);
    const again = await checker.check(ref, image); // TTL over: HEAD again, manifests from the cache
    expect([heads(), gets()]).toEqual([2, 2]);
    expect(again.checkedAt).toBe(new Date(time.clock.now()).toISOString());
    checker.forget(ref);
    await checker.check(ref, image);
    expect([heads(), gets()]).toEqual([3, 2]);
  });

  it('the cached tag answer is judged against the current local image', async () => {
    const { fake, checker, ref } = setup();
    const d = fake.put('o/app', '1', fakeImage(digestOf('a')));
    expect((await checker.check(ref, local(digestOf('old')))).status).toBe('UpdateAvailable');
    expect((await checker.check(ref, local(digestOf('a'), [`reg.test/o/app@${d}`]))).status).toBe('UpToDate');
  });

  it('concurrent checks of one reference share one HEAD and one GET of each manifest', async () => {
    const { fake, checker, ref, gets, heads } = setup();
    pushMulti(fake);
    const results = await Promise.all(Array.from({ length: 6 }, () => checker.check(ref, local(digestOf('a')))));
    expect(new Set(results.map((r) => r.status))).toEqual(new Set(['UpToDate']));
    expect([heads(), gets()]).toEqual([1, 2]);
  });

  it('failures are not cached', async () => {
    const { fake, checker, ref, heads } = setup();
    await expect(checker.check(ref, local(digestOf('a')))).rejects.toMatchObject({ kind: 'not_found' });
    fake.put('o/app', '1', fakeImage(digestOf('a')));
    expect((await checker.check(ref, local(digestOf('a')))).status).toBe('UpToDate');
    expect(heads()).toBe(2);
  });

  it('reuses the body it fetched when a registry omits Docker-Content-Digest', async () => {
    const { fake, checker, ref, gets } = setup({ omitDigestHeader: true });
    fake.put('o/app', '1', fakeImage(digestOf('a')));
    expect((await checker.check(ref, local(digestOf('a')))).status).toBe('UpToDate');
    expect(gets()).toBe(1);
  });

  it('prepare() warms tokens only for references not answered from the cache', async () => {
    const time = fakeTime();
    const fake = new FakeRegistry({ host: 'reg.test', auth: 'bearer', now: time.clock.now });
    fake.put('o/app', '1', fakeImage(digestOf('a')));
    const client = new RegistryClient({ fetch: fake.fetch, sleep: time.sleep, clock: time.clock });
    const checker = new UpdateChecker({ client, cacheTtlMs: TTL, clock: time.clock });
    const ref = parseImageRef('reg.test/o/app:1');
    await checker.check(ref, local(digestOf('a')));
    time.advance(100_000); // the token (60 s) has expired, the tag answer (5 min) has not
    await checker.prepare([ref]);
    expect(client.stats.token).toBe(1);
    await checker.prepare([ref, parseImageRef('reg.test/o/other:1')]);
    expect(client.stats.token).toBe(2);
    expect(fake.requests.at(-1)?.url.searchParams.getAll('scope')).toEqual(['repository:o/other:pull']);
  });

  it('createUpdateChecker wires config: registry.auth before Docker logins, insecure, cacheTTL', async () => {
    const time = fakeTime();
    const fake = new FakeRegistry({ host: 'reg.lan:5000', auth: 'basic', user: 'cfg', pass: 'p' });
    fake.put('o/app', '1', fakeImage(digestOf('a')));
    const { checker, client } = createUpdateChecker(
      { registry: { auth: [{ host: 'reg.lan:5000', username: 'cfg', password: 'p' }], insecure: ['reg.lan:5000'] }, derived: { cacheTtlMs: 60_000, settleMs: 5000, listen: { host: '', port: 0 } as never, scanIntervalMs: 1 } },
      { dockerAuths: [{ host: 'reg.lan:5000', username: 'docker', password: 'x' }], fetch: fake.fetch, clock: time.clock, sleep: time.sleep },
    );
    expect((await checker.check(parseImageRef('reg.lan:5000/o/app:1'), local(digestOf('a')))).status).toBe('UpToDate');
    expect(fake.requests[0]?.url.protocol).toBe('http:');
    expect(client.stats.head).toBe(2);
  });
});
