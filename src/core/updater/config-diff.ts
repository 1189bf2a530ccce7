import type { ContainerConfig, HealthConfig, ImageConfig } from '../docker/port.js';

/*
 * A container's inspect `Config` is the old image's defaults merged with what the user set.
 * To recreate it on a NEW image we must hand the engine only what the user set, so that the
 * new image's defaults apply everywhere else: whatever equals the old image's value is taken
 * to have come from the image. (A user value that happens to equal the image's is
 * indistinguishable from it, and follows the new image: the one unavoidable ambiguity.)
 */

export function sameList(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Env entries the user set: every "K=V" that is not exactly one of the old image's. */
export function userEnv(env: readonly string[] | null | undefined, imageEnv: readonly string[] | null | undefined): string[] {
  const fromImage = new Set(imageEnv ?? []);
  return (env ?? []).filter((e) => !fromImage.has(e));
}

/** Labels the user set: those missing from the old image or with another value there. */
export function userLabels(labels: Record<string, string> | null | undefined, imageLabels: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (imageLabels?.[k] !== v) out[k] = v;
  return out;
}

/** Keys of `a` that `b` lacks (Volumes, ExposedPorts). */
export function keysNotIn(a: Record<string, unknown> | null | undefined, b: Record<string, unknown> | null | undefined): string[] {
  return Object.keys(a ?? {}).filter((k) => !(k in (b ?? {})));
}

/**
 * Entrypoint and Cmd the user set. The engine only inherits the image's Cmd when no Entrypoint
 * is given, so a user Entrypoint carries its Cmd with it, whatever that Cmd is.
 */
export function userCommand(c: Pick<ImageConfig, 'Entrypoint' | 'Cmd'>, image: Pick<ImageConfig, 'Entrypoint' | 'Cmd'>): Pick<ImageConfig, 'Entrypoint' | 'Cmd'> {
  if (!sameList(c.Entrypoint, image.Entrypoint)) {
    // `--entrypoint ""` over an image entrypoint reads back empty; [""] asks for that again.
    const entrypoint = c.Entrypoint && c.Entrypoint.length > 0 ? c.Entrypoint : [''];
    return { Entrypoint: entrypoint, Cmd: c.Cmd ?? null };
  }
  return sameList(c.Cmd, image.Cmd) ? {} : { Cmd: c.Cmd ?? null };
}

const HEALTH_NUMBERS = ['Interval', 'Timeout', 'Retries', 'StartPeriod', 'StartInterval'] as const;

/**
 * The healthcheck fields the user set. The engine fills each unset field from the image, so
 * field by field: a value equal to the old image's is left for the new image to supply.
 */
export function userHealthcheck(h: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!h) return undefined;
  if (!image) return h;
  const out: HealthConfig = {};
  if (!sameList(h.Test, image.Test)) out.Test = h.Test ?? null;
  for (const k of HEALTH_NUMBERS) if (h[k] !== undefined && h[k] !== 0 && h[k] !== image[k]) out[k] = h[k];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Config fields that are the image's alone: the engine takes them from the new image. */
const IMAGE_ONLY = new Set(['OnBuild', 'ArgsEscaped', 'Image', 'MacAddress']);
/** Scalar fields the user may override; kept only where they differ from the old image's. */
const SCALARS = ['User', 'WorkingDir', 'StopSignal'] as const;

export interface UserConfigOptions {
  /** The reference the new container is created from. */
  image: string;
  /** The old container's ID: a hostname equal to its short form was the engine's choice. */
  containerId: string;
  /** The old container's HostConfig.NetworkMode. */
  networkMode: string;
  /** Ports the container publishes (HostConfig.PortBindings keys): they stay exposed. */
  publishedPorts: string[];
}

/**
 * The create-time `Config` that reproduces what the user set on `c` (a container's inspect
 * Config) on top of a new image, given the old image's `Config`. Fields we don't model pass
 * through unchanged (Tty, OpenStdin, StopTimeout, Domainname, …).
 */
export function userConfig(c: ContainerConfig, oldImage: ImageConfig, opts: UserConfigOptions): ContainerConfig {
  const out: ContainerConfig = {};
  for (const [k, v] of Object.entries(c)) if (!IMAGE_ONLY.has(k)) out[k] = v;
  out.Image = opts.image;

  const sharesNetworkStack = opts.networkMode === 'host' || opts.networkMode.startsWith('container:');
  // The engine refuses a hostname with container:X, and host mode reports the host's own name.
  if (sharesNetworkStack || c.Hostname === opts.containerId.slice(0, 12)) delete out.Hostname;

  const env = userEnv(c.Env, oldImage.Env);
  if (env.length > 0) out.Env = env;
  else delete out.Env;

  delete out.Entrypoint;
  delete out.Cmd;
  Object.assign(out, userCommand(c, oldImage));
  // Cmd inherited from the image brings its ArgsEscaped along; a user Cmd keeps the container's.
  if ('Cmd' in out && c.ArgsEscaped !== undefined) out.ArgsEscaped = c.ArgsEscaped;

  const labels = userLabels(c.Labels, oldImage.Labels);
  if (Object.keys(labels).length > 0) out.Labels = labels;
  else delete out.Labels;

  const health = userHealthcheck(c.Healthcheck, oldImage.Healthcheck);
  if (health) out.Healthcheck = health;
  else delete out.Healthcheck;

  for (const k of SCALARS) {
    if (c[k] === undefined || c[k] === '' || c[k] === oldImage[k]) delete out[k];
  }
  if (sameList(c.Shell, oldImage.Shell)) delete out.Shell;

  const volumes = keysNotIn(c.Volumes, oldImage.Volumes);
  if (volumes.length > 0) out.Volumes = Object.fromEntries(volumes.map((v) => [v, {}]));
  else delete out.Volumes;

  // A container on another's network stack may not expose ports of its own.
  const exposed = sharesNetworkStack && opts.networkMode !== 'host' ? [] : [...new Set([...keysNotIn(c.ExposedPorts, oldImage.ExposedPorts), ...opts.publishedPorts])];
  if (exposed.length > 0) out.ExposedPorts = Object.fromEntries(exposed.map((p) => [p, {}]));
  else delete out.ExposedPorts;
  return out;
}
