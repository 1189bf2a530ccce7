import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import * as v from 'valibot';
import { AppError, ErrorCode } from '../core/errors.js';
import { parseJsonBody } from './auth-http.js';
import type { AppEnv } from './context.js';
import { boolParam, ok, parseQuery } from './envelope.js';

/** A JSON body above this is refused before it is read (the compose file itself is limited to 256 KiB). */
const MAX_BODY = 2 * 1024 * 1024;

const name = v.string('expected the project name');
const yaml = v.string('expected the compose file as a string');
const NameBody = v.strictObject({ name: v.optional(name) });
const NameQuery = v.strictObject({ name: v.optional(v.string()) });
const CreateBody = v.strictObject({ name: v.optional(name), yaml: v.optional(yaml), overwrite: v.optional(v.boolean('expected true or false')) });
const DeleteBody = v.strictObject({ name: v.optional(name), removeFiles: v.optional(v.boolean('expected true or false')), removeVolumes: v.optional(v.boolean('expected true or false')) });
const DeleteQuery = v.strictObject({ name: v.optional(v.string()), removeFiles: v.optional(boolParam), removeVolumes: v.optional(boolParam) });

const ACTIONS = ['start', 'stop', 'restart', 'pull', 'update'] as const;

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new AppError(ErrorCode.BadRequest, `expected ${what}`);
  return value;
}

const shown = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);

/**
 * The query parameters, each given at most once: `?name=a&name=b` is refused (400 naming both
 * values) instead of one of them silently winning.
 */
export function singleQuery(c: Context): Record<string, string> {
  for (const [key, values] of Object.entries(c.req.queries())) {
    const distinct = [...new Set(values)];
    if (distinct.length > 1) throw new AppError(ErrorCode.BadRequest, `query parameter "${key}" given more than once: ${distinct.map(shown).join(' and ')}; give it once`, { parameter: key, values: distinct });
  }
  return c.req.query();
}

/** The project name from the query and/or the body: both given and different is refused (400 naming both). */
function projectName(query: string | undefined, body: string | undefined): string {
  if (query !== undefined && body !== undefined && query !== body) {
    throw new AppError(ErrorCode.BadRequest, `project name given twice: ${shown(query)} (query parameter "name") and ${shown(body)} (body field "name"); give it once`, { query, body });
  }
  return required(body ?? query, 'the project name (body field or query parameter "name")');
}

export const compose = new Hono<AppEnv>()
  /** GET /api/compose: every project (APP_PATH folders, `docker compose ls`, compose labels) with status and services. */
  .get('/api/compose', async (c) => ok(c, await c.get('deps').compose.list()))
  /** GET /api/compose/file?name=X: the compose file of a project under APP_PATH. */
  .get('/api/compose/file', async (c) => {
    const q = parseQuery(NameQuery, singleQuery(c));
    return ok(c, await c.get('deps').compose.file(required(q.name, 'the project name (query parameter "name")')));
  })
  /** POST /api/compose/create {name, yaml, overwrite?}: validated with `docker compose config`, then saved. */
  .post(
    '/api/compose/create',
    bodyLimit({
      maxSize: MAX_BODY,
      onError: () => {
        throw new AppError(ErrorCode.BadRequest, `request body is too large: at most ${MAX_BODY / 1024 / 1024} MiB (the compose file itself at most 256 KiB)`, null, { status: 413 });
      },
    }),
    async (c) => {
      const q = parseQuery(NameQuery, singleQuery(c));
      const body = await parseJsonBody(c, CreateBody);
      const input = { name: projectName(q.name, body.name), yaml: required(body.yaml, 'the compose file (body field "yaml")') };
      return ok(c, await c.get('deps').compose.create({ ...input, ...(body.overwrite === undefined ? {} : { overwrite: body.overwrite }) }), 201);
    },
  )
  /** DELETE /api/compose/delete {name, removeFiles?, removeVolumes?} (or the same as query parameters). */
  .delete('/api/compose/delete', async (c) => {
    const q = parseQuery(DeleteQuery, singleQuery(c));
    const b = await parseJsonBody(c, DeleteBody, { optional: true });
    const target = projectName(q.name, b.name);
    const removeFiles = b.removeFiles ?? q.removeFiles ?? false;
    const removeVolumes = b.removeVolumes ?? q.removeVolumes ?? false;
    const r = await c.get('deps').compose.delete(target, { removeFiles, removeVolumes });
    return ok(c, { ...r, removedFiles: removeFiles, removedVolumes: removeVolumes });
  });

for (const action of ACTIONS) {
  /** POST /api/compose/{start|stop|restart|pull|update} {name} (or ?name=): 409 while another action runs on the project. */
  compose.post(`/api/compose/${action}`, async (c) => {
    const q = parseQuery(NameQuery, singleQuery(c));
    const body = await parseJsonBody(c, NameBody, { optional: q.name !== undefined });
    return ok(c, await c.get('deps').compose[action](projectName(q.name, body.name)));
  });
}
