import { AppError, ErrorCode } from '../errors.js';

/** What a project name may be: compose's own rule, which also makes it a safe folder name. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
export const MAX_PROJECT_NAME = 64;

/** A service name as compose accepts it; anything else never reaches the CLI's arguments. */
const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

function shown(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

/**
 * Refuses any name that is not a plain compose project name. This is the first line against
 * path traversal: `..`, `/`, `\`, `%` and upper case can never pass, so a valid name is always
 * one folder directly under APP_PATH (the file adapter checks the resolved path again).
 */
export function assertProjectName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new AppError(ErrorCode.BadRequest, 'project name is required');
  }
  if (name.length > MAX_PROJECT_NAME) {
    throw new AppError(ErrorCode.BadRequest, `project name ${shown(name)} is too long: at most ${MAX_PROJECT_NAME} characters`);
  }
  if (!PROJECT_NAME.test(name)) {
    throw new AppError(
      ErrorCode.BadRequest,
      `invalid project name ${shown(name)}: use lower-case letters, digits, "_" and "-", starting with a letter or digit (no paths)`,
    );
  }
}

export function assertServiceName(name: string): void {
  if (!SERVICE_NAME.test(name)) {
    throw new AppError(ErrorCode.BadRequest, `invalid service name ${shown(name)}: expected letters, digits, "_", "." or "-"`);
  }
}
