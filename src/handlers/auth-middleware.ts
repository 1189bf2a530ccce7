import type { Context, MiddlewareHandler } from 'hono';
import type { Auth } from '../core/auth/auth.js';
import { inRange, parseIp, resolveClientAddress } from '../core/auth/client-address.js';
import { SIGN_IN_AGAIN } from '../core/auth/errors.js';
import { TokenError, type Session } from '../core/auth/tokens.js';
import { authenticateWebhook, type WebhookAuthSettings } from './webhook-auth.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by the auth guard on every authenticated request. */
    authSession: Session;
  }
}

/** What installAuth needs besides the app. */
export interface AuthDeps {
  auth: Auth;
  /**
   * The address of the peer that opened the connection (not X-Forwarded-For): on Node
   * `nodePeerAddress`, on Workers `cloudflarePeerAddress` (./auth-client-address.ts).
   */
  getClientAddress: (c: Context) => string | undefined;
  /** webhook.secret and the replay window; without it, signed webhooks are refused. */
  webhook?: WebhookAuthSettings;
}

export const LOGIN_PATH = '/api/v1/auth/login';
export const TWOFA_PREFIX = '/api/v1/2fa/';
const LOGOUT_PATH = '/api/v1/auth/logout';
/** The only routes a machine token or a webhook signature opens (a full user token works too). */
export const WEBHOOK_PREFIX = '/api/v1/webhooks/';

/**
 * Which credential a path needs. Everything under /api is closed by default; outside /api
 * (health checks, the web UI's files) is open. Matching is case-insensitive and ignores
 * repeated slashes, so no spelling of a path slips past as "not /api".
 */
export function pathAccess(path: string): 'open' | 'login' | 'temp-or-full' | 'webhook' | 'full' {
  const p = path.replace(/\/{2,}/g, '/').toLowerCase();
  if (p !== '/api' && !p.startsWith('/api/')) return 'open';
  if (p === LOGIN_PATH) return 'login';
  if (p.startsWith(TWOFA_PREFIX) || p === LOGOUT_PATH) return 'temp-or-full';
  if (p.startsWith(WEBHOOK_PREFIX)) return 'webhook';
  return 'full';
}

/** The client's address, believing X-Forwarded-For only from auth.trustedProxies. */
export function clientAddress(c: Context, deps: AuthDeps): string {
  return resolveClientAddress(deps.getClientAddress(c), c.req.header('x-forwarded-for'), deps.auth.settings.trustedProxies);
}

function peerIsTrustedProxy(c: Context, deps: AuthDeps): boolean {
  const peer = parseIp(deps.getClientAddress(c) ?? '');
  return peer !== null && deps.auth.settings.trustedProxies.some((r) => inRange(peer, r));
}

/** The session of an authenticated request; throws if the guard did not run (a wiring bug). */
export function getSession(c: Context): Session {
  const session = c.get('authSession');
  if (!session) throw new Error('no auth session: installAuth must run before the routes are added');
  return session;
}

function deny(c: Context, message: string, status: 401 | 403 | 413 = 401): Response {
  if (status === 401) c.header('WWW-Authenticate', 'Bearer');
  return c.json({ code: 401, msg: message, data: null }, status);
}

/**
 * A WebSocket upgrade from a browser must come from this app's own page: Origin must name the
 * Host the request was sent to (or X-Forwarded-Host from a trusted proxy), or one of
 * auth.allowedOrigins. Without Origin (not a browser) only a Bearer header is accepted.
 */
function originAllowed(c: Context, deps: AuthDeps): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined) return c.req.header('authorization') !== undefined;
  if (deps.auth.settings.allowedOrigins.some((o) => o.toLowerCase() === origin.toLowerCase())) return true;
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  const own = [c.req.header('host')];
  if (peerIsTrustedProxy(c, deps)) own.push(c.req.header('x-forwarded-host')?.split(',')[0]?.trim());
  return own.some((h) => h !== undefined && h.toLowerCase() === host);
}

/**
 * AuthMiddleware and TempTokenMiddleware of design §6.4 in one guard, installed for every
 * path: a full token for /api/*, a temp or full token for /api/v1/2fa/* and logout, nothing
 * for login and for paths outside /api. WebSocket upgrades also take a one-time `?ticket=`.
 */
export function authGuard(deps: AuthDeps): MiddlewareHandler {
  return async (c, next) => {
    const access = pathAccess(c.req.path);
    if (access === 'open' || access === 'login') return next();
    const { auth } = deps;
    const { tokens } = await auth.ready();
    const upgrade = c.req.header('upgrade')?.toLowerCase() === 'websocket';
    const address = clientAddress(c, deps);
    if (access === 'webhook' && !upgrade) {
      const outcome = await authenticateWebhook(c, auth, deps.webhook);
      if (outcome.kind === 'denied') {
        await auth.audit.record({ event: 'webhook.rejected', address, reason: outcome.reason, path: c.req.path }, { persist: false });
        return deny(c, outcome.message, outcome.status);
      }
      if (outcome.kind === 'caller') {
        c.set('webhookCaller', outcome.caller);
        return next();
      }
    }
    if (upgrade && !originAllowed(c, deps)) {
      await auth.audit.record({ event: 'ws.origin-refused', address, path: c.req.path }, { persist: false });
      return deny(c, 'this WebSocket may only be opened from the app\'s own page (Origin does not match)', 403);
    }
    let session: Session;
    const ticket = upgrade ? c.req.query('ticket') : undefined;
    try {
      if (ticket !== undefined) {
        const found = await auth.tickets.consume(ticket);
        if (!found) throw new TokenError('unknown or used ticket');
        await tokens.assertNotRevoked(found);
        session = { user: found.user, kind: 'full', jti: found.jti, issuedAtMs: found.issuedAtMs, expiresAtMs: found.exp, twoFAVerified: found.twoFAVerified, amr: ['ticket'] };
      } else {
        const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
        if (!match?.[1]) return deny(c, SIGN_IN_AGAIN);
        // Both kinds verify here so that a temp token on a full route hears why it is refused.
        session = await tokens.verify(match[1], ['temp', 'full']);
      }
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      await auth.audit.record({ event: 'token.rejected', address, reason: err.message, path: c.req.path }, { persist: false });
      return deny(c, SIGN_IN_AGAIN);
    }
    if (session.kind === 'temp' && access !== 'temp-or-full') {
      return deny(c, 'two-factor verification is not finished: this token only opens /api/v1/2fa/* (finish there to get a full token)');
    }
    if (session.kind === 'full' && auth.settings.twofa.enabled && !session.twoFAVerified) {
      return deny(c, 'two-factor authentication is now required: sign in again');
    }
    c.set('authSession', session);
    if (access === 'webhook') c.set('webhookCaller', { kind: 'user', user: session.user });
    return next();
  };
}
