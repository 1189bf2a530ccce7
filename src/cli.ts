#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, type LoadedConfig } from './core/config/load.js';
import { containerViews } from './core/container-view.js';
import { createLogger } from './agent/logger.js';
import type { AgentArgs } from './agent/agent-main.js';
import { printScan } from './scan-output.js';
import { VERSION } from './version.js';

const HELP = `watch-docker ${VERSION}: keeps the containers on this Docker host up to date.

Usage:
  watch-docker [serve] [--config PATH]        run the HTTP server (the default command)
  watch-docker scan --once [--json] [--config PATH]
                                              check every container once and exit
                                              (exit 1 when any check failed)
  watch-docker agent --url URL --host NAME [--join-token T] [--key-file PATH]
                                              connect this host to a control plane
                                              (split deployment; see README)
  watch-docker health [--config PATH]         exit 0 when healthy: the agent's link is online
                                              (AGENT_HOST set) or the server answers /healthz
  watch-docker --help                         show this help
  watch-docker --version                 print the version

The configuration file comes from --config or WATCH_CONFIG; without one, defaults apply.
Every key can be set from the environment: WATCH_<SECTION>_<KEY>, e.g. WATCH_SERVER_ADDR=:8080.
See README.md for the full reference.
`;

interface Args {
  command: 'serve' | 'scan' | 'agent' | 'health' | 'help' | 'version';
  agent: AgentArgs;
  configPath: string | undefined;
  once: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: 'serve', agent: {}, configPath: undefined, once: false, json: false };
  const agentFlags: Record<string, keyof AgentArgs> = { '--url': 'url', '--host': 'host', '--join-token': 'joinToken', '--key-file': 'keyFile' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h' || a === 'help') args.command = 'help';
    else if (a === '--version' || a === '-v') args.command = 'version';
    else if (a === 'serve') args.command = 'serve';
    else if (a === 'scan') args.command = 'scan';
    else if (a === 'agent') args.command = 'agent';
    else if (a === 'health') args.command = 'health';
    else if (args.command === 'agent' && agentFlags[a]) {
      const value = argv[++i];
      if (!value) throw new ConfigError(`${a} needs a value`);
      args.agent[agentFlags[a]] = value;
    }
    else if (a === '--once' && args.command === 'scan') args.once = true;
    else if (a === '--json' && args.command === 'scan') args.json = true;
    else if (a === '--config' || a === '-c') {
      const path = argv[++i];
      if (!path) throw new ConfigError('--config needs a file path');
      args.configPath = path;
    } else if (a.startsWith('--config=')) args.configPath = a.slice('--config='.length);
    else throw new ConfigError(`unknown argument ${JSON.stringify(a)} (see --help)`);
  }
  if (args.command === 'scan' && !args.once) throw new ConfigError('scan needs --once (the server scans on its own schedule)');
  return args;
}

function readConfig(path: string | undefined, env: NodeJS.ProcessEnv): LoadedConfig {
  let yamlText: string | undefined;
  if (path) {
    try {
      yamlText = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return loadConfig({ yamlText, source: path, env, readSecretFile: (p) => readFileSync(p, 'utf8') });
}

function stopSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

async function main(): Promise<number> {
  const env = process.env;
  const args = parseArgs(process.argv.slice(2));
  if (args.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const config = readConfig(args.configPath ?? env.WATCH_CONFIG, env);
  // Each command loads only what it runs: the agent stays small without the HTTP server.
  if (args.command === 'agent') return (await import('./agent/agent-main.js')).runAgent(args.agent, config, env, stopSignal());
  if (args.command === 'health') {
    const health = await (await import('./health.js')).checkHealth(config, env);
    (health.healthy ? process.stdout : process.stderr).write(`${health.message}\n`);
    return health.healthy ? 0 : 1;
  }
  if (args.command === 'scan') {
    const { createNodeRuntime } = await import('./runtime.js');
    // Logs go to stderr so that stdout holds only the result.
    const logger = createLogger({ level: config.logging.level, pretty: process.stderr.isTTY === true, destination: process.stderr });
    const runtime = await createNodeRuntime(config, env, logger);
    try {
      const report = await runtime.deps.scanner.scan();
      const views = containerViews(await runtime.deps.scanner.lastContainers(), report);
      process.stdout.write(printScan(views, report, args.json));
      return report.counts.Error > 0 ? 1 : 0;
    } finally {
      await runtime.dispose();
    }
  }
  const logger = createLogger({ level: config.logging.level, pretty: process.stdout.isTTY === true });
  // Listen for signals before starting, so one that arrives during start-up (the port is
  // already open while the journal is reconciled) still ends in a clean shutdown.
  const stopRequested = stopSignal();
  const [{ startServer }, { createNodeRuntime }] = await Promise.all([import('./server.js'), import('./runtime.js')]);
  const server = await startServer(await createNodeRuntime(config, env, logger));
  const signal = await stopRequested;
  logger.info({ component: 'server', action: 'shutdown', signal }, 'shutting down');
  await server.close();
  logger.info({ component: 'server', action: 'exit' }, 'stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = err instanceof ConfigError ? err.message : `watch-docker: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`${msg}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
