import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import { AppError, ErrorCode } from '../core/errors.js';
import { assertTwoFactorOn, disableTwoFactor, verifySecondFactor, setUpRecord, type Factor } from '../core/auth/second-factor.js';
import { beginWebAuthnSetup, confirmOtp, finishWebAuthnSetup, initOtp } from '../core/auth/twofa-setup.js';
import { isSetUp, methodsOf } from '../core/auth/twofa-store.js';
import { expectedOrigin, selectRpId } from '../core/auth/webauthn.js';
import { parseJsonBody, text } from './auth-http.js';
import { clientAddress, getSession, type AuthDeps } from './auth-middleware.js';
import type { AppEnv } from './context.js';
import { ok } from './envelope.js';

const b64 = (what: string) => v.pipe(v.string(`expected ${what} (base64url)`), v.regex(/^[A-Za-z0-9_-]+=*$/, `expected ${what} (base64url)`), v.maxLength(65536, `expected ${what}`));
const CodeBody = v.object({ code: text('a code', 64) });
/** The JSON that @simplewebauthn/browser's startRegistration / startAuthentication return. */
const RegistrationResponse = v.looseObject({
  id: b64('a credential id'),
  rawId: b64('a credential id'),
  type: v.literal('public-key', 'expected "public-key"'),
  response: v.looseObject({ clientDataJSON: b64('clientDataJSON'), attestationObject: b64('attestationObject') }),
  clientExtensionResults: v.optional(v.record(v.string(), v.unknown()), {}),
});
const AuthenticationResponse = v.looseObject({
  id: b64('a credential id'),
  rawId: b64('a credential id'),
  type: v.literal('public-key', 'expected "public-key"'),
  response: v.looseObject({ clientDataJSON: b64('clientDataJSON'), authenticatorData: b64('authenticatorData'), signature: b64('signature') }),
  clientExtensionResults: v.optional(v.record(v.string(), v.unknown()), {}),
});
const DisableBody = v.union(
  [v.strictObject({ code: text('a code', 64) }), v.strictObject({ webauthn: AuthenticationResponse })],
  'expected {"code": "<6-digit or recovery code>"} or {"webauthn": <assertion from verify/webauthn/begin>}',
);

/** A typed-in code: six digits are a TOTP code, anything else a recovery code. */
function codeFactor(code: string): Factor {
  return /^\s*\d{6}\s*$/.test(code) ? { kind: 'otp', code: code.trim() } : { kind: 'recovery', code };
}

/** The RP ID and origin a WebAuthn ceremony on this request would use; refuses a host not allowed. */
function ceremonySite(c: Context, deps: AuthDeps): { rpID: string; origin: string } {
  const rpID = selectRpId({ forwardedHost: c.req.header('x-forwarded-host'), host: c.req.header('host') }, deps.auth.settings.twofa.allowedDomains);
  if (!rpID) throw new AppError(ErrorCode.BadRequest, 'WebAuthn is not available on this host name: list it in twofa.allowedDomains (TWOFA_ALLOWED_DOMAINS)');
  const origin = expectedOrigin(c.req.header('origin'), rpID);
  if (!origin) throw new AppError(ErrorCode.BadRequest, `WebAuthn must be started from a page on https://${rpID} (the Origin header does not match)`);
  return { rpID, origin };
}

/** The two-factor endpoints of design §8.6 (TempTokenMiddleware: a temp or full token). */
export function twofaRoutes(deps: AuthDeps): Hono<AppEnv> {
  const { auth } = deps;
  const address = (c: Context) => clientAddress(c, deps);
  return new Hono<AppEnv>()
    .get('/api/v1/2fa/status', async (c) => {
      const session = getSession(c);
      const record = await auth.twofa.get(session.user);
      const rpID = selectRpId({ forwardedHost: c.req.header('x-forwarded-host'), host: c.req.header('host') }, auth.settings.twofa.allowedDomains);
      return ok(c, {
        enabled: auth.settings.twofa.enabled,
        isSetup: isSetUp(record),
        methods: methodsOf(record),
        recoveryCodesLeft: record.recoveryHashes.length,
        webauthn: { available: rpID !== null, rpID, credentials: record.credentials.filter((cr) => cr.rpID === rpID).length },
        tokenKind: session.kind,
      });
    })
    .post('/api/v1/2fa/setup/otp/init', async (c) => ok(c, await initOtp(auth, getSession(c))))
    .post('/api/v1/2fa/setup/otp/verify', async (c) => {
      const { code } = await parseJsonBody(c, CodeBody);
      return ok(c, await confirmOtp(auth, getSession(c), code.trim(), address(c)));
    })
    .post('/api/v1/2fa/setup/webauthn/begin', async (c) => {
      return ok(c, await beginWebAuthnSetup(auth, getSession(c), () => ceremonySite(c, deps)));
    })
    .post('/api/v1/2fa/setup/webauthn/finish', async (c) => {
      const response = (await parseJsonBody(c, RegistrationResponse)) as RegistrationResponseJSON;
      return ok(c, await finishWebAuthnSetup(auth, getSession(c), response, address(c)));
    })
    .post('/api/v1/2fa/verify/otp', async (c) => {
      const { code } = await parseJsonBody(c, CodeBody);
      return ok(c, await verifySecondFactor(auth, getSession(c), { kind: 'otp', code: code.trim() }, address(c)));
    })
    /** A recovery code instead of the usual factor; each works once. */
    .post('/api/v1/2fa/verify/recovery', async (c) => {
      const { code } = await parseJsonBody(c, CodeBody);
      return ok(c, await verifySecondFactor(auth, getSession(c), { kind: 'recovery', code }, address(c)));
    })
    .post('/api/v1/2fa/verify/webauthn/begin', async (c) => {
      assertTwoFactorOn(auth);
      const session = getSession(c);
      const record = await setUpRecord(auth, session.user);
      const { rpID, origin } = ceremonySite(c, deps);
      const options = await auth.webauthn.authenticationOptions(session.user, rpID, origin, record.credentials);
      if (!options) throw new AppError(ErrorCode.Conflict, `no security key is registered for ${rpID}: use another method, or register one from this address`);
      return ok(c, options);
    })
    .post('/api/v1/2fa/verify/webauthn/finish', async (c) => {
      const response = (await parseJsonBody(c, AuthenticationResponse)) as AuthenticationResponseJSON;
      return ok(c, await verifySecondFactor(auth, getSession(c), { kind: 'webauthn', response }, address(c)));
    })
    /** Needs a full token and a current factor; every token issued before stops working. */
    .post('/api/v1/2fa/disable', async (c) => {
      const body = await parseJsonBody(c, DisableBody);
      const factor: Factor = 'code' in body ? codeFactor(body.code) : { kind: 'webauthn', response: body.webauthn as AuthenticationResponseJSON };
      await disableTwoFactor(auth, getSession(c), factor, address(c));
      return ok(c, { disabled: true, signInAgain: true });
    });
}
