import { fromBase64, randomBytes, timingSafeEqual, toBase64Url, utf8 } from './encoding.js';

/**
 * Password hashing: PBKDF2-HMAC-SHA256 through crypto.subtle, so it runs on Node and Workers
 * with no native module. OWASP (2023) asks for at least 600,000 iterations of PBKDF2-SHA256;
 * that is the default. Cloudflare Workers refuse more than 100,000 iterations, so a Worker
 * deployment sets auth.passwordIterations to 100000 (each record keeps its own count).
 */
export const DEFAULT_PASSWORD_ITERATIONS = 600_000;

/** A stored password hash: algorithm, iterations, salt and derived key (base64url). */
export interface PasswordHash {
  alg: 'pbkdf2-sha256';
  iterations: number;
  salt: string;
  hash: string;
}

const KEY_BITS = 256;

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey('raw', utf8(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, KEY_BITS));
}

export async function hashPassword(password: string, iterations = DEFAULT_PASSWORD_ITERATIONS): Promise<PasswordHash> {
  const salt = randomBytes(16);
  return { alg: 'pbkdf2-sha256', iterations, salt: toBase64Url(salt), hash: toBase64Url(await derive(password, salt, iterations)) };
}

/** True when `password` matches; the work done and the comparison do not depend on where it differs. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const salt = fromBase64(stored.salt);
  const expected = fromBase64(stored.hash);
  if (!salt || !expected || stored.alg !== 'pbkdf2-sha256') return false;
  const actual = await derive(password, salt, stored.iterations);
  return timingSafeEqual(actual, expected);
}

export function isPasswordHash(value: unknown): value is PasswordHash {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return r.alg === 'pbkdf2-sha256' && Number.isInteger(r.iterations) && typeof r.salt === 'string' && typeof r.hash === 'string';
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random password of `length` characters (about 5.8 bits each; 24 characters ≈ 140 bits). */
export function generatePassword(length = 24): string {
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % PASSWORD_ALPHABET.length);
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out += PASSWORD_ALPHABET[b % PASSWORD_ALPHABET.length];
    }
  }
  return out;
}
