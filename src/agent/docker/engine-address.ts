import type { DockerOptions } from 'dockerode';

/** Turns a DOCKER_HOST-style address into dockerode connection options. */
export function dockerOptionsFor(host: string): DockerOptions {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('npipe://')) return { socketPath: host.slice('npipe://'.length) };
  if (host.startsWith('tcp://') || host.startsWith('http://') || host.startsWith('https://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    const https = url.protocol === 'https:';
    return { host: url.hostname, port: Number(url.port || (https ? 2376 : 2375)), protocol: https ? 'https' : 'http' };
  }
  throw new Error(`unsupported Docker host ${JSON.stringify(host)}: expected unix:///path or tcp://host:port`);
}

/** docker.host from config, then DOCKER_HOST, then the local socket. */
export function resolveDockerHost(configured: string, env: Record<string, string | undefined>): string {
  return configured || env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}
