import { Hono } from 'hono';
import * as v from 'valibot';
import { AppError, ErrorCode } from '../core/errors.js';
import { parseImagePattern } from '../core/webhook/targets.js';
import { parseJsonBody } from './auth-http.js';
import { clientAddress, getSession, type AuthDeps } from './auth-middleware.js';
import type { AppEnv } from './context.js';
import { ok } from './envelope.js';

const names = (what: string, max: number) => v.optional(v.array(v.pipe(v.string(`expected ${what}`), v.nonEmpty(`expected ${what}`), v.maxLength(max)), `expected a list of ${what}`));
const CreateBody = v.strictObject({
  name: v.pipe(v.string('expected a name'), v.nonEmpty('expected a name'), v.maxLength(64, 'expected at most 64 characters')),
  scope: v.strictObject({ images: names('image references or repositories', 512), containers: names('container names', 128) }, 'expected {images?, containers?}'),
});

/** POST/GET /api/v1/tokens, DELETE /api/v1/tokens/:name: machine tokens (full user token only). */
export function machineTokenRoutes(deps: AuthDeps): Hono<AppEnv> {
  const { auth } = deps;
  return new Hono<AppEnv>()
    .post('/api/v1/tokens', async (c) => {
      const session = getSession(c);
      const { name, scope } = await parseJsonBody(c, CreateBody);
      if ((scope.images ?? []).length === 0 && (scope.containers ?? []).length === 0) {
        throw new AppError(ErrorCode.BadRequest, 'body field "scope": name at least one image (or repository) or container the token may update');
      }
      for (const img of scope.images ?? []) parseImagePattern(img);
      const created = await auth.machineTokens.create(name, scope);
      await auth.audit.record({ event: 'machine-token.created', user: session.user, address: clientAddress(c, deps), reason: `name ${name}` });
      return ok(c, created, 201);
    })
    .get('/api/v1/tokens', async (c) => {
      const tokens = await auth.machineTokens.list();
      return ok(c, { tokens, total: tokens.length });
    })
    .delete('/api/v1/tokens/:name', async (c) => {
      const session = getSession(c);
      const name = c.req.param('name');
      if (!(await auth.machineTokens.revoke(name))) throw new AppError(ErrorCode.NotFound, `no machine token named ${name.slice(0, 64)}`);
      await auth.audit.record({ event: 'machine-token.revoked', user: session.user, address: clientAddress(c, deps), reason: `name ${name}` });
      return ok(c, { revoked: name });
    });
}
