import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../src/core/image-ref.js';
import { RegistryClient } from '../../src/core/registry/client.js';
import { UpdateChecker, type LocalImage } from '../../src/core/update-check.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { RegistryPusher, type Pushed, type PushedImage } from '../helpers/registry-push.js';

/**
 * The exact update check end to end: real images built FROM the bed's busybox and pushed by
 * Docker, multi-platform tags assembled by hand (a Docker manifest list and an OCI index with
 * an attestation entry), checked against the real registries.
 */

const b = bed();
const host = b.dockerHost;
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const TTL = 60_000;

async function localImage(ref: string): Promise<LocalImage> {
  const info = JSON.parse(await docker(host, ['image', 'inspect', '--format', '{{json .}}', ref])) as { Id: string; RepoDigests: string[] | null; Os: string; Architecture: string; Variant?: string };
  return { id: info.Id, repoDigests: info.RepoDigests ?? [], platform: { os: info.Os, architecture: info.Architecture, ...(info.Variant ? { variant: info.Variant } : {}) } };
}

function fresh(ttl = TTL) {
  const client = new RegistryClient({ timeoutMs: 5_000 });
  return { client, checker: new UpdateChecker({ client, cacheTtlMs: ttl }) };
}

describe('update check with images built and pushed by Docker (no auth registry)', () => {
  const path = `wdt/${uniqueName('uc')}`;
  const repo = `${b.regPlain}/${path}`;
  const pusher = new RegistryPusher(b.regPlain);
  const images: string[] = [];
  let v1: LocalImage;
  let amdChild1: Pushed;
  let armChild: PushedImage;

  beforeAll(async () => {
    images.push(await buildImage(host, `${repo}:app`, { salt: `${path}-1` }));
    await docker(host, ['tag', `${repo}:app`, `${repo}:amd64-1`]);
    await pushImage(host, `${repo}:app`);
    await pushImage(host, `${repo}:amd64-1`);
    v1 = await localImage(`${repo}:app`);
    amdChild1 = await pusher.describe(path, 'amd64-1');
    armChild = await pusher.image(path, { platform: arm64, salt: `${path}-arm-1`, format: 'docker' });
  });

  afterAll(async () => {
    await dockerQuiet(host, ['rmi', '-f', `${repo}:app`, `${repo}:amd64-1`, `${repo}:amd64-2`, `${repo}:multi`, ...images]);
  });

  it('nothing changed: UpToDate from one HEAD, no manifest GET; a second check within cacheTTL sends nothing', async () => {
    const { client, checker } = fresh();
    const ref = parseImageRef(`${repo}:app`);
    const r = await checker.check(ref, v1);
    expect(r).toMatchObject({ status: 'UpToDate', remoteDigest: amdChild1.digest });
    expect(client.stats).toMatchObject({ head: 1, get: 0, token: 0 });
    const again = await checker.check(ref, v1);
    expect(again).toEqual(r);
    expect(client.stats).toMatchObject({ head: 1, get: 0 });
  });

  it('a Docker manifest list with two platforms: our child named in RepoDigests → UpToDate without reading it', async () => {
    const list = await pusher.index(path, 'multi', [{ ...amdChild1, platform: amd64 }, { ...armChild, platform: arm64 }], 'docker');
    const { client, checker } = fresh();
    const r = await checker.check(parseImageRef(`${repo}:multi`), v1);
    expect(r).toMatchObject({ status: 'UpToDate', remoteDigest: list.digest, platformDigest: amdChild1.digest });
    expect(client.stats).toMatchObject({ head: 1, get: 1 });
  });

  it('after docker pull of the list, RepoDigests holds the list digest (membership, not [0])', async () => {
    const list = await pusher.describe(path, 'multi');
    await docker(host, ['pull', '-q', `${repo}:multi`], { env: { DOCKER_CONFIG: b.dockerConfig } });
    const pulled = await localImage(`${repo}:multi`);
    expect(pulled.id).toBe(v1.id);
    expect(pulled.repoDigests).toContain(`${repo}@${list.digest}`);
    const { client, checker } = fresh();
    expect((await checker.check(parseImageRef(`${repo}:multi`), pulled)).status).toBe('UpToDate');
    expect(client.stats).toMatchObject({ head: 1, get: 0 });
  });

  it('only the other platform rebuilt → UpToDate (config digest of our child = image ID)', async () => {
    const arm2 = await pusher.image(path, { platform: arm64, salt: `${path}-arm-2`, format: 'docker' });
    const list2 = await pusher.index(path, 'multi', [{ ...amdChild1, platform: amd64 }, { ...arm2, platform: arm64 }], 'docker');
    const pulled = await localImage(`${repo}:multi`);
    const { checker } = fresh();
    const r = await checker.check(parseImageRef(`${repo}:multi`), pulled);
    expect(r).toMatchObject({ status: 'UpToDate', remoteDigest: list2.digest, platformDigest: amdChild1.digest });
    expect(pulled.repoDigests).not.toContain(`${repo}@${list2.digest}`);
  });

  it('our platform rebuilt → UpdateAvailable', async () => {
    images.push(await buildImage(host, `${repo}:amd64-2`, { salt: `${path}-2` }));
    await pushImage(host, `${repo}:amd64-2`);
    const amdChild2 = await pusher.describe(path, 'amd64-2');
    const list3 = await pusher.index(path, 'multi', [{ ...amdChild2, platform: amd64 }, { ...armChild, platform: arm64 }], 'docker');
    const { checker } = fresh();
    const r = await checker.check(parseImageRef(`${repo}:multi`), await localImage(`${repo}:multi`));
    expect(r).toMatchObject({ status: 'UpdateAvailable', remoteDigest: list3.digest, platformDigest: amdChild2.digest });
  });

  it('a tag re-pushed with a new image → UpdateAvailable once the cached answer is forgotten', async () => {
    const { client, checker } = fresh();
    const ref = parseImageRef(`${repo}:app`);
    expect((await checker.check(ref, v1)).status).toBe('UpToDate');
    images.push(await buildImage(host, `${repo}:app`, { salt: `${path}-3` }));
    await pushImage(host, `${repo}:app`);
    const v3 = await localImage(`${repo}:app`);
    expect((await checker.check(ref, v1)).status).toBe('UpToDate'); // still within cacheTTL
    checker.forget(ref);
    const r = await checker.check(ref, v1);
    expect(r.status).toBe('UpdateAvailable');
    expect(v3.repoDigests).toContain(`${repo}@${r.remoteDigest}`);
    expect((await checker.check(ref, v3)).status).toBe('UpToDate');
    expect(client.stats).toMatchObject({ head: 2, get: 1 });
  });
});

describe('update check on an OCI index with an attestation entry (token registry, anonymous)', () => {
  const path = `wdt/${uniqueName('uc-oci')}`;
  const ref = parseImageRef(`${b.regToken}/${path}:1`);
  const pusher = new RegistryPusher(b.regToken, { username: b.regTokenUser, password: b.regTokenPass });
  let amd: PushedImage;
  let arm: PushedImage;
  let index: Pushed;

  async function pushIndex(a: PushedImage, r: PushedImage): Promise<Pushed> {
    const att = await pusher.image(path, { platform: { os: 'unknown', architecture: 'unknown' }, salt: `${a.digest}-att` });
    return pusher.index(path, '1', [
      { ...a, platform: amd64 },
      { ...r, platform: arm64 },
      { ...att, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': a.digest } },
    ]);
  }

  beforeAll(async () => {
    amd = await pusher.image(path, { platform: amd64, salt: `${path}-amd-1` });
    arm = await pusher.image(path, { platform: arm64, salt: `${path}-arm-1` });
    index = await pushIndex(amd, arm);
  });

  it('picks the child for each local platform and compares its config digest', async () => {
    const { client, checker } = fresh();
    const onAmd = await checker.check(ref, { id: amd.configDigest, repoDigests: [], platform: amd64 });
    expect(onAmd).toMatchObject({ status: 'UpToDate', remoteDigest: index.digest, platformDigest: amd.digest });
    const onArm = await checker.check(ref, { id: arm.configDigest, repoDigests: [], platform: { os: 'linux', architecture: 'arm64' } });
    expect(onArm).toMatchObject({ status: 'UpToDate', platformDigest: arm.digest });
    // One HEAD (then cached), the index once (cached by digest), each child once; one anonymous token.
    expect(client.stats).toMatchObject({ head: 2, get: 3, token: 1 });
  });

  it('a platform the index lacks is an error naming what it offers', async () => {
    const { checker } = fresh();
    await expect(checker.check(ref, { id: amd.configDigest, repoDigests: [], platform: { os: 'linux', architecture: 's390x' } })).rejects.toMatchObject({
      kind: 'not_found',
      message: `${b.regToken}/${path}:1 has no image for linux/s390x (it offers linux/amd64, linux/arm64/v8)`,
    });
  });

  it('arm64 rebuilt: no update on amd64, an update on arm64', async () => {
    const arm2 = await pusher.image(path, { platform: arm64, salt: `${path}-arm-2` });
    const index2 = await pushIndex(amd, arm2);
    const { checker } = fresh();
    expect(await checker.check(ref, { id: amd.configDigest, repoDigests: [`${b.regToken}/${path}@${index.digest}`], platform: amd64 })).toMatchObject({ status: 'UpToDate', remoteDigest: index2.digest });
    expect(await checker.check(ref, { id: arm.configDigest, repoDigests: [`${b.regToken}/${path}@${index.digest}`], platform: arm64 })).toMatchObject({ status: 'UpdateAvailable', platformDigest: arm2.digest });
  });
});
