import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { credentialsFromDockerConfig, type RegistryCredential } from '../core/registry/credentials.js';

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: where the Docker CLI keeps logins. */
export function dockerConfigPath(env: Record<string, string | undefined> = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

export interface DockerConfigAuths {
  credentials: RegistryCredential[];
  path: string;
  /** Hosts whose login lives in a credential helper (credsStore/credHelpers), which we cannot read. */
  helperHosts: string[];
}

/**
 * The registry logins of the Docker CLI config as plain data for the core's registry client.
 * A missing file gives none; an unreadable or invalid one throws an Error naming the file
 * (never its content).
 */
export async function readDockerConfigAuths(env: Record<string, string | undefined> = process.env): Promise<DockerConfigAuths> {
  const path = dockerConfigPath(env);
  let text: string | null;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    text = missingOrThrow(err, path);
  }
  return parseDockerConfig(text, path);
}

/** readDockerConfigAuths for start-up code that cannot await. */
export function readDockerConfigAuthsSync(env: Record<string, string | undefined> = process.env): DockerConfigAuths {
  const path = dockerConfigPath(env);
  let text: string | null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    text = missingOrThrow(err, path);
  }
  return parseDockerConfig(text, path);
}

function missingOrThrow(err: unknown, path: string): null {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return null;
  throw new Error(`cannot read the Docker config ${path}: ${typeof code === 'string' ? code : 'read error'}`);
}

function parseDockerConfig(text: string | null, path: string): DockerConfigAuths {
  if (text === null) return { credentials: [], path, helperHosts: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the Docker config ${path} is not valid JSON: fix or remove it`);
  }
  const credentials = credentialsFromDockerConfig(json);
  const helperHosts: string[] = [];
  if (typeof json === 'object' && json !== null) {
    const { credsStore, credHelpers, auths } = json as { credsStore?: unknown; credHelpers?: unknown; auths?: unknown };
    if (typeof credHelpers === 'object' && credHelpers !== null) helperHosts.push(...Object.keys(credHelpers));
    if (typeof credsStore === 'string' && credsStore && typeof auths === 'object' && auths !== null) {
      const have = new Set(credentials.map((c) => c.host));
      helperHosts.push(...Object.keys(auths).filter((h) => !have.has(h)));
    }
  }
  return { credentials, path, helperHosts };
}
