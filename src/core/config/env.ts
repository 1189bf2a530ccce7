import { ConfigSchema } from './schema.js';

/** Reads the content of a secret file named by a *_FILE variable. */
export type ReadSecretFile = (path: string) => string;

type Schema = { type: string; entries?: Record<string, Schema>; wrapped?: Schema; item?: Schema };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const PREFIX = 'WATCH_';

/** Plain variables from the design (§9.2) and the key each one sets. */
const PLAIN: Record<string, string[]> = {
  USER_NAME: ['auth', 'username'],
  USER_PASSWORD: ['auth', 'password'],
  IS_OPEN_DOCKER_SHELL: ['shell', 'enabled'],
  APP_PATH: ['compose', 'appPath'],
  IS_SECONDARY_VERIFICATION: ['twofa', 'enabled'],
  TWOFA_ALLOWED_DOMAINS: ['twofa', 'allowedDomains'],
};

/** Variables with the prefix that are not configuration keys. */
const NOT_KEYS = new Set(['WATCH_CONFIG']);

/** camelCase → UPPER_SNAKE: cacheTTL → CACHE_TTL, includeStopped → INCLUDE_STOPPED. */
export function envName(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

function unwrap(schema: Schema): Schema {
  return schema.type === 'optional' && schema.wrapped ? unwrap(schema.wrapped) : schema;
}

/**
 * Resolves the tokens after WATCH_ (e.g. ["REGISTRY","AUTH","0","HOST"]) to a key path and the
 * leaf schema, walking the config schema; null when no key has that name.
 */
function resolve(tokens: string[], schema: Schema): { path: (string | number)[]; leaf: Schema } | null {
  const s = unwrap(schema);
  if (tokens.length === 0) return { path: [], leaf: s };
  if ((s.type === 'strict_object' || s.type === 'object') && s.entries) {
    for (const [key, child] of Object.entries(s.entries)) {
      const words = envName(key).split('_');
      if (words.every((w, i) => tokens[i] === w)) {
        const rest = resolve(tokens.slice(words.length), child);
        if (rest) return { path: [key, ...rest.path], leaf: rest.leaf };
      }
    }
    return null;
  }
  if (s.type === 'array' && s.item && /^\d+$/.test(tokens[0] ?? '')) {
    const rest = resolve(tokens.slice(1), s.item);
    return rest ? { path: [Number(tokens[0]), ...rest.path], leaf: rest.leaf } : null;
  }
  return null;
}

function coerce(name: string, raw: string, leaf: Schema): unknown {
  switch (leaf.type) {
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new ConfigError(`config: ${name}=${JSON.stringify(raw)}: expected true or false`);
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`config: ${name}=${JSON.stringify(raw)}: expected a number`);
      return n;
    }
    case 'array':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const nextIsIndex = typeof path[i + 1] === 'number';
    const existing = node[key];
    if (typeof existing !== 'object' || existing === null) node[key] = nextIsIndex ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  });
}

/**
 * Applies environment overrides onto the parsed YAML object (mutating it) and returns, for
 * each key path it set, the variable that set it (for error messages).
 * WATCH_<PATH> sets any key; <NAME>_FILE reads the value from a file (Docker secrets).
 * The plain IS_OPEN_DOCKER_SHELL is true only when it is exactly "true".
 */
export function applyEnv(
  target: Record<string, unknown>,
  env: Record<string, string | undefined>,
  readSecretFile: ReadSecretFile,
): Map<string, string> {
  const origins = new Map<string, string>();
  const apply = (name: string, path: (string | number)[], leaf: Schema, raw: string) => {
    setPath(target, path, coerce(name, raw, leaf));
    origins.set(path.join('.'), name);
  };
  const valueOf = (name: string): string | undefined => {
    const file = env[`${name}_FILE`];
    if (file !== undefined && file !== '') {
      try {
        return readSecretFile(file).replace(/\r?\n$/, '');
      } catch {
        throw new ConfigError(`config: ${name}_FILE=${JSON.stringify(file)}: cannot read that file`);
      }
    }
    return env[name];
  };

  const names = new Set<string>();
  for (const name of Object.keys(env)) names.add(name.endsWith('_FILE') ? name.slice(0, -5) : name);

  for (const [name, path] of Object.entries(PLAIN)) {
    const raw = valueOf(name);
    if (raw === undefined) continue;
    const leaf = path.reduce<Schema>((s, key) => unwrap(s).entries?.[key] ?? s, ConfigSchema as Schema);
    // The shell opens only on exactly "true"; any other value keeps it closed (design §5.2).
    const value = name === 'IS_OPEN_DOCKER_SHELL' ? String(raw === 'true') : raw;
    apply(name, path, unwrap(leaf), value);
  }
  for (const name of [...names].sort()) {
    if (!name.startsWith(PREFIX) || NOT_KEYS.has(name)) continue;
    const raw = valueOf(name);
    if (raw === undefined) continue;
    const found = resolve(name.slice(PREFIX.length).split('_'), ConfigSchema as Schema);
    if (!found || found.path.length === 0 || ['strict_object', 'object', 'record'].includes(found.leaf.type)) {
      throw new ConfigError(`config: ${name}: unknown configuration variable (see the configuration reference in README.md)`);
    }
    apply(name, found.path, found.leaf, raw);
  }
  return origins;
}
