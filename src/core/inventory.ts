import { mapLimit } from './concurrency.js';
import type { ContainerSummary, DockerPort, ImageSummary, Platform } from './docker/port.js';
import { repoDigestsFor, tryParseImageRef } from './image-ref.js';

export type ContainerStatus = 'NotChecked' | 'UpToDate' | 'UpdateAvailable' | 'Skipped' | 'Error';

export interface ComposeInfo {
  project: string;
  service: string;
  workingDir: string | undefined;
  configFiles: string[];
}

/** What discovery knows about a container, before any registry check. */
export interface ContainerInfo {
  id: string;
  name: string;
  /** The image reference as written at create time. */
  image: string;
  imageId: string;
  running: boolean;
  state: string;
  /** ISO 8601. */
  created: string;
  labels: Record<string, string>;
  repoTags: string[];
  repoDigests: string[];
  /** The image's platform; absent when the image is gone from the engine. */
  platform: Platform | undefined;
  compose: ComposeInfo | undefined;
  /** The local digest for this container's repository, when the engine knows one. */
  currentDigest: string | undefined;
}

export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  created: string;
  platform: Platform | undefined;
  containers: { id: string; name: string }[];
}

/**
 * A container as the list shows it, before any inspect: given only for containers whose
 * reference is known from the list (not an image ID) and whose image is on the host.
 */
export type ListedContainer = Pick<ContainerInfo, 'id' | 'image' | 'imageId' | 'labels' | 'repoDigests'>;

const IMAGE_ID = /^(sha256:)?[a-f0-9]{12,64}$/;
const INSPECT_CONCURRENCY = 8;

function composeOf(labels: Record<string, string>): ComposeInfo | undefined {
  const project = labels['com.docker.compose.project'];
  if (!project) return undefined;
  const files = labels['com.docker.compose.project.config_files'];
  return {
    project,
    service: labels['com.docker.compose.service'] ?? '',
    workingDir: labels['com.docker.compose.project.working_dir'],
    configFiles: files ? files.split(',').filter(Boolean) : [],
  };
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}

/**
 * Reads containers and images from an engine. Image platforms are cached by image ID (an ID
 * names immutable content); tags and digests are read fresh every time, since they move.
 */
export class Inventory {
  private readonly platforms = new Map<string, Promise<Platform | undefined>>();

  constructor(private readonly docker: DockerPort) {}

  private platformOf(imageId: string): Promise<Platform | undefined> {
    let p = this.platforms.get(imageId);
    if (!p) {
      p = this.docker.inspectImage(imageId).then((d) => d?.platform);
      p.catch(() => this.platforms.delete(imageId));
      this.platforms.set(imageId, p);
    }
    return p;
  }

  /** The reference the container was created with; the list shows an ID once the tag has moved. */
  private async writtenImage(c: ContainerSummary): Promise<string> {
    if (!IMAGE_ID.test(c.image)) return c.image;
    const details = await this.docker.inspectContainer(c.id);
    return details?.image ?? c.image;
  }

  /**
   * `onListed` is called once the lists are read, before the inspects, with what is known by
   * then (so a caller can start registry work while the inspects run).
   */
  /**
   * Discovers containers. `onListed` hears the containers known from the lists alone (before
   * any inspect); `onContainer` hears each container as soon as it is complete, so a caller can
   * start work on it while the others are still inspected.
   */
  async containers(
    query: { includeStopped: boolean },
    onListed?: (listed: ListedContainer[]) => void,
    onContainer?: (info: ContainerInfo) => void,
  ): Promise<ContainerInfo[]> {
    const [list, images] = await Promise.all([this.docker.listContainers({ all: query.includeStopped }), this.docker.listImages()]);
    const byId = new Map(images.map((i) => [i.id, i]));
    if (onListed) {
      const listed: ListedContainer[] = [];
      for (const c of list) {
        const image = byId.get(c.imageId);
        if (image && !IMAGE_ID.test(c.image)) listed.push({ id: c.id, image: c.image, imageId: c.imageId, labels: c.labels, repoDigests: image.repoDigests });
      }
      onListed(listed);
    }
    return mapLimit(list, INSPECT_CONCURRENCY, async (c) => {
      const image = byId.get(c.imageId);
      const [written, platform] = await Promise.all([this.writtenImage(c), image ? this.platformOf(c.imageId) : undefined]);
      const repoDigests = image?.repoDigests ?? [];
      const ref = tryParseImageRef(written);
      const currentDigest = ref?.digest ?? (ref ? repoDigestsFor(ref, repoDigests)[0] : undefined);
      const info: ContainerInfo = {
        id: c.id,
        name: c.name,
        image: written,
        imageId: c.imageId,
        running: c.state === 'running',
        state: c.state,
        created: iso(c.created),
        labels: c.labels,
        repoTags: image?.repoTags ?? [],
        repoDigests,
        platform,
        compose: composeOf(c.labels),
        currentDigest,
      };
      onContainer?.(info);
      return info;
    });
  }

  async images(): Promise<ImageInfo[]> {
    const [images, containers] = await Promise.all([this.docker.listImages(), this.docker.listContainers({ all: true })]);
    const users = new Map<string, { id: string; name: string }[]>();
    for (const c of containers) {
      const list = users.get(c.imageId) ?? [];
      list.push({ id: c.id, name: c.name });
      users.set(c.imageId, list);
    }
    return mapLimit(images, INSPECT_CONCURRENCY, async (i: ImageSummary) => ({
      id: i.id,
      repoTags: i.repoTags,
      repoDigests: i.repoDigests,
      size: i.size,
      created: iso(i.created),
      platform: await this.platformOf(i.id),
      containers: users.get(i.id) ?? [],
    }));
  }
}
