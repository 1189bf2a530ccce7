import { hmac, keyOf, timingSafeEqual, toHex, utf8 } from '../auth/encoding.js';
import type { AtomicStore } from '../atomic-store.js';
import type { Clock } from '../ports.js';

/** The hex HMAC-SHA256 of `data` under the shared secret. */
export async function hmacHex(secret: string, data: string): Promise<string> {
  return toHex(await hmac(utf8(secret), data));
}

/** "sha256=<hex>" → the hex, lower case; null when the header has another shape. */
function signatureHex(header: string | undefined): string | null {
  const m = /^sha256=([a-fA-F0-9]{64})$/.exec(header?.trim() ?? '');
  return m?.[1] ? m[1].toLowerCase() : null;
}

export type SignatureCheck = { ok: true; replayKey: string; expiresAtMs: number } | { ok: false; reason: string };

/**
 * Our own scheme: `X-Signature-256: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` and
 * `X-Webhook-Timestamp: <unix seconds>`, the timestamp within ±windowMs of now. The answer names
 * what makes the signature single-use (the caller keeps it until it expires).
 */
export async function verifyTimestamped(input: { secret: string; signature: string | undefined; timestamp: string | undefined; body: string; nowMs: number; windowMs: number }): Promise<SignatureCheck> {
  const hex = signatureHex(input.signature);
  if (!hex) return { ok: false, reason: 'malformed signature' };
  if (!/^\d{1,12}$/.test(input.timestamp ?? '')) return { ok: false, reason: 'missing or malformed timestamp' };
  const tsMs = Number(input.timestamp) * 1000;
  if (Math.abs(input.nowMs - tsMs) > input.windowMs) return { ok: false, reason: 'timestamp outside the replay window' };
  const expected = await hmacHex(input.secret, `${input.timestamp}.${input.body}`);
  if (!timingSafeEqual(utf8(expected), utf8(hex))) return { ok: false, reason: 'bad signature' };
  return { ok: true, replayKey: `sig:${hex}`, expiresAtMs: tsMs + input.windowMs };
}

/**
 * GitHub's scheme: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, no timestamp;
 * replay protection is by the delivery id (`X-GitHub-Delivery`), kept for `keepMs`.
 */
export async function verifyGithub(input: { secret: string; signature: string | undefined; delivery: string | undefined; body: string; nowMs: number; keepMs: number }): Promise<SignatureCheck> {
  const hex = signatureHex(input.signature);
  if (!hex) return { ok: false, reason: 'malformed signature' };
  if (!/^[A-Za-z0-9-]{8,100}$/.test(input.delivery ?? '')) return { ok: false, reason: 'missing or malformed X-GitHub-Delivery' };
  const expected = await hmacHex(input.secret, input.body);
  if (!timingSafeEqual(utf8(expected), utf8(hex))) return { ok: false, reason: 'bad signature' };
  return { ok: true, replayKey: `gh:${input.delivery}`, expiresAtMs: input.nowMs + input.keepMs };
}

const SEEN = 'webhook:seen:';

/** Remembers used signatures (and GitHub delivery ids) until they expire: each is accepted once. */
export class ReplayGuard {
  constructor(
    private readonly state: AtomicStore,
    private readonly clock: Clock,
  ) {}

  /** True the first time a key is claimed (before it expires); false for a replay. */
  async claim(replayKey: string, expiresAtMs: number): Promise<boolean> {
    const key = SEEN + (await keyOf(replayKey));
    return this.state.putIfAbsent(key, { exp: expiresAtMs }, this.clock.now());
  }
}
