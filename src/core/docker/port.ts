/**
 * The Docker port: everything the core asks of a Docker engine. It is remotable by design:
 * every method takes and returns plain JSON-serialisable data (streams will be async iterables
 * of such data), so the same calls can travel over a WebSocket to an agent on the host.
 * Implementations: the dockerode adapter (src/agent/docker), and later the remote agent port.
 */

export interface EngineInfo {
  /** Engine version, e.g. "26.1.5". */
  version: string;
  /** The API version this client speaks to the engine after negotiation. */
  apiVersion: string;
  os: string;
  architecture: string;
}

export interface ContainerSummary {
  id: string;
  /** Without the leading slash. */
  name: string;
  /** The image reference as the engine reports it in the list (an ID when the tag has moved). */
  image: string;
  imageId: string;
  labels: Record<string, string>;
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
  /** Unix seconds. */
  created: number;
}

export interface ContainerDetails {
  id: string;
  name: string;
  /** The image reference exactly as written when the container was created (Config.Image). */
  image: string;
  imageId: string;
  labels: Record<string, string>;
  state: string;
  running: boolean;
  restarting: boolean;
  /** ISO 8601. */
  created: string;
}

export interface ImageSummary {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  /** Unix seconds. */
  created: number;
  labels: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageDetails {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  /** ISO 8601. */
  created: string;
  platform: Platform;
}

export interface DockerPort {
  /** Resolves when the engine answers; rejects with a DockerError otherwise. */
  ping(): Promise<void>;
  info(): Promise<EngineInfo>;
  listContainers(query: { all: boolean }): Promise<ContainerSummary[]>;
  /** Null when no such container exists. */
  inspectContainer(idOrName: string): Promise<ContainerDetails | null>;
  listImages(): Promise<ImageSummary[]>;
  /** Null when no such image exists. */
  inspectImage(idOrRef: string): Promise<ImageDetails | null>;
}
