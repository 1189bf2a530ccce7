import type {
  ContainerCreateBody,
  ContainerDetails,
  ContainerInspect,
  ContainerSummary,
  DockerEvent,
  DockerLifecyclePort,
  DockerPort,
  DockerStreamPort,
  EndpointSettings,
  EngineInfo,
  ImageConfig,
  ImageDetails,
  ImageInspect,
  ImageSummary,
  LogLine,
  LogStreamOptions,
  PullEvent,
  RegistryAuth,
} from '../../src/core/docker/port.js';
import { Channel, lazyIterable } from '../../src/core/channel.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { compareApiVersions } from '../../src/core/updater/network-config.js';
import { attachEndpoint, fakeId, inspectFromCreate, linesPrinted, type FakeBehaviour } from './updater-fake-engine.js';

export interface MemoryContainer extends ContainerDetails {}
export interface MemoryImage extends ImageDetails {
  /** The image's Config (image inspect); empty when not given. */
  config?: ImageConfig;
  /** What a container of this image does when started. */
  behaviour?: FakeBehaviour;
}

const notFound = (what: string) => new AppError(ErrorCode.NotFound, `not found: ${what}`, { engineStatus: 404 });
const refused = (status: number, what: string) => new AppError(ErrorCode.DockerError, `Docker engine error: ${what}`, { engineStatus: status });

/** An in-memory Docker port: the fake for unit tests of pure logic, handlers and the updater. */
export class MemoryDocker implements DockerPort, DockerLifecyclePort, DockerStreamPort {
  readonly containers = new Map<string, MemoryContainer>();
  readonly images = new Map<string, MemoryImage>();
  /** Images a pull can fetch, by reference. */
  readonly remote = new Map<string, MemoryImage>();
  /** Engine-side state of each container (inspect JSON), kept in step with `containers`. */
  readonly raw = new Map<string, ContainerInspect>();
  readonly logs = new Map<string, string[]>();
  /** Networks that exist (connect refuses others); undefined: any name is accepted. */
  networks: Set<string> | undefined;
  /** The API version the fake speaks: below 1.44 it refuses several networks at create. */
  apiVersion = '1.47';
  /** When set, every call rejects with it (an engine that is down). */
  failure: Error | null = null;
  /** Credentials the last pull was given. */
  lastPullAuth: RegistryAuth | undefined;
  calls: string[] = [];
  /** Open event and followed-log streams (a stream that was released is gone from here). */
  readonly eventStreams = new Set<Channel<DockerEvent>>();
  readonly logFollowers = new Map<Channel<LogLine>, string>();
  /** `${id} ${line}` of lines a container printed on stderr. */
  private readonly stderrLines = new Set<string>();

  private guard(call: string): void {
    this.calls.push(call);
    if (this.failure) throw this.failure;
  }

  addImage(img: Partial<MemoryImage> & { id: string }): MemoryImage {
    const full: MemoryImage = { repoTags: [], repoDigests: [], size: 1024, created: '2026-01-01T00:00:00.000Z', platform: { os: 'linux', architecture: 'amd64' }, ...img };
    this.images.set(full.id, full);
    return full;
  }

  /** Puts an image in the fake registry under `ref`, for pullImage to fetch. */
  addRemote(ref: string, img: Partial<MemoryImage> & { id: string }): void {
    this.remote.set(ref, { repoTags: [], repoDigests: [], size: 1024, created: '2026-01-01T00:00:00.000Z', platform: { os: 'linux', architecture: 'amd64' }, ...img });
  }

  addContainer(c: Partial<MemoryContainer> & { id: string; name: string; image: string; imageId: string }): MemoryContainer {
    const full: MemoryContainer = { labels: {}, state: 'running', running: true, restarting: false, created: '2026-01-02T00:00:00.000Z', ...c };
    this.containers.set(full.id, full);
    return full;
  }

  async ping(): Promise<void> {
    this.guard('ping');
  }

  async info(): Promise<EngineInfo> {
    this.guard('info');
    return { version: 'memory', apiVersion: this.apiVersion, os: 'linux', architecture: 'x86_64' };
  }

  async listContainers(query: { all: boolean }): Promise<ContainerSummary[]> {
    this.guard('listContainers');
    return [...this.containers.values()]
      .filter((c) => query.all || c.state === 'running')
      .map((c) => ({ id: c.id, name: c.name, image: c.image, imageId: c.imageId, labels: c.labels, state: c.state, created: Date.parse(c.created) / 1000 }));
  }

  private find(idOrName: string): MemoryContainer | undefined {
    return this.containers.get(idOrName) ?? [...this.containers.values()].find((c) => c.name === idOrName.replace(/^\//, '')) ?? [...this.containers.values()].find((c) => c.id.startsWith(idOrName));
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | null> {
    this.guard(`inspectContainer ${idOrName}`);
    return this.find(idOrName) ?? null;
  }

  async listImages(): Promise<ImageSummary[]> {
    this.guard('listImages');
    return [...this.images.values()].map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size, created: Date.parse(i.created) / 1000, labels: {} }));
  }

  private findImage(idOrRef: string): MemoryImage | undefined {
    return this.images.get(idOrRef) ?? [...this.images.values()].find((i) => i.repoTags.includes(idOrRef));
  }

  async inspectImage(idOrRef: string): Promise<ImageDetails | null> {
    this.guard(`inspectImage ${idOrRef}`);
    const img = this.findImage(idOrRef);
    if (!img) return null;
    const { config: _config, behaviour: _behaviour, ...details } = img;
    return details;
  }

  // ---- DockerLifecyclePort

  /** The engine-side state of a container; made up from its details when added with addContainer. */
  private state(idOrName: string): ContainerInspect | undefined {
    const c = this.find(idOrName);
    if (!c) return undefined;
    let raw = this.raw.get(c.id);
    if (!raw) {
      raw = {
        Id: c.id, Name: `/${c.name}`, Created: c.created, Image: c.imageId, RestartCount: 0,
        State: { Status: c.state, Running: c.running, Restarting: c.restarting, ExitCode: 0 },
        Config: { Image: c.image, Labels: c.labels, Hostname: c.id.slice(0, 12) },
        HostConfig: { NetworkMode: 'none' }, NetworkSettings: { Networks: {} }, Mounts: [],
      };
      this.raw.set(c.id, raw);
    }
    return raw;
  }

  private must(idOrName: string): ContainerInspect {
    const raw = this.state(idOrName);
    if (!raw) throw notFound(`no such container: ${idOrName}`);
    return raw;
  }

  /** Copies engine-side state to the details the summary calls report. */
  private sync(raw: ContainerInspect): void {
    this.containers.set(raw.Id, {
      id: raw.Id, name: raw.Name.replace(/^\//, ''), image: raw.Config.Image ?? '', imageId: raw.Image, labels: raw.Config.Labels ?? {},
      state: raw.State.Status, running: raw.State.Running, restarting: raw.State.Restarting, created: raw.Created,
    });
  }

  async inspectContainerRaw(idOrName: string): Promise<ContainerInspect | null> {
    this.guard(`inspectContainerRaw ${idOrName}`);
    const raw = this.state(idOrName);
    return raw ? structuredClone(raw) : null;
  }

  async inspectImageRaw(idOrRef: string): Promise<ImageInspect | null> {
    this.guard(`inspectImageRaw ${idOrRef}`);
    const i = this.findImage(idOrRef);
    if (!i) return null;
    return { Id: i.id, RepoTags: i.repoTags, RepoDigests: i.repoDigests, Created: i.created, Os: i.platform.os, Architecture: i.platform.architecture, Config: structuredClone(i.config ?? {}) };
  }

  async *pullImage(ref: string, opts: { auth?: RegistryAuth } = {}): AsyncGenerator<PullEvent> {
    this.guard(`pullImage ${ref}`);
    this.lastPullAuth = opts.auth;
    const img = this.remote.get(ref);
    if (!img) throw notFound(`manifest for ${ref} not found: manifest unknown`);
    yield { status: 'Pulling from fake', id: 'latest' };
    for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => t !== ref);
    const local = this.images.get(img.id) ?? this.addImage({ ...structuredClone(img), repoTags: [] });
    local.repoTags = [...local.repoTags, ref];
    yield { status: `Status: Downloaded newer image for ${ref}` };
  }

  async createContainer(name: string, body: ContainerCreateBody): Promise<{ id: string; warnings: string[] }> {
    this.guard(`createContainer ${name}`);
    if (this.find(name)?.name === name) throw refused(409, `Conflict. The container name "/${name}" is already in use`);
    const img = this.findImage(body.Image ?? '');
    if (!img) throw notFound(`no such image: ${body.Image}`);
    const endpoints = Object.keys(body.NetworkingConfig?.EndpointsConfig ?? {});
    if (endpoints.length > 1 && compareApiVersions(this.apiVersion, '1.44') < 0) throw refused(400, 'Container cannot be connected to network endpoints');
    const id = fakeId();
    const raw = inspectFromCreate(id, name, img.id, img.config ?? {}, structuredClone(body), new Date().toISOString());
    this.raw.set(id, raw);
    this.sync(raw);
    this.emit('create', raw);
    return { id, warnings: [] };
  }

  async startContainer(id: string): Promise<void> {
    this.guard(`startContainer ${id}`);
    const raw = this.must(id);
    if (raw.State.Running) return;
    const behaviour = this.images.get(raw.Image)?.behaviour;
    // With a TTY the engine cannot tell stderr from stdout.
    this.appendLogs(raw.Id, linesPrinted(raw.Config.Cmd, behaviour), raw.Config.Tty ? new Set() : stderrPrinted(raw.Config.Cmd));
    const exited = behaviour?.exitCode !== undefined;
    raw.State = { ...raw.State, Status: exited ? 'exited' : 'running', Running: !exited, ExitCode: behaviour?.exitCode ?? 0, StartedAt: new Date().toISOString() };
    this.emit('start', raw);
    if (exited) this.emit('die', raw);
    const test = raw.Config.Healthcheck?.Test ?? [];
    if (!exited && test.length > 0 && test[0] !== 'NONE') raw.State.Health = { Status: behaviour?.health ?? 'healthy', FailingStreak: 0, Log: [] };
    this.sync(raw);
  }

  async stopContainer(id: string, _opts: { timeoutSeconds?: number } = {}): Promise<void> {
    this.guard(`stopContainer ${id}`);
    const raw = this.must(id);
    raw.State = { ...raw.State, Status: 'exited', Running: false, Restarting: false, FinishedAt: new Date().toISOString() };
    this.emit('die', raw);
    this.emit('stop', raw);
    for (const [ch, of] of this.logFollowers) {
      if (of !== raw.Id) continue;
      this.logFollowers.delete(ch);
      ch.end();
    }
    if (raw.HostConfig.AutoRemove) {
      this.raw.delete(raw.Id);
      this.containers.delete(raw.Id);
      return;
    }
    this.sync(raw);
  }

  async renameContainer(id: string, newName: string): Promise<void> {
    this.guard(`renameContainer ${id} ${newName}`);
    const raw = this.must(id);
    const holder = this.find(newName);
    if (holder?.name === newName && holder.id !== raw.Id) throw refused(409, `Conflict. The container name "/${newName}" is already in use`);
    raw.Name = `/${newName}`;
    this.emit('rename', raw);
    this.sync(raw);
  }

  async removeContainer(id: string, opts: { force?: boolean } = {}): Promise<void> {
    this.guard(`removeContainer ${id}`);
    const raw = this.must(id);
    if (raw.State.Running && !opts.force) throw refused(409, 'You cannot remove a running container. Stop the container before attempting removal or force remove');
    this.emit('destroy', raw);
    this.raw.delete(raw.Id);
    this.containers.delete(raw.Id);
  }

  async connectNetwork(network: string, container: string, endpoint: EndpointSettings = {}): Promise<void> {
    this.guard(`connectNetwork ${network} ${container}`);
    if (this.networks && !this.networks.has(network)) throw notFound(`network ${network} not found`);
    const raw = this.must(container);
    const networks = (raw.NetworkSettings.Networks ??= {});
    if (networks[network]) throw refused(403, `endpoint with name ${raw.Name.slice(1)} already exists in network ${network}`);
    networks[network] = attachEndpoint(endpoint, raw.Id.slice(0, 12), Object.keys(networks).length + 2);
  }

  async containerLogs(id: string, opts: { tail: number }): Promise<string> {
    this.guard(`containerLogs ${id}`);
    const raw = this.must(id);
    const lines = this.logs.get(raw.Id) ?? [];
    return lines.slice(Math.max(0, lines.length - opts.tail)).map((l) => `${l}\n`).join('');
  }

  // ---- DockerStreamPort

  /** Adds lines to a container's output (followers get them at once). */
  appendLogs(id: string, lines: string[], stderr: ReadonlySet<string> = new Set()): void {
    this.logs.set(id, [...(this.logs.get(id) ?? []), ...lines]);
    for (const l of lines) if (stderr.has(l)) this.stderrLines.add(`${id} ${l}`);
    for (const [ch, of] of this.logFollowers) if (of === id) for (const text of lines) ch.push(this.logLine(id, text));
  }

  private logLine(id: string, text: string): LogLine {
    return { stream: this.stderrLines.has(`${id} ${text}`) ? 'stderr' : 'stdout', text };
  }

  private emit(action: string, raw: ContainerInspect): void {
    const name = raw.Name.replace(/^\//, '');
    const ev: DockerEvent = { type: 'container', action, id: raw.Id, name, time: new Date().toISOString(), attributes: { name, image: raw.Config.Image ?? '' } };
    for (const ch of this.eventStreams) ch.push(ev);
  }

  streamLogs(id: string, opts: LogStreamOptions): AsyncIterable<LogLine> {
    return lazyIterable(async () => {
      this.guard(`streamLogs ${id}`);
      const raw = this.must(id);
      const lines = this.logs.get(raw.Id) ?? [];
      const ch: Channel<LogLine> = new Channel<LogLine>({ onClose: () => this.logFollowers.delete(ch) });
      for (const text of lines.slice(opts.tail === undefined ? 0 : Math.max(0, lines.length - opts.tail))) {
        ch.push({ ...this.logLine(raw.Id, text), ...(opts.timestamps ? { ts: new Date().toISOString() } : {}) });
      }
      // Like the engine: following a container that is not running ends at once.
      if (opts.follow && raw.State.Running) this.logFollowers.set(ch, raw.Id);
      else ch.end();
      return ch;
    });
  }

  events(opts: { types?: string[] } = {}): AsyncIterable<DockerEvent> {
    this.guard('events');
    const ch: Channel<DockerEvent> = new Channel<DockerEvent>({ onClose: () => this.eventStreams.delete(ch) });
    if (!opts.types || opts.types.includes('container')) this.eventStreams.add(ch);
    return ch;
  }

  async removeImage(idOrRef: string, opts: { force?: boolean } = {}): Promise<void> {
    this.guard(`removeImage ${idOrRef}`);
    const img = this.findImage(idOrRef);
    if (!img) throw notFound(`no such image: ${idOrRef}`);
    const user = [...this.raw.values()].find((c) => c.Image === img.id) ?? [...this.containers.values()].find((c) => c.imageId === img.id);
    if (user && !opts.force) throw refused(409, `conflict: unable to delete ${idOrRef} - image is being used by a container`);
    this.images.delete(img.id);
  }
}

/** The words a `sh -c` command line echoes to stderr (`echo word >&2`). */
function stderrPrinted(cmd: readonly string[] | null | undefined): Set<string> {
  const script = cmd?.[0] === 'sh' && cmd[1] === '-c' ? (cmd[2] ?? '') : '';
  return new Set([...script.matchAll(/echo ([\w.-]+) >&2/g)].map((m) => m[1] ?? ''));
}
