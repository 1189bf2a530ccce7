import type { ImageRef } from '../image-ref.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../ports.js';
import { RegistryAuth, type Authorization, type RepoRef } from './auth.js';
import type { KnownChallenges } from './challenge.js';
import type { RegistryCredential } from './credentials.js';
import { digestLike, isVerifiableDigest } from './digest.js';
import { RegistryError, RegistryHTTPError, type RegistryErrorContext } from './errors.js';
import { MANIFEST_ACCEPT, parseManifest, type Manifest } from './manifest.js';
import { assertAllowedRegistry, registryBaseUrl } from './security.js';
import { discard, emptyStats, Transport, type FetchLike, type RateLimitInfo, type RegistryStats } from './transport.js';

export interface RegistryClientOptions {
  /** Config `registry.auth` first, then the Docker CLI config's `auths`. */
  credentials?: readonly RegistryCredential[];
  /** Config `registry.insecure`: hosts reached over plain http besides loopback ones. */
  insecure?: readonly string[];
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  clock?: Clock;
  /** [0, 1), for the back-off jitter. */
  random?: () => number;
  logger?: Logger;
  /** Per request (attempt); default 15 s. */
  timeoutMs?: number;
  /** Attempts for network errors, 5xx and short 429s; default 3. */
  maxAttempts?: number;
  /** A 429 asking to wait longer than this fails at once; default 10 s. */
  maxRetryAfterMs?: number;
  /** Back-off: random in [0, min(max, base·2^(n−1))); defaults 250 ms and 4 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Largest manifest accepted; default 4 MiB. */
  maxManifestBytes?: number;
  /** Repositories per batched token request in prepare(); default 30. */
  maxScopesPerToken?: number;
  /**
   * Auth challenges learned by an earlier run (see knownChallenges()): registries listed here
   * need no GET /v2/ probe. Stale entries heal themselves; realms are checked when used.
   */
  challenges?: KnownChallenges;
  /** Called with every known challenge whenever the client learns a new or changed one. */
  onChallengesChanged?: (known: KnownChallenges) => void;
}

/** The answer to HEAD: the digest the tag (or digest) resolves to now. */
export interface ManifestHead {
  digest: string;
  mediaType: string | undefined;
  /** Set when the registry sent no Docker-Content-Digest and the body had to be fetched. */
  fetched?: FetchedManifest;
}

export interface FetchedManifest {
  /** Verified: the digest of exactly these bytes. */
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  manifest: Manifest;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A Registry HTTP API v2 client for manifests: HEAD and GET with the full Accept list, Basic
 * and Bearer auth (anonymous or with credentials, tokens shared and batched), verified
 * digests, time-outs, retries and rate-limit handling. Errors are RegistryError (an AppError
 * with code RegistryError and data.kind).
 */
export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: RegistryAuth;
  private readonly insecure: readonly string[];
  private readonly maxManifestBytes: number;

  constructor(opts: RegistryClientOptions = {}) {
    const clock = opts.clock ?? systemClock;
    const logger = (opts.logger ?? silentLogger).child({ component: 'registry' });
    this.insecure = opts.insecure ?? [];
    this.maxManifestBytes = opts.maxManifestBytes ?? 4 * 1024 * 1024;
    this.transport = new Transport({
      fetch: opts.fetch ?? ((url, init) => fetch(url, init)),
      sleep: opts.sleep ?? realSleep,
      clock,
      random: opts.random ?? Math.random,
      logger,
      timeoutMs: opts.timeoutMs ?? 15_000,
      maxAttempts: Math.max(1, opts.maxAttempts ?? 3),
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 10_000,
      backoffBaseMs: opts.backoffBaseMs ?? 250,
      backoffMaxMs: opts.backoffMaxMs ?? 4_000,
    });
    this.auth = new RegistryAuth({
      transport: this.transport,
      clock,
      logger,
      credentials: opts.credentials ?? [],
      baseUrl: (host) => registryBaseUrl(host, this.insecure),
      maxScopesPerToken: opts.maxScopesPerToken ?? 30,
      ...(opts.onChallengesChanged ? { onChallengesChanged: opts.onChallengesChanged } : {}),
    });
    if (opts.challenges) this.auth.remember(opts.challenges);
  }

  /** The auth challenge of every registry seen (none, basic, or bearer realm + service): public parameters only, safe to store. */
  knownChallenges(): KnownChallenges {
    return this.auth.knownChallenges();
  }

  /** Adopts challenges remembered from an earlier run (as knownChallenges() gave them; invalid entries are ignored). */
  rememberChallenges(known: unknown): void {
    this.auth.remember(known);
  }

  /** Live request counters (token, head, get, ping, retries, rateLimited). */
  get stats(): RegistryStats {
    return this.transport.stats;
  }

  resetStats(): void {
    Object.assign(this.transport.stats, emptyStats());
  }

  /** The last `ratelimit-remaining`/`ratelimit-limit` a registry (e.g. "docker.io") sent. */
  rateLimit(registry: string): RateLimitInfo | undefined {
    return this.transport.rateLimit(registry);
  }

  /** Warms auth for a batch: one probe per unknown registry, one token per Bearer registry. */
  prepare(refs: readonly RepoRef[]): Promise<void> {
    return this.auth.prepare(refs);
  }

  /** HEAD a manifest by tag or digest (default: the ref's digest, else its tag). */
  async headManifest(ref: RepoRef & Partial<Pick<ImageRef, 'tag' | 'digest'>>, reference = referenceOf(ref)): Promise<ManifestHead> {
    const res = await this.send('head', ref, reference);
    const digest = res.headers.get('docker-content-digest');
    const mediaType = res.headers.get('content-type')?.split(';')[0]?.trim() || undefined;
    discard(res);
    if (isVerifiableDigest(digest)) return { digest, mediaType };
    // Some registries omit the header: the digest is then that of the exact body bytes.
    const fetched = await this.getManifest(ref, reference);
    return { digest: fetched.digest, mediaType: fetched.mediaType, fetched };
  }

  /** GET a manifest by tag or digest, size-capped; its digest is computed and verified. */
  async getManifest(ref: RepoRef, reference: string): Promise<FetchedManifest> {
    const ctx: RegistryErrorContext = { registry: ref.registry, repository: ref.repository };
    const res = await this.send('get', ref, reference);
    const bytes = await this.transport.readBody(res, this.maxManifestBytes, ctx, 'manifest');
    const byDigest = reference.includes(':');
    const header = res.headers.get('docker-content-digest');
    const expected = byDigest ? reference : isVerifiableDigest(header) ? header : undefined;
    const digest = await digestLike(bytes, expected);
    if (expected !== undefined && digest !== expected) {
      throw new RegistryError('invalid', `registry ${ref.registry} sent a manifest for ${ref.repository}${at(reference)} whose content does not match ${expected}`, ctx);
    }
    const manifest = parseManifest(bytes, res.headers.get('content-type'));
    if (typeof manifest === 'string') throw new RegistryError('invalid', `registry ${ref.registry} sent an unusable manifest for ${ref.repository}${at(reference)}: ${manifest}`, ctx);
    return { digest, mediaType: manifest.mediaType, bytes, manifest };
  }

  /** A manifest request with auth: anonymous first, then as the 401 challenge asks, once. */
  private async send(kind: 'head' | 'get', ref: RepoRef, reference: string): Promise<Response> {
    assertAllowedRegistry(ref.apiHost, ref.registry);
    const ctx: RegistryErrorContext = { registry: ref.registry, repository: ref.repository };
    const url = `${registryBaseUrl(ref.apiHost, this.insecure)}/v2/${ref.repository}/manifests/${reference}`;
    const method = kind === 'head' ? 'HEAD' : 'GET';
    let auth = await this.auth.authorization(ref);
    let res = await this.transport.request(kind, url, { method, headers: headersFor(auth) }, ctx);
    if (res.status === 401) {
      discard(res);
      this.auth.learn(ref.apiHost, res.headers.get('www-authenticate'));
      if (auth.scheme === 'bearer') this.auth.invalidate(ref);
      const again = await this.auth.authorization(ref);
      if (again.header !== undefined && (again.header !== auth.header || again.scheme === 'bearer')) {
        auth = again;
        res = await this.transport.request(kind, url, { method, headers: headersFor(auth) }, ctx);
      }
    }
    if (res.ok) {
      if (auth.scheme === 'none') this.auth.noteOpen(ref.apiHost);
      return res;
    }
    throw await this.failure(res, ref, reference, auth);
  }

  /** The first `errors[].code` of a registry error body ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"). */
  private async errorCode(res: Response, ctx: RegistryErrorContext): Promise<string | undefined> {
    if (!res.body || !res.headers.get('content-type')?.includes('json')) {
      discard(res);
      return undefined;
    }
    try {
      const bytes = await this.transport.readBody(res, 64 * 1024, ctx, 'error');
      const body = JSON.parse(new TextDecoder().decode(bytes)) as { errors?: { code?: unknown }[] };
      const code = body.errors?.[0]?.code;
      return typeof code === 'string' ? code : undefined;
    } catch {
      return undefined;
    }
  }

  private async failure(res: Response, ref: RepoRef, reference: string, auth: Authorization): Promise<RegistryError> {
    const ctx: RegistryErrorContext = { registry: ref.registry, repository: ref.repository };
    const where = `${ref.registry}/${ref.repository}`;
    if (res.status === 401 || res.status === 403) {
      discard(res);
      if (auth.withCredentials) {
        const verb = res.status === 403 ? 'denied the credentials access to' : 'rejected the credentials for';
        return new RegistryHTTPError('unauthorized', `registry ${ref.registry} ${verb} ${ref.repository}: check registry.auth`, ctx, res.status);
      }
      return new RegistryHTTPError('unauthorized', `registry ${ref.registry} requires credentials for ${ref.repository} (or it does not exist): add them to registry.auth`, ctx, res.status);
    }
    if (res.status === 404) {
      const code = await this.errorCode(res, ctx);
      if (code === 'NAME_UNKNOWN') return new RegistryHTTPError('not_found', `repository ${where} not found`, ctx, 404);
      const msg = reference.includes(':') ? `manifest ${reference} not found in ${where}` : `tag ${reference} not found in ${where}`;
      return new RegistryHTTPError('not_found', msg, ctx, 404);
    }
    discard(res);
    return new RegistryHTTPError('invalid', `registry ${ref.registry} answered HTTP ${res.status} for ${ref.repository}${at(reference)}`, ctx, res.status);
  }
}

function referenceOf(ref: RepoRef & Partial<Pick<ImageRef, 'tag' | 'digest'>>): string {
  const r = ref.digest ?? ref.tag;
  if (!r) throw new RegistryError('invalid', `${ref.registry}/${ref.repository} has neither tag nor digest to check`, { registry: ref.registry, repository: ref.repository });
  return r;
}

/** ":v1" or "@sha256:…", as a reference is written after the repository. */
function at(reference: string): string {
  return reference.includes(':') ? `@${reference}` : `:${reference}`;
}

function headersFor(auth: Authorization): Record<string, string> {
  return auth.header ? { Accept: MANIFEST_ACCEPT, Authorization: auth.header } : { Accept: MANIFEST_ACCEPT };
}

