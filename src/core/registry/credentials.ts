/**
 * Registry credentials as plain data: from config `registry.auth` and from the `auths` of a
 * Docker CLI config.json (read by the Node side, src/agent/docker-config.ts).
 */

export interface RegistryCredential {
  /** As written by the user: "ghcr.io", "https://index.docker.io/v1/", "127.0.0.1:5001". */
  host: string;
  username: string;
  password: string;
}

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The registry a host string stands for, in ImageRef.registry terms: scheme, path and a
 * trailing slash removed, lower case, every Docker Hub alias → "docker.io".
 * "https://index.docker.io/v1/" → "docker.io"; "HTTP://127.0.0.1:5001/" → "127.0.0.1:5001".
 */
export function normalizeRegistryHost(host: string): string {
  let h = host.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  const slash = h.indexOf('/');
  if (slash !== -1) h = h.slice(0, slash);
  if (DOCKER_HUB_ALIASES.has(h) || DOCKER_HUB_ALIASES.has(h.replace(/:443$/, ''))) return 'docker.io';
  return h.replace(/:443$/, '');
}

/** The first credential for a registry (config entries should come before Docker's). */
export function findCredential(registry: string, credentials: readonly RegistryCredential[]): RegistryCredential | undefined {
  const want = normalizeRegistryHost(registry);
  return credentials.find((c) => c.username !== '' && normalizeRegistryHost(c.host) === want);
}

function decodeBase64Utf8(text: string): string | null {
  try {
    const binary = atob(text.trim());
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

/** Base64 of the UTF-8 bytes of a string (btoa alone only takes Latin-1). */
export function encodeBase64Utf8(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The value of an `Authorization: Basic …` header. */
export function basicAuthorization(cred: Pick<RegistryCredential, 'username' | 'password'>): string {
  return `Basic ${encodeBase64Utf8(`${cred.username}:${cred.password}`)}`;
}

/**
 * Credentials from a parsed Docker CLI config.json. Entries carry `auth` (base64 "user:pass")
 * or `username`/`password`; entries with neither (an `identitytoken` only, or a credential
 * helper's empty placeholder) are left out. Anything that is not an object gives [].
 */
export function credentialsFromDockerConfig(config: unknown): RegistryCredential[] {
  if (typeof config !== 'object' || config === null) return [];
  const auths = (config as { auths?: unknown }).auths;
  if (typeof auths !== 'object' || auths === null) return [];
  const out: RegistryCredential[] = [];
  for (const [host, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    if (typeof e.auth === 'string' && e.auth !== '') {
      const decoded = decodeBase64Utf8(e.auth);
      const colon = decoded?.indexOf(':') ?? -1;
      if (decoded && colon > 0) out.push({ host, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
    } else if (typeof e.username === 'string' && e.username !== '' && typeof e.password === 'string') {
      out.push({ host, username: e.username, password: e.password });
    }
  }
  return out;
}

/** For logs: the host and user name, never the password. */
export function describeCredential(cred: RegistryCredential | undefined): string {
  return cred ? `${cred.username}@${normalizeRegistryHost(cred.host)}` : 'anonymous';
}
