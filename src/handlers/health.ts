import { Hono } from 'hono';
import { describeError } from '../core/errors.js';
import type { AppEnv } from './context.js';
import { ok } from './envelope.js';

/** GET /healthz: the process is alive. GET /readyz: Docker answers and the store works. */
export const health = new Hono<AppEnv>()
  .get('/healthz', (c) => ok(c, { status: 'ok', version: c.get('deps').version }))
  .get('/readyz', async (c) => {
    const { docker, store, clock } = c.get('deps');
    const problems: string[] = [];
    await docker.ping().catch((err: unknown) => problems.push(`docker: ${describeError(err)}`));
    try {
      const stamp = clock.now();
      await store.setItem('health:probe', stamp);
      if ((await store.getItem<number>('health:probe')) !== stamp) problems.push('store: a value written could not be read back');
    } catch (err) {
      problems.push(`store: ${describeError(err)}`);
    }
    if (problems.length === 0) return ok(c, { status: 'ready' });
    return c.json({ code: 503, msg: `not ready: ${problems.join('; ')}`, data: { status: 'not ready', problems } }, 503);
  });
