import { Hono } from 'hono';
import * as v from 'valibot';
import { AppError, ErrorCode } from '../core/errors.js';
import type { AppEnv } from './context.js';
import { ok, parseQuery } from './envelope.js';

const HistoryQuery = v.strictObject({
  page: v.optional(v.pipe(v.string(), v.regex(/^[1-9]\d{0,5}$/, 'expected a page number from 1'), v.transform(Number)), '1'),
  pageSize: v.optional(v.pipe(v.string(), v.regex(/^([1-9]|[1-9]\d|100)$/, 'expected a page size from 1 to 100'), v.transform(Number)), '20'),
});

export const updates = new Hono<AppEnv>()
  /** POST /api/containers/:id/update: updates one container now (409 while it is already updating). */
  .post('/api/containers/:id/update', async (c) => {
    const entry = await c.get('deps').updates.updateOne(c.req.param('id'), { kind: 'api' });
    // The link to the host dropped mid-update: 503, the entry says what happens next.
    if (entry.result === 'interrupted') throw new AppError(ErrorCode.HostOffline, entry.error ?? 'the link to the host was lost during the update', { ...entry });
    if (entry.result === 'failed') throw new AppError(ErrorCode.UpdateFailed, entry.error ?? 'update failed', { ...entry });
    return ok(c, entry);
  })
  /** POST /api/updates/run: updates every container with an update that passes policy. */
  .post('/api/updates/run', async (c) => ok(c, await c.get('deps').updates.runAll({ kind: 'api' })))
  /** GET /api/updates/history?page=&pageSize=: every update attempt, newest first. */
  .get('/api/updates/history', async (c) => {
    const { page, pageSize } = parseQuery(HistoryQuery, c.req.query());
    return ok(c, await c.get('deps').history.page(page, pageSize));
  });
