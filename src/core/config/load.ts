import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { parseListenAddr, type ListenAddr } from './addr.js';
import { parseDuration } from './duration.js';
import { applyEnv, ConfigError, type ReadSecretFile } from './env.js';
import { ConfigSchema, type Config } from './schema.js';

export { ConfigError };

/** The validated configuration plus values derived from it once. */
export interface LoadedConfig extends Config {
  derived: {
    listen: ListenAddr;
    scanIntervalMs: number;
    cacheTtlMs: number;
    settleMs: number;
  };
}

export interface LoadConfigInput {
  /** The YAML text of the config file, or undefined when there is none. */
  yamlText?: string | undefined;
  /** Where the YAML came from, for messages. */
  source?: string;
  env: Record<string, string | undefined>;
  readSecretFile: ReadSecretFile;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Loads the configuration: YAML, then environment overrides, then validation.
 * Throws a ConfigError whose message is one line naming the key, the value and what was expected.
 */
export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const source = input.source ?? 'config file';
  let raw: unknown = {};
  if (input.yamlText !== undefined) {
    try {
      raw = parseYaml(input.yamlText, { maxAliasCount: 100 }) ?? {};
    } catch (err) {
      const detail = err instanceof Error ? err.message.split('\n')[0] : 'invalid YAML';
      throw new ConfigError(`config: ${source} is not valid YAML: ${detail}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`config: ${source} must be a mapping of sections (server, docker, scan, ...)`);
  }
  const target = raw as Record<string, unknown>;
  const origins = applyEnv(target, input.env, input.readSecretFile);

  const result = v.safeParse(ConfigSchema, target, { abortEarly: true });
  if (!result.success) {
    const issue = result.issues[0];
    const key = v.getDotPath(issue) ?? '(top level)';
    const from = origins.get(key);
    const where = from ? `${key} (from ${from})` : key;
    const unknownKey = issue.type === 'strict_object' && issue.expected === 'never';
    const isSecret = /password|secret|token/i.test(key);
    const input = unknownKey ? key.split('.').reduce<unknown>((node, k) => (node as Record<string, unknown>)?.[k], target) : issue.input;
    const value = isSecret ? '(hidden)' : show(input);
    const what = unknownKey ? 'unknown key' : issue.message;
    throw new ConfigError(`config: ${where} = ${value}: ${what}`);
  }
  const config = result.output;
  if (config.store.driver === 'redis' && !/^rediss?:\/\/.+/.test(config.store.redisUrl)) {
    throw new ConfigError(`config: store.redisUrl = ${show(config.store.redisUrl.replace(/\/\/[^@/]*@/, '//***@'))}: expected redis://host:port when store.driver is "redis"`);
  }
  return {
    ...config,
    derived: {
      listen: parseListenAddr(config.server.addr) as ListenAddr,
      scanIntervalMs: parseDuration(config.scan.interval) as number,
      cacheTtlMs: parseDuration(config.scan.cacheTTL) as number,
      settleMs: parseDuration(config.update.settleTime) as number,
    },
  };
}
