/** `watch-docker agent`: wires the local Docker port and registry checker to the agent link. */
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LoadedConfig } from '../core/config/load.js';
import { ConfigError } from '../core/config/load.js';
import { HOST_NAME } from '../core/agent-link/protocol.js';
import { createUpdateChecker } from '../core/update-check.js';
import { AgentLink, agentUrl, loadOrCreateKey, localHandlers } from './agent-link.js';
import { DockerodePort } from './docker/dockerode-port.js';
import { resolveDockerHost } from './docker/engine-address.js';
import { readDockerConfigAuths } from './docker-config.js';
import { createLogger } from './logger.js';
import { VERSION } from '../version.js';
import { AppError, describeError } from '../core/errors.js';
import { hostServiceHandlers } from './agent-services.js';
import { ComposeCli } from './compose-cli.js';
import { FsProjectFiles } from './project-files-fs.js';
import { hostUpdateHandlers } from './agent-updates.js';
import { nodeFetch } from './node-fetch.js';
import { AgentStatusFile, agentStatusPath } from './agent-status.js';

export interface AgentArgs {
  url?: string;
  host?: string;
  joinToken?: string;
  keyFile?: string;
}

export async function runAgent(args: AgentArgs, config: LoadedConfig, env: Record<string, string | undefined>, stopRequested: Promise<string>): Promise<number> {
  const host = args.host ?? env.AGENT_HOST;
  const base = args.url ?? env.AGENT_URL;
  if (!base) throw new ConfigError('agent needs --url (the control plane, wss://…) or AGENT_URL');
  if (!host || !HOST_NAME.test(host)) throw new ConfigError('agent needs --host NAME (1-63 lower-case letters, digits or "-"), as created in the control plane');
  let url: URL;
  try {
    url = agentUrl(base, host);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const logger = createLogger({ level: config.logging.level, pretty: process.stdout.isTTY === true });
  const keyFile = args.keyFile ?? env.AGENT_KEY_FILE ?? join(config.store.dataDir, `agent-${host}.key`);
  const key = await loadOrCreateKey(keyFile, logger);
  const dockerHost = resolveDockerHost(config.docker.host, env);
  const docker = new DockerodePort(dockerHost);
  // Updates run here, journaled beside the key; interrupted ones are settled before the link starts.
  const updates = await hostUpdateHandlers({ docker, dataDir: env.AGENT_DATA_DIR || join(dirname(keyFile), `agent-${host}`), logger });
  const dockerAuths = await readDockerConfigAuths(env);
  // Registry requests over node:http, not the global fetch (see node-fetch.ts: memory).
  const { checker } = createUpdateChecker(config, { dockerAuths: dockerAuths.credentials, logger: logger.child({ component: 'registry' }), fetch: nodeFetch });
  const retryMaxMs = Number(env.AGENT_RETRY_MAX_MS ?? '') || undefined;
  // Compose and the shell of this host: its own APP_PATH and IS_OPEN_DOCKER_SHELL decide.
  const composeCli = new ComposeCli(dockerHost);
  const appPath = config.compose.appPath;
  let pty: { closeAll(): Promise<void> } | null = null;
  const services = hostServiceHandlers({
    // The project files give compose real paths (APP_PATH resolved): the check compares with the same.
    compose: composeCli, appPath: appPath ? await realpath(appPath).catch(() => appPath) : appPath,
    files: appPath ? new FsProjectFiles(appPath) : null, shellEnabled: config.shell.enabled, logger,
    terminal: async () => {
      const t = new (await import('./node-pty-terminal.js')).NodePtyTerminal({ shell: env.SHELL || '/bin/sh', dockerHost, env });
      pty = t;
      return t;
    },
  });
  const handlers = localHandlers(docker, checker, { ...services, calls: { ...services.calls, ...updates.calls } });
  /** The control plane only learns "internal error" of an unexpected failure: the details go to this log. */
  const logged = (op: string) => (err: unknown): never => {
    if (!(err instanceof AppError)) logger.error({ component: 'agent', action: 'op', op, err: describeError(err) }, 'an operation failed');
    throw err;
  };
  const link = new AgentLink({
    url, host, key, logger, version: VERSION,
    handlers: {
      ...handlers,
      call: (op, args) => handlers.call(op, args).catch(logged(op)),
    },
    ...(args.joinToken ?? env.AGENT_JOIN_TOKEN ? { joinToken: args.joinToken ?? env.AGENT_JOIN_TOKEN } : {}),
    ...(retryMaxMs ? { retryMaxMs, retryMinMs: Math.min(1000, retryMaxMs / 4) } : {}),
  });
  logger.info({ component: 'agent', action: 'start', host, url: url.origin, version: VERSION, appPath: appPath || null, shell: config.shell.enabled, nodeFlags: process.execArgv }, 'agent starting');
  link.start();
  // For `watch-docker health` (the image's HEALTHCHECK): the link's state, refreshed every 10 s.
  const status = new AgentStatusFile(agentStatusPath(config.store.dataDir, host), { host, version: VERSION }, () => link.state,
    (err) => logger.warn({ component: 'agent', action: 'status', err: describeError(err) }, 'cannot write the status file'));
  status.start();
  const signal = await stopRequested;
  logger.info({ component: 'agent', action: 'shutdown', signal }, 'shutting down');
  await link.stop();
  await updates.idle();
  await status.stop();
  await (pty as { closeAll(): Promise<void> } | null)?.closeAll();
  composeCli.dispose();
  return 0;
}
