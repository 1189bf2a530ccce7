import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';

/**
 * A caching Debian mirror on 127.0.0.1 for `docker build --build-arg DEBIAN_MIRROR=…`, so the
 * Dockerfile's trixie packages (docker-cli, docker-compose: ~20 MB) and package lists are
 * downloaded once per machine instead of once per build. Only content-addressed files are
 * cached — `pool/…/*.deb` (name carries the version) and `dists/…/by-hash/…` (name is the
 * hash) — so a cached file can never be stale; `InRelease`/`Release` always come from upstream
 * (and apt checks every file against them anyway). Files unused for 14 days are removed.
 *
 * Cache folder: ${WD_CACHE:-/var/cache/watch-docker}/debian.
 */
export interface DebCache {
  /** The mirror URL to give the build (http://127.0.0.1:PORT/debian). */
  url: string;
  /** Requests answered from the cache and from upstream, for the test's log. */
  stats: { hits: number; misses: number };
  close(): Promise<void>;
}

/** The host's Debian mirror (as tests/bed/install.sh finds it), http only. */
export function hostMirror(): string {
  let mirror = '';
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) {
      if (!f.endsWith('.sources')) continue;
      const m = /^URIs:\s*(\S+)/m.exec(readFileSync(join('/etc/apt/sources.list.d', f), 'utf8'));
      if (m?.[1] && !m[1].includes('security')) {
        mirror = m[1];
        break;
      }
    }
  } catch {
    // no deb822 sources
  }
  if (!mirror && existsSync('/etc/apt/sources.list')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(readFileSync('/etc/apt/sources.list', 'utf8'));
    if (m?.[1]) mirror = m[1];
  }
  if (!mirror.startsWith('http://')) mirror = 'http://deb.debian.org/debian';
  return mirror.replace(/\/+$/, '');
}

const DAY = 24 * 3600 * 1000;

export async function startDebCache(upstream = hostMirror()): Promise<DebCache> {
  const dir = join(process.env.WD_CACHE || '/var/cache/watch-docker', 'debian');
  mkdirSync(dir, { recursive: true });
  const stats = { hits: 0, misses: 0 };
  const cacheable = (path: string): string | null => {
    if (path.includes('..')) return null;
    if (/^\/pool\/.+\.deb$/.test(path)) return join(dir, basename(path));
    const h = /\/by-hash\/(SHA256|SHA512)\/([0-9a-f]{64,128})$/.exec(path);
    return h ? join(dir, `${h[1]}-${h[2]}`) : null;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').replace(/^\/debian/, '').split('?')[0] ?? '/';
      const file = cacheable(path);
      if (req.method === 'GET' && file && existsSync(file)) {
        stats.hits++;
        const now = new Date();
        utimesSync(file, now, now);
        res.writeHead(200, { 'content-length': String(statSync(file).size) });
        createReadStream(file).pipe(res);
        return;
      }
      const up = await fetch(`${upstream}${path}`, { method: req.method === 'HEAD' ? 'HEAD' : 'GET', signal: AbortSignal.timeout(120_000) });
      stats.misses++;
      if (!up.ok || req.method === 'HEAD') {
        res.writeHead(up.status, { 'content-length': up.headers.get('content-length') ?? '0' });
        res.end();
        return;
      }
      const body = Buffer.from(await up.arrayBuffer());
      if (file) {
        const tmp = `${file}.tmp.${process.pid}`;
        writeFileSync(tmp, body);
        renameSync(tmp, file);
      }
      const headers: Record<string, string> = { 'content-length': String(body.length) };
      const lm = up.headers.get('last-modified');
      if (lm) headers['last-modified'] = lm;
      res.writeHead(200, headers);
      res.end(body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/debian`,
    stats,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        try {
          if (Date.now() - statSync(p).mtimeMs > (f.includes('.tmp.') ? DAY : 14 * DAY)) unlinkSync(p);
        } catch {
          // removed meanwhile by a parallel run
        }
      }
    },
  };
}
