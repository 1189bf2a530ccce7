import { AppError, ErrorCode } from '../errors.js';
import { parseImageRef, type ImageRef } from '../image-ref.js';
import type { MachineScope } from '../auth/machine-tokens.js';

/** An image a trigger or a scope names: a repository (any tag) or one tag of it. */
export interface ImagePattern {
  registry: string;
  repository: string;
  /** Undefined: every tag of the repository. */
  tag: string | undefined;
  written: string;
}

/** Parses "repo", "host/repo", "host/repo:tag" (normalised as Docker does); a digest is refused. */
export function parseImagePattern(text: string): ImagePattern {
  const ref = parseImageRef(text);
  if (ref.digest) throw new AppError(ErrorCode.BadRequest, `image ${JSON.stringify(text.slice(0, 200))}: name a repository or a tag, not a digest`);
  const afterSlash = text.slice(text.lastIndexOf('/') + 1);
  return { registry: ref.registry, repository: ref.repository, tag: afterSlash.includes(':') ? ref.tag : undefined, written: text };
}

/** Whether a container's image (normalised) is one the pattern names. */
export function patternMatches(p: Pick<ImagePattern, 'registry' | 'repository' | 'tag'>, ref: ImageRef): boolean {
  return p.registry === ref.registry && p.repository === ref.repository && (p.tag === undefined || p.tag === ref.tag);
}

/** Whether `inner` names nothing outside `outer` (a repository pattern covers its tags). */
function covers(outer: ImagePattern, inner: ImagePattern): boolean {
  return outer.registry === inner.registry && outer.repository === inner.repository && (outer.tag === undefined || outer.tag === inner.tag);
}

/** The first thing a request names that the scope does not allow, or null when all is allowed. */
export function outsideScope(scope: MachineScope, request: { images: ImagePattern[]; containers: string[] }): string | null {
  const allowed = (scope.images ?? []).map(parseImagePattern);
  for (const img of request.images) {
    if (!allowed.some((a) => covers(a, img))) return `image ${img.written}`;
  }
  for (const name of request.containers) {
    if (!(scope.containers ?? []).includes(name.replace(/^\//, ''))) return `container ${name}`;
  }
  return null;
}
