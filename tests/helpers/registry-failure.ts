import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { RegistryError } from '../../src/core/registry/errors.js';

/** Awaits a registry call that must fail; checks the error is a RegistryError carrying none of the secrets. */
export async function registryFailure(p: Promise<unknown>, secrets: readonly string[]): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    const e = err as RegistryError;
    for (const secret of secrets) expect(`${e.message} ${JSON.stringify(e.data)}`).not.toContain(secret);
    return e;
  }
  throw new Error('expected a failure');
}

export interface RateLimitProxy {
  /** "127.0.0.1:PORT": use it as the registry in image references. */
  readonly host: string;
  /** While true, manifest reads (HEAD/GET) answer 429 with `Retry-After: retryAfter`. */
  limiting: boolean;
  /** How many 429 answers it gave. */
  readonly refused: number;
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of a real registry that answers 429 Too Many Requests, as a registry
 * over its pull quota does (Docker Hub: `Retry-After` in seconds), to manifest reads while
 * `limiting` is on; everything else (pushes, blobs, /v2/) goes through to the registry unchanged,
 * Host header included, so upload locations point back at the proxy.
 */
export async function startRateLimitProxy(upstream: string, retryAfterSeconds: number): Promise<RateLimitProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const agent = new http.Agent({ keepAlive: true });
  let refused = 0;
  const state = { limiting: false };
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    if (state.limiting && (method === 'GET' || method === 'HEAD') && /^\/v2\/.+\/manifests\/[^/]+$/.test(new URL(req.url ?? '/', 'http://x').pathname)) {
      refused++;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfterSeconds) });
      res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }));
      return;
    }
    const headers = { ...req.headers };
    delete headers.connection;
    const up = http.request({ host: upHost, port: Number(upPort), method, path: req.url, headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`rate-limit proxy: ${err.message}`);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    get limiting() {
      return state.limiting;
    },
    set limiting(v: boolean) {
      state.limiting = v;
    },
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
