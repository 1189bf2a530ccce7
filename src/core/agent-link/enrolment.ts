/**
 * Host enrolment and agent keys, on WebCrypto only (the same on Node 20 and workerd).
 *
 * An admin creates a host: it gets a single-use join token valid for JOIN_TOKEN_TTL_MS, kept
 * only as a SHA-256 hash. The agent makes an ECDSA P-256 key pair on first run; its first
 * connection presents the join token and its public key, and every connection signs the
 * server's fresh nonce. The host record lives where writes are strongly consistent (a Durable
 * Object's storage): `authenticate` is a read-check-write that the caller runs without
 * interleaving (a Durable Object runs one event at a time).
 */
import { ErrorCode } from '../errors.js';
import { fromBase64, randomBytes, sha256, timingSafeEqual, toBase64Url, toHex, utf8 } from '../auth/encoding.js';
import { signedChallenge, type FrameOf } from './protocol.js';

export const JOIN_TOKEN_TTL_MS = 15 * 60_000;
export const JOIN_TOKEN_PREFIX = 'wdj_';
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** What the control plane keeps per host. */
export interface HostRecord {
  name: string;
  createdAt: string;
  /** The enrolled agent's public key (raw P-256 point, base64url); null until enrolment. */
  publicKey: string | null;
  enrolledAt: string | null;
  join: { hash: string; expiresAt: number; used: boolean } | null;
}

/** A new host record and its join token (the only time the token exists in clear). */
export async function newHost(name: string, now: number, ttlMs = JOIN_TOKEN_TTL_MS): Promise<{ record: HostRecord; joinToken: string; expiresAt: string }> {
  const joinToken = JOIN_TOKEN_PREFIX + toBase64Url(randomBytes(32));
  const record: HostRecord = {
    name, createdAt: new Date(now).toISOString(), publicKey: null, enrolledAt: null,
    join: { hash: toHex(await sha256(joinToken)), expiresAt: now + ttlMs, used: false },
  };
  return { record, joinToken, expiresAt: new Date(now + ttlMs).toISOString() };
}

export type AuthOutcome =
  | { ok: true; record: HostRecord; enrolled: boolean }
  | { ok: false; code: number; msg: string };

const refuse = (msg: string): AuthOutcome => ({ ok: false, code: ErrorCode.Unauthorized, msg });

/** Verifies a P-256 signature; false for any malformed key or signature. */
export async function verifySignature(publicKey: string, signature: string, message: string): Promise<boolean> {
  const raw = fromBase64(publicKey);
  const sig = fromBase64(signature);
  if (!raw || !sig || raw.length !== 65 || sig.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey('raw', raw, ECDSA, false, ['verify']);
    return await crypto.subtle.verify(SIGN, key, sig, utf8(message));
  } catch {
    return false;
  }
}

/**
 * Decides an `auth` frame against the stored record. The signature over this connection's
 * nonce is checked first (the agent holds the key it presents); then either the key is the
 * enrolled one, or a valid, unused, unexpired join token enrols it (and is used up).
 */
export async function authenticate(record: HostRecord | null, frame: FrameOf<'auth'>, nonce: string, now: number): Promise<AuthOutcome> {
  if (!record) return refuse(`host ${frame.host} is not known to this control plane (create it, or it was revoked)`);
  if (!(await verifySignature(frame.publicKey, frame.signature, signedChallenge(frame.host, nonce)))) return refuse('the signature over the challenge does not verify');
  if (frame.joinToken === undefined) {
    if (record.publicKey === null) return refuse(`host ${record.name} is not enrolled yet: start the agent with its join token`);
    if (!timingSafeEqual(utf8(record.publicKey), utf8(frame.publicKey))) return refuse(`this key is not the one enrolled for host ${record.name}`);
    return { ok: true, record, enrolled: false };
  }
  // Enrolment. A known key presenting a token again just authenticates (an agent restarted
  // with --join-token still on its command line).
  if (record.publicKey !== null && timingSafeEqual(utf8(record.publicKey), utf8(frame.publicKey))) return { ok: true, record, enrolled: false };
  const join = record.join;
  const hash = toHex(await sha256(frame.joinToken));
  if (!join || !timingSafeEqual(utf8(join.hash), utf8(hash))) return refuse(`the join token is not valid for host ${record.name}`);
  if (join.used) return refuse('the join token was already used: create the host again for a new one');
  if (now > join.expiresAt) return refuse('the join token has expired: create the host again for a new one');
  const enrolled: HostRecord = { ...record, publicKey: frame.publicKey, enrolledAt: new Date(now).toISOString(), join: { ...join, used: true } };
  return { ok: true, record: enrolled, enrolled: true };
}

/** An agent's key pair, as kept in its 0600 key file. */
export interface AgentKeyFile {
  kind: 'watch-docker-agent-key';
  /** The private key as JWK (ECDSA P-256). */
  privateJwk: Record<string, unknown>;
  /** The public key, raw point, base64url: what the control plane stores. */
  publicKey: string;
}

export async function generateAgentKey(): Promise<AgentKeyFile> {
  type Key = Parameters<typeof crypto.subtle.exportKey>[1];
  const pair = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as { privateKey: Key; publicKey: Key };
  const privateJwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as unknown as Record<string, unknown>;
  const publicKey = toBase64Url(new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer));
  return { kind: 'watch-docker-agent-key', privateJwk, publicKey };
}

/** Signs this connection's challenge with the agent's private key. */
export async function signChallenge(key: AgentKeyFile, host: string, nonce: string): Promise<string> {
  const priv = await crypto.subtle.importKey('jwk', key.privateJwk as never, ECDSA, false, ['sign']);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign(SIGN, priv, utf8(signedChallenge(host, nonce)))));
}

/** A fresh challenge nonce (32 random bytes). */
export function newNonce(): string {
  return toBase64Url(randomBytes(32));
}
