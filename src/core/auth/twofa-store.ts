import type { Config } from '../config/schema.js';
import { updateAtomically, type AtomicStore } from '../atomic-store.js';
import { fromBase64, keyOf, toBase64Url, toHex, sha256 } from './encoding.js';

export type TwoFactorMethod = 'otp' | 'webauthn';

/** A registered authenticator: public key only (the private key never leaves the device). */
export interface StoredCredential {
  /** Credential ID, base64url. */
  id: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports?: string[];
  /** The RP ID (domain) it was registered for: each domain has its own credentials. */
  rpID: string;
  createdAt?: string;
}

/** One user's second-factor state, kept in the store; never returned by an API. */
export interface TwoFactorRecord {
  otpSecret?: string;
  /** A secret from setup/otp/init that waits for its first code. */
  otpPending?: { secret: string; exp: number };
  /** The last TOTP time step accepted: it and every earlier step are refused from then on. */
  otpLastStep?: number;
  credentials: StoredCredential[];
  /** SHA-256 (hex) of each unused recovery code. */
  recoveryHashes: string[];
  /** Fingerprint of the twofa.users entry already imported from the configuration. */
  importedConfig?: string;
  /** Fingerprint of a twofa.users entry that a later disable cleared: not imported again. */
  ignoredConfig?: string;
}

export function methodsOf(r: TwoFactorRecord): TwoFactorMethod[] {
  const out: TwoFactorMethod[] = [];
  if (r.otpSecret) out.push('otp');
  if (r.credentials.length > 0) out.push('webauthn');
  return out;
}

export function isSetUp(r: TwoFactorRecord): boolean {
  return methodsOf(r).length > 0;
}

type ConfigUser = Config['twofa']['users'][string];

/** Reads a credential written in config.yaml: this app's shape, or go-webauthn's ({credential: {ID, PublicKey, Authenticator}, rpid}). */
export function parseConfigCredential(entry: unknown): StoredCredential | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const e = entry as Record<string, unknown>;
  const c = (typeof e.credential === 'object' && e.credential !== null ? e.credential : e) as Record<string, unknown>;
  const rpID = e.rpid ?? e.rpID ?? c.rpID;
  const id = fromBase64(String(c.id ?? c.ID ?? ''));
  const publicKey = fromBase64(String(c.publicKey ?? c.PublicKey ?? ''));
  const authenticator = (c.Authenticator ?? {}) as Record<string, unknown>;
  const counter = Number(c.counter ?? authenticator.SignCount ?? 0);
  if (typeof rpID !== 'string' || rpID === '' || !id?.length || !publicKey?.length || !Number.isInteger(counter)) return null;
  const transports = c.transports ?? c.Transport;
  return {
    id: toBase64Url(id),
    publicKey: toBase64Url(publicKey),
    counter,
    rpID: rpID.toLowerCase(),
    ...(Array.isArray(transports) ? { transports: transports.map(String) } : {}),
  };
}

async function fingerprint(u: ConfigUser): Promise<string> {
  return toHex(await sha256(JSON.stringify(u))).slice(0, 32);
}

/**
 * Per-user second-factor records. A user set up in twofa.users (config.yaml) counts as set
 * up: the entry is imported into the store once, and the store is the truth from then on
 * (counters and used codes must be written somewhere; a Worker cannot write the config file).
 */
export class TwoFactorStore {
  constructor(
    private readonly state: AtomicStore,
    private readonly configUsers: Config['twofa']['users'],
  ) {}

  private async key(user: string): Promise<string> {
    return `auth:2fa:${await keyOf(user)}`;
  }

  async get(user: string): Promise<TwoFactorRecord> {
    const key = await this.key(user);
    const { record, imported } = await this.load(user, await this.state.get<TwoFactorRecord>(key));
    // The first read after a config entry appeared writes the import.
    return imported ? this.update(user, (r) => r) : record;
  }

  /**
   * Changes a user's record atomically; `change` returns the value to hand back. When another
   * request changed the record meanwhile, `change` runs again on the new record, so it must
   * have no effect besides the record (a used TOTP step or recovery code is then seen as used).
   */
  async update<T>(user: string, change: (r: TwoFactorRecord) => T | Promise<T>): Promise<T> {
    const key = await this.key(user);
    return updateAtomically<TwoFactorRecord, T>(this.state, key, async (stored) => {
      const { record } = await this.load(user, stored);
      const result = await change(record);
      return { next: record, result };
    });
  }

  /** Clears every factor and recovery code; a config entry is not imported again. */
  async clear(user: string): Promise<void> {
    const cfg = Object.hasOwn(this.configUsers, user) ? this.configUsers[user] : undefined;
    const ignored = cfg ? await fingerprint(cfg) : undefined;
    await this.update(user, (r) => {
      for (const k of Object.keys(r) as (keyof TwoFactorRecord)[]) delete r[k];
      r.credentials = [];
      r.recoveryHashes = [];
      if (ignored) r.ignoredConfig = ignored;
    });
  }

  /** The stored record with the config entry imported (once); `imported` when that changed it. */
  private async load(user: string, stored: TwoFactorRecord | null): Promise<{ record: TwoFactorRecord; imported: boolean }> {
    // A copy: `stored` stays what was read, for the compare-and-set.
    const record: TwoFactorRecord = JSON.parse(JSON.stringify({ credentials: [], recoveryHashes: [], ...(stored ?? {}) })) as TwoFactorRecord;
    const cfg = Object.hasOwn(this.configUsers, user) ? this.configUsers[user] : undefined;
    if (!cfg?.isSetup) return { record, imported: false };
    const fp = await fingerprint(cfg);
    if (record.importedConfig === fp || record.ignoredConfig === fp) return { record, imported: false };
    if (cfg.otpSecret) record.otpSecret = cfg.otpSecret.replace(/\s+/g, '').toUpperCase();
    for (const c of cfg.webauthnCredentials.map(parseConfigCredential)) {
      if (c && !record.credentials.some((x) => x.id === c.id && x.rpID === c.rpID)) record.credentials.push(c);
    }
    record.importedConfig = fp;
    return { record, imported: true };
  }
}
