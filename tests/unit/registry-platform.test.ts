import { describe, expect, it } from 'vitest';
import type { Platform } from '../../src/core/docker/port.js';
import { parseManifest, type IndexManifest } from '../../src/core/registry/manifest.js';
import { formatPlatform, normalizePlatform, selectPlatform } from '../../src/core/registry/platform.js';
import { digestOf, fakeIndex } from '../helpers/registry-fake.js';

type Entry = { name: string; platform: Platform; annotations?: Record<string, string> };

function index(entries: Entry[]): IndexManifest {
  const m = parseManifest(new TextEncoder().encode(JSON.stringify(fakeIndex(entries.map((e, i) => ({ digest: digestOf(String(i)), platform: e.platform, ...(e.annotations ? { annotations: e.annotations } : {}) }))))), null);
  if (typeof m === 'string' || m.kind !== 'index') throw new Error(String(m));
  return m;
}

const typical: Entry[] = [
  { name: 'amd64', platform: { os: 'linux', architecture: 'amd64' } },
  { name: 'arm64', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  { name: 'armv7', platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
  { name: 'armv6', platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
  { name: 'att-amd64', platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': digestOf('0') } },
];

describe('platform selection', () => {
  it.each([
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }, typical, 'amd64'],
    ['linux/x86_64 alias', { os: 'linux', architecture: 'x86_64' }, typical, 'amd64'],
    ['linux/arm64 without variant ≡ v8', { os: 'linux', architecture: 'arm64' }, typical, 'arm64'],
    ['linux/aarch64 alias', { os: 'linux', architecture: 'aarch64' }, typical, 'arm64'],
    ['linux/arm64/v8 vs an entry without variant', { os: 'linux', architecture: 'arm64', variant: 'v8' }, [{ name: 'arm64-novariant', platform: { os: 'linux', architecture: 'arm64' } }], 'arm64-novariant'],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }, typical, 'armv7'],
    ['linux/arm without variant ≡ v7', { os: 'linux', architecture: 'arm' }, typical, 'armv7'],
    ['linux/arm/v6 exact, not v7', { os: 'linux', architecture: 'arm', variant: 'v6' }, typical, 'armv6'],
    ['linux/arm/v7 runs a v6 image when there is no v7', { os: 'linux', architecture: 'arm', variant: 'v7' }, typical.filter((e) => e.name !== 'armv7'), 'armv6'],
    ['linux/arm/v6 never takes a v7 image', { os: 'linux', architecture: 'arm', variant: 'v6' }, typical.filter((e) => e.name !== 'armv6'), null],
    ['linux/amd64/v3 runs the baseline image', { os: 'linux', architecture: 'amd64', variant: 'v3' }, typical, 'amd64'],
    ['linux/amd64 prefers v1 over v3', { os: 'linux', architecture: 'amd64' }, [{ name: 'v3', platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } }, { name: 'v1', platform: { os: 'linux', architecture: 'amd64' } }], 'v1'],
    ['linux/s390x is missing', { os: 'linux', architecture: 's390x' }, typical, null],
    ['windows/amd64 is not linux/amd64', { os: 'windows', architecture: 'amd64' }, typical, null],
    ['attestations are never chosen', { os: 'unknown', architecture: 'unknown' }, typical, null],
    [
      'entries with a reference annotation are skipped',
      { os: 'linux', architecture: 'amd64' },
      [{ name: 'att', platform: { os: 'linux', architecture: 'amd64' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }, { name: 'real', platform: { os: 'linux', architecture: 'amd64' } }],
      'real',
    ],
  ] as [string, Platform, Entry[], string | null][])('%s', (_name, platform, entries, want) => {
    const { entry } = selectPlatform(index(entries), platform);
    const i = entry ? Number(entry.digest.slice(-1)) : -1;
    expect(entry ? entries[i]?.name : null).toBe(want);
  });

  it('lists what the index offers, attestations left out', () => {
    expect(selectPlatform(index(typical), { os: 'linux', architecture: 's390x' }).available).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'linux/arm/v6']);
  });

  it.each([
    [{ os: 'Linux', architecture: 'AMD64' }, { os: 'linux', architecture: 'amd64', variant: 'v1' }],
    [{ os: 'linux', architecture: 'arm64', variant: '8' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    [{ os: 'linux', architecture: 'armel' }, { os: 'linux', architecture: 'arm', variant: 'v6' }],
    [{ os: 'linux', architecture: 'riscv64' }, { os: 'linux', architecture: 'riscv64', variant: '' }],
  ])('normalises %j', (p, want) => {
    expect(normalizePlatform(p)).toEqual(want);
  });

  it('formats platforms for messages', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'arm64' })).toBe('linux/arm64/v8');
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
  });
});

describe('manifest parsing', () => {
  const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
  it.each([
    ['not JSON', 'nope', null, 'the manifest is not JSON'],
    ['schema 1', { schemaVersion: 1, name: 'x' }, null, 'it sent a schema 1 manifest, which is not supported'],
    ['image without config', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' }, null, 'the manifest (application/vnd.oci.image.manifest.v1+json) has no config digest'],
    ['index entry without digest', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ size: 1 }] }, null, 'the index has an entry without a valid digest'],
  ])('rejects %s', (_name, body, ct, reason) => {
    expect(parseManifest(enc(body), ct)).toBe(reason);
  });

  it('takes the media type from Content-Type when the body has none (OCI allows that)', () => {
    const m = parseManifest(enc({ schemaVersion: 2, manifests: [] }), 'application/vnd.oci.image.index.v1+json; charset=utf-8');
    expect(m).toEqual({ kind: 'index', mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
  });
});
