import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFetch } from '../../src/agent/node-fetch.js';
import { parseImageRef } from '../../src/core/image-ref.js';
import { RegistryClient } from '../../src/core/registry/client.js';
import type { FetchLike } from '../../src/core/registry/transport.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { registryFailure } from '../helpers/registry-failure.js';
import { RegistryPusher, type PushedImage } from '../helpers/registry-push.js';

/**
 * The agent's fetch over node:http (src/agent/node-fetch.ts) against the global fetch: the same
 * requests to a local server and to the bed's real registries give the same answers and errors.
 */

const b = bed();
const globalFetch: FetchLike = (url, init) => fetch(url, init);
const both: Array<[string, FetchLike]> = [['global fetch', globalFetch], ['nodeFetch', nodeFetch]];

let server: Server;
let base = '';
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/gzip': (_q, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync('{"hello":"gzip"}')),
  '/br': (_q, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' }).end(brotliCompressSync('{"hello":"br"}')),
  '/challenge': (_q, res) => {
    res.setHeader('www-authenticate', ['Bearer realm="http://x/token",service="a"', 'Basic realm="b"']);
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  },
  '/redirect': (_q, res) => res.writeHead(307, { location: '/gzip' }).end(),
  '/empty': (_q, res) => res.writeHead(204).end(),
  '/echo': (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain', 'docker-content-digest': 'sha256:abc' }).end(`${req.method} ${body}`);
    });
  },
  '/hang': () => undefined,
  '/slow-body': (_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"a":');
  },
};

beforeAll(async () => {
  server = createServer((req, res) => (routes[req.url ?? ''] ?? ((_q, r: ServerResponse) => r.writeHead(404).end()))(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe.each(both)('%s', (_name, f) => {
  it('decodes gzip and br bodies', async () => {
    expect(await (await f(`${base}/gzip`, {})).json()).toEqual({ hello: 'gzip' });
    expect(await (await f(`${base}/br`, {})).json()).toEqual({ hello: 'br' });
  });

  it('keeps repeated headers, returns 401 and redirects as they are (redirect: manual)', async () => {
    const res = await f(`${base}/challenge`, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(res.ok).toBe(false);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="http://x/token",service="a", Basic realm="b"');
    const moved = await f(`${base}/redirect`, { redirect: 'manual' });
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe('/gzip');
    expect((await f(`${base}/empty`, {})).status).toBe(204);
  });

  it('sends the method, headers and a string body; HEAD has no body', async () => {
    const res = await f(`${base}/echo`, { method: 'POST', headers: { authorization: 'Basic eDp5', 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' });
    expect(await res.text()).toBe('POST grant_type=password');
    const last = seen.at(-1)!;
    expect(last.headers).toMatchObject({ authorization: 'Basic eDp5', 'content-type': 'application/x-www-form-urlencoded', 'content-length': '19' });
    const head = await f(`${base}/echo`, { method: 'HEAD' });
    expect(head.headers.get('docker-content-digest')).toBe('sha256:abc');
    expect(head.body).toBeNull();
  });

  it('a time-out rejects with the signal reason (no answer, and while reading the body)', async () => {
    const err = await f(`${base}/hang`, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError' });
    const res = await f(`${base}/slow-body`, { signal: AbortSignal.timeout(300) });
    expect(res.status).toBe(200);
    const bodyErr = await res.text().catch((e: unknown) => e);
    expect(['TimeoutError', 'AbortError']).toContain((bodyErr as Error).name);
  });

  it('a refused connection is TypeError("fetch failed") with the errno error as cause', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const err = await f(`http://127.0.0.1:${port}/`, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
    const failure = await registryFailure(new RegistryClient({ fetch: f, timeoutMs: 5_000 }).headManifest(parseImageRef(`127.0.0.1:${port}/wdt/down:v1`)), []);
    expect(failure).toMatchObject({ kind: 'unreachable', message: `registry 127.0.0.1:${port} unreachable: connection refused` });
  });
});

describe('the registry client with nodeFetch on the bed registries', () => {
  const repo = `wdt/${uniqueName('agent-fetch')}`;
  const amd64 = { os: 'linux', architecture: 'amd64' };
  let basic: PushedImage;
  let token: PushedImage;
  beforeAll(async () => {
    basic = await new RegistryPusher(b.regBasic, { username: b.regBasicUser, password: b.regBasicPass }).image(repo, { platform: amd64, salt: `${repo}-b`, tag: 'v1' });
    token = await new RegistryPusher(b.regToken, { username: b.regTokenUser, password: b.regTokenPass }).image(repo, { platform: amd64, salt: `${repo}-t`, tag: 'v1' });
  });

  it('Basic auth and Bearer tokens: the same digests and request counts as with the global fetch', async () => {
    for (const [, f] of both) {
      const c = new RegistryClient({ fetch: f, timeoutMs: 5_000, credentials: [{ host: b.regBasic, username: b.regBasicUser, password: b.regBasicPass }, { host: b.regToken, username: b.regTokenUser, password: b.regTokenPass }] });
      expect((await c.headManifest(parseImageRef(`${b.regBasic}/${repo}:v1`))).digest).toBe(basic.digest);
      expect((await c.headManifest(parseImageRef(`${b.regToken}/${repo}:v1`))).digest).toBe(token.digest);
      const got = await c.getManifest(parseImageRef(`${b.regToken}/${repo}`), token.digest);
      expect(got.manifest).toMatchObject({ kind: 'image', config: { digest: token.configDigest } });
      expect(c.stats).toMatchObject({ token: 1, get: 1 });
    }
  });

  it('wrong credentials: the same error', async () => {
    const messages: string[] = [];
    for (const [, f] of both) {
      const c = new RegistryClient({ fetch: f, timeoutMs: 5_000, credentials: [{ host: b.regToken, username: b.regTokenUser, password: 'wrong' }] });
      const err = await registryFailure(c.headManifest(parseImageRef(`${b.regToken}/${repo}:v1`)), [b.regTokenPass]);
      expect(err.kind).toBe('unauthorized');
      messages.push(err.message);
    }
    expect(messages[1]).toBe(messages[0]);
  });
});
