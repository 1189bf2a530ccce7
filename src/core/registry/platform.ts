import type { Platform } from '../docker/port.js';
import type { Descriptor, IndexManifest } from './manifest.js';

/**
 * Picking the entry of an index for a local image's platform, the way containerd's default
 * matcher does: normalised os/architecture/variant, an exact variant first, then older
 * compatible variants (arm v7 runs v6 and v5; amd64 v3 runs v2 and v1).
 */

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7', amd64: 'v1' };
/** Variants a platform also runs, best first. */
const COMPATIBLE: Record<string, string[]> = {
  'arm/v8': ['v8', 'v7', 'v6', 'v5'],
  'arm/v7': ['v7', 'v6', 'v5'],
  'arm/v6': ['v6', 'v5'],
  'amd64/v4': ['v4', 'v3', 'v2', 'v1'],
  'amd64/v3': ['v3', 'v2', 'v1'],
  'amd64/v2': ['v2', 'v1'],
};

/** Lower case, aliases resolved, the default variant filled in (arm64 ≡ arm64/v8). */
export function normalizePlatform(p: Platform): Required<Platform> {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  if (architecture === 'armel' && !variant) variant = 'v6';
  architecture = ARCH_ALIASES[architecture] ?? architecture;
  if (architecture === 'arm64' && (variant === '8' || variant === 'v8')) variant = 'v8';
  if (architecture === 'arm' && /^\d$/.test(variant)) variant = `v${variant}`;
  return { os, architecture, variant: variant || DEFAULT_VARIANT[architecture] || '' };
}

/** "linux/arm64/v8", "linux/amd64" (default amd64 variant left out). */
export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  const showVariant = n.variant && !(n.architecture === 'amd64' && n.variant === 'v1');
  return `${n.os}/${n.architecture}${showVariant ? `/${n.variant}` : ''}`;
}

/** Attestations and other non-image entries (BuildKit's unknown/unknown + reference annotations). */
export function isImageEntry(d: Descriptor): boolean {
  if (!d.platform) return false;
  if (d.platform.os === 'unknown' || d.platform.architecture === 'unknown') return false;
  return !(d.annotations && 'vnd.docker.reference.type' in d.annotations);
}

/** The entry for `platform`, or null; `available` lists what the index offers (for messages). */
export function selectPlatform(index: IndexManifest, platform: Platform): { entry: Descriptor | null; available: string[] } {
  const want = normalizePlatform(platform);
  const entries = index.manifests.filter(isImageEntry);
  const candidates = entries.filter((d) => {
    const n = normalizePlatform(d.platform as Platform);
    return n.os === want.os && n.architecture === want.architecture;
  });
  const order = COMPATIBLE[`${want.architecture}/${want.variant}`] ?? [want.variant];
  let entry: Descriptor | null = null;
  for (const variant of order) {
    entry = candidates.find((d) => normalizePlatform(d.platform as Platform).variant === variant) ?? null;
    if (entry) break;
  }
  return { entry, available: entries.map((d) => formatPlatform(d.platform as Platform)) };
}
