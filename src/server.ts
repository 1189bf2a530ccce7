import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { LoadedConfig } from './core/config/load.js';
import { Inventory } from './core/inventory.js';
import { systemClock, type Logger } from './core/ports.js';
import { createApp } from './handlers/app.js';
import { DockerodePort } from './agent/docker/dockerode-port.js';
import { resolveDockerHost } from './agent/docker/engine-address.js';
import { createNodeStore } from './agent/store.js';
import { VERSION } from './version.js';

export interface RunningServer {
  port: number;
  dockerHost: string;
  /** Stops accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
}

/** Wires core + handlers + the Node adapters into one HTTP server beside the Docker socket. */
export async function startServer(config: LoadedConfig, env: Record<string, string | undefined>, logger: Logger): Promise<RunningServer> {
  const dockerHost = resolveDockerHost(config.docker.host, env);
  const docker = new DockerodePort(dockerHost);
  const store = await createNodeStore(config.store);
  const app = createApp({ config, docker, inventory: new Inventory(docker), store, logger, clock: systemClock, version: VERSION });

  const { host, port } = config.derived.listen;
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, ...(host ? { hostname: host } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
  const actual = (server.address() as AddressInfo).port;
  logger.info({ component: 'server', action: 'listen', port: actual, dockerHost, version: VERSION }, `listening on ${host ?? '*'}:${actual}`);
  docker.info().then(
    (info) => logger.info({ component: 'docker', action: 'connect', engine: info.version, apiVersion: info.apiVersion }, 'Docker engine reachable'),
    (err: unknown) => logger.warn({ component: 'docker', action: 'connect', err: String(err) }, 'Docker engine not reachable yet'),
  );

  return {
    port: actual,
    dockerHost,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }).finally(() => store.dispose()),
  };
}
