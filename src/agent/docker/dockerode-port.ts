import Docker from 'dockerode';
import { AppError, ErrorCode } from '../../core/errors.js';
import type {
  ContainerDetails,
  ContainerSummary,
  DockerPort,
  EngineInfo,
  ImageDetails,
  ImageSummary,
} from '../../core/docker/port.js';
import { dockerOptionsFor } from './engine-address.js';

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
export class DockerodePort implements DockerPort {
  private client: Promise<{ docker: Docker; apiVersion: string }> | null = null;

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
    const detail = e.json?.message ?? e.message ?? 'unknown error';
    return new AppError(ErrorCode.DockerError, `Docker engine error while ${what}: ${detail}`, null, { cause: err });
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
}
