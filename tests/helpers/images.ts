import { bed } from './bed.js';
import { docker } from './docker-cli.js';

export interface BuildOptions {
  labels?: Record<string, string>;
  /** Extra Dockerfile lines after FROM (RUN, ENV, CMD, HEALTHCHECK …). */
  lines?: string[];
  /** Makes the image content unique, so two builds never share an ID. */
  salt?: string;
}

/** Builds a test image FROM the bed's busybox base (nothing can be pulled here). */
export async function buildImage(host: string, tag: string, opts: BuildOptions = {}): Promise<string> {
  const dockerfile = [
    `FROM ${bed().baseImage}`,
    ...Object.entries(opts.labels ?? {}).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`),
    `RUN echo ${JSON.stringify(opts.salt ?? `${tag}-${Date.now()}-${Math.random()}`)} > /salt`,
    ...(opts.lines ?? []),
    'CMD ["sleep", "3600"]',
  ].join('\n');
  await docker(host, ['build', '--network', 'none', '--force-rm', '-q', '-t', tag, '-'], { input: dockerfile });
  return docker(host, ['image', 'inspect', '--format', '{{.Id}}', tag]);
}

/** Pushes to a bed registry, using the bed's own Docker config for credentials. */
export async function pushImage(host: string, ref: string): Promise<void> {
  await docker(host, ['push', '-q', ref], { env: { DOCKER_CONFIG: bed().dockerConfig } });
}
