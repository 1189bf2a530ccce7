import { signal } from '@preact/signals';
import { hostScoped } from './host-choice';

/** The server's envelope: {code, msg, data}. */
interface Envelope<T> {
  code: number;
  msg: string;
  data: T;
}

/** An answer that was not code 0: the HTTP status, the server's code and message, and Retry-After for 429. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly data: unknown,
    readonly retryAfter: number | null,
  ) {
    super(message);
  }
}

/** A value kept in a signal and in localStorage under `key`, so a reload keeps it; null removes it. */
function storedSignal(key: string) {
  const value = signal<string | null>(localStorage.getItem(key));
  const set = (v: string | null): void => {
    value.value = v;
    if (v) localStorage.setItem(key, v);
    else localStorage.removeItem(key);
  };
  return [value, set] as const;
}

/** The full token (signed in) — kept in localStorage so a reload stays signed in. */
export const [token, setToken] = storedSignal('wd.token');

/**
 * Split deployment: the host every call addresses (X-Watch-Host; ?host= on WebSockets).
 * Remembered across reloads; null on a single-host server.
 */
export const [currentHost, setHost] = storedSignal('wd.host');

/** Calls the API with the given token (default: the full token); throws ApiError on any failure. */
export async function api<T>(method: string, path: string, body?: unknown, opts: { token?: string | null; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const tok = opts.token === undefined ? token.value : opts.token;
  if (tok) headers.authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (currentHost.value && hostScoped(path)) headers['x-watch-host'] = currentHost.value;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 0, 'network', null, null);
  }
  let env: Envelope<T> | null = null;
  try {
    env = (await res.json()) as Envelope<T>;
  } catch {
    env = null;
  }
  if (res.ok && env && env.code === 0) return env.data;
  const ra = res.headers.get('retry-after');
  const err = new ApiError(res.status, env?.code ?? res.status, env?.msg ?? `HTTP ${res.status}`, env?.data ?? null, ra ? Number(ra) : null);
  // A full token that stopped working (expired, revoked): back to the sign-in screen.
  if (res.status === 401 && tok && tok === token.value && !path.startsWith('/api/v1/2fa/')) setToken(null);
  throw err;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, { signal });
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const del = <T>(path: string, body?: unknown) => api<T>('DELETE', path, body);

// ---- the shapes the server answers (see README "HTTP API") ----

export type Status = 'NotChecked' | 'UpToDate' | 'UpdateAvailable' | 'Skipped' | 'Error';

export interface Container {
  id: string;
  name: string;
  image: string;
  imageId: string;
  running: boolean;
  state: string;
  created: string;
  labels: Record<string, string>;
  repoTags: string[];
  repoDigests: string[];
  platform?: { os?: string; architecture?: string; variant?: string };
  compose?: { project: string; service: string; workingDir?: string; configFiles: string[] };
  currentDigest?: string;
  remoteDigest?: string;
  status: Status;
  skipped: boolean;
  skipReason?: string;
  message?: string;
  errorKind?: string;
  lastCheckedAt?: string;
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  created: string;
  containers: { id: string; name: string }[];
}

export interface HistoryEntry {
  id: string;
  trigger: { kind: string; by?: string };
  containerId: string;
  newContainerId?: string;
  name: string;
  image: string;
  /** interrupted: the link to the host dropped mid-update; replaced by the outcome its agent reports. */
  result: 'updated' | 'unchanged' | 'failed' | 'interrupted';
  oldDigest?: string;
  newDigest?: string;
  startedAt: string;
  durationMs: number;
  error?: string;
  rolledBack?: boolean;
  logs?: string;
}

export interface ComposeService {
  name: string;
  image: string;
  containers: { id: string; name: string; state: string; status: string }[];
  ports?: unknown;
  updateAvailable: boolean;
}

export interface ComposeProject {
  name: string;
  folder: string | null;
  files: string[];
  status: 'running' | 'stopped' | 'partial' | 'error';
  managed: boolean;
  services: ComposeService[];
  updateAvailable: boolean;
  error?: string;
}

export interface LoginResult {
  token: string;
  username: string;
  requiresTwoFA: boolean;
  isSetup: boolean;
  method: 'otp' | 'webauthn' | null;
  methods: ('otp' | 'webauthn')[];
}

export interface TwoFAStatus {
  enabled: boolean;
  isSetup: boolean;
  methods: string[];
  recoveryCodesLeft: number;
  webauthn: { available: boolean; rpID: string | null; credentials: number };
  tokenKind: 'temp' | 'full';
}

export interface MachineToken {
  name: string;
  scope: { images?: string[]; containers?: string[] };
  createdAt?: string;
  lastUsedAt?: string | null;
}
