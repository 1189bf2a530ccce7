import { describe, expect, it } from 'vitest';
import { parseImageRef } from '../../src/core/image-ref.js';
import type { Logger } from '../../src/core/ports.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/core/registry/client.js';
import { RegistryError } from '../../src/core/registry/errors.js';
import { MANIFEST_ACCEPT } from '../../src/core/registry/manifest.js';
import { digestOf, fakeImage, fakeIndex, fakeTime, FakeRegistry, json, type FakeRegistryOptions } from '../helpers/registry-fake.js';
import { registryFailure } from '../helpers/registry-failure.js';

const SECRET = 'pa55-w0rd-secret';

function setup(reg: FakeRegistryOptions, opts: Partial<RegistryClientOptions> = {}) {
  const time = fakeTime();
  const fake = new FakeRegistry({ now: time.clock.now, ...reg });
  fake.put('o/r', 'v1', fakeImage(digestOf('c')));
  const logs: unknown[] = [];
  const logger: Logger = { debug: (o) => logs.push(o), info: (o) => logs.push(o), warn: (o, m) => logs.push({ ...o, m }), error: (o) => logs.push(o), child: () => logger };
  const client = new RegistryClient({ fetch: fake.fetch, sleep: time.sleep, clock: time.clock, random: () => 0.5, logger, ...opts });
  const ref = (s: string) => parseImageRef(`${reg.host}/${s}`);
  return { fake, client, time, ref, logs };
}

const failure = (p: Promise<unknown>) => registryFailure(p, [SECRET]);

describe('registry client: no auth', () => {
  it('HEADs with the full Accept list and reads Docker-Content-Digest', async () => {
    const { fake, client, ref } = setup({ host: 'reg.test' });
    const head = await client.headManifest(ref('o/r:v1'));
    expect(head.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(head.fetched).toBeUndefined();
    expect(fake.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['HEAD https://reg.test/v2/o/r/manifests/v1']);
    expect(fake.requests[0]?.headers.get('accept')).toBe(MANIFEST_ACCEPT);
    expect(client.stats).toMatchObject({ head: 1, get: 0, token: 0 });
  });

  it('falls back to GET and hashes the exact body when the digest header is missing', async () => {
    const { fake, client, ref } = setup({ host: 'reg.test', omitDigestHeader: true });
    const head = await client.headManifest(ref('o/r:v1'));
    const expected = fake.put('o/r', undefined, fakeImage(digestOf('c')));
    expect(head.digest).toBe(expected);
    expect(head.fetched?.manifest).toMatchObject({ kind: 'image', config: { digest: digestOf('c') } });
    expect(client.stats).toMatchObject({ head: 1, get: 1 });
    expect(fake.requests.every((r) => r.headers.get('accept') === MANIFEST_ACCEPT)).toBe(true);
  });

  it('verifies the digest of a manifest fetched by digest', async () => {
    const { fake, client, ref } = setup({ host: 'reg.test' });
    const digest = fake.put('o/r', undefined, fakeImage(digestOf('d')));
    expect((await client.getManifest(ref('o/r'), digest)).digest).toBe(digest);
    fake.interceptors.push((req) => (req.method === 'GET' ? new Response('{"schemaVersion":2,"config":{"digest":"sha256:evil"}}', { headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } }) : undefined));
    const err = await failure(client.getManifest(ref('o/r'), digest));
    expect(err.kind).toBe('invalid');
    expect(err.message).toBe(`registry reg.test sent a manifest for o/r@${digest} whose content does not match ${digest}`);
  });

  it('serves an OCI index tag because the OCI index type is always accepted', async () => {
    const { fake, client, ref } = setup({ host: 'reg.test' });
    const idx = fake.put('o/r', 'multi', fakeIndex([{ digest: digestOf('a'), platform: { os: 'linux', architecture: 'amd64' } }]));
    expect((await client.headManifest(ref('o/r:multi'))).digest).toBe(idx);
    const got = await client.getManifest(ref('o/r'), 'multi');
    expect(got.manifest).toMatchObject({ kind: 'index', manifests: [{ digest: digestOf('a') }] });
  });

  it.each([
    ['o/r:v9', 'tag v9 not found in reg.test/o/r'],
    ['x/y:v1', 'repository reg.test/x/y not found'],
  ])('names what is missing: %s', async (name, message) => {
    const { client, ref } = setup({ host: 'reg.test' });
    const err = await failure(client.getManifest(ref(name), name.split(':')[1] as string));
    expect(err).toMatchObject({ kind: 'not_found', message, httpStatus: 404 });
    const head = await failure(client.headManifest(ref(name)));
    expect(head.kind).toBe('not_found');
  });

  it('refuses a registry on a metadata address without sending anything', async () => {
    const { fake, client } = setup({ host: 'reg.test' });
    const err = await failure(client.headManifest(parseImageRef('169.254.169.254/o/r:v1')));
    expect(err.kind).toBe('invalid');
    expect(fake.requests).toHaveLength(0);
  });

  it('reports an unknown host as unreachable after the retries', async () => {
    const { client, time } = setup({ host: 'reg.test' });
    const err = await failure(client.headManifest(parseImageRef('other.test/o/r:v1')));
    expect(err).toMatchObject({ kind: 'unreachable', message: 'registry other.test unreachable: host not found' });
    expect(time.sleeps).toHaveLength(2);
  });
});

describe('registry client: redirects', () => {
  const reg = { host: 'reg.test', auth: 'basic' as const, user: 'u', pass: SECRET };
  const creds = { credentials: [{ host: 'reg.test', username: 'u', password: SECRET }] };
  const redirectTo = (fake: FakeRegistry, location: string) =>
    fake.interceptors.push((req) => (req.url.host === 'reg.test' && req.method === 'GET' && req.headers.has('authorization') ? new Response(null, { status: 307, headers: { Location: location } }) : undefined));

  it('follows a redirect to another host without the Authorization header', async () => {
    const { fake, client, ref } = setup(reg, creds);
    const digest = fake.put('o/r', undefined, fakeImage(digestOf('c')));
    const body = JSON.stringify(fakeImage(digestOf('c')), null, 2);
    fake.interceptors.push((req) => (req.url.host === 'cdn.test' ? new Response(body, { headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' } }) : undefined));
    redirectTo(fake, 'https://cdn.test/blob?sig=1');
    expect((await client.getManifest(ref('o/r'), digest)).digest).toBe(digest);
    const cdn = fake.requests.find((r) => r.url.host === 'cdn.test');
    expect(cdn?.headers.has('authorization')).toBe(false);
    expect(cdn?.headers.get('accept')).toBe(MANIFEST_ACCEPT);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data', 'to 169.254.169.254, a link-local or cloud metadata address; refusing'],
    ['http://cdn.test/m', 'from https to plain http; refusing'],
    ['file:///etc/passwd', 'to the unsupported scheme file:'],
  ])('refuses a redirect to %s', async (location, why) => {
    const { fake, client, ref } = setup(reg, creds);
    redirectTo(fake, location);
    const err = await failure(client.getManifest(ref('o/r'), 'v1'));
    expect(err).toMatchObject({ kind: 'invalid', message: `registry reg.test redirected reg.test/o/r ${why}` });
    expect(fake.requests.some((r) => r.url.host !== 'reg.test')).toBe(false);
  });

  it('stops after five redirects', async () => {
    const { fake, client, ref } = setup(reg, creds);
    redirectTo(fake, '/v2/o/r/manifests/v1');
    expect((await failure(client.getManifest(ref('o/r'), 'v1'))).message).toBe('registry reg.test redirected reg.test/o/r more than 5 times');
  });
});

describe('registry client: Basic auth', () => {
  const reg = { host: 'reg.test', auth: 'basic' as const, user: 'u', pass: SECRET };

  it('learns the challenge once, then sends the Authorization header directly', async () => {
    const { fake, client, ref } = setup(reg, { credentials: [{ host: 'reg.test', username: 'u', password: SECRET }] });
    await client.headManifest(ref('o/r:v1'));
    expect(fake.requests.map((r) => r.headers.has('authorization'))).toEqual([false, true]);
    await client.headManifest(ref('o/r:v1'));
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests[2]?.headers.has('authorization')).toBe(true);
    expect(client.stats.token).toBe(0);
  });

  it.each([
    ['wrong credentials', [{ host: 'reg.test', username: 'u', password: `${SECRET}x` }], 'registry reg.test rejected the credentials for o/r: check registry.auth'],
    ['no credentials', [], 'registry reg.test requires credentials for o/r (or it does not exist): add them to registry.auth'],
  ])('%s → unauthorized', async (_name, credentials, message) => {
    const { client, ref } = setup(reg, { credentials });
    const err = await failure(client.headManifest(ref('o/r:v1')));
    expect(err).toMatchObject({ kind: 'unauthorized', message, httpStatus: 401 });
  });
});

describe('registry client: Bearer tokens', () => {
  const reg = { host: 'reg.test', auth: 'bearer' as const, user: 'u', pass: SECRET, service: 'svc' };
  const tokens = (fake: FakeRegistry) => fake.requests.filter((r) => r.url.host === 'auth.test');

  it('gets an anonymous token, then reuses it until shortly before it expires', async () => {
    const { fake, client, ref, time } = setup(reg);
    fake.put('o/s', 'v1', fakeImage(digestOf('e')));
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)).toHaveLength(1);
    const t = tokens(fake)[0];
    expect(t?.headers.has('authorization')).toBe(false);
    expect(t?.url.searchParams.get('service')).toBe('svc');
    expect(t?.url.searchParams.getAll('scope')).toEqual(['repository:o/r:pull']);
    time.advance(49_000); // default lifetime 60 s, renewed 10 s early
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)).toHaveLength(1);
    await client.headManifest(ref('o/s:v1')); // another repository needs its own scope
    expect(tokens(fake)).toHaveLength(2);
    time.advance(2_000);
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)).toHaveLength(3);
    expect(client.stats).toMatchObject({ token: 3, head: 5 });
  });

  it('honours expires_in', async () => {
    const { fake, client, ref, time } = setup({ ...reg, expiresIn: 300 });
    await client.headManifest(ref('o/r:v1'));
    time.advance(285_000);
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)).toHaveLength(1);
    time.advance(10_000);
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)).toHaveLength(2);
  });

  it('sends credentials to an https realm', async () => {
    const { fake, client, ref } = setup({ ...reg, anonymousPull: false }, { credentials: [{ host: 'reg.test', username: 'u', password: SECRET }] });
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)[0]?.headers.get('authorization')).toMatch(/^Basic /);
  });

  it.each([
    ['wrong credentials', [{ host: 'reg.test', username: 'u', password: 'nope' }], false, 'registry reg.test rejected the credentials for o/r: check registry.auth'],
    ['anonymous pulls refused', [], false, 'registry reg.test refused anonymous access to o/r: add credentials to registry.auth'],
  ])('%s → unauthorized', async (_name, credentials, anonymousPull, message) => {
    const { client, ref } = setup({ ...reg, anonymousPull }, { credentials });
    expect(await failure(client.headManifest(ref('o/r:v1')))).toMatchObject({ kind: 'unauthorized', message });
  });

  it('asks anonymously (and warns) when the realm is plain http on another host', async () => {
    const { fake, client, ref, logs } = setup({ ...reg, realm: 'http://auth.test/token' }, { credentials: [{ host: 'reg.test', username: 'u', password: SECRET }] });
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)[0]?.headers.has('authorization')).toBe(false);
    expect(logs).toContainEqual(expect.objectContaining({ m: expect.stringContaining('not sending credentials') }));
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });

  it.each(['http://169.254.169.254/latest/api/token', 'http://metadata.google.internal/token', 'http://[fe80::1]/token'])('never contacts the realm %s', async (realm) => {
    const { fake, client, ref } = setup({ ...reg, realm }, { credentials: [{ host: 'reg.test', username: 'u', password: SECRET }] });
    const err = await failure(client.headManifest(ref('o/r:v1')));
    expect(err.kind).toBe('invalid');
    expect(err.message).toContain('link-local or cloud metadata address');
    expect(fake.requests.filter((r) => !r.url.host.startsWith('reg.test'))).toHaveLength(0);
  });

  it('prepare(): one probe and one token for the repositories of a registry', async () => {
    const { fake, client, ref } = setup(reg);
    for (const r of ['a/one', 'a/two', 'a/three']) fake.put(r, 'v1', fakeImage(digestOf('f')));
    const refs = ['a/one:v1', 'a/two:v1', 'a/three:v1', 'a/one:v1'].map(ref);
    await client.prepare(refs);
    expect(tokens(fake)).toHaveLength(1);
    expect(tokens(fake)[0]?.url.searchParams.getAll('scope')).toEqual(['repository:a/one:pull', 'repository:a/two:pull', 'repository:a/three:pull']);
    await Promise.all(refs.map((r) => client.headManifest(r)));
    expect(client.stats).toMatchObject({ ping: 1, token: 1, head: 4 });
    await client.prepare(refs); // challenge and tokens are remembered
    expect(client.stats).toMatchObject({ ping: 1, token: 1 });
  });

  it('prepare(): splits large batches', async () => {
    const { fake, client, ref } = setup(reg, { maxScopesPerToken: 2 });
    await client.prepare(['a/1', 'a/2', 'a/3', 'a/4', 'a/5'].map((r) => ref(`${r}:v1`)));
    expect(tokens(fake).map((t) => t.url.searchParams.getAll('scope').length)).toEqual([2, 2, 1]);
  });

  it('concurrent requests that need the same token share one token request', async () => {
    const { fake, client, ref } = setup(reg);
    await Promise.all(Array.from({ length: 5 }, () => client.headManifest(ref('o/r:v1'))));
    expect(tokens(fake)).toHaveLength(1);
  });

  it('a failed batch does not fail the checks: each then asks on its own', async () => {
    const { fake, client, ref } = setup(reg);
    let failures = 3;
    fake.interceptors.push((req) => (req.url.host === 'auth.test' && failures-- > 0 ? json(500, {}) : undefined));
    await expect(client.prepare([ref('o/r:v1')])).rejects.toMatchObject({ kind: 'server' });
    expect((await client.headManifest(ref('o/r:v1'))).digest).toMatch(/^sha256:/);
  });

  it('replaces a token the registry no longer accepts', async () => {
    const { fake, client, ref } = setup(reg);
    await client.headManifest(ref('o/r:v1'));
    let reject = true;
    fake.interceptors.push((req) => {
      if (req.url.host === 'reg.test' && reject && req.headers.has('authorization')) {
        reject = false;
        return json(401, {}, true, { 'WWW-Authenticate': 'Bearer realm="https://auth.test/token",service="svc",error="invalid_token"' });
      }
      return undefined;
    });
    await client.headManifest(ref('o/r:v1'));
    expect(tokens(fake)).toHaveLength(2);
  });
});
