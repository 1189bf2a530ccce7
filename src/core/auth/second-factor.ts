import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { AppError, ErrorCode } from '../errors.js';
import type { Auth } from './auth.js';
import { BAD_SECOND_FACTOR, unauthorized } from './errors.js';
import { findRecoveryCode } from './recovery-codes.js';
import type { IssuedToken, Session } from './tokens.js';
import { checkTotp } from './totp.js';
import { isSetUp, type TwoFactorRecord } from './twofa-store.js';

/** A second factor as presented: a 6-digit code, a recovery code, or a WebAuthn assertion. */
export type Factor = { kind: 'otp'; code: string } | { kind: 'recovery'; code: string } | { kind: 'webauthn'; response: AuthenticationResponseJSON };

export type FactorMethod = Factor['kind'];

export function assertTwoFactorOn(auth: Auth): void {
  if (!auth.settings.twofa.enabled) {
    throw new AppError(ErrorCode.Conflict, 'two-factor authentication is turned off on this server (IS_SECONDARY_VERIFICATION=true turns it on)');
  }
}

export async function setUpRecord(auth: Auth, user: string): Promise<TwoFactorRecord> {
  const record = await auth.twofa.get(user);
  if (!isSetUp(record)) throw new AppError(ErrorCode.Conflict, 'no second factor is set up yet: set one up with /api/v1/2fa/setup/otp/init or /api/v1/2fa/setup/webauthn/begin');
  return record;
}

/**
 * Checks a factor against the user's record and spends it: a TOTP step is remembered (that
 * code and older ones are refused from then on), a recovery code is deleted, a WebAuthn
 * counter is advanced. True when it was valid.
 */
export async function spendFactor(auth: Auth, user: string, factor: Factor): Promise<boolean> {
  switch (factor.kind) {
    case 'otp':
      return auth.twofa.update(user, async (r) => {
        if (!r.otpSecret) return false;
        const step = await checkTotp(r.otpSecret, factor.code, auth.clock, r.otpLastStep);
        if (step === null) return false;
        r.otpLastStep = step;
        return true;
      });
    case 'recovery':
      return auth.twofa.update(user, async (r) => {
        const index = await findRecoveryCode(factor.code, r.recoveryHashes);
        if (index < 0) return false;
        r.recoveryHashes.splice(index, 1);
        return true;
      });
    case 'webauthn': {
      const record = await auth.twofa.get(user);
      const result = await auth.webauthn.finishAuthentication(user, factor.response, record.credentials);
      if (!result) return false;
      return auth.twofa.update(user, (r) => {
        const cred = r.credentials.find((c) => c.id === result.id);
        // Checked again under the lock: two assertions racing must not both pass.
        if (!cred || (result.counter !== 0 && result.counter <= cred.counter)) return false;
        cred.counter = result.counter;
        return true;
      });
    }
  }
}

/**
 * Verifies a second factor with a temp (or full) token and, when it is right, trades the
 * presented token for a full one. Failures count towards the lockout.
 */
export async function verifySecondFactor(auth: Auth, session: Session, factor: Factor, address: string): Promise<IssuedToken & { recoveryCodesLeft: number }> {
  assertTwoFactorOn(auth);
  const subject = { scope: 'twofa' as const, user: session.user, address };
  await setUpRecord(auth, session.user);
  const attempt = await auth.attempt(subject);
  if (!(await spendFactor(auth, session.user, factor))) {
    await auth.failed(subject, attempt, { method: factor.kind });
    throw unauthorized(BAD_SECOND_FACTOR);
  }
  await auth.succeeded(subject, attempt);
  if (factor.kind === 'recovery') await auth.audit.record({ event: 'twofa.recovery-used', user: session.user, address });
  const token = await upgrade(auth, session, factor.kind, address);
  return { ...token, recoveryCodesLeft: (await auth.twofa.get(session.user)).recoveryHashes.length };
}

/** Revokes the presented token and issues a full one for `method`. */
export async function upgrade(auth: Auth, session: Session, method: string, address: string): Promise<IssuedToken> {
  const { tokens } = await auth.ready();
  await tokens.revoke(session);
  const token = await tokens.issue(session.user, 'full', ['pwd', method]);
  await auth.audit.record({ event: 'twofa.success', user: session.user, address, method });
  return token;
}

/**
 * Turns the user's second factor off: needs a full token and a current factor. Clears every
 * secret, credential and recovery code, and revokes every token issued before (this one too).
 */
export async function disableTwoFactor(auth: Auth, session: Session, factor: Factor, address: string): Promise<void> {
  if (session.kind !== 'full') throw unauthorized('turning two-factor authentication off needs a full token: finish the verification first', 403);
  const subject = { scope: 'twofa' as const, user: session.user, address };
  await setUpRecord(auth, session.user);
  const attempt = await auth.attempt(subject);
  if (!(await spendFactor(auth, session.user, factor))) {
    await auth.failed(subject, attempt, { method: factor.kind, reason: 'disable' });
    throw unauthorized(BAD_SECOND_FACTOR);
  }
  await auth.succeeded(subject, attempt);
  await auth.twofa.clear(session.user);
  const { tokens } = await auth.ready();
  await tokens.revokeAll(session.user);
  await auth.audit.record({ event: 'twofa.disable', user: session.user, address, method: factor.kind });
  await auth.audit.record({ event: 'token.revoked-all', user: session.user, address, reason: 'two-factor disabled' });
}
