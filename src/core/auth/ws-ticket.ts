import type { AtomicStore } from '../atomic-store.js';
import type { Clock } from '../ports.js';
import { keyOf, randomId } from './encoding.js';
import type { Session } from './tokens.js';

export const WS_TICKET_TTL_MS = 30_000;
const PREFIX = 'auth:ws-ticket:';

export interface StoredTicket {
  user: string;
  jti: string;
  issuedAtMs: number;
  twoFAVerified: boolean;
  exp: number;
}

/**
 * Short-lived, single-use tickets that let a browser open a WebSocket (it cannot set an
 * Authorization header there). A ticket is bound to the user and to the token that asked for
 * it; only its hash is stored.
 */
export class WsTickets {
  constructor(
    private readonly state: AtomicStore,
    private readonly clock: Clock,
  ) {}

  async issue(session: Session): Promise<{ ticket: string; expiresAt: string }> {
    const ticket = randomId(32);
    const exp = this.clock.now() + WS_TICKET_TTL_MS;
    const value: StoredTicket = { user: session.user, jti: session.jti, issuedAtMs: session.issuedAtMs, twoFAVerified: session.twoFAVerified, exp };
    await this.state.set(PREFIX + (await keyOf(ticket)), value);
    return { ticket, expiresAt: new Date(exp).toISOString() };
  }

  /** Takes a ticket: it is gone after this call whatever the outcome. Null when unknown or expired. */
  async consume(ticket: string): Promise<StoredTicket | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
    const key = PREFIX + (await keyOf(ticket));
    const found = await this.state.take<StoredTicket>(key);
    return found && found.exp > this.clock.now() ? found : null;
  }
}
