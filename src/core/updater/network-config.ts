import type { ContainerInspect, EndpointSettings } from '../docker/port.js';

/** -1, 0 or 1, comparing "1.41"-style API versions. */
export function compareApiVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return Math.sign(a1 - b1 || a2 - b2);
}

/** API 1.44 (Engine 25) accepts several networks and a per-network MAC at create. */
export const MULTI_NETWORK_API = '1.44';

/** Network modes that have no endpoints of their own to recreate. */
export function isSharedNetworkMode(mode: string): boolean {
  return mode === 'host' || mode === 'none' || mode.startsWith('container:');
}

/**
 * The aliases the user gave. The engine adds the container's short ID on every user-defined
 * network (and, for API 1.44 clients, its hostname too); those belong to the old container
 * and the engine adds the new one's by itself.
 */
export function userAliases(aliases: readonly string[] | null | undefined, added: readonly string[]): string[] {
  const drop = new Set(added);
  return [...new Set((aliases ?? []).filter((a) => !drop.has(a)))];
}

/** Only what the user can set on an endpoint; addresses the engine assigned are left to it. */
export function userEndpoint(ep: EndpointSettings, added: readonly string[]): EndpointSettings {
  const out: EndpointSettings = {};
  const ipam = Object.fromEntries(Object.entries(ep.IPAMConfig ?? {}).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)));
  if (Object.keys(ipam).length > 0) out.IPAMConfig = ipam;
  const aliases = userAliases(ep.Aliases, added);
  if (aliases.length > 0) out.Aliases = aliases;
  if (ep.Links && ep.Links.length > 0) out.Links = [...ep.Links];
  if (ep.DriverOpts && Object.keys(ep.DriverOpts).length > 0) out.DriverOpts = { ...ep.DriverOpts };
  return out;
}

export interface NetworkPlan {
  /** NetworkingConfig.EndpointsConfig for the create call (absent for host/none/container:X). */
  endpoints: Record<string, EndpointSettings> | undefined;
  /** Networks to connect after create and before start (API < 1.44: one network at create). */
  connect: Array<{ network: string; endpoint: EndpointSettings }>;
  /** The user's MAC for the primary network, when the API wants it in Config (API < 1.44). */
  configMac: string | undefined;
}

/**
 * The networks of the new container. The MAC is kept only where the user set it: inspect's
 * Config.MacAddress reports the user-set MAC of the primary network (the engine's own
 * generated MACs are not reported there), and it is the only MAC the API lets us tell apart.
 */
export function planNetworks(c: Pick<ContainerInspect, 'Id' | 'Config' | 'HostConfig' | 'NetworkSettings'>, apiVersion: string): NetworkPlan {
  const mode = c.HostConfig.NetworkMode ?? 'default';
  if (isSharedNetworkMode(mode)) return { endpoints: undefined, connect: [], configMac: undefined };
  const networks = Object.entries(c.NetworkSettings.Networks ?? {});
  if (networks.length === 0) return { endpoints: undefined, connect: [], configMac: undefined };

  const shortId = c.Id.slice(0, 12);
  const hostname = c.Config.Hostname;
  const added = compareApiVersions(apiVersion, '1.44') === 0 && hostname ? [shortId, hostname] : [shortId];
  const primaryName = networks.some(([n]) => n === mode) ? mode : mode === 'default' && networks.some(([n]) => n === 'bridge') ? 'bridge' : (networks[0]?.[0] ?? mode);
  const mac = c.Config.MacAddress || undefined;
  const modern = compareApiVersions(apiVersion, MULTI_NETWORK_API) >= 0;

  const endpoints: Record<string, EndpointSettings> = {};
  const connect: NetworkPlan['connect'] = [];
  for (const [name, ep] of networks) {
    const endpoint = userEndpoint(ep, added);
    if (name === primaryName) {
      if (modern && mac) endpoint.MacAddress = mac;
      endpoints[name] = endpoint;
    } else if (modern) endpoints[name] = endpoint;
    else connect.push({ network: name, endpoint });
  }
  return { endpoints, connect, configMac: modern ? undefined : mac };
}
