import { AppError, ErrorCode } from '../errors.js';
import { KeyedLock } from '../keyed-lock.js';
import type { AtomicStore } from '../atomic-store.js';
import type { Clock } from '../ports.js';
import { randomBytes, sha256, timingSafeEqual, toBase64Url, toHex } from './encoding.js';

/** What a machine token may trigger: image references / repositories, and container names. */
export interface MachineScope {
  images?: string[];
  containers?: string[];
}

/** A machine token as listed: never the token itself. */
export interface MachineTokenInfo {
  name: string;
  scope: MachineScope;
  createdAt: string;
  lastUsedAt: string | null;
}

interface StoredMachineToken extends MachineTokenInfo {
  /** Hex SHA-256 of the token (the token has 256 random bits, so a plain hash is enough). */
  hash: string;
}

/** Machine tokens start with this, so they are recognisable (and never mistaken for a JWT). */
export const MACHINE_TOKEN_PREFIX = 'wdm_';
const KEY = 'auth:machine-token:';
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/**
 * Named API tokens for CI jobs and registries: 32 random bytes shown once, kept as a SHA-256
 * hash keyed by that hash (so a lookup is one store read), accepted only by the webhook routes.
 */
export class MachineTokens {
  /** Serialises creates in this process, so a name stays unique (a Worker's isolates may each create one). */
  private readonly lock = new KeyedLock();

  constructor(
    private readonly state: AtomicStore,
    private readonly clock: Clock,
  ) {}

  private async all(): Promise<StoredMachineToken[]> {
    const keys = await this.state.keys(KEY.slice(0, -1));
    const items = await Promise.all(keys.map((k) => this.state.get<StoredMachineToken>(k)));
    return items.filter((t): t is StoredMachineToken => t !== null && typeof t === 'object' && typeof t.hash === 'string');
  }

  /** Creates a token; the answer is the only time the token is visible. */
  async create(name: string, scope: MachineScope): Promise<MachineTokenInfo & { token: string }> {
    if (!NAME.test(name)) throw new AppError(ErrorCode.BadRequest, 'body field "name": expected 1-64 letters, digits, "_", "." or "-"');
    return this.lock.run('create', async () => {
      if ((await this.all()).some((t) => t.name === name)) throw new AppError(ErrorCode.Conflict, `a machine token named ${name} exists: delete it first`);
      const token = MACHINE_TOKEN_PREFIX + toBase64Url(randomBytes(32));
      const hash = toHex(await sha256(token));
      const info: MachineTokenInfo = { name, scope: cleanScope(scope), createdAt: new Date(this.clock.now()).toISOString(), lastUsedAt: null };
      await this.state.set(KEY + hash.slice(0, 40), { ...info, hash } satisfies StoredMachineToken);
      return { ...info, token };
    });
  }

  async list(): Promise<MachineTokenInfo[]> {
    return (await this.all()).map(({ hash: _hash, ...info }) => info).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Revokes by name; false when there was none. */
  async revoke(name: string): Promise<boolean> {
    const keys = await this.state.keys(KEY.slice(0, -1));
    let found = false;
    for (const k of keys) {
      const t = await this.state.get<StoredMachineToken>(k);
      if (t?.name === name) {
        await this.state.remove(k);
        found = true;
      }
    }
    return found;
  }

  /** The token's record when it is valid (and notes its use), else null. */
  async verify(token: string): Promise<MachineTokenInfo | null> {
    if (!token.startsWith(MACHINE_TOKEN_PREFIX) || token.length > 100) return null;
    const hash = toHex(await sha256(token));
    const key = KEY + hash.slice(0, 40);
    const stored = await this.state.get<StoredMachineToken>(key);
    if (!stored || !timingSafeEqual(new TextEncoder().encode(stored.hash), new TextEncoder().encode(hash))) return null;
    const now = this.clock.now();
    // lastUsed at minute precision: a busy CI does not turn every call into a store write.
    if (!stored.lastUsedAt || now - Date.parse(stored.lastUsedAt) > 60_000) {
      // Compare-and-set: a token revoked meanwhile is not written back (and is refused).
      if (!(await this.state.compareAndSet(key, stored, { ...stored, lastUsedAt: new Date(now).toISOString() }))) {
        if ((await this.state.get(key)) === null) return null;
      }
    }
    const { hash: _hash, ...info } = stored;
    return info;
  }
}

function cleanScope(scope: MachineScope): MachineScope {
  return {
    ...(scope.images && scope.images.length > 0 ? { images: [...new Set(scope.images)] } : {}),
    ...(scope.containers && scope.containers.length > 0 ? { containers: [...new Set(scope.containers)] } : {}),
  };
}
