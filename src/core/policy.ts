import type { Config } from './config/schema.js';
import type { ImageRef } from './image-ref.js';

/** Labels read on containers (design §3.3). */
export const LABELS = {
  skip: 'watchdocker.skip',
  force: 'watchdocker.force',
  /** Honoured for users moving from Watchtower: "false" skips the container. */
  watchtowerEnable: 'com.centurylinklabs.watchtower.enable',
  composeProject: 'com.docker.compose.project',
} as const;

export type PolicyConfig = Config['policy'];

export interface PolicySubject {
  labels: Record<string, string>;
  repoDigests: string[];
  /** Null when the image reference cannot be parsed (e.g. only an image ID is known). */
  ref: ImageRef | null;
  image: string;
}

export type PolicyDecision =
  | { action: 'skip'; reason: string }
  | { action: 'check'; forced: boolean; note?: string };

/** "strict" semver: 1.2.3 or v1.2.3; not 1.2, not 1.2.3-alpine, not 01.2.3. */
const STRICT_SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export function isStrictSemver(tag: string): boolean {
  return STRICT_SEMVER.test(tag);
}

/** A label selector "key=value" matches that exact value; "key" matches any value. */
export function matchesSelector(labels: Record<string, string>, selector: string): boolean {
  const eq = selector.indexOf('=');
  if (eq === -1) return Object.hasOwn(labels, selector.trim());
  const key = selector.slice(0, eq).trim();
  return Object.hasOwn(labels, key) && labels[key] === selector.slice(eq + 1).trim();
}

const isTrue = (v: string | undefined) => v !== undefined && v.trim().toLowerCase() === 'true';

/**
 * The policy engine: decides whether a container's image is checked, and why not.
 * Order: label filters and skip labels first (a force label never overrides an explicit skip),
 * then what cannot be checked, then pins, which `watchdocker.force=true` overrides.
 */
export function evaluatePolicy(subject: PolicySubject, policy: PolicyConfig): PolicyDecision {
  const { labels, ref } = subject;
  if (policy.onlyLabels.length > 0 && !policy.onlyLabels.some((s) => matchesSelector(labels, s))) {
    return { action: 'skip', reason: `not selected by policy.onlyLabels (${policy.onlyLabels.join(', ')})` };
  }
  const excluded = policy.excludeLabels.find((s) => matchesSelector(labels, s));
  if (excluded) return { action: 'skip', reason: `excluded by label ${excluded}` };
  if (isTrue(labels[LABELS.skip])) return { action: 'skip', reason: `label ${LABELS.skip}=true` };
  const skipLabel = policy.skipLabels.find((s) => matchesSelector(labels, s));
  if (skipLabel) return { action: 'skip', reason: `label ${skipLabel}` };
  if (labels[LABELS.watchtowerEnable]?.trim().toLowerCase() === 'false') {
    return { action: 'skip', reason: `label ${LABELS.watchtowerEnable}=false` };
  }
  if (!ref) return { action: 'skip', reason: `image reference ${JSON.stringify(subject.image)} names no registry tag to check` };

  const forced = isTrue(labels[LABELS.force]);
  if (!forced) {
    if (ref.digest && policy.skipPinnedDigest) return { action: 'skip', reason: 'pinned digest' };
    if (subject.repoDigests.length === 0 && policy.skipLocalBuild) return { action: 'skip', reason: 'local build (no RepoDigests)' };
    if (ref.tag && isStrictSemver(ref.tag) && policy.skipSemverPinned) return { action: 'skip', reason: `pinned version tag ${ref.tag}` };
  }
  if (ref.digest && !ref.tag) return { action: 'skip', reason: 'pinned digest without a tag: nothing to compare with' };
  const project = labels[LABELS.composeProject];
  return project
    ? { action: 'check', forced, note: `managed by compose project ${project}` }
    : { action: 'check', forced };
}
