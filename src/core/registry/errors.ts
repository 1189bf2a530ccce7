import { AppError, ErrorCode } from '../errors.js';

/**
 * What went wrong talking to a registry, in the scanner's terms (ContainerCheck.errorKind):
 * - unauthorized: 401/403 after authenticating (or credentials are needed and missing)
 * - not_found: the tag, digest, repository or platform is unknown
 * - unreachable: network error or time-out
 * - rate_limited: 429 (retryAfterSeconds when the registry said)
 * - server: 5xx after the retries
 * - invalid: a response that breaks the protocol (bad JSON, wrong digest, unsafe token realm)
 */
export type RegistryErrorKind = 'unauthorized' | 'not_found' | 'unreachable' | 'rate_limited' | 'server' | 'invalid';

export interface RegistryErrorContext {
  /** The registry as the user names it: "docker.io", "127.0.0.1:5001". */
  registry: string;
  /** "library/nginx"; absent for registry-wide failures. */
  repository?: string | undefined;
}

/**
 * The base of the registry error family: an AppError(RegistryError, 50004) whose message a user
 * can act on and whose data carries `kind` (the scanner reads `data.kind`). Never holds secrets.
 */
export class RegistryError extends AppError {
  readonly kind: RegistryErrorKind;
  readonly registry: string;
  readonly repository: string | undefined;

  constructor(kind: RegistryErrorKind, message: string, ctx: RegistryErrorContext, extra: Record<string, unknown> = {}, cause?: unknown) {
    super(ErrorCode.RegistryError, message, { kind, registry: ctx.registry, ...(ctx.repository ? { repository: ctx.repository } : {}), ...extra }, cause === undefined ? undefined : { cause });
    this.kind = kind;
    this.registry = ctx.registry;
    this.repository = ctx.repository;
  }
}

/** The registry (or its token server) answered with an HTTP status we cannot go on with. */
export class RegistryHTTPError extends RegistryError {
  constructor(
    kind: RegistryErrorKind,
    message: string,
    ctx: RegistryErrorContext,
    /** The registry's (or token server's) HTTP status. */
    readonly httpStatus: number,
    /** Seconds, for rate_limited when the registry sent Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(kind, message, ctx, { httpStatus, ...(retryAfterSeconds === undefined ? {} : { retryAfter: retryAfterSeconds }) });
  }
}

/** No HTTP answer at all: connection refused, DNS failure, TLS failure, reset. */
export class RegistryNetworkError extends RegistryError {
  constructor(message: string, ctx: RegistryErrorContext, cause?: unknown) {
    super('unreachable', message, ctx, {}, cause);
  }
}

/** No answer within the time-out. */
export class RegistryTimeoutError extends RegistryError {
  constructor(message: string, ctx: RegistryErrorContext, readonly timeoutMs: number) {
    super('unreachable', message, ctx, { timeoutMs });
  }
}

/** "127.0.0.1:5001/wd/app" or "127.0.0.1:5001". */
export function whereOf(ctx: RegistryErrorContext): string {
  return ctx.repository ? `${ctx.registry}/${ctx.repository}` : ctx.registry;
}

function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed (add the host to registry.insecure only if it serves plain http)',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its TLS certificate is not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not match the host name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'it does not speak https (add it to registry.insecure if it serves plain http)',
};

/** A short reason for a failed fetch, from the error chain (undici puts the errno in `cause`). */
export function networkReason(err: unknown): string {
  const code = errnoCode(err);
  if (code && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
  if (code) return code.toLowerCase().replace(/_/g, ' ');
  return 'network error';
}

/** True for what fetch throws when its AbortSignal.timeout fires. */
export function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ((err as { name?: unknown }).name === 'TimeoutError' || (err as { name?: unknown }).name === 'AbortError');
}
