import * as v from 'valibot';
import { AuthConfigSchema } from '../auth/settings.js';
import { parseListenAddr } from './addr.js';
import { cronError } from './cron.js';
import { parseDuration } from './duration.js';

const duration = v.pipe(
  v.string('expected a duration like 30s, 10m or 1h30m'),
  v.check((s) => (parseDuration(s) ?? 0) > 0, 'expected a duration like 30s, 10m or 1h30m'),
);
const cron = v.pipe(
  v.string('expected a cron expression'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = dataset.value === '' ? null : cronError(dataset.value);
    if (problem) addIssue({ message: `expected a cron expression: ${problem}` });
  }),
);
const bool = v.boolean('expected true or false');

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const str = v.string('expected a string');
const strList = v.array(str, 'expected a list of strings');

const registryAuth = v.strictObject({
  host: v.pipe(str, v.nonEmpty('expected a registry host such as ghcr.io')),
  username: v.optional(str, ''),
  password: v.optional(str, ''),
});

const twofaUser = v.strictObject({
  method: v.optional(v.picklist(['otp', 'webauthn'], 'expected "otp" or "webauthn"'), 'otp'),
  otpSecret: v.optional(str, ''),
  webauthnCredentials: v.optional(v.array(v.unknown()), []),
  isSetup: v.optional(bool, false),
});

/**
 * The whole configuration: one schema, the single source of truth for its shape, defaults,
 * YAML keys and (derived from it) the WATCH_* environment names. Unknown keys are errors.
 */
export const ConfigSchema = v.strictObject({
  server: v.optional(
    v.strictObject({
      addr: v.optional(
        v.pipe(str, v.check((s) => parseListenAddr(s) !== null, 'expected host:port, e.g. ":8080" or "127.0.0.1:8080"')),
        ':8080',
      ),
    }),
    {},
  ),
  docker: v.optional(
    v.strictObject({
      /** Empty means DOCKER_HOST, then the local socket. */
      host: v.optional(
        v.pipe(str, v.check((s) => s === '' || /^(unix|tcp|npipe):\/\/.+/.test(s), 'expected unix:///path or tcp://host:port')),
        '',
      ),
      includeStopped: v.optional(bool, false),
    }),
    {},
  ),
  scan: v.optional(
    v.strictObject({
      interval: v.optional(duration, '10m'),
      initialScanOnStart: v.optional(bool, true),
      concurrency: v.optional(v.pipe(v.number('expected a whole number'), v.integer('expected a whole number'), v.minValue(1, 'expected at least 1'), v.maxValue(64, 'expected at most 64')), 3),
      cacheTTL: v.optional(duration, '5m'),
    }),
    {},
  ),
  update: v.optional(
    v.strictObject({
      enabled: v.optional(bool, false),
      autoUpdateCron: v.optional(cron, '0 3 * * *'),
      /** IANA time zone for autoUpdateCron; empty: the host's. */
      timezone: v.optional(
        v.pipe(str, v.check((s) => s === '' || validTimeZone(s), 'expected an IANA time zone such as Europe/Berlin or UTC')),
        '',
      ),
      allowComposeUpdate: v.optional(bool, false),
      removeOldContainer: v.optional(bool, true),
      removeOldImage: v.optional(bool, false),
      /** Without a healthcheck, how long a new container must keep running to count as healthy. */
      settleTime: v.optional(duration, '5s'),
    }),
    {},
  ),
  policy: v.optional(
    v.strictObject({
      skipLabels: v.optional(strList, ['watchdocker.skip=true']),
      onlyLabels: v.optional(strList, []),
      excludeLabels: v.optional(strList, []),
      skipLocalBuild: v.optional(bool, true),
      skipPinnedDigest: v.optional(bool, true),
      skipSemverPinned: v.optional(bool, true),
    }),
    {},
  ),
  registry: v.optional(
    v.strictObject({
      auth: v.optional(v.array(registryAuth, 'expected a list of {host, username, password}'), []),
      /** Registries reached over plain http besides loopback ones. */
      insecure: v.optional(strList, []),
    }),
    {},
  ),
  logging: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(['debug', 'info', 'warn', 'error'], 'expected one of debug, info, warn, error'), 'info'),
    }),
    {},
  ),
  store: v.optional(
    v.strictObject({
      driver: v.optional(v.picklist(['fs', 'memory', 'redis'], 'expected one of fs, memory, redis'), 'fs'),
      dataDir: v.optional(v.pipe(str, v.nonEmpty('expected a directory path')), './data'),
      redisUrl: v.optional(str, ''),
    }),
    {},
  ),
  auth: v.optional(AuthConfigSchema, {}),
  webhook: v.optional(
    v.strictObject({
      /** Shared secret for HMAC-signed webhooks (ours and GitHub's); empty: only machine tokens. */
      secret: v.optional(str, ''),
      /** How far a signed webhook's timestamp may be from now; each signature is accepted once within it. */
      replayWindow: v.optional(duration, '5m'),
    }),
    {},
  ),
  shell: v.optional(v.strictObject({ enabled: v.optional(bool, false) }), {}),
  compose: v.optional(v.strictObject({ appPath: v.optional(str, '') }), {}),
  twofa: v.optional(
    v.strictObject({
      enabled: v.optional(bool, false),
      allowedDomains: v.optional(strList, []),
      users: v.optional(v.record(str, twofaUser, 'expected a map of user name to settings'), {}),
    }),
    {},
  ),
});

export type Config = v.InferOutput<typeof ConfigSchema>;
export type ConfigInput = v.InferInput<typeof ConfigSchema>;
