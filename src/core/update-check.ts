import type { LoadedConfig } from './config/load.js';
import type { Platform } from './docker/port.js';
import { formatImageRef, repoDigestsFor, type ImageRef } from './image-ref.js';
import { silentLogger, systemClock, type Clock, type Logger, type Store } from './ports.js';
import { ChallengeMemory } from './registry/challenge-memory.js';
import { RegistryClient, type FetchedManifest, type ManifestHead, type RegistryClientOptions } from './registry/client.js';
import type { RegistryCredential } from './registry/credentials.js';
import { RegistryError } from './registry/errors.js';
import type { ImageManifest, Manifest } from './registry/manifest.js';
import { formatPlatform, selectPlatform } from './registry/platform.js';

/** The local image a container runs, as `docker image inspect` describes it. */
export interface LocalImage {
  /** The image ID: the digest of its config blob. */
  id: string;
  repoDigests: readonly string[];
  platform: Platform;
}

export interface UpdateCheckResult {
  status: 'UpToDate' | 'UpdateAvailable';
  /** What the tag points at in the registry: an index or a single manifest. */
  remoteDigest: string;
  /** The index entry chosen for the local platform, when the tag names an index and it was read. */
  platformDigest?: string;
  /** When the registry was asked (ISO 8601); older than now when the answer came from the cache. */
  checkedAt: string;
}

/** What the checker needs from a registry client; RegistryClient satisfies it. */
export interface ManifestSource {
  prepare(refs: readonly ImageRef[]): Promise<void>;
  headManifest(ref: ImageRef): Promise<ManifestHead>;
  getManifest(ref: ImageRef, reference: string): Promise<FetchedManifest>;
}

export interface UpdateCheckerOptions {
  client: ManifestSource;
  /** How long the digest a tag resolves to is reused (config scan.cacheTTL in ms); 0 = never. */
  cacheTtlMs: number;
  clock?: Clock;
  logger?: Logger;
  /** Manifests kept by digest (content addressed, so never stale); default 1000. */
  maxCachedManifests?: number;
}

interface RemoteState {
  digest: string;
  checkedAt: number;
}

/**
 * The exact update check: HEAD the tag; a digest among the image's RepoDigests means up to
 * date with no further request. Otherwise read the manifest (an index → the local platform's
 * entry) and compare its config digest with the local image ID, so a rebuild of another
 * platform is not an update. Failures throw RegistryError: never a false UpToDate.
 */
export class UpdateChecker {
  private readonly remotes = new Map<string, RemoteState>();
  private readonly inflight = new Map<string, Promise<RemoteState>>();
  private readonly manifests = new Map<string, Manifest>();
  private readonly manifestInflight = new Map<string, Promise<Manifest>>();
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly opts: UpdateCheckerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'update-check' });
  }

  /** Warms registry auth for the references whose answer is not cached (one token per registry). */
  prepare(refs: readonly ImageRef[]): Promise<void> {
    const stale = refs.filter((r) => !this.fresh(formatImageRef(r)));
    return stale.length === 0 ? Promise.resolve() : this.opts.client.prepare(stale);
  }

  async check(ref: ImageRef, local: LocalImage): Promise<UpdateCheckResult> {
    const remote = await this.remote(ref);
    const checkedAt = new Date(remote.checkedAt).toISOString();
    // With Docker's containerd image store the image ID is the manifest (or index) digest.
    const known = [...repoDigestsFor(ref, local.repoDigests), local.id];
    if (known.includes(remote.digest)) return { status: 'UpToDate', remoteDigest: remote.digest, checkedAt };
    const manifest = await this.manifest(ref, remote.digest);
    if (manifest.kind === 'image') return { status: sameImage(manifest, local), remoteDigest: remote.digest, checkedAt };

    const { entry, available } = selectPlatform(manifest, local.platform);
    if (!entry) {
      const offers = available.length ? `it offers ${available.join(', ')}` : 'it lists no platform images';
      throw new RegistryError('not_found', `${formatImageRef(ref)} has no image for ${formatPlatform(local.platform)} (${offers})`, { registry: ref.registry, repository: ref.repository });
    }
    if (known.includes(entry.digest)) return { status: 'UpToDate', remoteDigest: remote.digest, platformDigest: entry.digest, checkedAt };
    const child = await this.manifest(ref, entry.digest);
    if (child.kind !== 'image') {
      throw new RegistryError('invalid', `the ${formatPlatform(local.platform)} entry of ${formatImageRef(ref)} is itself an index`, { registry: ref.registry, repository: ref.repository });
    }
    return { status: sameImage(child, local), remoteDigest: remote.digest, platformDigest: entry.digest, checkedAt };
  }

  /** Drops the cached answer for one reference (e.g. after updating its containers). */
  forget(ref: ImageRef): void {
    this.remotes.delete(formatImageRef(ref));
  }

  /** Drops every cached tag answer; manifests stay cached by digest. */
  clear(): void {
    this.remotes.clear();
  }

  private fresh(key: string): RemoteState | undefined {
    const hit = this.remotes.get(key);
    if (hit && this.clock.now() - hit.checkedAt < this.opts.cacheTtlMs) return hit;
    if (hit) this.remotes.delete(key);
    return undefined;
  }

  /** The digest a reference resolves to: cached for cacheTTL, one request for concurrent callers. */
  private remote(ref: ImageRef): Promise<RemoteState> {
    const key = formatImageRef(ref);
    const hit = this.fresh(key);
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.opts.client.headManifest(ref).then((head) => {
        if (head.fetched) this.remember(head.fetched.digest, head.fetched.manifest);
        const state = { digest: head.digest, checkedAt: this.clock.now() };
        if (this.opts.cacheTtlMs > 0) this.remotes.set(key, state);
        this.logger.debug({ image: key, digest: head.digest }, 'resolved tag');
        return state;
      });
      const settled = p.finally(() => this.inflight.delete(key));
      settled.catch(() => undefined);
      this.inflight.set(key, p);
    }
    return p;
  }

  /** A manifest by digest: from the cache (content addressed) or one shared GET. */
  private manifest(ref: ImageRef, digest: string): Promise<Manifest> {
    const hit = this.manifests.get(digest);
    if (hit) {
      this.manifests.delete(digest);
      this.manifests.set(digest, hit);
      return Promise.resolve(hit);
    }
    let p = this.manifestInflight.get(digest);
    if (!p) {
      p = this.opts.client.getManifest(ref, digest).then((m) => {
        this.remember(m.digest, m.manifest);
        return m.manifest;
      });
      const settled = p.finally(() => this.manifestInflight.delete(digest));
      settled.catch(() => undefined);
      this.manifestInflight.set(digest, p);
    }
    return p;
  }

  private remember(digest: string, manifest: Manifest): void {
    this.manifests.set(digest, manifest);
    const max = this.opts.maxCachedManifests ?? 1000;
    while (this.manifests.size > max) {
      const oldest = this.manifests.keys().next().value;
      if (oldest === undefined) break;
      this.manifests.delete(oldest);
    }
  }
}

function sameImage(manifest: ImageManifest, local: LocalImage): UpdateCheckResult['status'] {
  return manifest.config.digest === local.id ? 'UpToDate' : 'UpdateAvailable';
}

/**
 * The checker as the app runs it: credentials from config `registry.auth` first, then the
 * Docker CLI config's (read on the Node side), `registry.insecure`, and `scan.cacheTTL`.
 * With `challengeStore`, the registries' auth challenges are kept there across restarts
 * (loaded before the first request, saved whenever a new one is learned).
 */
export function createUpdateChecker(
  config: Pick<LoadedConfig, 'registry' | 'derived'>,
  deps: { dockerAuths?: readonly RegistryCredential[]; clock?: Clock; logger?: Logger; challengeStore?: Store } & Omit<RegistryClientOptions, 'credentials' | 'insecure' | 'clock' | 'logger'> = {},
): { checker: UpdateChecker; client: RegistryClient; challenges: ChallengeMemory | undefined } {
  const { dockerAuths = [], clock, logger, challengeStore, ...rest } = deps;
  const challenges = challengeStore ? new ChallengeMemory(challengeStore, logger ?? silentLogger) : undefined;
  const client = new RegistryClient({
    ...rest,
    credentials: [...config.registry.auth, ...dockerAuths],
    insecure: config.registry.insecure,
    ...(clock ? { clock } : {}),
    ...(logger ? { logger } : {}),
    ...(challenges ? { onChallengesChanged: (known) => challenges.save(known) } : {}),
  });
  let source: ManifestSource = client;
  if (challenges) {
    // The first request reads the remembered challenges (one store read); every request waits for it.
    let loading: Promise<void> | undefined;
    const ready = () => (loading ??= challenges.load().then((known) => client.rememberChallenges(known)));
    source = {
      prepare: async (refs) => {
        await ready();
        return client.prepare(refs);
      },
      headManifest: async (ref) => {
        await ready();
        return client.headManifest(ref);
      },
      getManifest: async (ref, reference) => {
        await ready();
        return client.getManifest(ref, reference);
      },
    };
  }
  const checker = new UpdateChecker({ client: source, cacheTtlMs: config.derived.cacheTtlMs, ...(clock ? { clock } : {}), ...(logger ? { logger } : {}) });
  return { checker, client, challenges };
}
