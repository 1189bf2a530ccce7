import { Hono } from 'hono';
import * as v from 'valibot';
import { login, logout } from '../core/auth/login.js';
import { parseJsonBody, text } from './auth-http.js';
import { authGuard, clientAddress, getSession, type AuthDeps } from './auth-middleware.js';
import type { AppEnv } from './context.js';
import { ok } from './envelope.js';
import { twofaRoutes } from './twofa.js';

export type { AuthDeps } from './auth-middleware.js';

const LoginBody = v.object({ username: text('a user name', 256), password: text('a password', 1024) });
const LogoutBody = v.object({ all: v.optional(v.boolean('expected true or false'), false) });

/** POST /api/v1/auth/login, /logout, /ws-ticket and GET /api/v1/auth/audit. */
export function authRoutes(deps: AuthDeps): Hono<AppEnv> {
  const { auth } = deps;
  return new Hono<AppEnv>()
    .post('/api/v1/auth/login', async (c) => {
      const body = await parseJsonBody(c, LoginBody);
      return ok(c, await login(auth, { ...body, address: clientAddress(c, deps) }));
    })
    /** Revokes the presented token; {"all": true} revokes every token of the user. */
    .post('/api/v1/auth/logout', async (c) => {
      const { all } = await parseJsonBody(c, LogoutBody, { optional: true });
      await logout(auth, getSession(c), { all, address: clientAddress(c, deps) });
      return ok(c, { loggedOut: true, all });
    })
    /** A 30-second, single-use ticket for opening one WebSocket: `?ticket=...` on the upgrade request. */
    .post('/api/v1/auth/ws-ticket', async (c) => {
      const session = getSession(c);
      const ticket = await auth.tickets.issue(session);
      await auth.audit.record({ event: 'ws.ticket', user: session.user, address: clientAddress(c, deps) }, { persist: false });
      return ok(c, ticket);
    })
    /** The most recent auth events, newest first. */
    .get('/api/v1/auth/audit', async (c) => {
      const events = (await auth.audit.recent()).reverse();
      return ok(c, { events, total: events.length });
    });
}

/**
 * Installs authentication on the app: the guard for every path, then the auth and 2FA routes.
 * Call it before any other route is added (a guard added after a route does not run for it).
 */
export function installAuth(app: Hono<AppEnv>, deps: AuthDeps): void {
  app.use('*', authGuard(deps));
  app.route('/', authRoutes(deps));
  app.route('/', twofaRoutes(deps));
}
