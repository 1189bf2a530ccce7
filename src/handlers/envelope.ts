import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as v from 'valibot';
import { AppError, ErrorCode, toAppError } from '../core/errors.js';
import type { AppEnv } from './context.js';

/** The design's response envelope (§8.7). */
export interface Envelope<T> {
  code: number;
  msg: string;
  data: T;
}

export function ok<T>(c: Context, data: T, status: ContentfulStatusCode = 200): Response {
  return c.json({ code: 0, msg: 'success', data } satisfies Envelope<T>, status);
}

/** The one place where errors become responses: a clear message, never a stack trace. */
export function onError(err: unknown, c: Context<AppEnv>): Response {
  const appErr = toAppError(err);
  const retryAfter = appErr.data?.retryAfterSeconds;
  if (appErr.status === 429 && typeof retryAfter === 'number') c.header('Retry-After', String(retryAfter));
  if (appErr.status === 401) c.header('WWW-Authenticate', 'Bearer');
  if (appErr.code === ErrorCode.Internal || appErr.status >= 500) {
    const logger = c.get('deps')?.logger;
    logger?.error({ component: 'http', action: `${c.req.method} ${c.req.path}`, err: appErr.cause ?? appErr }, appErr.message);
  }
  return c.json({ code: appErr.code, msg: appErr.message, data: appErr.data } satisfies Envelope<unknown>, appErr.status as ContentfulStatusCode);
}

export function notFound(c: Context): Response {
  return c.json({ code: ErrorCode.NotFound, msg: `no route for ${c.req.method} ${c.req.path}`, data: null } satisfies Envelope<null>, 404);
}

/** Validates a query string against a valibot schema; an error names the parameter. */
export function parseQuery<S extends v.GenericSchema>(schema: S, query: Record<string, string>): v.InferOutput<S> {
  const result = v.safeParse(schema, query);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const key = v.getDotPath(issue) ?? 'query';
  const bad = issue.type === 'strict_object' && issue.expected === 'never';
  throw new AppError(ErrorCode.BadRequest, bad ? `unknown query parameter "${key}"` : `query parameter "${key}": ${issue.message}`);
}

export const boolParam = v.pipe(
  v.picklist(['true', 'false', '1', '0'], 'expected true or false'),
  v.transform((s) => s === 'true' || s === '1'),
);
