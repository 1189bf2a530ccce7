import { AppError, ErrorCode } from '../errors.js';

/** The one answer to a failed login, whatever failed: the user name or the password. */
export const BAD_CREDENTIALS = 'wrong user name or password';
/** The one answer to a failed second factor, whatever failed (design §6.5: no detail leaks). */
export const BAD_SECOND_FACTOR = 'the verification failed: check the code or the security key and try again';
/** What a missing, malformed, expired or revoked token hears. */
export const SIGN_IN_AGAIN = 'sign in first: send "Authorization: Bearer <token>" from POST /api/v1/auth/login (the token is missing, expired or revoked)';

/** Too many failures for this account or address: refused until `retryAfterSeconds` pass. */
export class TooManyAttemptsError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super(
      ErrorCode.TooManyRequests,
      `too many failed attempts: try again in ${retryAfterSeconds >= 120 ? `${Math.ceil(retryAfterSeconds / 60)} minutes` : `${retryAfterSeconds} seconds`}`,
      { retryAfterSeconds },
    );
  }
}

export function unauthorized(message: string, status = 401): AppError {
  return new AppError(ErrorCode.Unauthorized, message, null, { status });
}
