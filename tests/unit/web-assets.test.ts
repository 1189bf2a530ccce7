import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webAssets } from '../../src/agent/web-assets.js';

/** The Node side of serving the web UI (src/agent/web-assets.ts) over a real folder. */
describe('webAssets', () => {
  let dir = '';
  let outside = '';
  let serve: ReturnType<typeof webAssets>;
  const get = (path: string, method = 'GET') => serve(new Request(`http://localhost${path}`, { method }));

  beforeAll(() => {
    const root = mkdtempSync(join(tmpdir(), 'wdt-web-assets-'));
    dir = join(root, 'web');
    outside = join(root, 'secret.txt');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    mkdirSync(join(dir, '.vite'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
    writeFileSync(join(dir, '.vite', 'manifest.json'), '{}');
    writeFileSync(outside, 'do not serve');
    serve = webAssets(dir);
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('serves hashed assets as immutable for a year, with their type', async () => {
    const res = await get('/assets/index-abc123.js');
    expect(res?.status).toBe(200);
    expect(res?.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res?.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res?.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res?.text()).toBe('console.log(1)');
    const icon = await get('/favicon.svg');
    expect(icon?.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon?.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  it('answers index.html, never cached and with a CSP, for / and for the page routes', async () => {
    for (const path of ['/', '/index.html', '/containers/web-1', '/compose/shop/edit', '/settings']) {
      const res = await get(path);
      expect(res?.status, path).toBe(200);
      expect(res?.headers.get('cache-control'), path).toBe('no-cache');
      expect(res?.headers.get('content-type'), path).toBe('text/html; charset=utf-8');
      expect(res?.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      expect(res?.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(await res?.text(), path).toContain('<title>ui</title>');
    }
    const head = await get('/settings', 'HEAD');
    expect(head?.status).toBe(200);
    expect(await head?.text()).toBe('');
  });

  it('leaves the API, health checks and other methods to the app', async () => {
    for (const path of ['/api', '/api/containers', '/API/containers', '//api/containers', '/healthz', '/readyz', '/api/events/ws']) {
      expect(await get(path), path).toBeNull();
    }
    expect(await get('/', 'POST')).toBeNull();
    expect(await get('/settings', 'DELETE')).toBeNull();
  });

  it('answers nothing for missing files, hidden files and paths out of the folder', async () => {
    expect(await get('/assets/index-old999.js')).toBeNull();
    expect(await get('/robots.txt')).toBeNull();
    expect(await get('/.vite/manifest.json')).toBeNull();
    expect(await get('/..%2fsecret.txt')).toBeNull();
    expect(await get('/assets/..%2f..%2fsecret.txt')).toBeNull();
    expect(await get('/%E0%A4%A')).toBeNull();
  });

  it('answers nothing when the UI was not built', async () => {
    const none = webAssets(join(dir, 'missing'));
    expect(await none(new Request('http://localhost/'))).toBeNull();
    expect(await none(new Request('http://localhost/settings'))).toBeNull();
  });
});
