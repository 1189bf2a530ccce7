/**
 * Live streams over WebSocket (JSON text frames, see ws-stream.ts): the Docker event stream
 * and a container's logs. Every route is behind the auth guard (Origin + Bearer or ?ticket=).
 * Checks that can fail (bad input, unknown container, engine unreachable) answer before the
 * upgrade, with the usual envelope and status.
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import type { ComposeLogLine } from '../core/compose/port.js';
import { assertProjectName } from '../core/compose/project-name.js';
import type { ProgressEvent } from '../core/compose/progress.js';
import type { DockerEvent, LogLine } from '../core/docker/port.js';
import { AppError, ErrorCode } from '../core/errors.js';
import { singleQuery } from './compose.js';
import type { AppEnv } from './context.js';
import { boolParam, parseQuery } from './envelope.js';
import { filtered, requireUpgrade, streamOver } from './ws-stream.js';

/** The container actions that change what a UI shows; exec_*, attach, top … are left out. */
export const STATE_ACTIONS = new Set(['create', 'start', 'restart', 'stop', 'die', 'kill', 'oom', 'pause', 'unpause', 'destroy', 'rename', 'update']);

/** How many event frames wait for a slow client before events are dropped (and counted). */
export const EVENT_QUEUE = 500;
/** Most lines a client may ask for with ?tail= (memory stays bounded either way: the stream back-pressures). */
export const MAX_TAIL = 100_000;

export const tailParam = v.pipe(v.string(), v.regex(/^\d{1,6}$/, 'expected a whole number of lines'), v.transform(Number), v.maxValue(MAX_TAIL, `at most ${MAX_TAIL} lines`));

/** Every WebSocket route takes the one-time ?ticket= the auth guard reads. */
const ticket = { ticket: v.optional(v.string()) };

const LogsQuery = v.strictObject({ ...ticket, tail: v.optional(tailParam), follow: v.optional(boolParam), timestamps: v.optional(boolParam) });
const EventsQuery = v.strictObject({ ...ticket });

const ComposeLogsQuery = v.strictObject({
  ...ticket,
  name: v.string('expected the project name'),
  service: v.optional(v.string()),
  tail: v.optional(tailParam),
  follow: v.optional(boolParam),
});
const ComposeProgressQuery = v.strictObject({ ...ticket, name: v.string('expected the project name') });
/** Progress frames waiting for a slow client before they are dropped (and counted). */
export const PROGRESS_QUEUE = 1000;

const CONTAINER_REF = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** A container named in a path: checked before it reaches the engine, and it must exist (404 before the upgrade). */
export async function existingContainer(c: Context<AppEnv>, ref: string): Promise<{ id: string; name: string; running: boolean }> {
  if (!CONTAINER_REF.test(ref) || ref.includes('..')) throw new AppError(ErrorCode.BadRequest, `invalid container name or ID ${JSON.stringify(ref)}`, { container: ref });
  const found = await c.get('deps').docker.inspectContainer(ref);
  if (!found) throw new AppError(ErrorCode.NotFound, `no container ${ref}`, { container: ref });
  return { id: found.id, name: found.name, running: found.running };
}

export const streams = new Hono<AppEnv>()
  /** GET /api/events/ws: container state changes from the Docker event stream, `{type:'event', event}`. */
  .get('/api/events/ws', requireUpgrade, async (c) => {
    parseQuery(EventsQuery, c.req.query());
    const { docker } = c.get('deps');
    await docker.ping(); // an engine (or agent) that is not there answers before the upgrade
    const state = (e: DockerEvent): boolean => STATE_ACTIONS.has(e.action) || e.action.startsWith('health_status');
    return streamOver(c, () => filtered(docker.events({ types: ['container'] }), state), (event) => ({ type: 'event', event }), { dropAfter: EVENT_QUEUE });
  })
  /** GET /api/containers/:id/logs/ws?tail=N&follow=1: a container's output, `{type:'line', text, stream, container}`. */
  .get('/api/containers/:id/logs/ws', requireUpgrade, async (c) => {
    const q = parseQuery(LogsQuery, c.req.query());
    const { docker } = c.get('deps');
    const container = await existingContainer(c, c.req.param('id'));
    const opts = { tail: q.tail ?? 100, follow: q.follow ?? false, timestamps: q.timestamps ?? false };
    return streamOver(c, () => docker.streamLogs(container.id, opts), (l: LogLine) => ({ type: 'line', text: l.text, stream: l.stream, container: container.name, ...(l.ts ? { ts: l.ts } : {}) }));
  })
  /** GET /api/compose/logs/ws?name=X&service=S[,T]&tail=N&follow=1: a project's logs through `docker compose logs`. */
  .get('/api/compose/logs/ws', requireUpgrade, async (c) => {
    const q = parseQuery(ComposeLogsQuery, singleQuery(c));
    const { compose } = c.get('deps');
    const services = q.service === undefined ? undefined : q.service.split(',').map((s) => s.trim()).filter(Boolean);
    // Bad name, unknown project or service: answered before the upgrade (a light check, not a full list).
    await compose.checkLogs(q.name, services);
    const opts = { ...(services ? { services } : {}), tail: q.tail ?? 100, follow: q.follow ?? false };
    const logs = compose.logs(q.name, opts);
    // No `stream`: compose prints its containers' stdout and stderr alike on its own stdout.
    return streamOver(c, () => logs, (l: ComposeLogLine) => ({
      type: 'line', text: l.text, service: l.service, ...(l.container ? { container: l.container } : {}),
    }));
  })
  /** GET /api/compose/progress/ws?name=X: the running action's lines so far, then every action live (start, line, done); X need not exist yet. */
  .get('/api/compose/progress/ws', requireUpgrade, async (c) => {
    const q = parseQuery(ComposeProgressQuery, singleQuery(c));
    const { compose } = c.get('deps');
    // Only the name is checked: a project that does not exist yet can be followed (create's progress).
    assertProjectName(q.name);
    return streamOver(c, () => compose.progress(q.name), (e: ProgressEvent) => e, { dropAfter: PROGRESS_QUEUE });
  });

