import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/core/config/load.js';
import { envName } from '../../src/core/config/env.js';
import { parseDuration } from '../../src/core/config/duration.js';

const noFiles = (p: string): string => {
  throw new Error(`unexpected read of ${p}`);
};
const load = (yamlText: string | undefined, env: Record<string, string> = {}, readSecretFile = noFiles) =>
  loadConfig({ yamlText, env, readSecretFile, source: 'test.yaml' });
const failure = (yamlText: string | undefined, env: Record<string, string> = {}): string => {
  try {
    load(yamlText, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('configuration', () => {
  it('loads the design document example unchanged', () => {
    const c = load(readFileSync(new URL('../fixtures/design-config.yaml', import.meta.url), 'utf8'));
    expect(c.server.addr).toBe(':8080');
    expect(c.docker).toEqual({ host: 'unix:///var/run/docker.sock', includeStopped: false });
    expect(c.scan).toEqual({ interval: '10m', initialScanOnStart: true, concurrency: 3, cacheTTL: '5m' });
    expect(c.update).toEqual({ enabled: true, autoUpdateCron: '0 3 * * *', timezone: '', allowComposeUpdate: false, removeOldContainer: true, removeOldImage: false, settleTime: '5s' });
    expect(c.policy.skipLabels).toEqual(['watchdocker.skip=true']);
    expect(c.registry.auth.map((a) => a.host)).toEqual(['registry-1.docker.io', 'ghcr.io']);
    expect(c.twofa.users.admin?.isSetup).toBe(true);
    expect(c.derived).toEqual({ listen: { host: undefined, port: 8080 }, scanIntervalMs: 600_000, cacheTtlMs: 300_000, settleMs: 5000 });
  });

  it('runs on defaults with no file at all', () => {
    const c = load(undefined);
    expect(c.server.addr).toBe(':8080');
    expect(c.docker.includeStopped).toBe(false);
    expect(c.store.driver).toBe('fs');
    expect(c.shell.enabled).toBe(false);
    expect(c.auth.password).toBe('');
  });

  it('applies WATCH_ overrides by key path, arrays by index', () => {
    const c = load('scan: {interval: 1h}\nregistry: {auth: [{host: a.io}]}', {
      WATCH_SERVER_ADDR: '127.0.0.1:9000',
      WATCH_SCAN_INTERVAL: '10m',
      WATCH_SCAN_CACHE_TTL: '90s',
      WATCH_SCAN_CONCURRENCY: '7',
      WATCH_UPDATE_ENABLED: 'true',
      WATCH_DOCKER_INCLUDE_STOPPED: 'true',
      WATCH_REGISTRY_AUTH_0_HOST: 'ghcr.io',
      WATCH_REGISTRY_AUTH_0_USERNAME: 'me',
      WATCH_REGISTRY_AUTH_0_PASSWORD: 'pw',
      WATCH_REGISTRY_AUTH_1_HOST: 'quay.io',
      WATCH_POLICY_SKIP_LABELS: 'a=1, b=2',
      WATCH_CONFIG: '/ignored/here.yaml',
    });
    expect(c.derived.listen).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(c.scan.interval).toBe('10m');
    expect(c.derived.cacheTtlMs).toBe(90_000);
    expect(c.scan.concurrency).toBe(7);
    expect(c.update.enabled).toBe(true);
    expect(c.docker.includeStopped).toBe(true);
    expect(c.registry.auth).toEqual([
      { host: 'ghcr.io', username: 'me', password: 'pw' },
      { host: 'quay.io', username: '', password: '' },
    ]);
    expect(c.policy.skipLabels).toEqual(['a=1', 'b=2']);
  });

  it('reads the design plain variables', () => {
    const c = load(undefined, {
      USER_NAME: 'root',
      USER_PASSWORD: 's3cret',
      IS_OPEN_DOCKER_SHELL: 'true',
      APP_PATH: '/volume1/docker',
      IS_SECONDARY_VERIFICATION: 'true',
      TWOFA_ALLOWED_DOMAINS: 'example.com,app.example.com',
    });
    expect(c.auth).toMatchObject({ username: 'root', password: 's3cret' });
    expect(c.shell.enabled).toBe(true);
    expect(c.compose.appPath).toBe('/volume1/docker');
    expect(c.twofa.enabled).toBe(true);
    expect(c.twofa.allowedDomains).toEqual(['example.com', 'app.example.com']);
  });

  it.each(['false', '1', 'TRUE ', 'True', 'yes', ''])('keeps the shell closed for IS_OPEN_DOCKER_SHELL=%j', (value) => {
    expect(load(undefined, { IS_OPEN_DOCKER_SHELL: value }).shell.enabled).toBe(false);
  });

  it('reads secrets from *_FILE variables, as Docker secrets do', () => {
    const files: Record<string, string> = { '/run/secrets/pw': 'from-file\n', '/run/secrets/user': 'admin2' };
    const c = load(undefined, { WATCH_REGISTRY_AUTH_0_HOST: 'ghcr.io', WATCH_REGISTRY_AUTH_0_PASSWORD_FILE: '/run/secrets/pw', USER_PASSWORD_FILE: '/run/secrets/pw', USER_NAME_FILE: '/run/secrets/user' }, (p) => {
      const v = files[p];
      if (v === undefined) throw new Error('ENOENT');
      return v;
    });
    expect(c.registry.auth[0]?.password).toBe('from-file');
    expect(c.auth).toMatchObject({ username: 'admin2', password: 'from-file' });
    expect(() => load(undefined, { USER_PASSWORD_FILE: '/nope' }, () => { throw new Error('ENOENT'); })).toThrow(
      'config: USER_PASSWORD_FILE="/nope": cannot read that file',
    );
  });

  it.each([
    ['scan: {interval: 10x}', {}, 'config: scan.interval = "10x": expected a duration like 30s, 10m or 1h30m'],
    ['', { WATCH_SCAN_INTERVAL: '10x' }, 'config: scan.interval (from WATCH_SCAN_INTERVAL) = "10x": expected a duration'],
    ['update: {autoUpdateCron: "0 0 3 * * * *"}', {}, 'config: update.autoUpdateCron = "0 0 3 * * * *": expected a cron expression: expected 5 fields'],
    ['update: {autoUpdateCron: "61 * * * *"}', {}, 'config: update.autoUpdateCron = "61 * * * *": expected a cron expression'],
    ['server: {addr: "8080"}', {}, 'config: server.addr = "8080": expected host:port'],
    ['update: {timezone: Mars/Olympus}', {}, 'config: update.timezone = "Mars/Olympus": expected an IANA time zone'],
    ['server: {addr: ":99999"}', {}, 'config: server.addr = ":99999": expected host:port'],
    ['server: {adr: ":80"}', {}, 'config: server.adr = ":80": unknown key'],
    ['bogus: 1', {}, 'config: bogus = 1: unknown key'],
    ['scan: {concurrency: 0}', {}, 'config: scan.concurrency = 0: expected at least 1'],
    ['scan: {concurrency: two}', {}, 'config: scan.concurrency = "two": expected a whole number'],
    ['docker: {host: "/var/run/docker.sock"}', {}, 'config: docker.host = "/var/run/docker.sock": expected unix:///path or tcp://host:port'],
    ['logging: {level: loud}', {}, 'config: logging.level = "loud": expected one of debug, info, warn, error'],
    ['', { WATCH_SCAN_INTERVL: '1m' }, 'config: WATCH_SCAN_INTERVL: unknown configuration variable'],
    ['', { WATCH_UPDATE_ENABLED: 'yes' }, 'config: WATCH_UPDATE_ENABLED="yes": expected true or false'],
    ['registry: {auth: [{host: ghcr.io, password: 1234}]}', {}, 'config: registry.auth.0.password = (hidden): expected a string'],
    ['- a\n- b', {}, 'config: test.yaml must be a mapping'],
    ['store: {driver: redis}', {}, 'config: store.redisUrl = "": expected redis://host:port when store.driver is "redis"'],
    ['scan: [', {}, 'config: test.yaml is not valid YAML'],
  ] as const)('refuses %j %j with one line naming the key', (yaml, env, message) => {
    const msg = failure(yaml, env);
    expect(msg).toContain(message);
    expect(msg).not.toContain('\n');
  });

  it('never puts a secret value into an error', () => {
    expect(failure('auth: {password: [hunter2]}')).not.toContain('hunter2');
  });
});

describe('helpers', () => {
  it.each([
    ['500ms', 500], ['30s', 30_000], ['10m', 600_000], ['1h30m', 5_400_000], ['1d', 86_400_000], ['1.5s', 1500],
    ['10x', null], ['10', null], ['', null], ['m', null], ['10m ', null],
  ] as const)('parseDuration(%j) = %j', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each([
    ['cacheTTL', 'CACHE_TTL'], ['includeStopped', 'INCLUDE_STOPPED'], ['initialScanOnStart', 'INITIAL_SCAN_ON_START'], ['addr', 'ADDR'],
  ])('envName(%j) = %j', (key, name) => expect(envName(key)).toBe(name));
});
