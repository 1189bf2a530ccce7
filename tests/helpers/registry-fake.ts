import { createHash } from 'node:crypto';
import type { FetchLike } from '../../src/core/registry/transport.js';

/**
 * An in-memory registry (Registry API v2 manifests + a token server) behind a fake fetch, for
 * deterministic unit tests of the registry client and the update check. It behaves like
 * distribution 2.8: Accept decides whether an OCI index is served, HEAD returns
 * Docker-Content-Digest, auth is none, Basic or Bearer with scoped tokens.
 */

export type FakeAuth = 'none' | 'basic' | 'bearer';

export interface FakeRequest {
  method: string;
  url: URL;
  headers: Headers;
}

/** Returns a Response to answer in place of the registry, or undefined to let it answer. */
export type Interceptor = (req: FakeRequest) => Response | undefined | Promise<Response | undefined>;

export interface FakeRegistryOptions {
  /** "reg.test" or "127.0.0.1:5000". */
  host: string;
  auth?: FakeAuth;
  user?: string;
  pass?: string;
  /** Bearer realm; default https://auth.test/token. */
  realm?: string;
  service?: string;
  /** Token lifetime in seconds; undefined leaves expires_in out. */
  expiresIn?: number;
  /** Anonymous pulls allowed (Bearer); default true. */
  anonymousPull?: boolean;
  omitDigestHeader?: boolean;
  now?: () => number;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class FakeRegistry {
  readonly requests: FakeRequest[] = [];
  readonly interceptors: Interceptor[] = [];
  private readonly blobs = new Map<string, { bytes: Uint8Array; mediaType: string }>();
  private readonly tags = new Map<string, string>();
  private readonly tokens = new Map<string, { repos: Set<string>; expiresAt: number }>();
  private tokenSeq = 0;

  constructor(readonly opts: FakeRegistryOptions) {}

  get realm(): string {
    return this.opts.realm ?? 'https://auth.test/token';
  }

  /** Stores a manifest (any JSON) under its digest and, optionally, a tag. */
  put(repo: string, tag: string | undefined, manifest: object): string {
    const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 2));
    const digest = sha256(bytes);
    this.blobs.set(`${repo}@${digest}`, { bytes, mediaType: (manifest as { mediaType?: string }).mediaType ?? '' });
    if (tag) this.tags.set(`${repo}:${tag}`, digest);
    return digest;
  }

  untag(repo: string, tag: string): void {
    this.tags.delete(`${repo}:${tag}`);
  }

  /** Requests matching a filter, e.g. count('GET', '/manifests/'). */
  count(method: string, pathPart = ''): number {
    return this.requests.filter((r) => r.method === method && `${r.url.host}${r.url.pathname}`.includes(pathPart)).length;
  }

  readonly fetch: FetchLike = async (url, init) => {
    const req: FakeRequest = { method: init.method ?? 'GET', url: new URL(url), headers: new Headers(init.headers) };
    this.requests.push(req);
    for (const i of this.interceptors) {
      const res = await i(req);
      if (res) return res;
    }
    if (`${req.url.origin}${req.url.pathname}` === this.realm) return this.token(req);
    if (req.url.host !== this.opts.host) throw new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } });
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url.pathname);
    const repo = m?.[1] ?? '';
    if (!this.authorized(req, repo)) return this.challenge(repo);
    if (req.url.pathname === '/v2/') return new Response('{}', { status: 200 });
    if (!m) return json(404, { errors: [{ code: 'NOT_FOUND' }] });
    const reference = m[2] as string;
    const digest = reference.includes(':') ? reference : this.tags.get(`${repo}:${reference}`);
    const blob = digest ? this.blobs.get(`${repo}@${digest}`) : undefined;
    const accept = req.headers.get('accept') ?? '';
    if (!digest || !blob || (blob.mediaType.includes('oci.image.index') && !accept.includes(blob.mediaType))) {
      const known = [...this.tags.keys()].some((k) => k.startsWith(`${repo}:`));
      return json(404, { errors: [{ code: known ? 'MANIFEST_UNKNOWN' : 'NAME_UNKNOWN', message: 'unknown' }] }, req.method === 'HEAD');
    }
    const headers: Record<string, string> = { 'Content-Type': blob.mediaType, 'Content-Length': String(blob.bytes.byteLength) };
    if (!this.opts.omitDigestHeader) headers['Docker-Content-Digest'] = digest;
    return new Response(req.method === 'HEAD' ? null : blob.bytes.slice(), { status: 200, headers });
  };

  private authorized(req: FakeRequest, repo: string): boolean {
    const auth = this.opts.auth ?? 'none';
    const header = req.headers.get('authorization') ?? '';
    if (auth === 'none') return true;
    if (auth === 'basic') return header === basic(this.opts.user ?? '', this.opts.pass ?? '');
    const tok = this.tokens.get(header.replace(/^Bearer /, ''));
    if (!tok || (this.opts.now && tok.expiresAt <= this.opts.now())) return false;
    return repo === '' || tok.repos.has(repo);
  }

  private challenge(repo: string): Response {
    const auth = this.opts.auth ?? 'none';
    const www = auth === 'basic'
      ? 'Basic realm="fake"'
      : `Bearer realm="${this.realm}",service="${this.opts.service ?? 'fake-registry'}"${repo ? `,scope="repository:${repo}:pull"` : ''}`;
    return json(401, { errors: [{ code: 'UNAUTHORIZED' }] }, false, { 'WWW-Authenticate': www });
  }

  private token(req: FakeRequest): Response {
    const header = req.headers.get('authorization');
    const authed = header === basic(this.opts.user ?? '', this.opts.pass ?? '');
    if (header && !authed) return json(401, { details: 'bad credentials' });
    if (!authed && this.opts.anonymousPull === false) return json(401, { details: 'anonymous access denied' });
    const repos = new Set(req.url.searchParams.getAll('scope').map((s) => s.split(':')[1] ?? ''));
    const token = `tok-${++this.tokenSeq}`;
    const life = this.opts.expiresIn ?? 60;
    this.tokens.set(token, { repos, expiresAt: (this.opts.now?.() ?? 0) + life * 1000 });
    return json(200, { token, ...(this.opts.expiresIn === undefined ? {} : { expires_in: this.opts.expiresIn }) });
  }
}

export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

export function json(status: number, body: unknown, noBody = false, headers: Record<string, string> = {}): Response {
  return new Response(noBody ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** A config digest, a single-platform manifest and an index, as registries store them. */
export const fakeImage = (configDigest: string, mediaType = 'application/vnd.docker.distribution.manifest.v2+json') => ({
  schemaVersion: 2,
  mediaType,
  config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: 100 },
  layers: [],
});

export const fakeIndex = (entries: { digest: string; platform: { os: string; architecture: string; variant?: string }; annotations?: Record<string, string> }[], mediaType = 'application/vnd.oci.image.index.v1+json') => ({
  schemaVersion: 2,
  mediaType,
  manifests: entries.map((e) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 500, ...e })),
});

export const digestOf = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

/** A clock that only moves when told, and a sleep that moves it (recording each wait). */
export function fakeTime(start = 1_700_000_000_000) {
  let t = start;
  const sleeps: number[] = [];
  return {
    clock: { now: () => t },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
  };
}
