import { Hono } from 'hono';
import * as v from 'valibot';
import { AppError, ErrorCode } from '../core/errors.js';
import { assertContainerRef } from '../core/update-service.js';
import type { AppEnv } from './context.js';
import { boolParam, ok, parseQuery } from './envelope.js';

const ForceQuery = v.strictObject({ force: v.optional(boolParam) });

async function existing(c: { get(k: 'deps'): AppEnv['Variables']['deps'] }, idOrName: string) {
  assertContainerRef(idOrName);
  const found = await c.get('deps').docker.inspectContainer(idOrName);
  if (!found) throw new AppError(ErrorCode.NotFound, `no container ${idOrName}`);
  return found;
}

export const containerActions = new Hono<AppEnv>()
  /** POST /api/containers/:id/stop: stops a container with its own stop timeout. */
  .post('/api/containers/:id/stop', async (c) => {
    const target = await existing(c, c.req.param('id'));
    await c.get('deps').docker.stopContainer(target.id);
    return ok(c, { id: target.id, name: target.name, state: 'exited' });
  })
  /** POST /api/containers/:id/start */
  .post('/api/containers/:id/start', async (c) => {
    const target = await existing(c, c.req.param('id'));
    await c.get('deps').docker.startContainer(target.id);
    return ok(c, { id: target.id, name: target.name, state: 'running' });
  })
  /** DELETE /api/containers/:id[?force=true]: a running container needs force; volumes are kept. */
  .delete('/api/containers/:id', async (c) => {
    const { force } = parseQuery(ForceQuery, c.req.query());
    const target = await existing(c, c.req.param('id'));
    if (target.running && !force) throw new AppError(ErrorCode.Conflict, `${target.name} is running: stop it first or pass force=true`);
    await c.get('deps').docker.removeContainer(target.id, { force: force ?? false });
    return ok(c, { id: target.id, name: target.name, removed: true });
  });
