import * as v from 'valibot';
import { AppError, ErrorCode } from '../errors.js';

/** What a webhook asks for, whatever format it came in. */
export interface WebhookRequest {
  source: 'own' | 'registry' | 'dockerhub' | 'github';
  /** Image references or repository names (normalised later with parseImageRef). */
  images: string[];
  /** Container names or ids. */
  containers: string[];
  /** Events of the payload that ask for nothing (pulls, blob pushes, untagged pushes, …). */
  ignored: number;
}

export const REGISTRY_EVENTS_TYPE = 'application/vnd.docker.distribution.events.v1+json';

const OwnPayload = v.strictObject({
  images: v.optional(v.array(v.pipe(v.string('expected image references'), v.nonEmpty(), v.maxLength(512)), 'expected a list of image references'), []),
  containers: v.optional(v.array(v.pipe(v.string('expected container names'), v.nonEmpty(), v.maxLength(128)), 'expected a list of container names'), []),
});

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? x : undefined);

/** Layers and configs arrive as "blob" pushes; only manifests carry a tag worth acting on. */
function isManifestEvent(target: Obj): boolean {
  const mt = str(target.mediaType) ?? '';
  if (/octet-stream|layer|\.config\./i.test(mt)) return false;
  return /manifest|image\.index/i.test(mt) || str(target.tag) !== undefined;
}

/** The distribution registry's notification envelope: manifest pushes with a tag. */
function fromRegistry(body: Obj): WebhookRequest {
  const events = Array.isArray(body.events) ? body.events : [];
  const images: string[] = [];
  let ignored = 0;
  for (const e of events) {
    const target = isObj(e) && isObj(e.target) ? e.target : undefined;
    const tag = target ? str(target.tag) : undefined;
    const repository = target ? str(target.repository) : undefined;
    if (!isObj(e) || e.action !== 'push' || !target || !tag || !repository || !isManifestEvent(target)) {
      ignored++;
      continue;
    }
    let host = isObj(e.request) ? str(e.request.host) : undefined;
    if (!host) {
      try {
        host = new URL(str(target.url) ?? '').host || undefined;
      } catch {
        host = undefined;
      }
    }
    if (!host) {
      ignored++;
      continue;
    }
    images.push(`${host.toLowerCase()}/${repository}:${tag}`);
  }
  return { source: 'registry', images: [...new Set(images)], containers: [], ignored };
}

/** Docker Hub: {push_data: {tag}, repository: {repo_name}}. */
function fromDockerHub(body: Obj): WebhookRequest {
  const tag = isObj(body.push_data) ? str(body.push_data.tag) : undefined;
  const repo = isObj(body.repository) ? str(body.repository.repo_name) : undefined;
  if (!tag || !repo) return { source: 'dockerhub', images: [], containers: [], ignored: 1 };
  return { source: 'dockerhub', images: [`docker.io/${repo.toLowerCase()}:${tag}`], containers: [], ignored: 0 };
}

/** GitHub's `package` / `registry_package` "published" event for a container package: ghcr.io/<owner>/<name>:<tag>. */
function fromGithub(body: Obj): WebhookRequest {
  const none: WebhookRequest = { source: 'github', images: [], containers: [], ignored: 1 };
  const pkg = isObj(body.package) ? body.package : isObj(body.registry_package) ? body.registry_package : undefined;
  if (!pkg || body.action !== 'published' || (str(pkg.package_type) ?? '').toLowerCase() !== 'container') return none;
  const owner = (isObj(pkg.owner) ? str(pkg.owner.login) : undefined) ?? str(pkg.namespace);
  const name = str(pkg.name);
  const version = isObj(pkg.package_version) ? pkg.package_version : undefined;
  const meta = version && isObj(version.container_metadata) ? version.container_metadata : undefined;
  const tag = meta && isObj(meta.tag) ? str(meta.tag.name) : undefined;
  if (!owner || !name || !tag) return none;
  return { source: 'github', images: [`ghcr.io/${owner.toLowerCase()}/${name.toLowerCase()}:${tag}`], containers: [], ignored: 0 };
}

/**
 * Reads a webhook body in any of the four formats: the registry's notification envelope
 * (by Content-Type or an `events` list), Docker Hub's, GitHub's package event (by
 * X-GitHub-Event or its shape), else our own `{images?, containers?}` (strict).
 */
export function parseWebhookPayload(raw: string, headers: { contentType?: string | undefined; githubEvent?: string | undefined }): WebhookRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new AppError(ErrorCode.BadRequest, 'expected a JSON body');
  }
  if (!isObj(body)) throw new AppError(ErrorCode.BadRequest, 'expected a JSON object');
  const type = (headers.contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === REGISTRY_EVENTS_TYPE || Array.isArray(body.events)) return fromRegistry(body);
  if (headers.githubEvent !== undefined || isObj(body.package) || isObj(body.registry_package)) {
    if (headers.githubEvent !== undefined && !['package', 'registry_package'].includes(headers.githubEvent)) return { source: 'github', images: [], containers: [], ignored: 1 };
    return fromGithub(body);
  }
  if (isObj(body.push_data) && isObj(body.repository)) return fromDockerHub(body);
  const own = v.safeParse(OwnPayload, body);
  if (!own.success) {
    const issue = own.issues[0];
    const key = v.getDotPath(issue);
    throw new AppError(ErrorCode.BadRequest, key ? `body field "${key}": ${issue.expected === 'never' ? 'unknown field' : issue.message}` : `body: ${issue.message}`);
  }
  if (own.output.images.length === 0 && own.output.containers.length === 0) throw new AppError(ErrorCode.BadRequest, 'name at least one image or container: {"images": [...]} or {"containers": [...]}');
  return { source: 'own', images: [...new Set(own.output.images)], containers: [...new Set(own.output.containers)], ignored: 0 };
}
