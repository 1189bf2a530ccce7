import * as v from 'valibot';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import { parseIpRange, type IpRange } from './client-address.js';
import { DEFAULT_PASSWORD_ITERATIONS } from './password.js';

const str = v.string('expected a string');

/**
 * The `auth` section of the configuration: meant to replace the one in config/schema.ts, so
 * this stays the single source of truth for its keys, defaults and WATCH_AUTH_* names.
 */
export const AuthConfigSchema = v.strictObject({
  /** USER_NAME. */
  username: v.optional(v.pipe(str, v.nonEmpty('expected a user name')), 'admin'),
  /** USER_PASSWORD. Empty: a random password is generated at first start, logged once, and only its hash kept. */
  password: v.optional(str, ''),
  /** WATCH_AUTH_JWT_SECRET: signs tokens (HS256). Empty: 32 random bytes generated once and kept in the store. */
  jwtSecret: v.optional(
    v.pipe(str, v.check((s) => s === '' || new TextEncoder().encode(s).length >= 32, 'expected at least 32 bytes, e.g. the output of `openssl rand -base64 32`')),
    '',
  ),
  /** WATCH_AUTH_TRUSTED_PROXIES: addresses or CIDR ranges whose X-Forwarded-For is believed. */
  trustedProxies: v.optional(
    v.array(v.pipe(str, v.check((s) => parseIpRange(s) !== null, 'expected an IP address or CIDR range such as 10.0.0.0/8')), 'expected a list of addresses'),
    [],
  ),
  /** WATCH_AUTH_ALLOWED_ORIGINS: origins (https://host[:port]) allowed to open WebSockets besides the app's own. */
  allowedOrigins: v.optional(
    v.array(v.pipe(str, v.check((s) => /^https?:\/\/[^/\s]+$/.test(s), 'expected an origin such as https://docker.example.com')), 'expected a list of origins'),
    [],
  ),
  /** WATCH_AUTH_MAX_FAILURES: failed logins or second factors per account and per address within failureWindow. */
  maxFailures: v.optional(v.pipe(v.number('expected a whole number'), v.integer('expected a whole number'), v.minValue(1, 'expected at least 1')), 10),
  /** WATCH_AUTH_FAILURE_WINDOW. */
  failureWindow: v.optional(v.pipe(str, v.check((s) => (parseDuration(s) ?? 0) > 0, 'expected a duration like 15m')), '15m'),
  /** WATCH_AUTH_PASSWORD_ITERATIONS: PBKDF2-SHA256 rounds for password hashes (Workers allow at most 100000). */
  passwordIterations: v.optional(v.pipe(v.number('expected a whole number'), v.integer('expected a whole number'), v.minValue(100_000, 'expected at least 100000')), DEFAULT_PASSWORD_ITERATIONS),
});

export type AuthConfig = v.InferOutput<typeof AuthConfigSchema>;

/** Everything the auth code reads from the configuration, validated and derived once. */
export interface AuthSettings extends Omit<AuthConfig, 'trustedProxies' | 'failureWindow'> {
  trustedProxies: IpRange[];
  failureWindowMs: number;
  twofa: Config['twofa'];
}

/**
 * Reads the auth settings from a loaded configuration. Keys the configuration schema does not
 * (yet) have take their defaults; a bad value throws a valibot error naming the key.
 */
export function authSettings(config: Pick<Config, 'auth' | 'twofa'>): AuthSettings {
  const auth = v.parse(AuthConfigSchema, config.auth);
  return {
    ...auth,
    trustedProxies: auth.trustedProxies.map((s) => parseIpRange(s) as IpRange),
    failureWindowMs: parseDuration(auth.failureWindow) as number,
    twofa: config.twofa,
  };
}
