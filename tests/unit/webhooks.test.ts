import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/core/inventory.js';
import type { HistoryEntry } from '../../src/core/update-history.js';
import { WebhookJobs } from '../../src/core/webhook/jobs.js';
import { parseWebhookPayload, REGISTRY_EVENTS_TYPE } from '../../src/core/webhook/payloads.js';
import { hmacHex, verifyGithub, verifyTimestamped } from '../../src/core/webhook/signature.js';
import { outsideScope, parseImagePattern } from '../../src/core/webhook/targets.js';
import { loadConfig } from '../../src/core/config/load.js';
import { silentLogger, systemClock } from '../../src/core/ports.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { testApp } from '../helpers/test-app.js';

const SECRET = 'webhook-shared-secret-for-unit-tests-0123456789';
const nowS = () => Math.floor(Date.now() / 1000);

async function signed(body: string, ts = nowS(), secret = SECRET): Promise<Record<string, string>> {
  return { 'content-type': 'application/json', 'x-webhook-timestamp': String(ts), 'x-signature-256': `sha256=${await hmacHex(secret, `${ts}.${body}`)}` };
}

describe('webhook signatures', () => {
  it('accepts a fresh HMAC over "<timestamp>.<body>" and refuses bad, stale or malformed ones', async () => {
    const body = '{"images":["nginx"]}';
    const ts = String(nowS());
    const sig = `sha256=${await hmacHex(SECRET, `${ts}.${body}`)}`;
    const base = { secret: SECRET, signature: sig, timestamp: ts, body, nowMs: Date.now(), windowMs: 300_000 };
    expect(await verifyTimestamped(base)).toMatchObject({ ok: true });
    expect(await verifyTimestamped({ ...base, body: `${body} ` })).toEqual({ ok: false, reason: 'bad signature' });
    expect(await verifyTimestamped({ ...base, secret: 'another secret' })).toEqual({ ok: false, reason: 'bad signature' });
    expect(await verifyTimestamped({ ...base, nowMs: Date.now() + 301_000 })).toEqual({ ok: false, reason: 'timestamp outside the replay window' });
    expect(await verifyTimestamped({ ...base, nowMs: Date.now() - 301_000 })).toEqual({ ok: false, reason: 'timestamp outside the replay window' });
    expect(await verifyTimestamped({ ...base, timestamp: undefined })).toMatchObject({ ok: false });
    expect(await verifyTimestamped({ ...base, signature: 'sha1=abc' })).toEqual({ ok: false, reason: 'malformed signature' });
  });

  it("checks GitHub's body-only signature and needs a delivery id", async () => {
    const body = '{"action":"published"}';
    const sig = `sha256=${await hmacHex(SECRET, body)}`;
    const base = { secret: SECRET, signature: sig, delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958', body, nowMs: Date.now(), keepMs: 1000 };
    expect(await verifyGithub(base)).toMatchObject({ ok: true, replayKey: 'gh:72d3162e-cc78-11e3-81ab-4c9367dc0958' });
    expect(await verifyGithub({ ...base, delivery: undefined })).toMatchObject({ ok: false });
    expect(await verifyGithub({ ...base, body: '{}' })).toEqual({ ok: false, reason: 'bad signature' });
  });
});

describe('webhook payloads', () => {
  const registryEnvelope = JSON.stringify({
    events: [
      { action: 'push', target: { mediaType: 'application/octet-stream', repository: 'wdt/app', digest: 'sha256:aa' }, request: { host: '127.0.0.1:5000' } },
      { action: 'pull', target: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', repository: 'wdt/app', tag: 'latest' }, request: { host: '127.0.0.1:5000' } },
      { action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'wdt/app', digest: 'sha256:bb' }, request: { host: '127.0.0.1:5000' } },
      { action: 'push', target: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', repository: 'wdt/app', tag: 'latest', url: 'http://127.0.0.1:5000/v2/wdt/app/manifests/sha256:cc' }, request: { host: '127.0.0.1:5000', method: 'PUT' } },
      { action: 'push', target: { mediaType: 'application/vnd.oci.image.index.v1+json', repository: 'wdt/other', tag: 'v2', url: 'http://reg.example:5000/v2/wdt/other/manifests/sha256:dd' } },
    ],
  });

  it('reads the registry notification envelope: tagged manifest pushes only', () => {
    expect(parseWebhookPayload(registryEnvelope, { contentType: REGISTRY_EVENTS_TYPE })).toEqual({
      source: 'registry', images: ['127.0.0.1:5000/wdt/app:latest', 'reg.example:5000/wdt/other:v2'], containers: [], ignored: 3,
    });
  });

  it("reads Docker Hub's payload", () => {
    const body = JSON.stringify({ push_data: { tag: '1.4', pusher: 'me' }, repository: { repo_name: 'acme/web', name: 'web' } });
    expect(parseWebhookPayload(body, {})).toEqual({ source: 'dockerhub', images: ['docker.io/acme/web:1.4'], containers: [], ignored: 0 });
  });

  it("reads GitHub's package and registry_package events for containers", () => {
    const pkg = { name: 'Api', package_type: 'container', owner: { login: 'Acme' }, package_version: { container_metadata: { tag: { name: 'main', digest: 'sha256:ee' } } } };
    expect(parseWebhookPayload(JSON.stringify({ action: 'published', package: pkg }), { githubEvent: 'package' }).images).toEqual(['ghcr.io/acme/api:main']);
    expect(parseWebhookPayload(JSON.stringify({ action: 'published', registry_package: { ...pkg, package_type: 'CONTAINER' } }), { githubEvent: 'registry_package' }).images).toEqual(['ghcr.io/acme/api:main']);
    expect(parseWebhookPayload(JSON.stringify({ action: 'published', package: { ...pkg, package_type: 'npm' } }), { githubEvent: 'package' }).images).toEqual([]);
    expect(parseWebhookPayload(JSON.stringify({ zen: 'hi' }), { githubEvent: 'ping' }).images).toEqual([]);
  });

  it('reads our own payload strictly', () => {
    expect(parseWebhookPayload('{"images":["nginx"],"containers":["web"]}', {})).toEqual({ source: 'own', images: ['nginx'], containers: ['web'], ignored: 0 });
    expect(() => parseWebhookPayload('{"image":"nginx"}', {})).toThrow(/unknown field/);
    expect(() => parseWebhookPayload('{}', {})).toThrow(/at least one/);
    expect(() => parseWebhookPayload('not json', {})).toThrow(/JSON/);
  });

  it('scopes: a repository covers its tags, a tag only itself', () => {
    const scope = { images: ['127.0.0.1:5000/wdt/app', 'nginx:1.27'], containers: ['web'] };
    const req = (images: string[], containers: string[] = []) => ({ images: images.map(parseImagePattern), containers });
    expect(outsideScope(scope, req(['127.0.0.1:5000/wdt/app:latest', 'docker.io/library/nginx:1.27'], ['web']))).toBeNull();
    expect(outsideScope(scope, req(['nginx']))).toBe('image nginx');
    expect(outsideScope(scope, req(['127.0.0.1:5000/wdt/other:latest']))).toBe('image 127.0.0.1:5000/wdt/other:latest');
    expect(outsideScope(scope, req([], ['db']))).toBe('container db');
  });
});

describe('webhook jobs', () => {
  const container = (name: string, image: string, labels: Record<string, string> = {}): ContainerInfo => ({
    id: `${name}-id`.padEnd(64, '0'), name, image, imageId: 'sha256:'.padEnd(71, '1'), running: true, state: 'running', created: '', labels,
    repoTags: [image], repoDigests: [`${image.split(':')[0]}@sha256:${'2'.repeat(64)}`], platform: { os: 'linux', architecture: 'amd64' }, compose: undefined, currentDigest: undefined,
  });

  it('matches by repository and tag, respects policy, and coalesces triggers into the running job', async () => {
    const config = loadConfig({ env: {}, readSecretFile: () => '' });
    const calls: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const forgotten: string[] = [];
    const jobs = new WebhookJobs({
      listContainers: async () => [container('a', '127.0.0.1:5000/wdt/app:latest'), container('b', '127.0.0.1:5000/wdt/app:v2'), container('s', '127.0.0.1:5000/wdt/app:latest', { 'watchdocker.skip': 'true' })],
      updateOne: async (name, trigger) => {
        calls.push(name);
        await gate;
        return { id: `u${calls.length}`, trigger, containerId: name, name, image: '', result: 'updated', startedAt: new Date().toISOString(), durationMs: 1 } satisfies HistoryEntry;
      },
      forget: (refs) => forgotten.push(...refs.map((r) => `${r.repository}:${r.tag}`)),
      config, clock: systemClock, logger: silentLogger,
    });
    const target = { images: [parseImagePattern('127.0.0.1:5000/wdt/app:latest')], containers: [] };
    const first = await jobs.trigger(target, { by: 'token:ci', source: 'own' });
    expect(first.coalesced).toBe(false);
    expect(first.job.matched.map((m) => m.name)).toEqual(['a']);
    expect(first.job.skipped).toEqual([{ name: 's', reason: expect.stringContaining('watchdocker.skip') }]);
    await new Promise((r) => setTimeout(r, 10));
    expect(first.job.status).toBe('running');
    const second = await jobs.trigger(target, { by: 'token:ci', source: 'own' });
    expect(second).toMatchObject({ coalesced: true, job: { id: first.job.id } });
    release();
    const done = await jobs.settled(first.job.id);
    expect(done).toMatchObject({ status: 'done', triggers: 2 });
    // The trigger that arrived mid-update made one more pass, so its image is not missed.
    expect(calls).toEqual(['a', 'a']);
    expect(done?.results.map((r) => r.trigger)).toEqual([{ kind: 'webhook', by: 'token:ci' }, { kind: 'webhook', by: 'token:ci' }]);
    expect(forgotten).toEqual(['wdt/app:latest', 'wdt/app:latest']);
    const repoWide = await jobs.trigger({ images: [parseImagePattern('127.0.0.1:5000/wdt/app')], containers: [] }, { by: 'hmac', source: 'own' });
    expect(repoWide.job.matched.map((m) => m.name).sort()).toEqual(['a', 'b']);
    await jobs.settled(repoWide.job.id);
  });
});

describe('machine tokens and the webhook route', () => {
  const setup = () => testApp(new MemoryDocker(), { env: { WATCH_WEBHOOK_SECRET: SECRET, WATCH_WEBHOOK_REPLAY_WINDOW: '5m' } });
  const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('creates, lists and revokes tokens; a token is shown once and opens only the webhook', async () => {
    const t = setup();
    const created = await t.request('/api/v1/tokens', post({ name: 'ci', scope: { images: ['127.0.0.1:5000/wdt/app'] } }));
    expect(created.status).toBe(201);
    const { data } = (await created.json()) as { data: { token: string; name: string } };
    expect(data.token).toMatch(/^wdm_[A-Za-z0-9_-]{43}$/);
    expect((await t.request('/api/v1/tokens', post({ name: 'ci', scope: { images: ['x'] } }))).status).toBe(409);
    expect((await t.request('/api/v1/tokens', post({ name: 'none', scope: {} }))).status).toBe(400);
    const listed = await (await t.request('/api/v1/tokens')).text();
    expect(listed).toContain('"name":"ci"');
    expect(listed).not.toContain(data.token);
    expect(listed).not.toContain('hash');
    const stored = JSON.stringify(await Promise.all((await t.store.getKeys()).map((k) => t.store.getItem(k))));
    expect(stored).not.toContain(data.token);

    const bearer = { authorization: `Bearer ${data.token}` };
    // Refused everywhere but the webhook.
    expect((await t.app.request('/api/containers', { headers: bearer })).status).toBe(401);
    expect((await t.app.request('/api/v1/tokens', { headers: bearer })).status).toBe(401);
    expect((await t.app.request('/api/updates/run', { method: 'POST', headers: bearer })).status).toBe(401);
    // Inside its scope: 202 and a job; outside: 403.
    const ok = await t.app.request('/api/v1/webhooks/update', { ...post({ images: ['127.0.0.1:5000/wdt/app:latest'] }), headers: { ...bearer, 'content-type': 'application/json' } });
    expect(ok.status).toBe(202);
    const jobId = ((await ok.json()) as { data: { jobId: string } }).data.jobId;
    const job = await t.app.request(`/api/v1/webhooks/jobs/${jobId}`, { headers: bearer });
    expect(job.status).toBe(200);
    expect(((await job.json()) as { data: { status: string; by: string } }).data).toMatchObject({ status: 'done', by: 'token:ci' });
    expect((await t.request(`/api/v1/webhooks/jobs/${jobId}`)).status).toBe(200);
    const outside = await t.app.request('/api/v1/webhooks/update', { ...post({ images: ['127.0.0.1:5000/wdt/other:latest'] }), headers: { ...bearer, 'content-type': 'application/json' } });
    expect(outside.status).toBe(403);
    expect(((await outside.json()) as { msg: string }).msg).toContain('wdt/other');
    const containerOutside = await t.app.request('/api/v1/webhooks/update', { ...post({ containers: ['db'] }), headers: { ...bearer, 'content-type': 'application/json' } });
    expect(containerOutside.status).toBe(403);

    expect((await t.request('/api/v1/tokens/ci', { method: 'DELETE' })).status).toBe(200);
    expect((await t.app.request('/api/v1/webhooks/update', { ...post({ images: ['127.0.0.1:5000/wdt/app'] }), headers: { ...bearer, 'content-type': 'application/json' } })).status).toBe(401);
    expect((await t.request('/api/v1/tokens/ci', { method: 'DELETE' })).status).toBe(404);
  });

  it('accepts a signed webhook once, and refuses bad, stale and replayed signatures', async () => {
    const t = setup();
    const body = JSON.stringify({ images: ['127.0.0.1:5000/wdt/app:latest'] });
    const headers = await signed(body);
    const first = await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers, body });
    expect(first.status).toBe(202);
    const replay = await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers, body });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { msg: string }).msg).toContain('already used');
    expect((await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers: await signed(body, nowS(), 'wrong secret'), body })).status).toBe(401);
    expect((await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers: await signed(body, nowS() - 600), body })).status).toBe(401);
    const tampered = await signed(body);
    expect((await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers: tampered, body: body.replace('app', 'xyz') })).status).toBe(401);
    // Nothing at all, or a signature without a configured secret.
    expect((await t.app.request('/api/v1/webhooks/update', { method: 'POST', body })).status).toBe(401);
    const noSecret = testApp(new MemoryDocker());
    expect((await noSecret.app.request('/api/v1/webhooks/update', { method: 'POST', headers: await signed(body), body })).status).toBe(401);
    // A signature opens only the webhook routes.
    expect((await t.app.request('/api/containers', { headers: await signed('') })).status).toBe(401);
  });

  it("accepts GitHub's signature once per delivery id", async () => {
    const t = setup();
    const body = JSON.stringify({ action: 'published', package: { name: 'api', package_type: 'container', owner: { login: 'acme' }, package_version: { container_metadata: { tag: { name: 'main' } } } } });
    const headers = { 'content-type': 'application/json', 'x-github-event': 'package', 'x-github-delivery': 'f0e1d2c3-0000-4000-8000-000000000001', 'x-hub-signature-256': `sha256=${await hmacHex(SECRET, body)}` };
    expect((await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers, body })).status).toBe(202);
    expect((await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers, body })).status).toBe(401);
  });

  it('answers 200 without a job when a registry envelope only holds pulls and blobs', async () => {
    const t = setup();
    const body = JSON.stringify({ events: [{ action: 'pull', target: { repository: 'wd/busybox', tag: 'latest', mediaType: 'application/vnd.docker.distribution.manifest.v2+json' }, request: { host: '127.0.0.1:5000' } }] });
    const res = await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers: { ...(await signed(body)), 'content-type': REGISTRY_EVENTS_TYPE }, body });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toMatchObject({ jobId: null, ignored: 1, source: 'registry' });
  });
});
