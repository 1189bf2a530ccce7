import type { ContainerInspect, HostConfig, MountPoint, MountSpec } from '../docker/port.js';

/*
 * HostConfig is the host side of a container (ports, volumes, limits, devices, security,
 * logging, restart policy). The engine hands it back in inspect in the very shape create
 * accepts, so it is copied whole (fields we don't model included) with a few repairs.
 */

/** Fields inspect reports that the engine derives by itself: passing them back would pin today's defaults. */
const DERIVED = ['MaskedPaths', 'ReadonlyPaths'];

/** The container path a `Binds` entry mounts at ("src:dst[:opts]"). */
export function bindDestination(bind: string): string | undefined {
  return bind.split(':')[1];
}

/**
 * Legacy links read back as "/other:/this/alias"; create wants "other:alias".
 */
export function createLinks(links: readonly string[]): string[] {
  return links.map((l) => {
    const colon = l.indexOf(':');
    if (colon === -1) return l.replace(/^\//, '');
    const target = l.slice(0, colon).replace(/^\//, '');
    const alias = l.slice(colon + 1).split('/').pop() ?? '';
    return `${target}:${alias}`;
  });
}

/**
 * The volumes mounted into a container that nothing in its HostConfig names: anonymous
 * volumes from the image's VOLUME or `-v /path`. Recreated as they are, they would be new and
 * empty; so they are re-attached by name.
 */
export function anonymousVolumes(c: Pick<ContainerInspect, 'HostConfig' | 'Mounts'>): MountPoint[] {
  const named = new Set<string>();
  for (const b of c.HostConfig.Binds ?? []) {
    const dst = bindDestination(b);
    if (dst) named.add(dst);
  }
  for (const m of c.HostConfig.Mounts ?? []) if (m.Source) named.add(m.Target);
  return (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name && !named.has(m.Destination));
}

/** The HostConfig for the new container: same as the old one, with anonymous volumes kept. */
export function recreateHostConfig(c: Pick<ContainerInspect, 'HostConfig' | 'Mounts'>): HostConfig {
  const out: HostConfig = {};
  for (const [k, v] of Object.entries(c.HostConfig)) if (!DERIVED.includes(k)) out[k] = v;
  if (c.HostConfig.Links && c.HostConfig.Links.length > 0) out.Links = createLinks(c.HostConfig.Links);

  const anonymous = anonymousVolumes(c);
  const byDestination = new Map(anonymous.map((m) => [m.Destination, m]));
  // `--mount type=volume,dst=/x` without a source: HostConfig.Mounts has it with no name.
  const mounts: MountSpec[] = (c.HostConfig.Mounts ?? []).map((m) => {
    const found = m.Type === 'volume' && !m.Source ? byDestination.get(m.Target) : undefined;
    if (!found?.Name) return m;
    byDestination.delete(m.Target);
    return { ...m, Source: found.Name };
  });
  // As mounts rather than binds: a volume bound through Binds reads back with Mode "z".
  for (const m of byDestination.values()) mounts.push(volumeMount(m));
  if (mounts.length > 0) out.Mounts = mounts;
  return out;
}

/** A `Mounts` entry that attaches an existing volume by name (with its own driver). */
export function volumeMount(m: MountPoint): MountSpec {
  const driver = m.Driver && m.Driver !== 'local' ? { VolumeOptions: { DriverConfig: { Name: m.Driver } } } : {};
  return { Type: 'volume', Source: m.Name ?? '', Target: m.Destination, ReadOnly: !m.RW, ...driver };
}
