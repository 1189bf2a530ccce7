import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDockerConfigAuths } from '../../src/agent/docker-config.js';
import { parseImageRef } from '../../src/core/image-ref.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/core/registry/client.js';
import type { RegistryCredential } from '../../src/core/registry/credentials.js';
import { RegistryError } from '../../src/core/registry/errors.js';
import { UpdateChecker } from '../../src/core/update-check.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { RegistryPusher, type PushedImage } from '../helpers/registry-push.js';
import { registryFailure } from '../helpers/registry-failure.js';

/**
 * The registry client against the bed's real registries (distribution 2.8.2): no auth, Basic
 * (htpasswd), Bearer through the bed's token server; plus a registry that is down and a
 * local proxy answering 429. Content is pushed by hand (tests/helpers/registry-push.ts).
 */

const amd64 = { os: 'linux', architecture: 'amd64' };
const b = bed();
const basicCreds: RegistryCredential = { host: b.regBasic, username: b.regBasicUser, password: b.regBasicPass };
const tokenCreds: RegistryCredential = { host: b.regToken, username: b.regTokenUser, password: b.regTokenPass };

const client = (opts: RegistryClientOptions = {}) => new RegistryClient({ timeoutMs: 5_000, ...opts });
const checkerOf = (c: RegistryClient) => new UpdateChecker({ client: c, cacheTtlMs: 60_000 });

const failure = (p: Promise<unknown>) => registryFailure(p, [b.regBasicPass, b.regTokenPass]);

interface TokenStats {
  tokens: number;
  tokenGet: number;
  anonymous: number;
  authenticated: number;
  denied: number;
}
const tokenStats = async (): Promise<TokenStats> => (await (await fetch(`${b.tokenServer}/stats`)).json()) as TokenStats;

describe('registry without auth', () => {
  const repo = `wdt/${uniqueName('reg-plain')}`;
  const pusher = new RegistryPusher(b.regPlain);
  let img: PushedImage;
  beforeAll(async () => {
    img = await pusher.image(repo, { platform: amd64, salt: repo, tag: 'v1' });
  });

  it('HEADs a tag: the digest of what was pushed, one request, no GET', async () => {
    const c = client();
    const head = await c.headManifest(parseImageRef(`${b.regPlain}/${repo}:v1`));
    expect(head.digest).toBe(img.digest);
    expect(c.stats).toMatchObject({ head: 1, get: 0, token: 0, ping: 0 });
  });

  it('GETs a manifest by digest and verifies it', async () => {
    const got = await client().getManifest(parseImageRef(`${b.regPlain}/${repo}`), img.digest);
    expect(got.manifest).toMatchObject({ kind: 'image', config: { digest: img.configDigest } });
  });

  it('a deleted tag is not_found', async () => {
    const gone = await pusher.image(repo, { platform: amd64, salt: `${repo}-gone`, tag: 'gone' });
    const ref = parseImageRef(`${b.regPlain}/${repo}:gone`);
    expect((await checkerOf(client()).check(ref, { id: gone.configDigest, repoDigests: [], platform: amd64 })).status).toBe('UpToDate');
    await pusher.delete(repo, gone.digest);
    const err = await failure(checkerOf(client()).check(ref, { id: gone.configDigest, repoDigests: [`${b.regPlain}/${repo}@${gone.digest}`], platform: amd64 }));
    expect(err).toMatchObject({ kind: 'not_found', message: `tag gone not found in ${b.regPlain}/${repo}` });
  });

  it('an unknown repository is not_found (distribution answers MANIFEST_UNKNOWN for it)', async () => {
    const name = `wdt/${uniqueName('nope')}`;
    const err = await failure(client().getManifest(parseImageRef(`${b.regPlain}/${name}`), 'v1'));
    expect(err).toMatchObject({ kind: 'not_found', message: `tag v1 not found in ${b.regPlain}/${name}` });
  });
});

describe('registry with Basic auth', () => {
  const repo = `wdt/${uniqueName('reg-basic')}`;
  let img: PushedImage;
  beforeAll(async () => {
    img = await new RegistryPusher(b.regBasic, { username: b.regBasicUser, password: b.regBasicPass }).image(repo, { platform: amd64, salt: repo, tag: 'v1' });
  });
  const ref = () => parseImageRef(`${b.regBasic}/${repo}:v1`);

  it('with config credentials: learns the challenge once, then sends Basic directly', async () => {
    const c = client({ credentials: [basicCreds] });
    expect((await c.headManifest(ref())).digest).toBe(img.digest);
    expect(c.stats.head).toBe(2); // anonymous, 401, then with credentials
    await c.headManifest(ref());
    expect(c.stats.head).toBe(3);
  });

  it('with the Docker CLI config (the bed is logged in there)', async () => {
    const { credentials } = await readDockerConfigAuths({ DOCKER_CONFIG: b.dockerConfig });
    expect((await client({ credentials }).headManifest(ref())).digest).toBe(img.digest);
  });

  it('wrong credentials → unauthorized, naming the fix', async () => {
    const err = await failure(client({ credentials: [{ ...basicCreds, password: 'wrong' }] }).headManifest(ref()));
    expect(err).toMatchObject({ kind: 'unauthorized', message: `registry ${b.regBasic} rejected the credentials for ${repo}: check registry.auth` });
  });

  it('no credentials → unauthorized', async () => {
    const err = await failure(client().headManifest(ref()));
    expect(err).toMatchObject({ kind: 'unauthorized', message: `registry ${b.regBasic} requires credentials for ${repo} (or it does not exist): add them to registry.auth` });
  });
});

describe('registry with token auth', () => {
  const repos = [1, 2, 3].map((i) => `wdt/${uniqueName(`reg-tok${i}`)}`);
  const images: PushedImage[] = [];
  beforeAll(async () => {
    const pusher = new RegistryPusher(b.regToken, { username: b.regTokenUser, password: b.regTokenPass });
    for (const r of repos) images.push(await pusher.image(r, { platform: amd64, salt: r, tag: 'v1' }));
  });
  const ref = (i = 0) => parseImageRef(`${b.regToken}/${repos[i]}:v1`);

  it('anonymous: one token, then reused', async () => {
    const before = await tokenStats();
    const c = client();
    expect((await c.headManifest(ref())).digest).toBe(images[0]?.digest);
    await c.headManifest(ref());
    const after = await tokenStats();
    expect(after.anonymous - before.anonymous).toBe(1);
    expect(c.stats).toMatchObject({ token: 1, head: 3 });
  });

  it('with credentials (Basic to the token server on the registry host)', async () => {
    const before = await tokenStats();
    expect((await client({ credentials: [tokenCreds] }).headManifest(ref())).digest).toBe(images[0]?.digest);
    expect((await tokenStats()).authenticated - before.authenticated).toBe(1);
  });

  it('with the Docker CLI config', async () => {
    const { credentials } = await readDockerConfigAuths({ DOCKER_CONFIG: b.dockerConfig });
    const before = await tokenStats();
    expect((await client({ credentials }).headManifest(ref())).digest).toBe(images[0]?.digest);
    expect((await tokenStats()).authenticated - before.authenticated).toBe(1);
  });

  it('wrong credentials → unauthorized', async () => {
    const err = await failure(client({ credentials: [{ ...tokenCreds, password: 'wrong' }] }).headManifest(ref()));
    expect(err).toMatchObject({ kind: 'unauthorized', message: `registry ${b.regToken} rejected the credentials for ${repos[0]}: check registry.auth` });
  });

  it('one token request for several repositories (prepare), counted by the token server', async () => {
    const c = client({ credentials: [tokenCreds] });
    const checker = checkerOf(c);
    const refs = repos.map((_r, i) => ref(i));
    const before = await tokenStats();
    await checker.prepare(refs);
    const results = await Promise.all(refs.map((r, i) => checker.check(r, { id: images[i]?.configDigest ?? '', repoDigests: [], platform: amd64 })));
    const after = await tokenStats();
    expect(results.map((r) => r.status)).toEqual(['UpToDate', 'UpToDate', 'UpToDate']);
    expect(after.tokenGet - before.tokenGet).toBe(1);
    expect(after.tokens - before.tokens).toBe(1);
    expect(c.stats).toMatchObject({ ping: 1, token: 1, head: 3 });
  });
});

describe('failures', () => {
  it('a registry that is down: unreachable, quickly', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const err = await failure(client().headManifest(parseImageRef(`127.0.0.1:${port}/wdt/down:v1`)));
    expect(err).toMatchObject({ kind: 'unreachable', message: `registry 127.0.0.1:${port} unreachable: connection refused` });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  describe('429 from a proxy in front of the plain registry', () => {
    const repo = `wdt/${uniqueName('reg-429')}`;
    let proxy: Server;
    let port = 0;
    let refuse = 0;
    let retryAfter = '1';
    let seen = 0;
    let img: PushedImage;
    beforeAll(async () => {
      img = await new RegistryPusher(b.regPlain).image(repo, { platform: amd64, salt: repo, tag: 'v1' });
      proxy = createServer((req, res) => {
        seen++;
        if (refuse > 0 && req.url?.includes('/manifests/')) {
          refuse--;
          res.writeHead(429, { 'Retry-After': retryAfter, 'Content-Type': 'application/json' }).end('{"errors":[{"code":"TOOMANYREQUESTS"}]}');
          return;
        }
        void fetch(`http://${b.regPlain}${req.url}`, { method: req.method, headers: { Accept: String(req.headers.accept ?? '') } }).then(async (up) => {
          const headers: Record<string, string> = {};
          for (const h of ['content-type', 'docker-content-digest', 'content-length']) {
            const v = up.headers.get(h);
            if (v) headers[h] = v;
          }
          res.writeHead(up.status, headers).end(Buffer.from(await up.arrayBuffer()));
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      port = (proxy.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

    it('a short Retry-After is waited out', async () => {
      refuse = 1;
      retryAfter = '1';
      seen = 0;
      const c = client();
      const started = Date.now();
      expect((await c.headManifest(parseImageRef(`127.0.0.1:${port}/${repo}:v1`))).digest).toBe(img.digest);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(seen).toBe(2);
      expect(c.stats).toMatchObject({ head: 2, retries: 1, rateLimited: 1 });
    });

    it('a long Retry-After fails fast with rate_limited', async () => {
      refuse = 1;
      retryAfter = '30';
      const started = Date.now();
      const err = await failure(client().headManifest(parseImageRef(`127.0.0.1:${port}/${repo}:v1`)));
      expect(err).toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 30, message: `rate limited by 127.0.0.1:${port}, retry after 30 s` });
      expect(Date.now() - started).toBeLessThan(1_000);
    });
  });
});
