import type { AtomicStore } from '../atomic-store.js';
import type { Clock, Logger } from '../ports.js';
import { hmac, randomBytes, timingSafeEqual } from './encoding.js';
import { generatePassword, hashPassword, isPasswordHash, verifyPassword, type PasswordHash } from './password.js';

export const GENERATED_PASSWORD_KEY = 'auth:admin:generated-password';

/** What the first start tells about the password: configured, generated now, or generated before. */
export type PasswordSource = 'config' | 'generated' | 'stored';

/**
 * The one account (auth.username / auth.password, i.e. USER_NAME / USER_PASSWORD).
 * A configured password is hashed once at start with a random salt (kept in memory only);
 * without one, a random password is generated at first start, logged once, and only its
 * hash is stored, so later starts reuse it. There is no default password.
 */
export class AdminAccount {
  private constructor(
    readonly username: string,
    private readonly hash: PasswordHash,
    private readonly nameKey: Uint8Array<ArrayBuffer>,
    readonly source: PasswordSource,
  ) {}

  static async open(opts: { username: string; password: string; iterations: number; state: AtomicStore; clock: Clock; logger: Logger }): Promise<AdminAccount> {
    const nameKey = randomBytes(32);
    if (opts.password !== '') {
      if (opts.password.length < 12) {
        opts.logger.warn({ component: 'auth', action: 'weak-password' }, 'auth.password (USER_PASSWORD) is shorter than 12 characters: choose a longer one');
      }
      return new AdminAccount(opts.username, await hashPassword(opts.password, opts.iterations), nameKey, 'config');
    }
    const stored = await opts.state.get<unknown>(GENERATED_PASSWORD_KEY);
    if (isPasswordHash(stored)) return new AdminAccount(opts.username, stored, nameKey, 'stored');

    const password = generatePassword();
    const hash = await hashPassword(password, opts.iterations);
    // Another instance starting at the same moment may win the write: then use what it stored.
    const written = stored === null ? await opts.state.putIfAbsent(GENERATED_PASSWORD_KEY, hash, opts.clock.now()) : await opts.state.compareAndSet(GENERATED_PASSWORD_KEY, stored, hash);
    if (!written) {
      const winner = await opts.state.get<unknown>(GENERATED_PASSWORD_KEY);
      if (!isPasswordHash(winner)) throw new Error('the store did not keep the generated password hash');
      return new AdminAccount(opts.username, winner, nameKey, 'stored');
    }
    opts.logger.warn(
      { component: 'auth', action: 'password-generated', user: opts.username },
      `=== GENERATED PASSWORD (shown only this once) === No USER_PASSWORD is set, so a password was generated for user "${opts.username}": ${password} — sign in and set USER_PASSWORD, or keep this one (only its hash is stored).`,
    );
    return new AdminAccount(opts.username, hash, nameKey, 'generated');
  }

  /** True when `name` is this account's (constant time; for deciding what the audit log may name). */
  async isUser(name: string): Promise<boolean> {
    const [given, expected] = await Promise.all([hmac(this.nameKey, name), hmac(this.nameKey, this.username)]);
    return timingSafeEqual(given, expected);
  }

  /**
   * Checks a user name and password. An unknown user costs the same PBKDF2 work and the same
   * comparisons as a wrong password, and both answer false.
   */
  async check(username: string, password: string): Promise<boolean> {
    const nameOk = await this.isUser(username);
    const passwordOk = await verifyPassword(password, this.hash);
    return nameOk && passwordOk;
  }
}
