/** Manifest media types and a strict-enough parser for the four kinds we accept. */

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/**
 * Always sent: without it a registry converts to schema 1 (another digest), and a tag that
 * points at an OCI index answers 404 unless the OCI index type is listed.
 */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.DockerList, MediaType.OciManifest, MediaType.DockerManifest].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface IndexManifest {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

export interface ImageManifest {
  kind: 'image';
  mediaType: string;
  /** The config blob; its digest is the image ID Docker shows. */
  config: Descriptor;
}

export type Manifest = IndexManifest | ImageManifest;

const INDEX_TYPES = new Set<string>([MediaType.OciIndex, MediaType.DockerList]);
const IMAGE_TYPES = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptor(v: unknown): Descriptor | null {
  if (!isRecord(v) || typeof v.digest !== 'string' || !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(v.digest)) return null;
  const d: Descriptor = { mediaType: typeof v.mediaType === 'string' ? v.mediaType : '', digest: v.digest, size: typeof v.size === 'number' ? v.size : 0 };
  const p = v.platform;
  if (isRecord(p) && typeof p.os === 'string' && typeof p.architecture === 'string') {
    d.platform = { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' && p.variant ? { variant: p.variant } : {}) };
  }
  if (isRecord(v.annotations)) {
    d.annotations = Object.fromEntries(Object.entries(v.annotations).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  return d;
}

/**
 * Parses a manifest body. The media type comes from the body's `mediaType`, else the
 * Content-Type; the shape decides when both are missing (OCI allows that).
 * Returns a reason string instead of throwing, for the caller's error message.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null): Manifest | string {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return 'the manifest is not JSON';
  }
  if (!isRecord(json)) return 'the manifest is not a JSON object';
  const header = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const mediaType = typeof json.mediaType === 'string' ? json.mediaType : header;
  if (json.schemaVersion === 1 || mediaType.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    return 'it sent a schema 1 manifest, which is not supported';
  }
  const isIndex = INDEX_TYPES.has(mediaType) || (!IMAGE_TYPES.has(mediaType) && Array.isArray(json.manifests));
  if (isIndex) {
    if (!Array.isArray(json.manifests)) return 'the index has no manifests list';
    const manifests: Descriptor[] = [];
    for (const m of json.manifests) {
      const d = descriptor(m);
      if (!d) return 'the index has an entry without a valid digest';
      manifests.push(d);
    }
    return { kind: 'index', mediaType: mediaType || MediaType.OciIndex, manifests };
  }
  const config = descriptor(json.config);
  if (!config) return `the manifest (${mediaType || 'no media type'}) has no config digest`;
  return { kind: 'image', mediaType: mediaType || MediaType.OciManifest, config };
}
