import { Hono } from 'hono';
import * as v from 'valibot';
import { containerViews } from '../core/container-view.js';
import type { AppEnv } from './context.js';
import { boolParam, ok, parseQuery } from './envelope.js';

const ListQuery = v.strictObject({ all: v.optional(boolParam) });

export const containers = new Hono<AppEnv>()
  /** GET /api/containers[?all=true]: every container with its last check (running only by default). */
  .get('/api/containers', async (c) => {
    const { all } = parseQuery(ListQuery, c.req.query());
    const { inventory, scanner, config } = c.get('deps');
    const [list, report] = await Promise.all([inventory.containers({ includeStopped: all ?? config.docker.includeStopped }), scanner.last()]);
    const views = containerViews(list, report);
    return ok(c, { containers: views, total: views.length });
  })
  /** POST /api/scan: checks every container now and returns the result. */
  .post('/api/scan', async (c) => {
    const { scanner } = c.get('deps');
    const report = await scanner.scan();
    const views = containerViews(await scanner.lastContainers(), report);
    return ok(c, { containers: views, total: views.length, counts: report.counts, startedAt: report.startedAt, durationMs: report.durationMs });
  });
