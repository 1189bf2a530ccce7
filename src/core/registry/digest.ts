/** Content digests ("sha256:<hex>") computed with Web Crypto. */

const ALGORITHMS: Record<string, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
const DIGEST = /^(sha256|sha384|sha512):([a-f0-9]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** True for a digest this client can verify: sha256/sha384/sha512 with lower-case hex of the right length. */
export function isVerifiableDigest(value: string | null | undefined): value is string {
  const m = value ? DIGEST.exec(value) : null;
  return m !== null && (m[2] as string).length === HEX_LENGTH[m[1] as string];
}

/** "sha256:…" of exactly these bytes. */
export async function computeDigest(bytes: Uint8Array<ArrayBuffer>, algorithm: 'sha256' | 'sha384' | 'sha512' = 'sha256'): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest(ALGORITHMS[algorithm] as string, bytes));
  let hex = '';
  for (const b of hash) hex += b.toString(16).padStart(2, '0');
  return `${algorithm}:${hex}`;
}

/** The digest of the bytes in the algorithm of `expected` (sha256 when it is not verifiable). */
export function digestLike(bytes: Uint8Array<ArrayBuffer>, expected: string | undefined): Promise<string> {
  const algo = expected && isVerifiableDigest(expected) ? (expected.split(':')[0] as 'sha256' | 'sha384' | 'sha512') : 'sha256';
  return computeDigest(bytes, algo);
}
