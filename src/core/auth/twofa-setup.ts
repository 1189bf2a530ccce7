import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { AppError, ErrorCode } from '../errors.js';
import type { Auth } from './auth.js';
import { BAD_SECOND_FACTOR, unauthorized } from './errors.js';
import { qrCodeDataUrl } from './qr-code.js';
import { newRecoveryCodes } from './recovery-codes.js';
import { assertTwoFactorOn, upgrade } from './second-factor.js';
import type { IssuedToken, Session } from './tokens.js';
import { checkTotp, newTotpSecret, OTP_PENDING_TTL_MS, totpUri } from './totp.js';
import { isSetUp, type TwoFactorRecord } from './twofa-store.js';

/**
 * A temp token may set up a first factor, never replace one: otherwise the password alone
 * would be enough to enrol a new authenticator and walk past the second factor.
 */
async function assertMaySetUp(auth: Auth, session: Session): Promise<void> {
  assertTwoFactorOn(auth);
  if (session.kind === 'temp' && isSetUp(await auth.twofa.get(session.user))) {
    throw unauthorized('a second factor is already set up: verify with it first (/api/v1/2fa/verify/*), then add another with the full token', 403);
  }
}

/** What a finished setup answers: a full token, and the recovery codes when made now (shown once). */
export interface SetupDone extends IssuedToken {
  recoveryCodes: string[] | null;
}

async function finish(auth: Auth, session: Session, method: 'otp' | 'webauthn', address: string, codes: string[] | null): Promise<SetupDone> {
  await auth.audit.record({ event: 'twofa.setup', user: session.user, address, method });
  const token = await upgrade(auth, session, method, address);
  return { ...token, recoveryCodes: codes };
}

/** Gives the record recovery codes if it has none left; the plain codes, or null. */
async function ensureRecoveryCodes(r: TwoFactorRecord): Promise<string[] | null> {
  if (r.recoveryHashes.length > 0) return null;
  const { codes, hashes } = await newRecoveryCodes();
  r.recoveryHashes = hashes;
  return codes;
}

/** Starts OTP setup: a new secret waits (15 min) for its first code; the secret is shown only now. */
export async function initOtp(auth: Auth, session: Session): Promise<{ secret: string; uri: string; qrCode: string; expiresAt: string }> {
  await assertMaySetUp(auth, session);
  const secret = newTotpSecret();
  const exp = auth.clock.now() + OTP_PENDING_TTL_MS;
  await auth.twofa.update(session.user, (r) => {
    r.otpPending = { secret, exp };
  });
  const uri = totpUri(secret, session.user);
  return { secret, uri, qrCode: qrCodeDataUrl(uri), expiresAt: new Date(exp).toISOString() };
}

/** Finishes OTP setup with a code from the app; trades the token for a full one. */
export async function confirmOtp(auth: Auth, session: Session, code: string, address: string): Promise<SetupDone> {
  await assertMaySetUp(auth, session);
  const subject = { scope: 'twofa' as const, user: session.user, address };
  const attempt = await auth.attempt(subject);
  const outcome = await auth.twofa.update(session.user, async (r) => {
    const pending = r.otpPending;
    if (!pending || pending.exp <= auth.clock.now()) return null;
    const step = await checkTotp(pending.secret, code, auth.clock);
    if (step === null) return null;
    r.otpSecret = pending.secret;
    r.otpLastStep = step;
    delete r.otpPending;
    return { codes: await ensureRecoveryCodes(r) };
  });
  if (!outcome) {
    await auth.failed(subject, attempt, { method: 'otp', reason: 'setup' });
    throw unauthorized(BAD_SECOND_FACTOR);
  }
  await auth.succeeded(subject, attempt);
  return finish(auth, session, 'otp', address, outcome.codes);
}

/** Starts registering a security key or passkey; `site` gives the RP ID and origin (it may refuse). */
export async function beginWebAuthnSetup(auth: Auth, session: Session, site: () => { rpID: string; origin: string }): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await assertMaySetUp(auth, session);
  const { rpID, origin } = site();
  const record = await auth.twofa.get(session.user);
  return auth.webauthn.registrationOptions(session.user, rpID, origin, record.credentials);
}

/** Finishes a registration against the pending challenge; trades the token for a full one. */
export async function finishWebAuthnSetup(auth: Auth, session: Session, response: RegistrationResponseJSON, address: string): Promise<SetupDone> {
  await assertMaySetUp(auth, session);
  const subject = { scope: 'twofa' as const, user: session.user, address };
  const attempt = await auth.attempt(subject);
  const credential = await auth.webauthn.finishRegistration(session.user, response);
  if (!credential) {
    await auth.failed(subject, attempt, { method: 'webauthn', reason: 'setup' });
    throw unauthorized(BAD_SECOND_FACTOR);
  }
  const codes = await auth.twofa.update(session.user, async (r) => {
    if (r.credentials.some((c) => c.id === credential.id)) throw new AppError(ErrorCode.Conflict, 'this security key is already registered');
    r.credentials.push(credential);
    return ensureRecoveryCodes(r);
  });
  await auth.succeeded(subject, attempt);
  return finish(auth, session, 'webauthn', address, codes);
}
