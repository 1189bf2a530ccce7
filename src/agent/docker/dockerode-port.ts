import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { Channel, lazyIterable } from '../../core/channel.js';
import { AppError, ErrorCode } from '../../core/errors.js';
import type {
  ContainerCreateBody,
  ContainerDetails,
  ContainerInspect,
  ContainerSummary,
  DockerEvent,
  DockerLifecyclePort,
  DockerPort,
  DockerStreamPort,
  LogLine,
  LogStreamOptions,
  EndpointSettings,
  EngineInfo,
  ImageDetails,
  ImageInspect,
  ImageSummary,
  PullEvent,
  RegistryAuth,
} from '../../core/docker/port.js';
import { dockerOptionsFor } from './engine-address.js';
import { dialModem, safe, splitReference, type DialRequest } from './engine-requests.js';
import { LogLineSplitter, demultiplex, toDockerEvent, type EngineEvent } from './engine-streams.js';

/** The newest Engine API version whose responses this adapter understands. */
export const MAX_API_VERSION = '1.47';

function compareVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

interface ModemError {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
  message?: string;
}

/**
 * The Docker port over dockerode. Every value crossing this boundary is plain JSON; dockerode
 * objects never leave this file. The API version is negotiated once: the lower of the engine's
 * and MAX_API_VERSION (an engine refuses clients pinned below its minimum, so never pin lower).
 */
export class DockerodePort implements DockerPort, DockerLifecyclePort, DockerStreamPort {
  private client: Promise<{ docker: Docker; apiVersion: string }> | null = null;
  private streams = 0;

  /** Engine responses being streamed right now (logs, events): each one's socket is still open. */
  get activeStreams(): number {
    return this.streams;
  }

  constructor(private readonly host: string) {}

  private connect(): Promise<{ docker: Docker; apiVersion: string }> {
    this.client ??= (async () => {
      const probe = new Docker(dockerOptionsFor(this.host));
      const version = (await probe.version()) as { ApiVersion?: string };
      const engineApi = version.ApiVersion ?? MAX_API_VERSION;
      const apiVersion = compareVersions(engineApi, MAX_API_VERSION) < 0 ? engineApi : MAX_API_VERSION;
      return { docker: new Docker({ ...dockerOptionsFor(this.host), version: `v${apiVersion}` }), apiVersion };
    })().catch((err: unknown) => {
      this.client = null;
      throw err;
    });
    return this.client;
  }

  private async call<T>(what: string, fn: (docker: Docker) => Promise<T>): Promise<T> {
    try {
      const { docker } = await this.connect();
      return await fn(docker);
    } catch (err) {
      throw this.wrap(what, err);
    }
  }

  private wrap(what: string, err: unknown): AppError {
    if (err instanceof AppError) return err;
    const e = (err ?? {}) as ModemError;
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES' || e.code === 'ETIMEDOUT') {
      const hint = e.code === 'EACCES' ? ' (permission denied: add the docker group, see README)' : '';
      return new AppError(ErrorCode.DockerError, `cannot reach the Docker engine at ${this.host}: ${e.code}${hint}`, null, { cause: err });
    }
    // docker-modem prefixes "(HTTP code 404) not found - "; the engine's own words are enough.
    const detail = (e.json?.message ?? e.message ?? 'unknown error').replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
    const data = e.statusCode === undefined ? null : { engineStatus: e.statusCode };
    if (e.statusCode === 404) return new AppError(ErrorCode.NotFound, `not found while ${what}: ${detail}`, data, { cause: err });
    return new AppError(ErrorCode.DockerError, `Docker engine error while ${what}: ${detail}`, data, { cause: err });
  }

  async ping(): Promise<void> {
    await this.call('pinging the engine', (d) => d.ping());
  }

  async info(): Promise<EngineInfo> {
    const { apiVersion } = await this.call('connecting', async () => this.connect());
    const v = await this.call('reading the engine version', (d) => d.version());
    return { version: v.Version, apiVersion, os: v.Os, architecture: v.Arch };
  }

  async listContainers(query: { all: boolean }): Promise<ContainerSummary[]> {
    const list = await this.call('listing containers', (d) => d.listContainers({ all: query.all }));
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      imageId: c.ImageID,
      labels: c.Labels ?? {},
      state: c.State,
      created: c.Created,
    }));
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | null> {
    try {
      const { docker } = await this.connect();
      const c = await docker.getContainer(idOrName).inspect();
      return {
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        image: c.Config.Image,
        imageId: c.Image,
        labels: c.Config.Labels ?? {},
        state: c.State.Status,
        running: c.State.Running,
        restarting: c.State.Restarting,
        created: c.Created,
      };
    } catch (err) {
      if ((err as ModemError).statusCode === 404) return null;
      throw this.wrap(`inspecting container ${idOrName}`, err);
    }
  }

  async listImages(): Promise<ImageSummary[]> {
    const list = await this.call('listing images', (d) => d.listImages({ all: false }));
    return list.map((i) => ({
      id: i.Id,
      repoTags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      repoDigests: (i.RepoDigests ?? []).filter((t) => t !== '<none>@<none>'),
      size: i.Size,
      created: i.Created,
      labels: i.Labels ?? {},
    }));
  }

  async inspectImage(idOrRef: string): Promise<ImageDetails | null> {
    try {
      const { docker } = await this.connect();
      const i = (await docker.getImage(idOrRef).inspect()) as Docker.ImageInspectInfo & { Variant?: string };
      return {
        id: i.Id,
        repoTags: i.RepoTags ?? [],
        repoDigests: i.RepoDigests ?? [],
        size: i.Size,
        created: i.Created,
        platform: { os: i.Os, architecture: i.Architecture, ...(i.Variant ? { variant: i.Variant } : {}) },
      };
    } catch (err) {
      if ((err as ModemError).statusCode === 404) return null;
      throw this.wrap(`inspecting image ${idOrRef}`, err);
    }
  }

  // ---- the lifecycle calls (DockerLifecyclePort) go straight to the engine through the modem:
  // dockerode's createContainer would also copy the whole body into the query string.

  private async dial<T>(what: string, req: DialRequest): Promise<T> {
    return this.call(what, ({ modem }) => dialModem<T>(modem, req));
  }

  async inspectContainerRaw(idOrName: string): Promise<ContainerInspect | null> {
    return this.nullOn404(this.dial<ContainerInspect>(`inspecting container ${idOrName}`, { method: 'GET', path: `/containers/${safe('container', idOrName)}/json` }));
  }

  async inspectImageRaw(idOrRef: string): Promise<ImageInspect | null> {
    return this.nullOn404(this.dial<ImageInspect>(`inspecting image ${idOrRef}`, { method: 'GET', path: `/images/${safe('image', idOrRef)}/json` }));
  }

  async *pullImage(ref: string, opts: { auth?: RegistryAuth } = {}): AsyncGenerator<PullEvent> {
    const what = `pulling ${ref}`;
    if (/^(sha256:)?[a-f0-9]{64}$/.test(ref)) throw new AppError(ErrorCode.BadRequest, `cannot pull ${ref}: that is an image ID, not a reference`, { ref });
    const { fromImage, tag } = splitReference(ref);
    const stream = await this.dial<AsyncIterable<Buffer | string>>(what, {
      method: 'POST', path: '/images/create', query: { fromImage, tag }, stream: true, ...(opts.auth ? { auth: opts.auth } : {}),
    });
    let completed = false;
    let pending = '';
    const decoder = new TextDecoder();
    const handle = (line: string): PullEvent | null => {
      if (!line.trim()) return null;
      let msg: { status?: unknown; id?: unknown; progress?: unknown; progressDetail?: unknown; error?: unknown; errorDetail?: { message?: unknown } };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        throw new AppError(ErrorCode.DockerError, `${what}: the engine sent an unreadable progress line`, { ref });
      }
      if (msg.error !== undefined || msg.errorDetail !== undefined) {
        const detail = typeof msg.error === 'string' ? msg.error : String(msg.errorDetail?.message ?? 'unknown error');
        throw new AppError(ErrorCode.DockerError, `${what} failed: ${detail}`, { ref });
      }
      const ev: PullEvent = {};
      if (typeof msg.status === 'string') {
        ev.status = msg.status;
        if (msg.status.startsWith('Status: ')) completed = true;
      }
      if (typeof msg.id === 'string') ev.id = msg.id;
      if (typeof msg.progress === 'string') ev.progress = msg.progress;
      const d = msg.progressDetail as { current?: unknown; total?: unknown } | undefined;
      if (d && (typeof d.current === 'number' || typeof d.total === 'number')) {
        ev.progressDetail = { ...(typeof d.current === 'number' ? { current: d.current } : {}), ...(typeof d.total === 'number' ? { total: d.total } : {}) };
      }
      return ev;
    };
    try {
      for await (const chunk of stream) {
        pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const ev = handle(line);
          if (ev) yield ev;
        }
      }
    } catch (err) {
      throw this.wrap(what, err);
    }
    const last = handle(pending);
    if (last) yield last;
    if (!completed) throw new AppError(ErrorCode.DockerError, `${what} ended before the engine reported it complete`, { ref });
  }

  async createContainer(name: string, body: ContainerCreateBody): Promise<{ id: string; warnings: string[] }> {
    const res = await this.dial<{ Id: string; Warnings?: string[] | null }>(`creating container ${name}`, {
      method: 'POST', path: '/containers/create', query: { name }, body, ok: [200, 201],
    });
    return { id: res.Id, warnings: res.Warnings ?? [] };
  }

  async startContainer(id: string): Promise<void> {
    await this.dial(`starting container ${id}`, { method: 'POST', path: `/containers/${safe('container', id)}/start`, ok: [204, 304] });
  }

  async stopContainer(id: string, opts: { timeoutSeconds?: number } = {}): Promise<void> {
    const query: Record<string, number> = opts.timeoutSeconds === undefined ? {} : { t: opts.timeoutSeconds };
    await this.dial(`stopping container ${id}`, { method: 'POST', path: `/containers/${safe('container', id)}/stop`, query, ok: [204, 304] });
  }

  async renameContainer(id: string, newName: string): Promise<void> {
    await this.dial(`renaming container ${id} to ${newName}`, { method: 'POST', path: `/containers/${safe('container', id)}/rename`, query: { name: newName }, ok: [204] });
  }

  async removeContainer(id: string, opts: { force?: boolean } = {}): Promise<void> {
    // v=false: volumes are the user's data and outlive every container we replace.
    await this.dial(`removing container ${id}`, { method: 'DELETE', path: `/containers/${safe('container', id)}`, query: { force: opts.force === true, v: false }, ok: [204] });
  }

  async connectNetwork(network: string, container: string, endpoint: EndpointSettings = {}): Promise<void> {
    await this.dial(`connecting container ${container} to network ${network}`, {
      method: 'POST', path: `/networks/${safe('network', network)}/connect`, body: { Container: container, EndpointConfig: endpoint },
    });
  }

  async containerLogs(id: string, opts: { tail: number }): Promise<string> {
    const what = `reading the logs of container ${id}`;
    const info = await this.dial<ContainerInspect>(what, { method: 'GET', path: `/containers/${safe('container', id)}/json` });
    const stream = await this.dial<AsyncIterable<Buffer | string>>(what, {
      method: 'GET', path: `/containers/${safe('container', id)}/logs`, query: { stdout: true, stderr: true, tail: String(Math.max(0, Math.floor(opts.tail))) }, stream: true,
    });
    const chunks: Buffer[] = [];
    try {
      for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    } catch (err) {
      throw this.wrap(what, err);
    }
    const raw = Buffer.concat(chunks);
    return info.Config.Tty ? raw.toString('utf8') : demultiplex(raw);
  }

  async removeImage(idOrRef: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.dial(`removing image ${idOrRef}`, { method: 'DELETE', path: `/images/${safe('image', idOrRef)}`, query: { force: opts.force === true, noprune: false } });
  }

  // ---- streams (DockerStreamPort): the engine's response is read as it comes and destroyed
  // when the consumer stops iterating.

  streamLogs(id: string, opts: LogStreamOptions): AsyncIterable<LogLine> {
    const what = `streaming the logs of container ${id}`;
    return lazyIterable(async () => {
      const path = `/containers/${safe('container', id)}`;
      const info = await this.dial<ContainerInspect>(what, { method: 'GET', path: `${path}/json` });
      const tail = opts.tail === undefined ? 'all' : String(Math.max(0, Math.floor(opts.tail)));
      const stream = await this.dial<Readable>(what, {
        method: 'GET', path: `${path}/logs`, stream: true,
        query: { stdout: true, stderr: true, follow: opts.follow === true, timestamps: opts.timestamps === true, tail },
      });
      const lines = new LogLineSplitter(info.Config.Tty === true, opts.timestamps === true);
      return this.channelOver(stream, what, (chunk, push) => lines.feed(chunk, push), (push) => lines.flush(push));
    });
  }

  events(opts: { types?: string[] } = {}): AsyncIterable<DockerEvent> {
    const what = 'reading the engine\'s event stream';
    return lazyIterable(async () => {
      const query: Record<string, string> = opts.types?.length ? { filters: JSON.stringify({ type: opts.types }) } : {};
      const stream = await this.dial<Readable>(what, { method: 'GET', path: '/events', query, stream: true });
      const decoder = new TextDecoder();
      let pending = '';
      const parse = (line: string, push: (e: DockerEvent) => void): void => {
        if (!line.trim()) return;
        const ev = toDockerEvent(JSON.parse(line) as EngineEvent);
        if (ev) push(ev);
      };
      return this.channelOver<DockerEvent>(
        stream, what,
        (chunk, push) => {
          pending += decoder.decode(chunk, { stream: true });
          const parts = pending.split('\n');
          pending = parts.pop() ?? '';
          for (const line of parts) parse(line, push);
        },
        (push) => parse(pending, push),
      );
    });
  }

  /**
   * A channel fed by an engine response: paused while 256 items wait unread (back-pressure up to
   * the engine), destroyed when the consumer stops, an error of the response ends it as an AppError.
   */
  private channelOver<T>(stream: Readable, what: string, feed: (chunk: Buffer, push: (v: T) => void) => void, flush: (push: (v: T) => void) => void): Channel<T> {
    const ch: Channel<T> = new Channel<T>({
      highWaterMark: 256,
      onFull: () => stream.pause(),
      onDrain: () => stream.resume(),
      onClose: () => stream.destroy(),
    });
    const push = (v: T): void => ch.push(v);
    this.streams++;
    stream.once('close', () => this.streams--);
    stream.on('data', (chunk: Buffer | string) => {
      try {
        feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, push);
      } catch (err) {
        ch.end(new AppError(ErrorCode.DockerError, `${what}: the engine sent data that could not be read (${String(err)})`));
        stream.destroy();
      }
    });
    stream.once('end', () => {
      flush(push);
      ch.end();
    });
    stream.once('error', (err) => ch.end(this.wrap(what, err)));
    // Destroyed without 'end' (the engine went away): the consumer must not wait for ever.
    stream.once('close', () => ch.end(ch.done ? undefined : new AppError(ErrorCode.DockerError, `${what}: the engine closed the stream`)));
    return ch;
  }

  private async nullOn404<T>(p: Promise<T>): Promise<T | null> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof AppError && err.data?.engineStatus === 404) return null;
      throw err;
    }
  }
}
