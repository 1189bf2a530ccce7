import { generateSecret, generateURI, verify } from 'otplib';
import type { Clock } from '../ports.js';

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30 s steps. */
export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
/** ±1 step: a code from the previous or the next 30 s window still counts (clock drift). */
const TOLERANCE_S = TOTP_PERIOD_S;
export const OTP_PENDING_TTL_MS = 15 * 60_000;

/** A new Base32 secret of 20 random bytes (160 bits, RFC 4226's recommendation). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans. */
export function totpUri(secret: string, user: string, issuer = 'Watch Docker'): string {
  return generateURI({ issuer, label: user, secret, digits: TOTP_DIGITS, period: TOTP_PERIOD_S });
}

/**
 * Checks a code. `lastStep` is the last time step accepted for this user: a code from that
 * step or an earlier one is refused, so a code works once. Returns the step it matched, or null.
 */
export async function checkTotp(secret: string, code: string, clock: Clock, lastStep?: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const epoch = Math.floor(clock.now() / 1000);
  const currentStep = Math.floor(epoch / TOTP_PERIOD_S);
  // otplib throws when afterTimeStep lies beyond the window; such a record cannot accept anything.
  if (lastStep !== undefined && lastStep >= currentStep + 1) return null;
  try {
    const result = await verify({
      secret,
      token: code,
      epoch,
      period: TOTP_PERIOD_S,
      digits: TOTP_DIGITS,
      epochTolerance: TOLERANCE_S,
      ...(lastStep === undefined ? {} : { afterTimeStep: lastStep }),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  } catch {
    return null;
  }
}
