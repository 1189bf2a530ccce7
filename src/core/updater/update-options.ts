import type { DockerLifecyclePort, DockerPort, PullEvent, RegistryAuth } from '../docker/port.js';
import type { Clock, Logger, Store } from '../ports.js';
import type { Sleep } from './health-wait.js';
import type { UpdateJournal, UpdateStep } from './journal.js';

/** What the updater needs of Docker: the lifecycle calls and the negotiated API version. */
export type UpdaterDocker = Pick<DockerPort, 'info'> & DockerLifecyclePort;

export interface UpdaterDeps {
  docker: UpdaterDocker;
  store: Store;
  logger: Logger;
  clock?: Clock;
  sleep?: Sleep;
  /** Called before each step, once the journal names it (for tests: pause, fail, observe). */
  onStep?: (step: UpdateStep, journal: Readonly<UpdateJournal> | null) => void | Promise<void>;
}

export interface UpdateOptions {
  /** The reference to update to; default: the one the container was created from. */
  image?: string;
  auth?: RegistryAuth;
  /** Default true; false keeps the old container, stopped, as `<name>-wd-old-<short id>`. */
  removeOldContainer?: boolean;
  /** Default false. An image another container still uses is left alone. */
  removeOldImage?: boolean;
  /** Without a healthcheck, how long the new container must keep running. Default 5000. */
  settleMs?: number;
  /** With a healthcheck, how long to wait for healthy. Default: what the healthcheck allows. */
  healthTimeoutMs?: number;
  pollMs?: number;
  /** Log lines of a failed new container to report. Default 50. */
  logLines?: number;
  /** Recreate even when the pull brought no new image. */
  force?: boolean;
  onProgress?: (event: PullEvent) => void;
  /**
   * The caller's id of this update (the history entry's id). The local Updater ignores it; the
   * split deployment's RemoteUpdater sends it to the agent, which runs the update once per id
   * and reports its outcome under it (also after a dropped link or an agent restart).
   */
  updateId?: string;
}

export interface UpdateResult {
  outcome: 'updated' | 'unchanged';
  name: string;
  /** The container that holds the name now. */
  containerId: string;
  oldContainerId: string;
  oldImageId: string;
  newImageId: string;
  warnings: string[];
}
