import { LocalAtomicStore, type AtomicStore } from '../atomic-store.js';
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
  /**
   * Where the state that must be strongly consistent lives (2FA records, single-use tickets and
   * challenges, webhook replay, revocations, attempt counts, the first-run secrets). Default: the
   * store behind a per-process lock (Node); Workers pass a Durable Object.
   */
  state?: AtomicStore;
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
  readonly state: AtomicStore;
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
    this.state = opts.state ?? new LocalAtomicStore(opts.store);
    this.logger = opts.logger;
    this.clock = opts.clock;
    this.audit = new AuditLog(opts.store, opts.logger, opts.clock);
    this.limiter = new FailureLimiter(this.state, opts.clock, opts.settings.maxFailures, opts.settings.failureWindowMs);
    this.twofa = new TwoFactorStore(this.state, opts.settings.twofa.users);
    this.webauthn = new WebAuthnService(this.state, opts.clock);
    this.tickets = new WsTickets(this.state, opts.clock);
    this.machineTokens = new MachineTokens(this.state, opts.clock);
    this.webhookReplay = new ReplayGuard(this.state, opts.clock);
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
      AdminAccount.open({ username, password, iterations: passwordIterations, state: this.state, clock: this.clock, logger: this.logger }),
      loadSigningKey(jwtSecret, this.state, this.clock),
    ]);
    if (account.source === 'generated') await this.audit.record({ event: 'password.generated', user: username });
    return { account, tokens: new TokenService(key, this.state, this.clock) };
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
    return this.state.sweep(['auth:revoked', 'auth:ws-ticket', 'auth:webauthn:challenge', 'webhook:seen'], this.clock.now());
  }
}
