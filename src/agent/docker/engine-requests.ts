/**
 * How the adapter talks to the Engine API beyond dockerode's own calls: names checked before
 * they go into a URL path, raw requests through dockerode's modem, image references split the
 * way POST /images/create wants them.
 */
import type Docker from 'dockerode';
import { AppError, ErrorCode } from '../../core/errors.js';
import type { RegistryAuth } from '../../core/docker/port.js';

export const SAFE = {
  container: /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
  network: /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
  image: /^[a-zA-Z0-9][a-zA-Z0-9_.:/@-]*$/,
};

/**
 * A name or reference checked before it goes into a URL path: a value like "../images/x"
 * must never reach another endpoint of the engine (these names can come from HTTP requests).
 */
export function safe(kind: keyof typeof SAFE, value: string): string {
  if (!SAFE[kind].test(value) || value.includes('..') || value.includes('//')) {
    throw new AppError(ErrorCode.BadRequest, `invalid ${kind} name ${JSON.stringify(value)}`, { [kind]: value });
  }
  return value.replace(/^\//, '');
}

export interface DialRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean>;
  body?: unknown;
  /** Status codes that mean success; 200 when not given. */
  ok?: number[];
  stream?: boolean;
  auth?: RegistryAuth;
}

export function dialModem<T>(modem: Docker['modem'], req: DialRequest): Promise<T> {
  const statusCodes: Record<number, boolean | string> = { 404: 'not found', 409: 'conflict', 500: 'server error' };
  for (const code of req.ok ?? [200]) statusCodes[code] = true;
  return new Promise<T>((resolve, reject) => {
    modem.dial(
      {
        path: `${req.path}?`,
        method: req.method,
        options: { _query: req.query ?? {}, _body: req.body ?? {} },
        statusCodes,
        ...(req.stream ? { isStream: true } : {}),
        ...(req.auth ? { authconfig: { ...req.auth } } : {}),
      },
      (err, data) => (err ? reject(err) : resolve(data as T)),
    );
  });
}

/** "host:5000/a/b:tag" → fromImage "host:5000/a/b", tag "tag"; a digest goes in `tag` too (the API allows it). */
export function splitReference(ref: string): { fromImage: string; tag: string } {
  const at = ref.indexOf('@');
  if (at !== -1) return { fromImage: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  // An empty tag would make the engine pull every tag of the repository.
  if (colon > ref.lastIndexOf('/')) return { fromImage: ref.slice(0, colon), tag: ref.slice(colon + 1) || 'latest' };
  return { fromImage: ref, tag: 'latest' };
}
