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

/*
 * Engine JSON, as the Engine API sends and accepts it (PascalCase). Only the fields the core
 * reads are declared; every other field the engine sends passes through untouched (the index
 * signature), so an inspect can be fed back into a create without losing what we don't know.
 */

/** A JSON object whose undeclared fields are carried along as they are. */
export interface OpenJson {
  [key: string]: unknown;
}

/** Durations are nanoseconds, as in the Engine API. */
export interface HealthConfig extends OpenJson {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

/** What an image sets as defaults for its containers (image inspect `Config`). */
export interface ImageConfig extends OpenJson {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Labels?: Record<string, string> | null;
  User?: string;
  WorkingDir?: string;
  Healthcheck?: HealthConfig | null;
  Volumes?: Record<string, unknown> | null;
  ExposedPorts?: Record<string, unknown> | null;
  StopSignal?: string;
  Shell?: string[] | null;
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
}

/** A container's `Config`: the image defaults merged with what the user set. */
export interface ContainerConfig extends ImageConfig {
  Hostname?: string;
  Domainname?: string;
  Image?: string;
  /** Deprecated by API 1.44 (moved to the endpoint); still reports the user-set MAC of the primary network. */
  MacAddress?: string;
  StopTimeout?: number | null;
  Tty?: boolean;
}

export interface MountSpec extends OpenJson {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
}

export interface HostConfig extends OpenJson {
  Binds?: string[] | null;
  Mounts?: MountSpec[] | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  AutoRemove?: boolean;
  Links?: string[] | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
}

export interface IpamConfig extends OpenJson {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[] | null;
}

/** One network a container is attached to (inspect) or should be attached to (create/connect). */
export interface EndpointSettings extends OpenJson {
  IPAMConfig?: IpamConfig | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  NetworkID?: string;
  IPAddress?: string;
  GlobalIPv6Address?: string;
}

/** An entry of a container's `Mounts` (what is really mounted, anonymous volumes included). */
export interface MountPoint extends OpenJson {
  Type: string;
  /** The volume name, for volumes. */
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode?: string;
  RW: boolean;
}

export interface HealthState extends OpenJson {
  /** starting | healthy | unhealthy | none */
  Status: string;
  FailingStreak?: number;
  Log?: Array<{ ExitCode?: number; Output?: string }> | null;
}

export interface ContainerState extends OpenJson {
  Status: string;
  Running: boolean;
  Paused?: boolean;
  Restarting: boolean;
  ExitCode?: number;
  Error?: string;
  StartedAt?: string;
  FinishedAt?: string;
  Health?: HealthState | null;
}

/** `GET /containers/{id}/json`, as the engine sends it. */
export interface ContainerInspect extends OpenJson {
  Id: string;
  /** With the leading slash, as the engine reports it. */
  Name: string;
  Created: string;
  /** The image ID. */
  Image: string;
  RestartCount?: number;
  State: ContainerState;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  NetworkSettings: OpenJson & { Networks?: Record<string, EndpointSettings> | null };
  Mounts?: MountPoint[] | null;
}

/** `GET /images/{name}/json`, as the engine sends it. */
export interface ImageInspect extends OpenJson {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: string;
  Os?: string;
  Architecture?: string;
  Config?: ImageConfig | null;
}

/** `POST /containers/create` body: Config fields, HostConfig and NetworkingConfig. */
export interface ContainerCreateBody extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings> };
}

/** Registry credentials for a pull, as plain data (the engine's X-Registry-Auth). */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry host, e.g. "127.0.0.1:5001" or "https://index.docker.io/v1/". */
  serveraddress: string;
}

/** One progress message of a pull. Errors never arrive as events: the iteration throws. */
export interface PullEvent {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

/**
 * The calls the updater makes. Every method is plain JSON in and out. Errors are AppErrors:
 * NotFound (data.engineStatus 404) for a missing container, image or network, DockerError
 * for anything else the engine refuses, with context in the message.
 */
export interface DockerLifecyclePort {
  /** The engine's own inspect JSON; null when no such container exists. */
  inspectContainerRaw(idOrName: string): Promise<ContainerInspect | null>;
  /** The engine's own image inspect JSON, with Config; null when no such image exists. */
  inspectImageRaw(idOrRef: string): Promise<ImageInspect | null>;
  /**
   * Pulls a reference. Iterating yields progress; it throws when the engine reports an error
   * or the stream ends before the engine said the pull completed.
   */
  pullImage(ref: string, opts?: { auth?: RegistryAuth }): AsyncIterable<PullEvent>;
  createContainer(name: string, body: ContainerCreateBody): Promise<{ id: string; warnings: string[] }>;
  /** Starting a running container is not an error. */
  startContainer(id: string): Promise<void>;
  /** Stopping a stopped container is not an error. Without a timeout the container's own applies. */
  stopContainer(id: string, opts?: { timeoutSeconds?: number }): Promise<void>;
  renameContainer(id: string, newName: string): Promise<void>;
  /** Removes a container and never its volumes. */
  removeContainer(id: string, opts?: { force?: boolean }): Promise<void>;
  /** Attaches a created or running container to one more network. */
  connectNetwork(network: string, container: string, endpoint?: EndpointSettings): Promise<void>;
  /** The last `tail` lines of stdout and stderr, demultiplexed, as text. */
  containerLogs(id: string, opts: { tail: number }): Promise<string>;
  /** Refuses (Conflict) an image a container still uses unless forced. */
  removeImage(idOrRef: string, opts?: { force?: boolean }): Promise<void>;
}

/** One line of a container's output. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** The line without its newline. A TTY container's output is all stdout, as the engine sends it. */
  text: string;
  /** ISO 8601 with the engine's precision, when asked for timestamps. */
  ts?: string;
}

export interface LogStreamOptions {
  /** Only the last N lines of what is already there (default: all). */
  tail?: number;
  /** Keep the stream open and send new lines as they come. */
  follow?: boolean;
  timestamps?: boolean;
}

/** One message of the engine's event stream, as plain data. */
export interface DockerEvent {
  /** container | image | network | volume | … */
  type: string;
  /** create | start | die | stop | destroy | rename | health_status: healthy | … */
  action: string;
  /** The object's ID (container ID for container events). */
  id: string;
  /** The object's name where the engine gives one (a container's name without the slash). */
  name: string;
  /** ISO 8601, from the engine's nanosecond time. */
  time: string;
  attributes: Record<string, string>;
}

/**
 * Live streams. Each is an AsyncIterable of plain data; a consumer that stops iterating (a
 * `for await` that breaks, i.e. `return()`) makes the implementation release the engine request
 * at once, also while it waits for the next line.
 */
export interface DockerStreamPort {
  /** A container's output line by line (stdout and stderr demultiplexed). NotFound when it does not exist. */
  streamLogs(id: string, opts: LogStreamOptions): AsyncIterable<LogLine>;
  /** The engine's event stream from now on, optionally only some object types. */
  events(opts?: { types?: string[] }): AsyncIterable<DockerEvent>;
}

/** A port that can also replace containers and stream: what the updater, the handlers and the agent relay need. */
export type FullDockerPort = DockerPort & DockerLifecyclePort & DockerStreamPort;
