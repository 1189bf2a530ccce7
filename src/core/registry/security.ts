import { RegistryError } from './errors.js';

/**
 * Where the client may talk plain http, and where it may send credentials.
 * - Registries: https, except loopback (localhost, 127.0.0.0/8, [::1]) and `registry.insecure`.
 * - Token realms: credentials only to an https realm or one on the registry's own host name.
 * - Never any request to link-local or cloud metadata addresses (a registry that points its
 *   realm there is trying to make us leak credentials or reach the metadata service).
 */

const METADATA_HOSTS = new Set(['169.254.169.254', 'metadata.google.internal', 'metadata', '[fd00:ec2::254]', 'metadata.azure.internal']);

/** Host name of "host[:port]" as URL gives it: "127.0.0.1", "[::1]", "registry-1.docker.io". */
export function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return host.toLowerCase();
  }
}

function ipv4Of(hostname: string): number[] | null {
  let h = hostname;
  // IPv4-mapped IPv6, which URL prints in hex: [::ffff:a9fe:a9fe] is 169.254.169.254.
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(h);
  if (mapped) {
    const hi = parseInt(mapped[1] as string, 16);
    const lo = parseInt(mapped[2] as string, 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255];
  }
  const dotted = /^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]$/.exec(h);
  if (dotted) h = dotted[1] as string;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m ? m.slice(1).map(Number) : null;
}

/** localhost, 127.0.0.0/8 and [::1]. */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h === '[::1]') return true;
  const v4 = ipv4Of(h);
  return v4 !== null && v4[0] === 127;
}

/** Link-local (169.254.0.0/16, fe80::/10) and cloud metadata service names and addresses. */
export function isForbiddenHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(h)) return true;
  const v4 = ipv4Of(h);
  if (v4) return v4[0] === 169 && v4[1] === 254;
  return /^\[fe[89ab][0-9a-f]:/.test(h);
}

/**
 * "http://127.0.0.1:5000" or "https://ghcr.io": the base URL of a registry's API host.
 * `insecure` entries match "host:port" or the bare host name.
 */
export function registryBaseUrl(apiHost: string, insecure: readonly string[] = []): string {
  const hostname = hostnameOf(apiHost);
  const plain = isLoopbackHostname(hostname) || insecure.some((h) => {
    const entry = h.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return entry === apiHost.toLowerCase() || entry === hostname;
  });
  return `${plain ? 'http' : 'https'}://${apiHost}`;
}

/** Throws unless a registry host may be contacted at all. */
export function assertAllowedRegistry(apiHost: string, registry: string): void {
  if (isForbiddenHostname(hostnameOf(apiHost))) {
    throw new RegistryError('invalid', `refusing to contact registry ${registry}: ${hostnameOf(apiHost)} is a link-local or cloud metadata address`, { registry });
  }
}

export interface RealmDecision {
  url: URL;
  /** Whether credentials may go to this realm. */
  sendCredentials: boolean;
}

/**
 * Checks a Bearer realm before any token request. Throws RegistryError('invalid') for a realm
 * that is not http(s) or points at a link-local or metadata address.
 */
export function checkRealm(realm: string, registryApiHost: string, registry: string): RealmDecision {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new RegistryError('invalid', `registry ${registry} sent an invalid token realm (not a URL)`, { registry });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RegistryError('invalid', `registry ${registry} sent a token realm with the unsupported scheme ${url.protocol}`, { registry });
  }
  if (isForbiddenHostname(url.hostname)) {
    throw new RegistryError('invalid', `refusing the token realm of registry ${registry}: ${url.hostname} is a link-local or cloud metadata address`, { registry });
  }
  if (url.username || url.password) {
    throw new RegistryError('invalid', `registry ${registry} sent a token realm with embedded credentials`, { registry });
  }
  const sameHost = url.hostname.toLowerCase() === hostnameOf(registryApiHost).toLowerCase();
  return { url, sendCredentials: url.protocol === 'https:' || sameHost };
}
