import type { ContainerCreateBody, ContainerInspect, EndpointSettings, HealthConfig, ImageConfig, MountPoint } from '../../src/core/docker/port.js';

/**
 * How the in-memory engine turns a create body into a container inspect: the same merge the
 * real engine does (image defaults under what the create asked for), so that the updater's
 * config diff can be checked against the fake with plain data.
 */

/** What a fake image's process does when started. */
export interface FakeBehaviour {
  /** Exits at once with this code. */
  exitCode?: number;
  /** The healthcheck status, when the container has a healthcheck. Default healthy. */
  health?: 'healthy' | 'unhealthy' | 'starting';
  /** Lines it prints. */
  logs?: string[];
}

function mergeEnv(image: readonly string[], user: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...image, ...user]) out.set(e.split('=')[0] ?? e, e);
  return [...out.values()];
}

function mergeHealth(user: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!user) return image ?? undefined;
  const out: HealthConfig = { ...(image ?? {}), ...user };
  if (!user.Test || user.Test.length === 0) out.Test = image?.Test ?? null;
  for (const k of ['Interval', 'Timeout', 'Retries', 'StartPeriod'] as const) if (!user[k]) out[k] = image?.[k] ?? 0;
  return out;
}

let seq = 0;
export function fakeId(): string {
  seq += 1;
  return (Date.now().toString(16) + seq.toString(16).padStart(8, '0')).padEnd(64, 'f').slice(0, 64);
}

function mountsOf(body: ContainerCreateBody, volumes: string[]): MountPoint[] {
  const out: MountPoint[] = [];
  for (const b of body.HostConfig?.Binds ?? []) {
    const [src = '', dst = '', mode = ''] = b.split(':');
    const isBind = src.startsWith('/');
    out.push({ Type: isBind ? 'bind' : 'volume', ...(isBind ? {} : { Name: src, Driver: 'local' }), Source: isBind ? src : `/var/lib/docker/volumes/${src}/_data`, Destination: dst, Mode: mode, RW: !mode.includes('ro') });
  }
  for (const m of body.HostConfig?.Mounts ?? []) {
    const name = m.Type === 'volume' ? (m.Source || fakeId()) : undefined;
    out.push({ Type: m.Type, ...(name ? { Name: name } : {}), Source: m.Source ?? '', Destination: m.Target, RW: !m.ReadOnly });
  }
  for (const v of volumes) {
    if (out.some((m) => m.Destination === v)) continue;
    const name = fakeId();
    out.push({ Type: 'volume', Name: name, Source: `/var/lib/docker/volumes/${name}/_data`, Destination: v, Driver: 'local', Mode: '', RW: true });
  }
  return out;
}

/** The inspect of a container the engine just created from `body` on an image with `image` as Config. */
export function inspectFromCreate(id: string, name: string, imageId: string, image: ImageConfig, body: ContainerCreateBody, now: string): ContainerInspect {
  const { HostConfig: hostConfig = {}, NetworkingConfig: networking, ...user } = body;
  const shortId = id.slice(0, 12);
  const userEntry = user.Entrypoint && user.Entrypoint.length > 0 ? user.Entrypoint.filter((e) => e !== '') : null;
  const config: ImageConfig & Record<string, unknown> = {
    ...user,
    Hostname: user.Hostname || shortId,
    Env: mergeEnv(image.Env ?? [], user.Env ?? []),
    Entrypoint: userEntry ? (userEntry.length > 0 ? userEntry : null) : (image.Entrypoint ?? null),
    Cmd: userEntry ? (user.Cmd ?? null) : user.Cmd && user.Cmd.length > 0 ? user.Cmd : (image.Cmd ?? null),
    Labels: { ...(image.Labels ?? {}), ...(user.Labels ?? {}) },
    User: user.User || image.User || '',
    WorkingDir: user.WorkingDir || image.WorkingDir || '',
    Volumes: { ...(image.Volumes ?? {}), ...(user.Volumes ?? {}) },
    ExposedPorts: { ...(image.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) },
  };
  const health = mergeHealth(user.Healthcheck, image.Healthcheck);
  if (health) config.Healthcheck = health;
  else delete config.Healthcheck;
  if (image.StopSignal && !user.StopSignal) config.StopSignal = image.StopSignal;

  const mode = hostConfig.NetworkMode ?? 'default';
  const networks: Record<string, EndpointSettings> = {};
  const endpoints = networking?.EndpointsConfig ?? (mode === 'default' || mode === 'host' || mode === 'none' || mode.startsWith('container:') ? {} : { [mode]: {} });
  let n = 2;
  for (const [net, ep] of Object.entries(endpoints)) networks[net] = attachEndpoint(ep, shortId, n++);
  // Inspect's Config.MacAddress reports the MAC the user asked for on the primary network only.
  const userMac = user.MacAddress || endpoints[mode]?.MacAddress || '';
  config.MacAddress = userMac;
  const primary = networks[mode];
  if (userMac && primary) primary.MacAddress = userMac;

  return {
    Id: id,
    Name: `/${name}`,
    Created: now,
    Image: imageId,
    RestartCount: 0,
    State: { Status: 'created', Running: false, Restarting: false, ExitCode: 0 },
    Config: config,
    HostConfig: { ...hostConfig, ...(hostConfig.Privileged ? {} : { MaskedPaths: ['/proc/kcore'] }) },
    NetworkSettings: { Networks: networks },
    Mounts: mountsOf(body, Object.keys(config.Volumes ?? {})),
  };
}

/** An endpoint as the engine reports it: the short ID added to the aliases, an address assigned. */
export function attachEndpoint(ep: EndpointSettings, shortId: string, n: number): EndpointSettings {
  return {
    ...ep,
    Aliases: [...(ep.Aliases ?? []), shortId],
    IPAddress: ep.IPAMConfig?.IPv4Address || `10.99.0.${n}`,
    MacAddress: ep.MacAddress || `02:42:0a:63:00:${n.toString(16).padStart(2, '0')}`,
    NetworkID: `net-${n}`,
  };
}

/** The lines a started fake process prints: its image's, plus every `echo WORD` in a `sh -c` script. */
export function linesPrinted(cmd: readonly string[] | null | undefined, behaviour: FakeBehaviour | undefined): string[] {
  const script = cmd?.[0] === 'sh' && cmd[1] === '-c' ? (cmd[2] ?? '') : '';
  return [...[...script.matchAll(/echo ([\w.-]+)/g)].map((m) => m[1] ?? ''), ...(behaviour?.logs ?? [])];
}
