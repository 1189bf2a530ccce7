import type { Context } from 'hono';
import type { Auth } from '../core/auth/auth.js';
import type { LoadedConfig } from '../core/config/load.js';
import type { DockerPort } from '../core/docker/port.js';
import type { Inventory } from '../core/inventory.js';
import type { Clock, Logger, Store } from '../core/ports.js';
import type { Scanner } from '../core/scanner.js';

/** Everything a handler may use. Handlers keep no state of their own: it all comes from here. */
export interface AppDeps {
  config: LoadedConfig;
  docker: DockerPort;
  inventory: Inventory;
  scanner: Scanner;
  auth: Auth;
  /** The peer address of a request, as the runtime knows it (socket on Node, CF-Connecting-IP on Workers). */
  getClientAddress: (c: Context) => string | undefined;
  store: Store;
  logger: Logger;
  clock: Clock;
  version: string;
}

export interface AppEnv {
  Variables: { deps: AppDeps };
}
