import type { Context } from 'hono';
import * as v from 'valibot';
import { AppError, ErrorCode } from '../core/errors.js';

/**
 * Reads a JSON body against a valibot schema. Messages name the field and what was expected,
 * never the value sent (it may be a password or a code).
 */
export async function parseJsonBody<S extends v.GenericSchema>(c: Context, schema: S, opts: { optional?: boolean } = {}): Promise<v.InferOutput<S>> {
  let body: unknown;
  try {
    const raw = await c.req.text();
    body = raw.trim() === '' && opts.optional ? {} : JSON.parse(raw);
  } catch {
    throw new AppError(ErrorCode.BadRequest, 'expected a JSON body (Content-Type: application/json)');
  }
  const result = v.safeParse(schema, body);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const key = v.getDotPath(issue);
  throw new AppError(ErrorCode.BadRequest, key ? `body field "${key}": ${issue.expected === 'never' ? 'unknown field' : issue.message}` : `body: ${issue.message}`);
}

/** A string field whose error message never echoes the input. */
export const text = (what: string, max = 1024) => v.pipe(v.string(`expected ${what}`), v.nonEmpty(`expected ${what}`), v.maxLength(max, `expected ${what}`));
