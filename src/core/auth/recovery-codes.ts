import { randomBytes, sha256, timingSafeEqual, toHex } from './encoding.js';

export const RECOVERY_CODE_COUNT = 10;
// 32 symbols, so a byte modulo 32 is uniform.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Normalises what a person typed: case, spaces and dashes do not matter. */
export function normaliseRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/**
 * Ten recovery codes like "K7QF-2MXA-9PLD-RT4W" (16 characters of 32 = 80 bits each).
 * They are shown once; only their SHA-256 is stored (80 random bits need no slow hash).
 */
export async function newRecoveryCodes(): Promise<{ codes: string[]; hashes: string[] }> {
  const codes: string[] = [];
  for (let i = 0; i < RECOVERY_CODE_COUNT; i++) {
    const raw = Array.from(randomBytes(16), (b) => ALPHABET[b % 32]).join('');
    codes.push(raw.match(/.{4}/g)?.join('-') ?? raw);
  }
  const hashes = await Promise.all(codes.map(async (c) => toHex(await sha256(normaliseRecoveryCode(c)))));
  return { codes, hashes };
}

/** The index of the stored hash that `code` matches, or -1; every hash is compared. */
export async function findRecoveryCode(code: string, hashes: readonly string[]): Promise<number> {
  const normal = normaliseRecoveryCode(code);
  if (!/^[A-Z0-9]{16}$/.test(normal)) return -1;
  const given = await sha256(normal);
  let found = -1;
  hashes.forEach((h, i) => {
    const stored = hexBytes(h);
    if (stored && timingSafeEqual(given, stored) && found < 0) found = i;
  });
  return found;
}

function hexBytes(hex: string): Uint8Array | null {
  if (!/^[0-9a-f]{64}$/.test(hex)) return null;
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}
