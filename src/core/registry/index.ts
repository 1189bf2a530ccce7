/** The registry client: what the rest of the app imports (see client.ts for the flow). */
export { RegistryClient, type FetchedManifest, type ManifestHead, type RegistryClientOptions } from './client.js';
export { parseChallenge, parseChallenges, type BasicChallenge, type BearerChallenge, type Challenge } from './challenge.js';
export { credentialsFromDockerConfig, findCredential, normalizeRegistryHost, type RegistryCredential } from './credentials.js';
export { computeDigest } from './digest.js';
export { RegistryError, RegistryHTTPError, RegistryNetworkError, RegistryTimeoutError, type RegistryErrorKind } from './errors.js';
export { MANIFEST_ACCEPT, MediaType, parseManifest, type Descriptor, type ImageManifest, type IndexManifest, type Manifest } from './manifest.js';
export { formatPlatform, normalizePlatform, selectPlatform } from './platform.js';
export { checkRealm, isForbiddenHostname, isLoopbackHostname, registryBaseUrl } from './security.js';
export { parseRateLimit, parseRetryAfter, type RateLimitInfo } from './rate-limit.js';
export type { FetchLike, RegistryStats } from './transport.js';
