/*
 * Compares a container's `docker inspect` before and after an update, field by field, with an
 * explicit allow-list of what may differ: the container's identity and runtime state, what the
 * new image legitimately changes, and the engine's own per-container values (short ID in
 * aliases, dynamic addresses, generated MACs). Everything else must be identical.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

export interface DiffContext {
  /** The image Config of the old and of the new image (docker image inspect .Config). */
  oldImage: Record<string, unknown>;
  newImage: Record<string, unknown>;
}

/** Identity and runtime state: allowed to differ, never compared. */
const RUNTIME_TOP = ['Id', 'Image', 'Created', 'State', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath', 'RestartCount', 'ExecIDs', 'GraphDriver', 'SizeRw', 'SizeRootFs'];
/** Config fields an image supplies: "from the image" on both sides is equal, whatever the value. */
const IMAGE_FIELDS = ['Cmd', 'Entrypoint', 'WorkingDir', 'User', 'StopSignal', 'Healthcheck', 'ArgsEscaped', 'Shell', 'OnBuild'];
const FROM_IMAGE = '<from the image>';

function obj(v: Json | undefined): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Volume names mounted into the old container that nothing in its HostConfig named. */
export function anonymousVolumeNames(inspect: Record<string, unknown>): Set<string> {
  const old = inspect as Obj;
  const host = obj(old.HostConfig);
  const named = new Set<string>();
  for (const b of (host.Binds as string[] | null) ?? []) named.add(b.split(':')[0] ?? '');
  // (A `--mount type=volume` without a source is anonymous too: it has no Source here.)
  for (const m of (host.Mounts as Obj[] | null) ?? []) if (m.Source) named.add(String(m.Source));
  const out = new Set<string>();
  for (const m of (old.Mounts as Obj[] | null) ?? []) if (m.Type === 'volume' && m.Name && !named.has(String(m.Name))) out.add(String(m.Name));
  return out;
}

function normalize(c: Obj, image: Obj, anonymous: Set<string>, userMac: boolean): Obj {
  const out = structuredClone(c);
  for (const k of RUNTIME_TOP) delete out[k];
  const shortId = String(c.Id).slice(0, 12);
  const cfg = obj(out.Config);
  if (cfg.Hostname === shortId) cfg.Hostname = '<short id>';
  cfg.Env = ((cfg.Env as string[] | null) ?? []).filter((e) => !((image.Env as string[] | null) ?? []).includes(e)).sort();
  const labels = obj(cfg.Labels);
  for (const [k, v] of Object.entries(obj(image.Labels))) if (labels[k] === v) delete labels[k];
  for (const f of IMAGE_FIELDS) if (f in cfg && same(cfg[f], image[f] ?? (f === 'WorkingDir' || f === 'User' ? '' : null))) cfg[f] = FROM_IMAGE;
  for (const f of ['Volumes', 'ExposedPorts']) {
    const own = obj(cfg[f]);
    cfg[f] = Object.keys(own).filter((k) => !(k in obj(image[f]))).sort();
  }

  // Anonymous volumes are re-attached by name through HostConfig.Mounts, and a volume mounted
  // that way reads back Mode "z" (the engine's default for volumes the user names).
  const host = obj(out.HostConfig);
  if (Array.isArray(host.Mounts)) {
    const kept = (host.Mounts as Obj[]).filter((m) => !(m.Type === 'volume' && (!m.Source || anonymous.has(String(m.Source)))));
    host.Mounts = kept.length > 0 ? kept : null;
  }
  out.Mounts = [...((out.Mounts as Obj[] | null) ?? [])].sort((a, b) => String(a.Destination).localeCompare(String(b.Destination)));
  for (const m of out.Mounts) if (anonymous.has(String(obj(m).Name))) delete obj(m).Mode;

  const ns = obj(out.NetworkSettings);
  const networks = obj(ns.Networks);
  const primary = String(host.NetworkMode);
  for (const [name, raw] of Object.entries(networks)) {
    const ep = obj(raw);
    const ipam = obj(ep.IPAMConfig);
    for (const k of ['EndpointID', 'DNSNames']) delete ep[k];
    ep.Aliases = ((ep.Aliases as string[] | null) ?? []).filter((a) => a !== shortId).sort();
    if (!ipam.IPv4Address) for (const k of ['IPAddress', 'IPPrefixLen', 'Gateway']) delete ep[k];
    if (!ipam.IPv6Address) for (const k of ['GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPv6Gateway']) delete ep[k];
    if (!(userMac && name === primary)) delete ep.MacAddress;
    // An endpoint connected after create reads back `{}` where a created one reads `null`.
    for (const k of ['IPAMConfig', 'DriverOpts', 'Links']) if (ep[k] !== undefined && Object.keys(obj(ep[k])).length === 0 && !Array.isArray(ep[k])) ep[k] = null;
    if (Array.isArray(ep.Links) && ep.Links.length === 0) ep.Links = null;
  }
  out.NetworkSettings = { Ports: ns.Ports ?? null, Networks: networks };
  return out;
}

function diffPaths(a: Json | undefined, b: Json | undefined, path: string, out: string[]): void {
  if (same(a, b)) return;
  const bothObjects = a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) {
    out.push(`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
    return;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffPaths((a as Obj)[k], (b as Obj)[k], path ? `${path}.${k}` : k, out);
}

/** The differences between two inspects that the allow-list does not explain (empty: faithful). */
export function unexpectedDifferences(oldInspect: Record<string, unknown>, newInspect: Record<string, unknown>, ctx: DiffContext): string[] {
  const [oldC, newC] = [oldInspect as Obj, newInspect as Obj];
  const anonymous = anonymousVolumeNames(oldC);
  const userMac = Boolean(obj(oldC.Config).MacAddress);
  const out: string[] = [];
  diffPaths(normalize(oldC, ctx.oldImage as Obj, anonymous, userMac), normalize(newC, ctx.newImage as Obj, anonymous, userMac), '', out);
  return out;
}
