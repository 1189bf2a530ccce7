import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the web UI: dist/web beside dist/agent (this module's folder). */
export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/**
 * The page may load only its own scripts and styles and talk only to its own origin (fetch and
 * WebSockets). Inline styles are allowed: CodeMirror and xterm.js set them at run time.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** Paths the app answers itself: never shadowed by a file or the index.html fallback. */
function isAppPath(path: string): boolean {
  const p = path.replace(/\/{2,}/g, '/').toLowerCase();
  return p === '/api' || p.startsWith('/api/') || p === '/healthz' || p === '/readyz';
}

interface Asset {
  body: Uint8Array;
  type: string;
}

/**
 * Serves the built web UI from `dir` (Node only; on Workers the [assets] binding does it):
 * hashed files under /assets/ cached for a year as immutable, index.html revalidated on every
 * load, and index.html for any other GET that names no file (client-side routes). /api/*,
 * /healthz and /readyz always go to the app. Answers null when the request is not for it, or
 * when the UI was not built.
 */
export function webAssets(dir: string = WEB_DIR): (req: Request) => Promise<Response | null> {
  const cache = new Map<string, Asset | null>();
  const load = async (rel: string): Promise<Asset | null> => {
    if (cache.has(rel)) return cache.get(rel) ?? null;
    const file = join(dir, rel);
    let asset: Asset | null = null;
    try {
      if ((await stat(file)).isFile()) asset = { body: new Uint8Array(await readFile(file)), type: TYPES[extname(file)] ?? 'application/octet-stream' };
    } catch {
      asset = null;
    }
    cache.set(rel, asset);
    return asset;
  };
  const respond = (req: Request, a: Asset, cacheControl: string, html: boolean): Response => {
    const headers = new Headers({ 'content-type': a.type, 'cache-control': cacheControl, 'x-content-type-options': 'nosniff', 'content-length': String(a.body.byteLength) });
    if (html) {
      headers.set('content-security-policy', CSP);
      headers.set('referrer-policy', 'no-referrer');
      headers.set('x-frame-options', 'DENY');
    }
    return new Response(req.method === 'HEAD' ? null : a.body, { status: 200, headers });
  };
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return null;
    const url = new URL(req.url);
    if (isAppPath(url.pathname)) return null;
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return null;
    }
    // No way out of dir, and nothing hidden (.vite/manifest.json) is served.
    const rel = normalize(path).replace(/^([/\\])+/, '');
    if (rel.split(sep).some((seg) => seg === '..' || seg.startsWith('.'))) return null;
    const index = await load('index.html');
    if (!index) return null;
    if (rel !== '' && rel !== 'index.html') {
      const file = await load(rel);
      if (file) return respond(req, file, rel.startsWith(`assets${sep}`) ? 'public, max-age=31536000, immutable' : 'public, max-age=3600', extname(rel) === '.html');
      // A missing hashed file is a 404, not the page (a stale tab asking for an old chunk).
      if (rel.startsWith(`assets${sep}`) || extname(rel) !== '') return null;
    }
    return respond(req, index, 'no-cache', true);
  };
}
