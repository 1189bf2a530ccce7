import type { AtomicStore } from '../../src/core/atomic-store.js';
import type { Context } from 'hono';
import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import { Auth } from '../../src/core/auth/auth.js';
import { authSettings, type AuthSettings } from '../../src/core/auth/settings.js';
import type { ComposePort } from '../../src/core/compose/port.js';
import type { ProjectFiles } from '../../src/core/compose/project-files.js';
import { ProjectLocks } from '../../src/core/compose/project-locks.js';
import { ComposeService } from '../../src/core/compose/service.js';
import { loadConfig } from '../../src/core/config/load.js';
import type { FullDockerPort } from '../../src/core/docker/port.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { Inventory } from '../../src/core/inventory.js';
import { silentLogger, systemClock, type Clock, type Logger, type Store } from '../../src/core/ports.js';
import { Scanner, type ImageChecker } from '../../src/core/scanner.js';
import { UpdateHistory } from '../../src/core/update-history.js';
import { UpdateService } from '../../src/core/update-service.js';
import { Updater } from '../../src/core/updater/updater.js';
import { createApp } from '../../src/handlers/app.js';
import type { AppDeps } from '../../src/handlers/context.js';

export const TEST_USER = 'operator';
export const TEST_PASSWORD = 'correct horse battery staple 42';
/** The peer address a request comes from unless it passes `{ peer }` as its env. */
export const DEFAULT_PEER = '192.0.2.10';

/** A checker for tests that must not reach a registry: every check fails loudly. */
export const offlineChecker: ImageChecker = {
  prepare: async () => {},
  check: async () => {
    throw new AppError(ErrorCode.RegistryError, 'no registry in this test', { kind: 'unreachable' });
  },
};

/** Stands in for @hono/node-server's socket address: tests pass `{ peer }` as the request's env. */
export function testPeer(c: Context): string | undefined {
  const env: unknown = c.env;
  return typeof env === 'object' && env !== null && 'peer' in env && typeof env.peer === 'string' ? env.peer : DEFAULT_PEER;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  store?: Store;
  /** The auth state's AtomicStore (default: a lock over `store`, as on Node). */
  state?: AtomicStore;
  logger?: Logger;
  clock?: Clock;
  checker?: ImageChecker;
  settings?: Partial<AuthSettings>;
  getClientAddress?: (c: Context) => string | undefined;
  compose?: ComposePort;
  /** The APP_PATH folder adapter for compose projects (none: APP_PATH unset). */
  composeFiles?: ProjectFiles;
}

/**
 * The real app (createApp) over the given Docker port, with an in-memory store, a known login
 * and PBKDF2 at 100,000 rounds (the minimum the settings allow) to keep the suite quick.
 * `request` sends a full token, logging in once.
 */
export function testApp(docker: FullDockerPort, opts: TestAppOptions = {}) {
  const config = loadConfig({ env: { USER_NAME: TEST_USER, USER_PASSWORD: TEST_PASSWORD, ...opts.env }, readSecretFile: () => '' });
  const store: Store = opts.store ?? createStorage({ driver: memoryDriver() });
  const logger = opts.logger ?? silentLogger;
  const clock = opts.clock ?? systemClock;
  const inventory = new Inventory(docker);
  const scanner = new Scanner({ inventory, checker: opts.checker ?? offlineChecker, store, logger, clock, config });
  const settings: AuthSettings = { ...authSettings(config), passwordIterations: 100_000, ...opts.settings };
  const auth = new Auth({ settings, store, logger, clock, ...(opts.state ? { state: opts.state } : {}) });
  const updater = new Updater({ docker, store, logger, clock });
  const history = new UpdateHistory(store);
  const composeLocks = new ProjectLocks();
  const updates = new UpdateService({
    docker, updater, compose: opts.compose ?? null, composeLocks, scanner, history, config, credentials: config.registry.auth, logger, clock,
    updaterOptions: { settleMs: config.derived.settleMs, pollMs: 100 },
  });
  const noCompose = new Proxy({}, { get: () => () => { throw new AppError(ErrorCode.DockerError, 'no compose port in this test'); } }) as ComposePort;
  const compose = new ComposeService({ compose: opts.compose ?? noCompose, files: opts.composeFiles ?? null, docker, scanner, logger, locks: composeLocks });
  const deps: AppDeps = { config, docker, inventory, scanner, updates, compose, history, auth, getClientAddress: opts.getClientAddress ?? testPeer, store, logger, clock, version: 'test' };
  const app = createApp(deps);

  let token: Promise<string> | undefined;
  const login = async (): Promise<string> => {
    const res = await app.request('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: TEST_USER, password: TEST_PASSWORD }) });
    const body = (await res.json()) as { data: { token?: string }; msg: string };
    if (res.status !== 200 || !body.data.token) throw new Error(`login failed: ${res.status} ${body.msg}`);
    return body.data.token;
  };
  /** app.request with a full token. */
  const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
    token ??= login();
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${await token}`);
    return app.request(path, { ...init, headers });
  };
  return { app, request, store, config, scanner, auth, deps, settings, updater, updates, compose };
}
