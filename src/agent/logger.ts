import { createRequire } from 'node:module';
import pino from 'pino';
import type { Logger } from '../core/ports.js';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password',
  'token', '*.token', '*.*.token',
  'secret', '*.secret', 'otpSecret', '*.otpSecret', 'jwtSecret', '*.jwtSecret',
  'authorization', '*.authorization', '*.*.authorization', 'headers.authorization', 'req.headers.authorization',
  'cookie', '*.cookie', 'req.headers.cookie', 'auth', '*.auth', 'registryAuth', '*.registryAuth',
];

export interface LoggerOptions {
  level: string;
  /** Human-readable output (stdout is a terminal); JSON otherwise. */
  pretty?: boolean;
  destination?: pino.DestinationStream;
}

/** pino, JSON by default and readable on a terminal, with secrets redacted. */
export function createLogger(opts: LoggerOptions): Logger & pino.Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: 'watch-docker' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.pretty) {
    // Loaded only for a terminal: services (the agent above all) log JSON and never load it.
    const pretty = (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')).build;
    return pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }));
  }
  return pino(options);
}
