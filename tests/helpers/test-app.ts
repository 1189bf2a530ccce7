import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import { loadConfig } from '../../src/core/config/load.js';
import type { DockerPort } from '../../src/core/docker/port.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { Inventory } from '../../src/core/inventory.js';
import { silentLogger, systemClock, type Logger, type Store } from '../../src/core/ports.js';
import { Scanner, type ImageChecker } from '../../src/core/scanner.js';
import { createApp } from '../../src/handlers/app.js';

/** A checker for tests that must not reach a registry: every check fails loudly. */
export const offlineChecker: ImageChecker = {
  prepare: async () => {},
  check: async () => {
    throw new AppError(ErrorCode.RegistryError, 'no registry in this test', { kind: 'unreachable' });
  },
};

/** A real app over the given Docker port, with an in-memory store and default config. */
export function testApp(docker: DockerPort, opts: { env?: Record<string, string>; store?: Store; logger?: Logger; checker?: ImageChecker } = {}) {
  const config = loadConfig({ env: opts.env ?? {}, readSecretFile: () => '' });
  const store = opts.store ?? createStorage({ driver: memoryDriver() });
  const logger = opts.logger ?? silentLogger;
  const inventory = new Inventory(docker);
  const scanner = new Scanner({ inventory, checker: opts.checker ?? offlineChecker, store, logger, clock: systemClock, config });
  const app = createApp({ config, docker, inventory, scanner, store, logger, clock: systemClock, version: 'test' });
  return { app, store, config, scanner };
}
