import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What one request was, as the benchmark counts it. */
export type RequestKindName = 'headManifest' | 'getManifest' | 'ping' | 'blob' | 'other';

export interface ProxyCounts {
  headManifest: number;
  getManifest: number;
  /** GET /v2/ (the auth probe). */
  ping: number;
  /** Anything under /v2/NAME/blobs/ (reads and uploads). */
  blob: number;
  /** Manifest PUT/DELETE, tag lists, catalog … */
  other: number;
  total: number;
  /** Per repository: manifest HEADs and GETs. */
  byRepo: Record<string, { head: number; get: number }>;
}

export interface DelayProxy {
  /** "127.0.0.1:PORT": use it as the registry host in image references. */
  readonly host: string;
  readonly port: number;
  delayMs: number;
  counts(): ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}

const emptyCounts = (): ProxyCounts => ({ headManifest: 0, getManifest: 0, ping: 0, blob: 0, other: 0, total: 0, byRepo: {} });

const MANIFEST = /^\/v2\/(.+)\/manifests\/[^/]+$/;
const BLOB = /^\/v2\/(.+)\/blobs\//;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function classify(method: string, path: string): { kind: RequestKindName; repo?: string } {
  if (path === '/v2/' || path === '/v2') return { kind: method === 'GET' || method === 'HEAD' ? 'ping' : 'other' };
  const m = MANIFEST.exec(path);
  if (m && method === 'HEAD') return { kind: 'headManifest', repo: m[1] as string };
  if (m && method === 'GET') return { kind: 'getManifest', repo: m[1] as string };
  if (BLOB.test(path)) return { kind: 'blob' };
  return { kind: 'other' };
}

/**
 * A small HTTP reverse proxy on 127.0.0.1 in front of one registry: waits `delayMs` before
 * forwarding every request (a stand-in for network latency) and counts requests by kind. The
 * Host header is passed on unchanged, so upload Locations the registry writes point back here.
 */
export async function startDelayProxy(upstream: { host: string; port: number }, delayMs = 0, opts: { rewriteRealm?: { from: string; to: string } } = {}): Promise<DelayProxy> {
  let counts = emptyCounts();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const { kind, repo } = classify(method, path);
    counts[kind]++;
    counts.total++;
    if (repo !== undefined && (kind === 'headManifest' || kind === 'getManifest')) {
      const r = (counts.byRepo[repo] ??= { head: 0, get: 0 });
      if (kind === 'headManifest') r.head++;
      else r.get++;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
    const forward = () => {
      const up = http.request({ host: upstream.host, port: upstream.port, method, path: req.url, headers, agent }, (upRes) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
        // The token server sits behind its own delay proxy: challenges name that one as the realm.
        const rw = opts.rewriteRealm;
        if (rw && typeof out['www-authenticate'] === 'string') out['www-authenticate'] = out['www-authenticate'].replace(`realm="${rw.from}`, `realm="${rw.to}`);
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
      });
      up.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end(`delay proxy: upstream error: ${err.message}`);
      });
      req.pipe(up);
    };
    const delay = proxy.delayMs;
    if (delay > 0) setTimeout(forward, delay);
    else forward();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const proxy: DelayProxy = {
    host: `127.0.0.1:${port}`,
    port,
    delayMs,
    counts: () => structuredClone(counts),
    reset: () => {
      counts = emptyCounts();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
  return proxy;
}

/** The proxy in a child process, so its timers and forwarding never wait on the code being measured. */
export interface ProxyProcess {
  readonly host: string;
  readonly port: number;
  setDelay(ms: number): Promise<void>;
  counts(): Promise<ProxyCounts>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export type ProxyCommand = { op: 'setDelay'; ms: number } | { op: 'counts' | 'reset' | 'close' };
export type ProxyRequest = ProxyCommand & { id: number };
export type ProxyReply = { ready: number } | { id: number; counts?: ProxyCounts; error?: string };

/**
 * Starts delay-proxy-child.ts with this process's loader flags (tsx) and talks to it over IPC.
 * With `tokenServer` (the registry's token realm, e.g. http://127.0.0.1:5003), the token server
 * gets a proxy with the same delay too, and the registry's challenges name it as the realm: a
 * token round trip then costs what it costs against a remote registry (Docker Hub's realm,
 * auth.docker.io, is as far away as the registry itself).
 */
export async function spawnDelayProxy(upstream: { host: string; port: number }, tokenServer?: string): Promise<ProxyProcess> {
  const { fork } = await import('node:child_process');
  const child = fork(new URL('./delay-proxy-child.ts', import.meta.url).pathname, [upstream.host, String(upstream.port), ...(tokenServer ? [tokenServer] : [])], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve: (r: ProxyReply) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the delay proxy exited (${code}) before it listened`)));
    child.on('message', (m: ProxyReply) => {
      if ('ready' in m) return resolve(m.ready);
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error) w?.reject(new Error(`delay proxy: ${m.error}`));
      else w?.resolve(m);
    });
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  child.on('exit', () => {
    exited = true;
    for (const w of waiting.values()) w.reject(new Error('the delay proxy exited'));
    waiting.clear();
  });
  const call = (req: ProxyCommand): Promise<ProxyReply> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error('the delay proxy has exited'));
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ ...req, id });
    });
  return {
    host: `127.0.0.1:${port}`,
    port,
    setDelay: async (ms) => void (await call({ op: 'setDelay', ms })),
    counts: async () => {
      const r = await call({ op: 'counts' });
      return (r as { counts: ProxyCounts }).counts;
    },
    reset: async () => void (await call({ op: 'reset' })),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call({ op: 'close' }).catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    },
  };
}
