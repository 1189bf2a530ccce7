import { Hono } from 'hono';
import type { AppEnv } from './context.js';
import { ok } from './envelope.js';

/** GET /api/images: every image with tags, digests, size, platform and the containers using it. */
export const images = new Hono<AppEnv>().get('/api/images', async (c) => {
  const list = await c.get('deps').inventory.images();
  return ok(c, { images: list, total: list.length });
});
