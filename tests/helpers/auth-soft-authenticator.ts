import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { webcrypto } from 'node:crypto';
import { fromBase64, toBase64Url, utf8 } from '../../src/core/auth/encoding.js';

const sha256 = async (data: Uint8Array<ArrayBuffer>) => new Uint8Array(await crypto.subtle.digest('SHA-256', data));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** Raw r||s (what crypto.subtle gives) to the ASN.1 DER signature WebAuthn's ES256 uses. */
function derSignature(raw: Uint8Array): Uint8Array {
  const int = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.slice(i);
    const body = (trimmed[0] ?? 0) & 0x80 ? concat(Uint8Array.of(0), trimmed) : trimmed;
    return concat(Uint8Array.of(0x02, body.length), body);
  };
  const seq = concat(int(raw.slice(0, 32)), int(raw.slice(32)));
  return concat(Uint8Array.of(0x30, seq.length), seq);
}

/**
 * A software security key (ES256, "none" attestation) that answers the ceremonies the way a
 * browser and an authenticator would: enough to test the server side without Chromium.
 */
export class SoftAuthenticator {
  private keys: { publicKey: webcrypto.CryptoKey; privateKey: webcrypto.CryptoKey } | undefined;
  readonly credentialId = crypto.getRandomValues(new Uint8Array(16));
  counter = 0;

  get id(): string {
    return toBase64Url(this.credentialId);
  }

  private async authData(rpId: string, flags: number, attested?: Uint8Array): Promise<Uint8Array> {
    return concat(await sha256(utf8(rpId)), Uint8Array.of(flags), u32(this.counter), attested ?? new Uint8Array(0));
  }

  private clientData(type: string, challenge: string, origin: string): Uint8Array<ArrayBuffer> {
    return utf8(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  async register(options: PublicKeyCredentialCreationOptionsJSON, origin: string, rpId = options.rp.id ?? ''): Promise<RegistrationResponseJSON> {
    this.keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey('jwk', this.keys.publicKey);
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, fromBase64(jwk.x ?? '') ?? new Uint8Array()],
      [-3, fromBase64(jwk.y ?? '') ?? new Uint8Array()],
    ]);
    const attested = concat(new Uint8Array(16), Uint8Array.of(0, this.credentialId.length), this.credentialId, isoCBOR.encode(cose));
    const authData = await this.authData(rpId, 0x01 | 0x04 | 0x40, attested);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: toBase64Url(this.clientData('webauthn.create', options.challenge, origin)), attestationObject: toBase64Url(attestationObject), transports: ['internal'] },
      clientExtensionResults: {},
    };
  }

  /** Signs an assertion; the counter goes up by one first unless `counter` says otherwise. */
  async authenticate(options: PublicKeyCredentialRequestOptionsJSON, origin: string, opts: { rpId?: string; counter?: number } = {}): Promise<AuthenticationResponseJSON> {
    if (!this.keys) throw new Error('register first');
    this.counter = opts.counter ?? this.counter + 1;
    const authData = await this.authData(opts.rpId ?? options.rpId ?? '', 0x01 | 0x04);
    const clientData = this.clientData('webauthn.get', options.challenge, origin);
    const signed = concat(authData, await sha256(clientData));
    const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, this.keys.privateKey, signed as Uint8Array<ArrayBuffer>));
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: toBase64Url(clientData), authenticatorData: toBase64Url(authData), signature: toBase64Url(derSignature(raw)) },
      clientExtensionResults: {},
    };
  }
}
