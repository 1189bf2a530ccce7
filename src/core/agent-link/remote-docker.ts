/**
 * The Docker port and the registry checker of one host, reached over its agent link. Every
 * call is an operation the protocol names; the link's owner (a Durable Object on Workers)
 * answers HostOffline at once when the agent is not connected, and every call has a timeout,
 * so a dead host never makes a request hang.
 */
import type {
  ContainerCreateBody, ContainerDetails, ContainerInspect, ContainerSummary, EndpointSettings, EngineInfo,
  DockerEvent, FullDockerPort, ImageDetails, ImageInspect, ImageSummary, LogLine, LogStreamOptions, PullEvent, RegistryAuth,
} from '../docker/port.js';
import { randomId } from '../auth/encoding.js';
import type { ImageRef } from '../image-ref.js';
import type { ImageChecker } from '../scanner.js';
import type { Platform } from '../docker/port.js';
import type { CallOp, StreamOp } from './protocol.js';
import { MUTATING_OPS } from './protocol.js';

/** How requests reach the agent (the Durable Object stub on Workers, a link directly in tests). */
export interface LinkTransport {
  call(op: CallOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): Promise<unknown>;
  stream(op: StreamOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): AsyncIterable<unknown>;
}

export interface RemoteTimeouts {
  /** Reads and quick changes. */
  callMs: number;
  /** A pull, start to end. */
  pullMs: number;
  /** One registry check on the host. */
  registryMs: number;
}

export const DEFAULT_TIMEOUTS: RemoteTimeouts = { callMs: 30_000, pullMs: 15 * 60_000, registryMs: 120_000 };

export class RemoteDockerPort implements FullDockerPort {
  constructor(
    private readonly link: LinkTransport,
    private readonly timeouts: RemoteTimeouts = DEFAULT_TIMEOUTS,
  ) {}

  private call<T>(op: CallOp, args: unknown[], timeoutMs = this.timeouts.callMs): Promise<T> {
    return this.link.call(op, args, { timeoutMs, ...(MUTATING_OPS.has(op) ? { idempotencyKey: randomId(12) } : {}) }) as Promise<T>;
  }

  async ping(): Promise<void> {
    await this.call('ping', []);
  }
  info(): Promise<EngineInfo> {
    return this.call('info', []);
  }
  listContainers(query: { all: boolean }): Promise<ContainerSummary[]> {
    return this.call('listContainers', [{ all: query.all }]);
  }
  inspectContainer(idOrName: string): Promise<ContainerDetails | null> {
    return this.call('inspectContainer', [idOrName]);
  }
  listImages(): Promise<ImageSummary[]> {
    return this.call('listImages', []);
  }
  inspectImage(idOrRef: string): Promise<ImageDetails | null> {
    return this.call('inspectImage', [idOrRef]);
  }
  inspectContainerRaw(idOrName: string): Promise<ContainerInspect | null> {
    return this.call('inspectContainerRaw', [idOrName]);
  }
  inspectImageRaw(idOrRef: string): Promise<ImageInspect | null> {
    return this.call('inspectImageRaw', [idOrRef]);
  }
  pullImage(ref: string, opts?: { auth?: RegistryAuth }): AsyncIterable<PullEvent> {
    return this.link.stream('pullImage', [ref, ...(opts ? [opts] : [])], { timeoutMs: this.timeouts.pullMs, idempotencyKey: randomId(12) }) as AsyncIterable<PullEvent>;
  }
  createContainer(name: string, body: ContainerCreateBody): Promise<{ id: string; warnings: string[] }> {
    return this.call('createContainer', [name, body]);
  }
  async startContainer(id: string): Promise<void> {
    await this.call('startContainer', [id]);
  }
  async stopContainer(id: string, opts?: { timeoutSeconds?: number }): Promise<void> {
    // The engine waits up to the stop timeout (default 10 s, a container may set more).
    await this.call('stopContainer', [id, ...(opts ? [opts] : [])], this.timeouts.callMs + (opts?.timeoutSeconds ?? 60) * 1000);
  }
  async renameContainer(id: string, newName: string): Promise<void> {
    await this.call('renameContainer', [id, newName]);
  }
  async removeContainer(id: string, opts?: { force?: boolean }): Promise<void> {
    await this.call('removeContainer', [id, ...(opts ? [opts] : [])]);
  }
  async connectNetwork(network: string, container: string, endpoint?: EndpointSettings): Promise<void> {
    await this.call('connectNetwork', [network, container, ...(endpoint ? [endpoint] : [])]);
  }
  containerLogs(id: string, opts: { tail: number }): Promise<string> {
    return this.call('containerLogs', [id, { tail: opts.tail }]);
  }
  async removeImage(idOrRef: string, opts?: { force?: boolean }): Promise<void> {
    await this.call('removeImage', [idOrRef, ...(opts ? [opts] : [])]);
  }
  /** Lines with credit from the agent; return() cancels the stream, which ends the engine request on the host. */
  streamLogs(id: string, opts: LogStreamOptions): AsyncIterable<LogLine> {
    return this.link.stream('streamLogs', [id, plain(opts)], { timeoutMs: opts.follow ? 0 : this.timeouts.pullMs }) as AsyncIterable<LogLine>;
  }
  events(opts?: { types?: string[] }): AsyncIterable<DockerEvent> {
    return this.link.stream('events', opts ? [plain(opts)] : [], { timeoutMs: 0 }) as AsyncIterable<DockerEvent>;
  }
}

/** An options object without undefined fields (they do not survive JSON, and the agent's schemas are strict). */
export function plain<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The registry checks of one host, run by its agent: registries on the host's network are
 * reachable there, and the host's own credentials (its Docker config) apply.
 */
export class RemoteImageChecker implements ImageChecker {
  constructor(
    private readonly link: LinkTransport,
    private readonly timeouts: RemoteTimeouts = DEFAULT_TIMEOUTS,
  ) {}

  async prepare(refs: ImageRef[]): Promise<void> {
    await this.link.call('registryPrepare', [refs.map((r) => plain(r))], { timeoutMs: this.timeouts.registryMs });
  }

  check(ref: ImageRef, local: { id: string; repoDigests: string[]; platform: Platform }): Promise<{ status: 'UpToDate' | 'UpdateAvailable'; remoteDigest: string }> {
    return this.link.call('registryCheck', [plain(ref), { id: local.id, repoDigests: local.repoDigests, platform: local.platform }], { timeoutMs: this.timeouts.registryMs }) as Promise<{ status: 'UpToDate' | 'UpdateAvailable'; remoteDigest: string }>;
  }

  forget(ref: ImageRef): void {
    // Best effort: an offline host has nothing cached that matters until it is back.
    void this.link.call('registryForget', [plain(ref)], { timeoutMs: this.timeouts.callMs }).catch(() => undefined);
  }
}
