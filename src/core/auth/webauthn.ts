import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { AtomicStore } from '../atomic-store.js';
import type { Clock } from '../ports.js';
import { fromBase64, keyOf, sha256, toBase64Url, utf8 } from './encoding.js';
import type { StoredCredential } from './twofa-store.js';

export const RP_NAME = 'Watch Docker';
const TIMEOUT_MS = 60_000;
/** A challenge lives a little longer than the browser's own timeout, and is used once. */
export const CHALLENGE_TTL_MS = 2 * 60_000;

function hostOnly(value: string | undefined): string | null {
  const first = value?.split(',')[0]?.trim().toLowerCase();
  if (!first) return null;
  const host = first.startsWith('[') ? first.slice(0, first.indexOf(']') + 1) : first.replace(/:\d+$/, '');
  return host.replace(/\.$/, '') || null;
}

/**
 * The RP ID (the domain credentials are bound to) for a request: X-Forwarded-Host, else Host,
 * but only a name listed in twofa.allowedDomains (TWOFA_ALLOWED_DOMAINS). Null: refuse.
 */
export function selectRpId(headers: { forwardedHost?: string | undefined; host?: string | undefined }, allowedDomains: readonly string[]): string | null {
  const allowed = new Set(allowedDomains.map((d) => hostOnly(d)).filter((d): d is string => d !== null));
  for (const candidate of [hostOnly(headers.forwardedHost), hostOnly(headers.host)]) {
    if (candidate && allowed.has(candidate)) return candidate;
  }
  return null;
}

/**
 * The origin a ceremony must come from: the request's Origin when it is the RP ID or one of its
 * subdomains, over https (http only for localhost, which browsers treat as secure).
 */
export function expectedOrigin(origin: string | undefined, rpID: string): string | null {
  if (!origin) return null;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  const host = url.hostname.toLowerCase();
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && rpID === 'localhost');
  if (!secure || url.origin !== origin || (host !== rpID && !host.endsWith(`.${rpID}`))) return null;
  return url.origin;
}

export type CeremonyPurpose = 'register' | 'authenticate';

interface Challenge {
  challenge: string;
  rpID: string;
  origin: string;
  exp: number;
}

/** WebAuthn ceremonies (@simplewebauthn/server) with single-use, short-lived challenges in the store. */
export class WebAuthnService {
  constructor(
    private readonly state: AtomicStore,
    private readonly clock: Clock,
  ) {}

  private async challengeKey(user: string, purpose: CeremonyPurpose): Promise<string> {
    return `auth:webauthn:challenge:${await keyOf(user)}:${purpose}`;
  }

  private async remember(user: string, purpose: CeremonyPurpose, c: Omit<Challenge, 'exp'>): Promise<void> {
    await this.state.set(await this.challengeKey(user, purpose), { ...c, exp: this.clock.now() + CHALLENGE_TTL_MS } satisfies Challenge);
  }

  /** Takes the pending challenge: gone after this call whatever the outcome; null when none or expired. */
  async takeChallenge(user: string, purpose: CeremonyPurpose): Promise<Challenge | null> {
    const key = await this.challengeKey(user, purpose);
    const found = await this.state.take<Challenge>(key);
    return found && found.exp > this.clock.now() ? found : null;
  }

  async registrationOptions(user: string, rpID: string, origin: string, existing: readonly StoredCredential[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID,
      userName: user,
      // A stable handle that is not the name itself.
      userID: (await sha256(utf8(`watch-docker user ${user}`))).slice(0, 16),
      attestationType: 'none',
      excludeCredentials: existing.filter((c) => c.rpID === rpID).map((c) => ({ id: c.id, ...(c.transports ? { transports: c.transports } : {}) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      timeout: TIMEOUT_MS,
    });
    await this.remember(user, 'register', { challenge: options.challenge, rpID, origin });
    return options;
  }

  /** Verifies a registration against the pending challenge; the new credential, or null. */
  async finishRegistration(user: string, response: RegistrationResponseJSON): Promise<StoredCredential | null> {
    const pending = await this.takeChallenge(user, 'register');
    if (!pending) return null;
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: pending.challenge,
      expectedOrigin: pending.origin,
      expectedRPID: pending.rpID,
      requireUserVerification: false,
    }).catch(() => null);
    if (!result?.verified) return null;
    const { credential } = result.registrationInfo;
    return {
      id: credential.id,
      publicKey: toBase64Url(credential.publicKey),
      counter: credential.counter,
      rpID: pending.rpID,
      createdAt: new Date(this.clock.now()).toISOString(),
      ...(credential.transports ? { transports: credential.transports } : {}),
    };
  }

  async authenticationOptions(user: string, rpID: string, origin: string, credentials: readonly StoredCredential[]): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
    const mine = credentials.filter((c) => c.rpID === rpID);
    if (mine.length === 0) return null;
    const options = await generateAuthenticationOptions({
      rpID,
      allowCredentials: mine.map((c) => ({ id: c.id, ...(c.transports ? { transports: c.transports } : {}) })),
      userVerification: 'preferred',
      timeout: TIMEOUT_MS,
    });
    await this.remember(user, 'authenticate', { challenge: options.challenge, rpID, origin });
    return options;
  }

  /**
   * Verifies an assertion against the pending challenge and the user's credential for that RP
   * ID, including the signature counter (a counter that did not grow means a cloned key).
   * Returns the credential's id and new counter, or null.
   */
  async finishAuthentication(user: string, response: AuthenticationResponseJSON, credentials: readonly StoredCredential[]): Promise<{ id: string; counter: number } | null> {
    const pending = await this.takeChallenge(user, 'authenticate');
    if (!pending) return null;
    const cred = credentials.find((c) => c.id === response.id && c.rpID === pending.rpID);
    const publicKey = cred ? fromBase64(cred.publicKey) : null;
    if (!cred || !publicKey) return null;
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: pending.challenge,
      expectedOrigin: pending.origin,
      expectedRPID: pending.rpID,
      credential: { id: cred.id, publicKey, counter: cred.counter, ...(cred.transports ? { transports: cred.transports } : {}) },
      requireUserVerification: false,
    }).catch(() => null);
    if (!result?.verified) return null;
    return { id: cred.id, counter: result.authenticationInfo.newCounter };
  }
}
