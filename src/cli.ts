#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, type LoadedConfig } from './core/config/load.js';
import { createLogger } from './agent/logger.js';
import { startServer } from './server.js';
import { VERSION } from './version.js';

const HELP = `watch-docker ${VERSION}: keeps the containers on this Docker host up to date.

Usage:
  watch-docker [serve] [--config PATH]   run the HTTP server (the default command)
  watch-docker --help                    show this help
  watch-docker --version                 print the version

The configuration file comes from --config or WATCH_CONFIG; without one, defaults apply.
Every key can be set from the environment: WATCH_<SECTION>_<KEY>, e.g. WATCH_SERVER_ADDR=:8080.
See README.md for the full reference.
`;

interface Args {
  command: 'serve' | 'help' | 'version';
  configPath: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: 'serve', configPath: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h' || a === 'help') args.command = 'help';
    else if (a === '--version' || a === '-v') args.command = 'version';
    else if (a === 'serve') args.command = 'serve';
    else if (a === '--config' || a === '-c') {
      const path = argv[++i];
      if (!path) throw new ConfigError('--config needs a file path');
      args.configPath = path;
    } else if (a.startsWith('--config=')) args.configPath = a.slice('--config='.length);
    else throw new ConfigError(`unknown argument ${JSON.stringify(a)} (see --help)`);
  }
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
  const logger = createLogger({ level: config.logging.level, pretty: process.stdout.isTTY === true });
  const server = await startServer(config, env, logger);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ component: 'server', action: 'shutdown', signal }, 'shutting down');
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
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
