import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import { describe, expect, it } from 'vitest';
import { parseImageRef } from '../../src/core/image-ref.js';
import { CHALLENGES_KEY } from '../../src/core/registry/challenge-memory.js';
import type { KnownChallenges } from '../../src/core/registry/challenge.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/core/registry/client.js';
import type { FetchLike } from '../../src/core/registry/transport.js';
import { createUpdateChecker, type LocalImage } from '../../src/core/update-check.js';
import { digestOf, fakeImage, fakeTime, FakeRegistry, json } from '../helpers/registry-fake.js';

const SECRET = 'pa55-w0rd-secret';
const config = { registry: { auth: [], insecure: [] }, derived: { cacheTtlMs: 60_000, settleMs: 5000, listen: { host: '', port: 0 } as never, scanIntervalMs: 1 } };
const local = (id: string): LocalImage => ({ id, repoDigests: [], platform: { os: 'linux', architecture: 'amd64' } });
const BEARER = { scheme: 'bearer', realm: 'https://auth.test/token', service: 'svc' } as const;

/** Three registries behind one fetch: Bearer (reg.test, realm auth.test), Basic (basic.test), open (open.test). */
function registries() {
  const time = fakeTime();
  const bearer = new FakeRegistry({ host: 'reg.test', auth: 'bearer', user: 'u', pass: SECRET, service: 'svc', now: time.clock.now });
  const basic = new FakeRegistry({ host: 'basic.test', auth: 'basic', user: 'u', pass: SECRET });
  const open = new FakeRegistry({ host: 'open.test' });
  for (const f of [bearer, basic, open]) f.put('o/r', 'v1', fakeImage(digestOf('c')));
  const all = [bearer, basic, open];
  const fetch: FetchLike = (url, init) => {
    const host = new URL(url).host;
    return (host === 'basic.test' ? basic : host === 'open.test' ? open : bearer).fetch(url, init);
  };
  const requests = () => all.flatMap((f) => f.requests).map((r) => `${r.method} ${r.url.host}${r.url.pathname}`);
  const clear = () => all.forEach((f) => f.requests.splice(0));
  return { time, bearer, basic, open, fetch, requests, clear };
}

describe('remembered registry challenges', () => {
  it('round-trips through the Store: public parameters only, and the next client sends no probe', async () => {
    const r = registries();
    const store = createStorage({ driver: memoryDriver() });
    const refs = ['reg.test/o/r:v1', 'basic.test/o/r:v1', 'open.test/o/r:v1'].map((s) => parseImageRef(s));
    const deps = { fetch: r.fetch, clock: r.time.clock, sleep: r.time.sleep, dockerAuths: [{ host: 'basic.test', username: 'u', password: SECRET }], challengeStore: store };

    const first = createUpdateChecker(config, deps);
    await first.checker.prepare(refs);
    for (const ref of refs) expect((await first.checker.check(ref, local(digestOf('c')))).status).toBe('UpToDate');
    expect(first.client.stats.ping).toBe(3);
    await first.challenges?.flush();
    const saved = await store.getItem(CHALLENGES_KEY);
    const expected: KnownChallenges = { 'basic.test': { scheme: 'basic' }, 'open.test': { scheme: 'none' }, 'reg.test': BEARER };
    expect(saved).toEqual(expected);
    expect(first.client.knownChallenges()).toEqual(expected);
    expect(JSON.stringify(saved)).not.toMatch(new RegExp(`${SECRET}|tok-|Basic |Bearer `));

    // A restarted server: a fresh checker and client over the same store.
    r.clear();
    const second = createUpdateChecker(config, deps);
    await second.checker.prepare(refs);
    expect(r.requests()).toEqual(['GET auth.test/token']);
    for (const ref of refs) expect((await second.checker.check(ref, local(digestOf('c')))).status).toBe('UpToDate');
    expect(second.client.stats).toMatchObject({ ping: 0, token: 1, head: 3 });
    expect(r.basic.requests.every((q) => q.headers.has('authorization'))).toBe(true);
    expect(r.open.requests.every((q) => !q.headers.has('authorization'))).toBe(true);
    await second.challenges?.flush();
    expect(await store.getItem(CHALLENGES_KEY)).toEqual(expected);
  });

  it('accepts known challenges at construction and reports only changes', async () => {
    const r = registries();
    const changes: KnownChallenges[] = [];
    const client = new RegistryClient({ fetch: r.fetch, clock: r.time.clock, sleep: r.time.sleep, challenges: { 'reg.test': BEARER }, onChallengesChanged: (k) => changes.push(k) });
    await client.headManifest(parseImageRef('reg.test/o/r:v1'));
    expect(changes).toEqual([]);
    expect(client.stats).toMatchObject({ ping: 0, token: 1, head: 1 });
    await client.headManifest(parseImageRef('open.test/o/r:v1'));
    expect(changes).toEqual([{ 'open.test': { scheme: 'none' }, 'reg.test': BEARER }]);
  });

  it('drops invalid entries and never keeps a realm carrying credentials', async () => {
    const r = registries();
    const client = new RegistryClient({ fetch: r.fetch, clock: r.time.clock, sleep: r.time.sleep });
    client.rememberChallenges({
      'a.test': { scheme: 'bearer', realm: 'https://u:p@auth.test/token' },
      'b.test': { scheme: 'bearer' },
      'c.test': { scheme: 'digest' },
      'd.test': 'none',
      'e.test': { scheme: 'bearer', realm: 'file:///etc/passwd' },
      'f.test': { scheme: 'bearer', realm: 'https://auth.test/token', service: 7 },
      'reg.test': { scheme: 'bearer', realm: 'https://auth.test/token', service: 'svc', token: 'leak' },
    });
    expect(client.knownChallenges()).toEqual({ 'reg.test': BEARER });
    client.rememberChallenges(null);
    client.rememberChallenges(['x']);
    expect(client.knownChallenges()).toEqual({ 'reg.test': BEARER });

    // Learned live, a realm with user:password@ is used (checkRealm refuses it) but never kept.
    r.bearer.interceptors.push((q) => (q.url.host === 'cred.test' ? json(401, {}, false, { 'WWW-Authenticate': 'Bearer realm="https://u:p@auth.test/token"' }) : undefined));
    await expect(client.headManifest(parseImageRef('cred.test/o/r:v1'))).rejects.toMatchObject({ kind: 'invalid' });
    expect(client.knownChallenges()).toEqual({ 'reg.test': BEARER });
  });
});

describe('remembered registry challenges heal themselves', () => {
  const withClient = (r: ReturnType<typeof registries>, challenges: KnownChallenges, opts: Partial<RegistryClientOptions> = {}) => {
    const changes: KnownChallenges[] = [];
    const client = new RegistryClient({ fetch: r.fetch, clock: r.time.clock, sleep: r.time.sleep, random: () => 0.5, challenges, onChallengesChanged: (k) => changes.push(k), ...opts });
    return { client, changes };
  };
  const cred = [{ host: 'basic.test', username: 'u', password: SECRET }];

  it('a remembered Bearer challenge for a registry that is really Basic: the 401 challenge is learned and the request retried once', async () => {
    const r = registries();
    // auth.test still hands out tokens, which basic.test does not take.
    r.bearer.interceptors.push((q) => (q.url.host === 'auth.test' ? json(200, { token: 'stale' }) : undefined));
    const { client, changes } = withClient(r, { 'basic.test': BEARER }, { credentials: cred });
    expect((await client.headManifest(parseImageRef('basic.test/o/r:v1'))).digest).toMatch(/^sha256:/);
    expect(r.requests()).toEqual(['GET auth.test/token', 'HEAD basic.test/v2/o/r/manifests/v1', 'HEAD basic.test/v2/o/r/manifests/v1']);
    expect(r.basic.requests[0]?.headers.get('authorization')).toBe('Bearer stale');
    expect(r.basic.requests[1]?.headers.get('authorization')).toMatch(/^Basic /);
    expect(client.knownChallenges()).toEqual({ 'basic.test': { scheme: 'basic' } });
    expect(changes).toEqual([{ 'basic.test': { scheme: 'basic' } }]);
  });

  it('a remembered Bearer challenge for a registry that is really Basic, whose token request fails: probes, then Basic', async () => {
    const r = registries();
    r.bearer.interceptors.push((q) => (q.url.host === 'auth.test' ? json(401, {}) : undefined));
    const { client } = withClient(r, { 'basic.test': BEARER }, { credentials: cred });
    await client.prepare([parseImageRef('basic.test/o/r:v1')]);
    expect((await client.headManifest(parseImageRef('basic.test/o/r:v1'))).digest).toMatch(/^sha256:/);
    expect(r.requests()).toEqual(['GET auth.test/token', 'GET basic.test/v2/', 'HEAD basic.test/v2/o/r/manifests/v1']);
    expect(client.knownChallenges()).toEqual({ 'basic.test': { scheme: 'basic' } });
  });

  it('a remembered Bearer challenge whose realm is gone: prepare() probes again and gets the token from the new realm', async () => {
    const r = registries();
    const { client, changes } = withClient(r, { 'reg.test': { scheme: 'bearer', realm: 'https://old-auth.test/token', service: 'svc' } });
    await client.prepare([parseImageRef('reg.test/o/r:v1')]);
    expect(r.requests().filter((q) => !q.startsWith('GET old-auth.test'))).toEqual(['GET reg.test/v2/', 'GET auth.test/token']);
    expect(client.knownChallenges()).toEqual({ 'reg.test': BEARER });
    expect(changes).toEqual([{ 'reg.test': BEARER }]);
    r.clear();
    await client.headManifest(parseImageRef('reg.test/o/r:v1'));
    expect(r.requests()).toEqual(['HEAD reg.test/v2/o/r/manifests/v1']);
  });

  it('a remembered realm whose token server refuses: a manifest request probes again and retries', async () => {
    const r = registries();
    r.bearer.interceptors.push((q) => (q.url.host === 'old-auth.test' ? json(404, {}) : undefined));
    const { client } = withClient(r, { 'reg.test': { scheme: 'bearer', realm: 'https://old-auth.test/token', service: 'svc' } });
    expect((await client.headManifest(parseImageRef('reg.test/o/r:v1'))).digest).toMatch(/^sha256:/);
    expect(r.requests()).toEqual(['GET old-auth.test/token', 'GET reg.test/v2/', 'GET auth.test/token', 'HEAD reg.test/v2/o/r/manifests/v1']);
  });

  it('a wrong realm that still grants tokens: the registry’s 401 names the right one, learned and retried once', async () => {
    const r = registries();
    r.bearer.interceptors.push((q) => (q.url.host === 'old-auth.test' ? json(200, { token: 'stale' }) : undefined));
    const { client, changes } = withClient(r, { 'reg.test': { scheme: 'bearer', realm: 'https://old-auth.test/token', service: 'old' } });
    await client.prepare([parseImageRef('reg.test/o/r:v1')]);
    expect((await client.headManifest(parseImageRef('reg.test/o/r:v1'))).digest).toMatch(/^sha256:/);
    expect(r.requests()).toEqual(['GET old-auth.test/token', 'HEAD reg.test/v2/o/r/manifests/v1', 'GET auth.test/token', 'HEAD reg.test/v2/o/r/manifests/v1']);
    expect(changes).toEqual([{ 'reg.test': BEARER }]);
  });

  it('the same challenge refused again is an error, not a loop', async () => {
    const r = registries();
    r.bearer.interceptors.push((q) => (q.url.host === 'auth.test' ? json(401, {}) : undefined));
    const { client } = withClient(r, { 'reg.test': BEARER });
    await expect(client.headManifest(parseImageRef('reg.test/o/r:v1'))).rejects.toMatchObject({ kind: 'unauthorized' });
    // The probe finds the same challenge: the token's refusal stands.
    expect(r.requests()).toEqual(['GET auth.test/token', 'GET reg.test/v2/']);
    await expect(client.headManifest(parseImageRef('reg.test/o/r:v1'))).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(r.requests()).toEqual(['GET auth.test/token', 'GET reg.test/v2/', 'GET auth.test/token']);
  });

  it('remembered none or Basic for a Bearer registry: the 401 challenge is learned', async () => {
    for (const remembered of [{ scheme: 'none' }, { scheme: 'basic' }] as const) {
      const r = registries();
      const { client } = withClient(r, { 'reg.test': remembered });
      expect((await client.headManifest(parseImageRef('reg.test/o/r:v1'))).digest).toMatch(/^sha256:/);
      expect(r.requests()).toEqual(['HEAD reg.test/v2/o/r/manifests/v1', 'GET auth.test/token', 'HEAD reg.test/v2/o/r/manifests/v1']);
      expect(client.knownChallenges()).toEqual({ 'reg.test': BEARER });
    }
  });

  it.each(['http://169.254.169.254/latest/api/token', 'http://metadata.google.internal/token', 'http://[fe80::1]/token'])('a remembered realm is checked when used: %s is never contacted', async (realm) => {
    const r = registries();
    const { client } = withClient(r, { 'reg.test': { scheme: 'bearer', realm } }, { credentials: [{ host: 'reg.test', username: 'u', password: SECRET }] });
    expect(client.knownChallenges()).toEqual({ 'reg.test': { scheme: 'bearer', realm } });
    await client.prepare([parseImageRef('reg.test/o/r:v1')]);
    expect((await client.headManifest(parseImageRef('reg.test/o/r:v1'))).digest).toMatch(/^sha256:/);
    expect(r.requests().every((q) => /^(GET|HEAD) (reg|auth)\.test\//.test(q))).toBe(true);
    expect(client.knownChallenges()).toEqual({ 'reg.test': BEARER });
  });
});
