import { errors, jwtVerify, SignJWT } from 'jose';
import type { AtomicStore } from '../atomic-store.js';
import type { Clock } from '../ports.js';
import { fromBase64, keyOf, randomBytes, randomId, toBase64Url, utf8 } from './encoding.js';

/** temp: password only, accepted by /api/v1/2fa/* alone (design §6.4). full: every API. */
export type TokenKind = 'temp' | 'full';

/** What a verified token says about its bearer. */
export interface Session {
  user: string;
  kind: TokenKind;
  jti: string;
  issuedAtMs: number;
  expiresAtMs: number;
  twoFAVerified: boolean;
  /** How the bearer authenticated: "pwd", then "otp", "webauthn" or "recovery". */
  amr: string[];
}

export interface IssuedToken {
  token: string;
  kind: TokenKind;
  expiresAt: string;
}

/** Why a token was refused: for the audit log only; the client always hears the same thing. */
export class TokenError extends Error {
  override readonly name = 'TokenError';
}

export const ISSUER = 'watch-docker';
export const AUDIENCE: Record<TokenKind, string> = { temp: 'watch-docker:2fa', full: 'watch-docker:api' };
export const TOKEN_TTL_MS: Record<TokenKind, number> = { temp: 15 * 60_000, full: 24 * 3_600_000 };
export const JWT_SECRET_KEY = 'auth:jwt-secret';
const REVOKED = 'auth:revoked:';
const VALID_AFTER = 'auth:valid-after:';

/**
 * The HS256 key: auth.jwtSecret when set, else 32 random bytes generated at first start and
 * kept in the store (so tokens survive restarts and are shared by instances on one store).
 */
export async function loadSigningKey(configured: string, state: AtomicStore, clock: Clock): Promise<Uint8Array<ArrayBuffer>> {
  if (configured !== '') return utf8(configured);
  const stored = await state.get<string>(JWT_SECRET_KEY);
  const existing = typeof stored === 'string' ? fromBase64(stored) : null;
  if (existing && existing.length >= 32) return existing;
  // Instances starting at the same moment: the first key written wins and every one uses it.
  const mine = toBase64Url(randomBytes(32));
  const written = stored === null ? await state.putIfAbsent(JWT_SECRET_KEY, mine, clock.now()) : await state.compareAndSet(JWT_SECRET_KEY, stored, mine);
  const winner = fromBase64(written ? mine : ((await state.get<string>(JWT_SECRET_KEY)) ?? ''));
  if (!winner || winner.length < 32) throw new Error('the store did not keep the token signing key');
  return winner;
}

/** Issues and verifies JWTs (jose, HS256 pinned) and keeps revocations in the store. */
export class TokenService {
  constructor(
    private readonly key: Uint8Array<ArrayBuffer>,
    private readonly state: AtomicStore,
    private readonly clock: Clock,
  ) {}

  async issue(user: string, kind: TokenKind, amr: string[]): Promise<IssuedToken> {
    const now = this.clock.now();
    const exp = now + TOKEN_TTL_MS[kind];
    const token = await new SignJWT({ isTempToken: kind === 'temp', twoFAVerified: amr.length > 1, amr, iatMs: now })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE[kind])
      .setSubject(user)
      .setJti(randomId(16))
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(exp / 1000))
      .sign(this.key);
    return { token, kind, expiresAt: new Date(Math.floor(exp / 1000) * 1000).toISOString() };
  }

  /** Verifies a token of one of the `accept` kinds; throws TokenError saying why not. */
  async verify(token: string, accept: readonly TokenKind[]): Promise<Session> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        typ: 'JWT',
        issuer: ISSUER,
        audience: accept.map((k) => AUDIENCE[k]),
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['sub', 'jti', 'iat', 'exp', 'isTempToken', 'twoFAVerified', 'iatMs', 'amr'],
      }));
    } catch (err) {
      const reason = err instanceof errors.JWTExpired ? 'expired' : err instanceof errors.JWTClaimValidationFailed ? `claim ${err.claim}` : err instanceof errors.JOSEError ? err.code : 'malformed';
      throw new TokenError(reason);
    }
    const kind: TokenKind = payload.aud === AUDIENCE.temp || (Array.isArray(payload.aud) && payload.aud.includes(AUDIENCE.temp)) ? 'temp' : 'full';
    const { sub, jti, exp, iatMs, isTempToken, twoFAVerified, amr } = payload;
    if (Array.isArray(payload.aud)) throw new TokenError('claim aud');
    if (typeof sub !== 'string' || typeof jti !== 'string' || jti.length < 16 || typeof exp !== 'number' || typeof iatMs !== 'number') throw new TokenError('claims');
    if (isTempToken !== (kind === 'temp') || typeof twoFAVerified !== 'boolean' || (kind === 'temp' && twoFAVerified)) throw new TokenError('claims disagree with audience');
    if (!Array.isArray(amr) || !amr.every((m): m is string => typeof m === 'string')) throw new TokenError('claim amr');
    const session: Session = { user: sub, kind, jti, issuedAtMs: iatMs, expiresAtMs: exp * 1000, twoFAVerified, amr };
    await this.assertNotRevoked(session);
    return session;
  }

  /** Throws when the token was logged out, or issued before the user's last "revoke all". */
  async assertNotRevoked(s: Pick<Session, 'user' | 'jti' | 'issuedAtMs'>): Promise<void> {
    if ((await this.state.get(REVOKED + (await keyOf(s.jti)))) !== null) throw new TokenError('revoked');
    const after = await this.state.get<number>(VALID_AFTER + (await keyOf(s.user)));
    if (typeof after === 'number' && s.issuedAtMs <= after) throw new TokenError('revoked (all before)');
  }

  /** Revokes one token until it would have expired anyway. */
  async revoke(s: Pick<Session, 'jti' | 'expiresAtMs'>): Promise<void> {
    await this.state.set(REVOKED + (await keyOf(s.jti)), { exp: s.expiresAtMs });
  }

  /** Revokes every token the user holds now: only tokens issued later are accepted. */
  async revokeAll(user: string): Promise<void> {
    await this.state.set(VALID_AFTER + (await keyOf(user)), this.clock.now());
  }
}
