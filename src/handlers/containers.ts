import { Hono } from 'hono';
import * as v from 'valibot';
import type { ContainerInfo, ContainerStatus } from '../core/inventory.js';
import type { AppEnv } from './context.js';
import { boolParam, ok, parseQuery } from './envelope.js';

/** The design's container status model (§3.1) on top of what discovery found. */
export interface ContainerView extends ContainerInfo {
  remoteDigest?: string;
  status: ContainerStatus;
  skipped: boolean;
  skipReason?: string;
  message?: string;
  lastCheckedAt?: string;
}

const ListQuery = v.strictObject({ all: v.optional(boolParam) });

/** GET /api/containers[?all=true]: every container with its status (running only by default). */
export const containers = new Hono<AppEnv>().get('/api/containers', async (c) => {
  const { all } = parseQuery(ListQuery, c.req.query());
  const { inventory, config } = c.get('deps');
  const list = await inventory.containers({ includeStopped: all ?? config.docker.includeStopped });
  // Until a registry check has run, nothing about the remote side is claimed.
  const views: ContainerView[] = list.map((info) => ({ ...info, status: 'NotChecked', skipped: false }));
  return ok(c, { containers: views, total: views.length });
});
