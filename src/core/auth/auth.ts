import type { Clock, Logger, Store } from '../ports.js';
import { AuditLog } from './audit.js';
import { AdminAccount } from './credentials.js';
import { FailureLimiter, type Attempt, type AttemptSubject } from './rate-limit.js';
import type { AuthSettings } from './settings.js';
import { loadSigningKey, TokenService } from './tokens.js';
import { TwoFactorStore } from './twofa-store.js';
import { MachineTokens } from './machine-tokens.js';
import { ReplayGuard } from '../webhook/signature.js';
import { WebAuthnService } from './webauthn.js';
import { WsTickets } from './ws-ticket.js';
import { TooManyAttemptsError } from './errors.js';

export interface AuthOptions {
  settings: AuthSettings;
  store: Store;
  logger: Logger;
  clock: Clock;
}

/** The parts that need the store before first use: the account and the signing key. */
export interface AuthReady {
  account: AdminAccount;
  tokens: TokenService;
}

/**
 * Everything authentication needs, built once per process. Construction is synchronous;
 * `ready()` loads (or at first start creates) the password hash and the signing key, once.
 * Call it at start-up so a generated password is logged then rather than at the first request.
 */
export class Auth {
  readonly settings: AuthSettings;
  readonly store: Store;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly audit: AuditLog;
  readonly limiter: FailureLimiter;
  readonly twofa: TwoFactorStore;
  readonly webauthn: WebAuthnService;
  readonly tickets: WsTickets;
  /** Named tokens for CI jobs and registries: accepted by the webhook routes only. */
  readonly machineTokens: MachineTokens;
  /** Signatures (and GitHub delivery ids) already used, so each is accepted once. */
  readonly webhookReplay: ReplayGuard;
  private readying: Promise<AuthReady> | undefined;

  constructor(opts: AuthOptions) {
    this.settings = opts.settings;
    this.store = opts.store;
    this.logger = opts.logger;
    this.clock = opts.clock;
    this.audit = new AuditLog(opts.store, opts.logger, opts.clock);
    this.limiter = new FailureLimiter(opts.store, opts.clock, opts.settings.maxFailures, opts.settings.failureWindowMs);
    this.twofa = new TwoFactorStore(opts.store, opts.settings.twofa.users);
    this.webauthn = new WebAuthnService(opts.store, opts.clock);
    this.tickets = new WsTickets(opts.store, opts.clock);
    this.machineTokens = new MachineTokens(opts.store, opts.clock);
    this.webhookReplay = new ReplayGuard(opts.store, opts.clock);
  }

  ready(): Promise<AuthReady> {
    this.readying ??= this.init().catch((err: unknown) => {
      this.readying = undefined;
      throw err;
    });
    return this.readying;
  }

  private async init(): Promise<AuthReady> {
    const { username, password, passwordIterations, jwtSecret } = this.settings;
    const [account, key] = await Promise.all([
      AdminAccount.open({ username, password, iterations: passwordIterations, store: this.store, logger: this.logger }),
      loadSigningKey(jwtSecret, this.store),
    ]);
    if (account.source === 'generated') await this.audit.record({ event: 'password.generated', user: username });
    return { account, tokens: new TokenService(key, this.store, this.clock) };
  }

  /**
   * Counts an attempt before it is checked; throws TooManyAttemptsError while the account or
   * the address is locked out. Pass the result to `failed` or `succeeded`.
   */
  async attempt(subject: AttemptSubject): Promise<Attempt> {
    const { waitMs, attempt } = await this.limiter.begin(subject);
    if (!attempt) throw new TooManyAttemptsError(Math.max(1, Math.ceil(waitMs / 1000)));
    return attempt;
  }

  /** Audits a failed attempt (and the lockout it caused). */
  async failed(subject: AttemptSubject, attempt: Attempt, details: { method?: string; reason?: string }): Promise<void> {
    const base = { user: subject.user, address: subject.address, ...details };
    await this.audit.record({ event: subject.scope === 'login' ? 'login.failure' : 'twofa.failure', ...base });
    if (attempt.reachedMax) await this.audit.record({ event: subject.scope === 'login' ? 'login.lockout' : 'twofa.lockout', ...base });
  }

  /** Takes a successful attempt off the counts. */
  async succeeded(subject: AttemptSubject, attempt: Attempt): Promise<void> {
    await this.limiter.succeed(subject, attempt);
  }

  /** Removes expired revocations, tickets and challenges from the store. */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    let removed = 0;
    for (const base of ['auth:revoked', 'auth:ws-ticket', 'auth:webauthn:challenge', 'webhook:seen']) {
      for (const key of await this.store.getKeys(base)) {
        const value = await this.store.getItem<{ exp?: unknown }>(key);
        if (!value || typeof value.exp !== 'number' || value.exp <= now) {
          await this.store.removeItem(key);
          removed++;
        }
      }
    }
    return removed;
  }
}
