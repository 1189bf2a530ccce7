import { AppError, ErrorCode } from './errors.js';

/**
 * A parsed, normalised image reference, exactly as Docker reads one:
 * `nginx` → docker.io/library/nginx:latest; `localhost:5000/a/b@sha256:…`; `ghcr.io/o/r:1.2`.
 */
export interface ImageRef {
  /** Registry as Docker names it: "docker.io", "ghcr.io", "127.0.0.1:5000". */
  registry: string;
  /** The host that serves the Registry API: registry-1.docker.io for Docker Hub. */
  apiHost: string;
  /** Path inside the registry: "library/nginx". */
  repository: string;
  /** Undefined only when the reference names a digest without a tag. */
  tag: string | undefined;
  digest: string | undefined;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

function invalid(ref: string, why: string): AppError {
  return new AppError(ErrorCode.BadRequest, `invalid image reference ${JSON.stringify(ref)}: ${why}`);
}

/** Parses and normalises a reference; throws AppError(BadRequest) naming what is wrong. */
export function parseImageRef(ref: string): ImageRef {
  if (ref.length === 0) throw invalid(ref, 'it is empty');
  if (ref !== ref.trim()) throw invalid(ref, 'it has leading or trailing spaces');
  if (/^(sha256:)?[a-f0-9]{64}$/.test(ref)) throw invalid(ref, 'that is an image ID, not a reference');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, `"${digest}" is not a digest like sha256:<64 hex>`);
    if (digest.startsWith('sha256:') && !SHA256.test(digest)) throw invalid(ref, 'a sha256 digest has 64 lower-case hex characters');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `"${tag}" is not a valid tag`);
  }
  if (rest.length === 0) throw invalid(ref, 'it has no repository name');

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a registry only if it looks like a host.
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!DOMAIN.test(first)) throw invalid(ref, `"${first}" is not a valid registry host`);
      registry = first;
      path = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (path !== path.toLowerCase()) throw invalid(ref, 'repository names must be lower case');
  if (!PATH.test(path)) throw invalid(ref, `"${path}" is not a valid repository path`);
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (registry.length + 1 + path.length > 255) throw invalid(ref, 'the name is longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API : registry, repository: path, tag, digest };
}

/** "docker.io/library/nginx:latest", "ghcr.io/o/r:1@sha256:…". */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** "docker.io/library/nginx": the repository without tag or digest. */
export function repositoryKey(ref: Pick<ImageRef, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Parses without throwing: null for anything Docker would refuse (e.g. an image ID). */
export function tryParseImageRef(ref: string): ImageRef | null {
  try {
    return parseImageRef(ref);
  } catch {
    return null;
  }
}

/**
 * The digests in an image's RepoDigests that belong to the reference's repository.
 * Compare by membership: after a pull of a multi-platform tag the list holds the index digest,
 * and it grows with every pull and push.
 */
export function repoDigestsFor(ref: ImageRef, repoDigests: readonly string[]): string[] {
  const key = repositoryKey(ref);
  const out: string[] = [];
  for (const entry of repoDigests) {
    const parsed = tryParseImageRef(entry);
    if (parsed?.digest && repositoryKey(parsed) === key) out.push(parsed.digest);
  }
  return out;
}
