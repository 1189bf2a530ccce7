import type { ImageRef } from '../image-ref.js';
import type { Clock, Logger } from '../ports.js';
import { fromKnownChallenge, parseChallenge, sameChallenge, toKnownChallenge, type BearerChallenge, type Challenge, type KnownChallenge, type KnownChallenges } from './challenge.js';
import { basicAuthorization, findCredential, type RegistryCredential } from './credentials.js';
import { RegistryError, RegistryHTTPError } from './errors.js';
import { assertAllowedRegistry, checkRealm } from './security.js';
import { discard, type Transport } from './transport.js';

/** The parts of an ImageRef that auth needs. */
export type RepoRef = Pick<ImageRef, 'registry' | 'apiHost' | 'repository'>;

/** The header to send, and whether it carries the user's credentials (for error messages). */
export interface Authorization {
  header: string | undefined;
  scheme: 'none' | 'basic' | 'bearer';
  withCredentials: boolean;
}

interface TokenEntry {
  token: string;
  expiresAt: number;
  withCredentials: boolean;
}

export interface AuthOptions {
  transport: Transport;
  clock: Clock;
  logger: Logger;
  credentials: readonly RegistryCredential[];
  baseUrl: (apiHost: string) => string;
  /** Scopes per token request in prepare() (keeps the URL short). */
  maxScopesPerToken: number;
  /** Called with every challenge known when that set changes (for keeping them across restarts). */
  onChallengesChanged?: (known: KnownChallenges) => void;
}

const NONE: Authorization = { header: undefined, scheme: 'none', withCredentials: false };
const DEFAULT_TOKEN_SECONDS = 60;
const MAX_TOKEN_BODY = 1024 * 1024;

/**
 * Authentication state for all registries: each registry's challenge (remembered, so later
 * scans need no probe), Bearer tokens per repository until shortly before they expire, and
 * one in-flight token request shared by every caller that needs it.
 */
export class RegistryAuth {
  private readonly challenges = new Map<string, Challenge | 'none'>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly pending = new Map<string, Promise<TokenEntry | null>>();
  /** Hosts whose challenge was remembered from an earlier run and not yet seen again. */
  private readonly remembered = new Set<string>();
  private readonly relearning = new Map<string, Promise<boolean>>();
  /** The known set as last reported (or loaded), to report changes only. */
  private reported = '{}';

  constructor(private readonly opts: AuthOptions) {}

  /** What a registry asked for the last time; undefined when never seen. */
  challengeOf(apiHost: string): Challenge | 'none' | undefined {
    return this.challenges.get(apiHost);
  }

  /** Every known challenge in the form to keep: public parameters only. */
  knownChallenges(): KnownChallenges {
    const out: [string, KnownChallenge][] = [];
    for (const [host, c] of [...this.challenges].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const k = toKnownChallenge(c);
      if (k) out.push([host, k]);
    }
    return Object.fromEntries(out);
  }

  /**
   * Adopts challenges remembered from an earlier run (anything read from a store; invalid
   * entries are dropped). They save the GET /v2/ probe; one that turns out stale is replaced:
   * a refused token request probes again, and a 401 with another challenge is learned.
   * Challenges already learned in this run win.
   */
  remember(known: unknown): void {
    if (typeof known !== 'object' || known === null || Array.isArray(known)) return;
    const valid: [string, KnownChallenge][] = [];
    for (const [host, raw] of Object.entries(known)) {
      const c = fromKnownChallenge(raw);
      const k = c === undefined ? undefined : toKnownChallenge(c);
      if (c === undefined || k === undefined || !host) continue;
      valid.push([host, k]);
      if (this.challenges.has(host)) continue;
      this.challenges.set(host, c);
      this.remembered.add(host);
    }
    this.reported = JSON.stringify(Object.fromEntries(valid.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    this.reportChanges();
  }

  /** Stores the challenge of a 401. True when it differs from what was known. */
  learn(apiHost: string, wwwAuthenticate: string | null): boolean {
    const next = parseChallenge(wwwAuthenticate);
    if (!next) return false;
    const known = this.challenges.get(apiHost);
    this.challenges.set(apiHost, next);
    this.remembered.delete(apiHost);
    this.reportChanges();
    return known === undefined || known === 'none' || !sameChallenge(known, next);
  }

  /** A registry answered without asking for credentials. */
  noteOpen(apiHost: string): void {
    if (!this.challenges.has(apiHost)) {
      this.challenges.set(apiHost, 'none');
      this.reportChanges();
    }
    if (this.challenges.get(apiHost) === 'none') this.remembered.delete(apiHost);
  }

  private reportChanges(): void {
    if (!this.opts.onChallengesChanged) return;
    const known = this.knownChallenges();
    const json = JSON.stringify(known);
    if (json === this.reported) return;
    this.reported = json;
    try {
      this.opts.onChallengesChanged(known);
    } catch (err) {
      this.opts.logger.warn({ component: 'registry', err: String(err) }, 'could not hand over the learned registry challenges');
    }
  }

  /**
   * A remembered challenge failed (its token request did): forgets it and probes the registry
   * again, once for all callers. True when the registry now asks for something else.
   */
  private relearn(ref: RepoRef): Promise<boolean> {
    const host = ref.apiHost;
    let p = this.relearning.get(host);
    if (!p) {
      const before = this.challenges.get(host);
      this.remembered.delete(host);
      this.challenges.delete(host);
      this.opts.logger.debug({ component: 'registry', registry: ref.registry }, 'a remembered auth challenge failed; asking the registry again');
      p = this.probe(ref)
        .catch(() => undefined)
        .then(() => {
          this.reportChanges();
          const after = this.challenges.get(host);
          return !(before === after || (before !== undefined && before !== 'none' && after !== undefined && after !== 'none' && sameChallenge(before, after)));
        })
        .finally(() => this.relearning.delete(host));
      this.relearning.set(host, p);
    }
    return p;
  }

  /** Drops the token for a repository (the registry refused it). */
  invalidate(ref: RepoRef): void {
    this.tokens.delete(keyOf(ref.apiHost, ref.repository));
  }

  /** The Authorization header for a pull of `ref`, getting a token when needed. */
  async authorization(ref: RepoRef): Promise<Authorization> {
    const challenge = this.challenges.get(ref.apiHost);
    if (challenge === undefined || challenge === 'none') return NONE;
    if (challenge.scheme === 'basic') {
      const cred = findCredential(ref.registry, this.opts.credentials);
      return cred ? { header: basicAuthorization(cred), scheme: 'basic', withCredentials: true } : NONE;
    }
    let entry: TokenEntry;
    try {
      entry = await this.token(ref, challenge);
    } catch (err) {
      // A stale remembered challenge (the realm moved, or the registry now uses Basic): ask again, once.
      if (!this.remembered.has(ref.apiHost) || !(await this.relearn(ref))) throw err;
      return this.authorization(ref);
    }
    return { header: `Bearer ${entry.token}`, scheme: 'bearer', withCredentials: entry.withCredentials };
  }

  /**
   * Warms tokens for a batch: one probe per registry whose challenge is unknown, then one token
   * request per Bearer registry carrying the scopes of all its repositories. Rejects with the
   * first failure after trying every registry.
   */
  async prepare(refs: readonly RepoRef[]): Promise<void> {
    const byHost = new Map<string, { ref: RepoRef; repos: Set<string> }>();
    for (const ref of refs) {
      const g = byHost.get(ref.apiHost) ?? { ref, repos: new Set<string>() };
      g.repos.add(ref.repository);
      byHost.set(ref.apiHost, g);
    }
    const results = await Promise.allSettled([...byHost.values()].map(({ ref, repos }) => this.prepareHost(ref, [...repos])));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async prepareHost(ref: RepoRef, repos: string[]): Promise<void> {
    assertAllowedRegistry(ref.apiHost, ref.registry);
    const relearning = this.relearning.get(ref.apiHost);
    if (relearning) await relearning;
    if (!this.challenges.has(ref.apiHost)) await this.probe(ref);
    const remembered = this.remembered.has(ref.apiHost);
    const challenge = this.challenges.get(ref.apiHost);
    if (challenge === undefined || challenge === 'none' || challenge.scheme !== 'bearer') return;
    const now = this.opts.clock.now();
    const missing = repos.filter((r) => {
      const key = keyOf(ref.apiHost, r);
      return !this.pending.has(key) && !((this.tokens.get(key)?.expiresAt ?? 0) > now);
    });
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < missing.length; i += this.opts.maxScopesPerToken) {
      const chunk = missing.slice(i, i + this.opts.maxScopesPerToken);
      const first = this.fetchToken(ref, challenge, chunk);
      // A remembered challenge whose token request fails may be stale: probe, and retry once if it changed.
      const request = !remembered ? first : first.catch(async (err: unknown) => {
        if (!(await this.relearn(ref))) throw err;
        const next = this.challenges.get(ref.apiHost);
        return next !== undefined && next !== 'none' && next.scheme === 'bearer' ? this.fetchToken(ref, next, chunk) : null;
      });
      // A failed batch does not fail the checks waiting on it: each then asks on its own.
      const soft = request.catch(() => null);
      for (const r of chunk) this.track(keyOf(ref.apiHost, r), soft);
      batches.push(request);
    }
    await Promise.all(batches);
  }

  /** GET /v2/: learns whether and how a registry wants authentication. */
  private async probe(ref: RepoRef): Promise<void> {
    const ctx = { registry: ref.registry };
    const res = await this.opts.transport.request('ping', `${this.opts.baseUrl(ref.apiHost)}/v2/`, { method: 'GET' }, ctx);
    discard(res);
    if (res.status === 401) this.learn(ref.apiHost, res.headers.get('www-authenticate'));
    else if (res.ok) this.noteOpen(ref.apiHost);
  }

  private track(key: string, p: Promise<TokenEntry | null>): void {
    this.pending.set(key, p);
    void p.finally(() => {
      if (this.pending.get(key) === p) this.pending.delete(key);
    }).catch(() => undefined);
  }

  private async token(ref: RepoRef, challenge: BearerChallenge): Promise<TokenEntry> {
    const key = keyOf(ref.apiHost, ref.repository);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.opts.clock.now()) return cached;
    const waiting = this.pending.get(key);
    if (waiting) {
      const shared = await waiting;
      if (shared) return shared;
    }
    const request = this.fetchToken(ref, challenge, [ref.repository]);
    this.track(key, request);
    return request;
  }

  private async fetchToken(ref: RepoRef, challenge: BearerChallenge, repositories: string[]): Promise<TokenEntry> {
    const { registry } = ref;
    const realm = checkRealm(challenge.realm, ref.apiHost, registry);
    const url = new URL(realm.url);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const repo of repositories) url.searchParams.append('scope', `repository:${repo}:pull`);
    const cred = findCredential(registry, this.opts.credentials);
    const send = cred !== undefined && realm.sendCredentials;
    if (cred && !send) {
      this.opts.logger.warn({ component: 'registry', registry, realm: `${url.origin}${url.pathname}` }, 'not sending credentials to a plain-http token realm on another host; asking anonymously');
    }
    const what = repositories.length === 1 ? repositories[0] : `${repositories.length} repositories`;
    const ctx = { registry, repository: repositories.length === 1 ? repositories[0] : undefined, subject: `token server of registry ${registry} (${url.host})` };
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (send) headers.Authorization = basicAuthorization(cred);
    const res = await this.opts.transport.request('token', url.toString(), { method: 'GET', headers }, ctx);
    if (res.status === 401 || res.status === 403) {
      discard(res);
      const msg = send
        ? `registry ${registry} rejected the credentials for ${what}: check registry.auth`
        : `registry ${registry} refused anonymous access to ${what}: add credentials to registry.auth`;
      throw new RegistryHTTPError('unauthorized', msg, ctx, res.status);
    }
    if (!res.ok) {
      discard(res);
      throw new RegistryHTTPError('invalid', `${ctx.subject} answered HTTP ${res.status}: check the registry's token realm`, ctx, res.status);
    }
    const body = await this.opts.transport.readBody(res, MAX_TOKEN_BODY, ctx, 'token response');
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch {
      parsed = null;
    }
    const obj = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const token = typeof obj.token === 'string' && obj.token ? obj.token : typeof obj.access_token === 'string' ? obj.access_token : '';
    if (!token) throw new RegistryError('invalid', `${ctx.subject} sent a response without a token`, ctx);
    const seconds = typeof obj.expires_in === 'number' && obj.expires_in > 0 ? obj.expires_in : DEFAULT_TOKEN_SECONDS;
    const lifetimeMs = seconds * 1000;
    // Renew a little early: the token must still be valid when the registry reads it.
    const entry: TokenEntry = { token, withCredentials: send, expiresAt: this.opts.clock.now() + lifetimeMs - Math.min(10_000, lifetimeMs / 4) };
    for (const repo of repositories) this.tokens.set(keyOf(ref.apiHost, repo), entry);
    this.opts.logger.debug({ component: 'registry', action: 'token', registry, repositories: repositories.length, expiresInS: seconds, withCredentials: send }, 'got a registry token');
    return entry;
  }
}

function keyOf(apiHost: string, repository: string): string {
  return `${apiHost} ${repository}`;
}
