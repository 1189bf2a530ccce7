import type { Clock, Logger, Store } from '../ports.js';
import { KeyedLock } from '../keyed-lock.js';

/** Every kind of event the audit log records. */
export type AuditEventName =
  | 'login.success'
  | 'login.failure'
  | 'login.lockout'
  | 'twofa.success'
  | 'twofa.failure'
  | 'twofa.lockout'
  | 'twofa.setup'
  | 'twofa.disable'
  | 'twofa.recovery-used'
  | 'token.revoked'
  | 'token.revoked-all'
  | 'token.rejected'
  | 'ws.ticket'
  | 'ws.origin-refused'
  | 'password.generated'
  | 'machine-token.created'
  | 'machine-token.revoked'
  | 'webhook.accepted'
  | 'webhook.rejected'
  | 'host.created'
  | 'host.revoked'
  | 'shell.start'
  | 'shell.end'
  | 'shell.input'
  | 'shell.refused';

/**
 * One audit record. Only names, addresses and outcomes: the type has no field for a secret,
 * and callers pass none (a test searches all log output for every secret it used).
 */
export interface AuditEvent {
  at: string;
  event: AuditEventName;
  user?: string;
  address?: string;
  method?: string;
  reason?: string;
  path?: string;
  /**
   * Web shell: the session, the container (none: the host), a line typed into it, the length.
   * A line typed at a program's prompt with echo off (a password) is not kept: `hidden`, its
   * `length` in characters and the `program` stand instead; `echoOff` marks a line the session's
   * own shell read while the user had switched echo off (kept). See README, Web shell.
   */
  session?: string;
  container?: string;
  line?: string;
  hidden?: boolean;
  length?: number;
  program?: string;
  echoOff?: boolean;
  durationMs?: number;
}

export const AUDIT_KEY = 'auth:audit:recent';

/** Writes auth events to the log (component "audit") and keeps the last `keep` in the store. */
export class AuditLog {
  private readonly log: Logger;
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: Store,
    logger: Logger,
    private readonly clock: Clock,
    private readonly keep = 200,
  ) {
    this.log = logger.child({ component: 'audit' });
  }

  /**
   * Logs an event and keeps it in the store. `persist: false` only logs: for events anyone can
   * cause without credentials (a bad token), which must not turn requests into store writes.
   */
  async record(event: Omit<AuditEvent, 'at'>, opts: { persist?: boolean } = {}): Promise<void> {
    const entry: AuditEvent = { at: new Date(this.clock.now()).toISOString(), ...event };
    const bad = /failure|lockout|refused|rejected/.test(event.event);
    this.log[bad ? 'warn' : 'info']({ action: event.event, ...entry }, `auth: ${event.event}`);
    if (opts.persist === false) return;
    await this.lock.run(AUDIT_KEY, async () => {
      const list = (await this.store.getItem<AuditEvent[]>(AUDIT_KEY)) ?? [];
      list.push(entry);
      await this.store.setItem(AUDIT_KEY, list.slice(-this.keep));
    });
  }

  /** The most recent events, newest last. */
  async recent(): Promise<AuditEvent[]> {
    return (await this.store.getItem<AuditEvent[]>(AUDIT_KEY)) ?? [];
  }
}
