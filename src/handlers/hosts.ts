import { Hono } from 'hono';
import * as v from 'valibot';
import { AppError, ErrorCode } from '../core/errors.js';
import { parseJsonBody } from './auth-http.js';
import { clientAddress, getSession, type AuthDeps } from './auth-middleware.js';
import type { AppDeps, AppEnv } from './context.js';
import { ok } from './envelope.js';

const CreateBody = v.strictObject({
  name: v.pipe(v.string('expected a host name'), v.nonEmpty('expected a host name'), v.maxLength(63, 'expected at most 63 characters')),
  /** How long the join token is valid: 1 s to 1 hour, 15 minutes by default. */
  joinTokenTtlSeconds: v.optional(v.pipe(v.number('expected seconds'), v.integer('expected whole seconds'), v.minValue(1, 'expected at least 1 second'), v.maxValue(3600, 'expected at most 3600 seconds (1 hour)'))),
});

const single = (): never => {
  throw new AppError(ErrorCode.NotFound, 'this server manages one host, the one it runs on: hosts exist only in the split deployment (Workers + agent)');
};

/** Containers with an update in the host's last scan report; null before its first scan. */
async function updatesAvailable(deps: AppDeps, host: string): Promise<number | null> {
  const report = deps.selectHost ? await deps.selectHost(host).scanner.last() : null;
  return report ? Object.values(report.results).filter((r) => r.status === 'UpdateAvailable').length : null;
}

/**
 * GET/POST /api/hosts, DELETE /api/hosts/:name: the hosts of a split deployment (full user
 * token only). The join token is in the create answer only; only its hash is kept.
 */
export function hostRoutes(deps: AppDeps, authDeps: AuthDeps): Hono<AppEnv> {
  const { hosts } = deps;
  return new Hono<AppEnv>()
    .get('/api/hosts', async (c) => {
      const list = hosts ? await hosts.list() : single();
      const withUpdates = await Promise.all(list.map(async (h) => ({ ...h, updatesAvailable: await updatesAvailable(deps, h.name) })));
      return ok(c, { hosts: withUpdates, total: list.length });
    })
    .post('/api/hosts', async (c) => {
      if (!hosts) single();
      const session = getSession(c);
      const { name, joinTokenTtlSeconds } = await parseJsonBody(c, CreateBody);
      const created = await hosts!.create(name, joinTokenTtlSeconds === undefined ? {} : { joinTokenTtlMs: joinTokenTtlSeconds * 1000 });
      await deps.auth.audit.record({ event: 'host.created', user: session.user, address: clientAddress(c, authDeps), reason: `host ${name}` });
      return ok(c, created, 201);
    })
    .delete('/api/hosts/:name', async (c) => {
      if (!hosts) single();
      const session = getSession(c);
      const name = c.req.param('name');
      if (!(await hosts!.revoke(name))) throw new AppError(ErrorCode.NotFound, `no host named ${name.slice(0, 63)}`);
      await deps.auth.audit.record({ event: 'host.revoked', user: session.user, address: clientAddress(c, authDeps), reason: `host ${name}` });
      return ok(c, { revoked: name });
    });
}
