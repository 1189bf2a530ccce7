import { parseDocument } from 'yaml';
import { AppError, ErrorCode } from '../errors.js';

/** The largest compose file accepted over the API. */
export const MAX_COMPOSE_BYTES = 256 * 1024;
/** Alias expansions allowed (anchors used for shared settings stay far below it; a "billion laughs" does not). */
export const MAX_ALIAS_COUNT = 100;

export type UploadCheck = { ok: true } | { ok: false; parseError: string };

/**
 * Checks an uploaded compose file before any CLI sees it: its size, and that resolving its
 * aliases (merge keys included) stays small. A file this parser cannot read is reported as
 * `parseError`, so the caller can let compose word the refusal.
 */
export function checkComposeUpload(yaml: string): UploadCheck {
  const bytes = new TextEncoder().encode(yaml).length;
  if (bytes > MAX_COMPOSE_BYTES) {
    throw new AppError(ErrorCode.BadRequest, `compose file is too large: ${Math.ceil(bytes / 1024)} KiB, the limit is ${MAX_COMPOSE_BYTES / 1024} KiB`, { limitBytes: MAX_COMPOSE_BYTES }, { status: 413 });
  }
  if (yaml.trim() === '') throw new AppError(ErrorCode.BadRequest, 'compose file is empty');
  const doc = parseDocument(yaml, { merge: true, uniqueKeys: false });
  if (doc.errors.length > 0) return { ok: false, parseError: doc.errors[0]?.message ?? 'invalid YAML' };
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(msg)) throw new AppError(ErrorCode.BadRequest, `compose file refused: its YAML aliases expand too much (limit ${MAX_ALIAS_COUNT}); write the repeated parts out`);
    return { ok: false, parseError: msg };
  }
  return { ok: true };
}
