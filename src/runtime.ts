import { upgradeWebSocket } from '@hono/node-server';
import type { UpgradeWebSocket } from 'hono/ws';
import type { Storage } from 'unstorage';
import type { LoadedConfig } from './core/config/load.js';
import { Auth } from './core/auth/auth.js';
import { authSettings } from './core/auth/settings.js';
import { Inventory } from './core/inventory.js';
import { systemClock, type Logger } from './core/ports.js';
import { Scanner } from './core/scanner.js';
import { UpdateHistory } from './core/update-history.js';
import { UpdateService } from './core/update-service.js';
import { Updater } from './core/updater/updater.js';
import { createUpdateChecker } from './core/update-check.js';
import type { AppDeps } from './handlers/app.js';
import { ComposeCli } from './agent/compose-cli.js';
import { FsProjectFiles } from './agent/project-files-fs.js';
import { ProjectLocks } from './core/compose/project-locks.js';
import { ComposeService } from './core/compose/service.js';
import { DockerodePort } from './agent/docker/dockerode-port.js';
import { nodePeerAddress } from './handlers/auth-client-address.js';
import { resolveDockerHost } from './agent/docker/engine-address.js';
import { readDockerConfigAuths } from './agent/docker-config.js';
import { createNodeStore } from './agent/store.js';
import { VERSION } from './version.js';

export interface NodeRuntime {
  deps: AppDeps;
  /** Run reconcile() once at start-up, before any update. */
  updater: Updater;
  dockerHost: string;
  store: Storage;
  dispose(): Promise<void>;
}

/** Wires the portable core to the Node adapters: the one place that knows both. */
export async function createNodeRuntime(config: LoadedConfig, env: Record<string, string | undefined>, logger: Logger): Promise<NodeRuntime> {
  const dockerHost = resolveDockerHost(config.docker.host, env);
  const docker = new DockerodePort(dockerHost);
  // node-pty (a native module) is loaded only when the shell is switched on.
  const terminal = config.shell.enabled
    ? new (await import('./agent/node-pty-terminal.js')).NodePtyTerminal({ shell: env.SHELL || '/bin/sh', dockerHost, env })
    : undefined;
  const store = await createNodeStore(config.store);
  const inventory = new Inventory(docker);
  const dockerAuths = await readDockerConfigAuths(env);
  if (dockerAuths.helperHosts.length > 0) {
    logger.warn({ component: 'registry', action: 'credentials', hosts: dockerAuths.helperHosts, file: dockerAuths.path }, 'these registries keep their login in a Docker credential helper, which cannot be read: set registry.auth for them');
  }
  const credentials = [...config.registry.auth, ...dockerAuths.credentials];
  const { checker, challenges } = createUpdateChecker(config, { dockerAuths: dockerAuths.credentials, logger: logger.child({ component: 'registry' }), challengeStore: store });
  const scanner = new Scanner({ inventory, checker, store, logger, clock: systemClock, config });
  const auth = new Auth({ settings: authSettings(config), store, logger, clock: systemClock });
  const updater = new Updater({ docker, store, logger, clock: systemClock });
  const history = new UpdateHistory(store);
  const composeCli = new ComposeCli(dockerHost);
  // One lock per compose project, held by compose actions and by a compose container's update alike.
  const composeLocks = new ProjectLocks();
  const compose = new ComposeService({
    compose: composeCli, files: config.compose.appPath ? new FsProjectFiles(config.compose.appPath) : null, docker, scanner, logger: logger.child({ component: 'compose' }), locks: composeLocks,
  });
  const updates = new UpdateService({
    docker, updater, compose: composeCli, composeLocks, scanner, history, config, credentials, logger, clock: systemClock,
    updaterOptions: { settleMs: config.derived.settleMs, removeOldImage: config.update.removeOldImage },
  });
  return {
    updater,
    deps: {
      config, docker, inventory, scanner, updates, compose, history, auth, getClientAddress: nodePeerAddress, store, logger, clock: systemClock, version: VERSION,
      // Works once startServer hands `serve` a WebSocketServer (src/server.ts).
      upgradeWebSocket: upgradeWebSocket as UpgradeWebSocket,
      // Made only when the shell is switched on: otherwise no code path can start a PTY.
      ...(terminal ? { terminal } : {}),
    },
    dockerHost,
    store,
    dispose: async () => {
      await terminal?.closeAll();
      composeCli.dispose();
      await challenges?.flush();
      await store.dispose();
    },
  };
}
