/**
 * One error type for the whole app. Every failure a user can see is an AppError with a
 * design code (../shared/design.md §8.7); the handlers turn it into the envelope in one place.
 */
export const ErrorCode = {
  ImageRequired: 40001,
  BadRequest: 40000,
  NotFound: 40400,
  Conflict: 40900,
  TooManyRequests: 42900,
  ScanFailed: 50001,
  UpdateFailed: 50002,
  DockerError: 50003,
  RegistryError: 50004,
  /** A host's agent is not connected, or did not answer in time (split deployment). */
  HostOffline: 50005,
  Unauthorized: 401,
  Internal: 500,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const httpStatusOf: Record<ErrorCode, number> = {
  [ErrorCode.ImageRequired]: 400,
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.TooManyRequests]: 429,
  [ErrorCode.ScanFailed]: 500,
  [ErrorCode.UpdateFailed]: 500,
  [ErrorCode.DockerError]: 502,
  [ErrorCode.RegistryError]: 502,
  [ErrorCode.HostOffline]: 503,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Internal]: 500,
};

export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data: Record<string, unknown> | null = null,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status ?? httpStatusOf[code];
  }
  readonly status: number;
}

/** Turns anything thrown into an AppError without leaking its internals to the user. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError(ErrorCode.Internal, 'internal error', null, { cause: err });
}

/** A short, secret-free description of an unknown error, for logs and wrapped messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}
