import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import { loadConfig } from '../../src/core/config/load.js';
import type { DockerPort } from '../../src/core/docker/port.js';
import { Inventory } from '../../src/core/inventory.js';
import { silentLogger, systemClock, type Logger, type Store } from '../../src/core/ports.js';
import { createApp } from '../../src/handlers/app.js';

/** A real app over the given Docker port, with an in-memory store and default config. */
export function testApp(docker: DockerPort, opts: { env?: Record<string, string>; store?: Store; logger?: Logger } = {}) {
  const config = loadConfig({ env: opts.env ?? {}, readSecretFile: () => '' });
  const store = opts.store ?? createStorage({ driver: memoryDriver() });
  const app = createApp({ config, docker, inventory: new Inventory(docker), store, logger: opts.logger ?? silentLogger, clock: systemClock, version: 'test' });
  return { app, store, config };
}
