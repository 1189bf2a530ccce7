import type { ContainerCreateBody, ContainerInspect, EndpointSettings, ImageConfig } from '../docker/port.js';
import { userConfig } from './config-diff.js';
import { recreateHostConfig } from './host-config.js';
import { planNetworks } from './network-config.js';

/** Everything needed to create a faithful copy of a container on another image. */
export interface RecreatePlan {
  /** Without the leading slash. */
  name: string;
  body: ContainerCreateBody;
  /** Networks to connect after create, before start (engines with API < 1.44). */
  connect: Array<{ network: string; endpoint: EndpointSettings }>;
}

/** The engine's stop timeout when a container sets none, in seconds. */
export const DEFAULT_STOP_TIMEOUT_S = 10;

/**
 * Plans the new container: the old one's inspect, minus what its old image supplied, on
 * `image`; same name, host config, networks (static IPs, aliases, user MAC) and volumes.
 * Pure: plain data in, plain data out.
 */
export function planRecreate(c: ContainerInspect, oldImage: ImageConfig | null | undefined, opts: { image: string; apiVersion: string }): RecreatePlan {
  const networkMode = c.HostConfig.NetworkMode ?? 'default';
  const config = userConfig(c.Config, oldImage ?? {}, {
    image: opts.image,
    containerId: c.Id,
    networkMode,
    publishedPorts: Object.keys(c.HostConfig.PortBindings ?? {}),
  });
  const networks = planNetworks(c, opts.apiVersion);
  if (networks.configMac) config.MacAddress = networks.configMac;
  const body: ContainerCreateBody = { ...config, HostConfig: recreateHostConfig(c) };
  if (networks.endpoints) body.NetworkingConfig = { EndpointsConfig: networks.endpoints };
  return { name: c.Name.replace(/^\//, ''), body, connect: networks.connect };
}

/** The stop timeout the engine would use for this container, in seconds. */
export function stopTimeoutOf(c: Pick<ContainerInspect, 'Config'>): number {
  const t = c.Config.StopTimeout;
  return typeof t === 'number' && t >= 0 ? t : DEFAULT_STOP_TIMEOUT_S;
}

/** The name the old container waits under while its successor is tried: `<name>-wd-old-<short id>`. */
export function parkedName(name: string, containerId: string): string {
  return `${name}-wd-old-${containerId.slice(0, 12)}`;
}
