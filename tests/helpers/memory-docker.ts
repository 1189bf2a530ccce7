import type { ContainerDetails, ContainerSummary, DockerPort, EngineInfo, ImageDetails, ImageSummary } from '../../src/core/docker/port.js';

export interface MemoryContainer extends ContainerDetails {}
export interface MemoryImage extends ImageDetails {}

/** An in-memory Docker port: the fake for unit tests of pure logic and handlers. */
export class MemoryDocker implements DockerPort {
  readonly containers = new Map<string, MemoryContainer>();
  readonly images = new Map<string, MemoryImage>();
  /** When set, every call rejects with it (an engine that is down). */
  failure: Error | null = null;
  calls: string[] = [];

  private guard(call: string): void {
    this.calls.push(call);
    if (this.failure) throw this.failure;
  }

  addImage(img: Partial<MemoryImage> & { id: string }): MemoryImage {
    const full: MemoryImage = { repoTags: [], repoDigests: [], size: 1024, created: '2026-01-01T00:00:00.000Z', platform: { os: 'linux', architecture: 'amd64' }, ...img };
    this.images.set(full.id, full);
    return full;
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
    return { version: 'memory', apiVersion: '1.47', os: 'linux', architecture: 'x86_64' };
  }

  async listContainers(query: { all: boolean }): Promise<ContainerSummary[]> {
    this.guard('listContainers');
    return [...this.containers.values()]
      .filter((c) => query.all || c.state === 'running')
      .map((c) => ({ id: c.id, name: c.name, image: c.image, imageId: c.imageId, labels: c.labels, state: c.state, created: Date.parse(c.created) / 1000 }));
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | null> {
    this.guard(`inspectContainer ${idOrName}`);
    return this.containers.get(idOrName) ?? [...this.containers.values()].find((c) => c.name === idOrName || c.id.startsWith(idOrName)) ?? null;
  }

  async listImages(): Promise<ImageSummary[]> {
    this.guard('listImages');
    return [...this.images.values()].map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size, created: Date.parse(i.created) / 1000, labels: {} }));
  }

  async inspectImage(idOrRef: string): Promise<ImageDetails | null> {
    this.guard(`inspectImage ${idOrRef}`);
    return this.images.get(idOrRef) ?? [...this.images.values()].find((i) => i.repoTags.includes(idOrRef)) ?? null;
  }
}
