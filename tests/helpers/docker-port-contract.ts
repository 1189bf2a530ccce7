import { describe, expect, it } from 'vitest';
import type { DockerPort } from '../../src/core/docker/port.js';

export interface PortFixture {
  port: DockerPort;
  running: { id: string; name: string; imageId: string; image: string };
  stopped: { id: string; name: string };
  image: { id: string; tag: string };
}

/** Plain JSON in, plain JSON out: what the remote agent will carry over a WebSocket. */
function expectJson(value: unknown): void {
  expect(JSON.parse(JSON.stringify(value))).toEqual(value);
}

/**
 * One suite for every DockerPort implementation (dockerode on each engine, the in-memory fake,
 * later the remote agent port), in the manner of unstorage's testDriver.
 */
export function describeDockerPort(name: string, fixture: () => PortFixture): void {
  describe(`DockerPort contract: ${name}`, () => {
    it('pings and reports the negotiated API version', async () => {
      const { port } = fixture();
      await expect(port.ping()).resolves.toBeUndefined();
      const info = await port.info();
      expect(info.apiVersion).toMatch(/^1\.\d+$/);
      expectJson(info);
    });

    it('lists running containers, and stopped ones only when asked', async () => {
      const { port, running, stopped } = fixture();
      const some = await port.listContainers({ all: false });
      const all = await port.listContainers({ all: true });
      expect(some.map((c) => c.id)).toContain(running.id);
      expect(some.map((c) => c.id)).not.toContain(stopped.id);
      expect(all.map((c) => c.id)).toEqual(expect.arrayContaining([running.id, stopped.id]));
      const c = some.find((x) => x.id === running.id);
      expect(c).toMatchObject({ name: running.name, imageId: running.imageId, state: 'running' });
      expect(typeof c?.created).toBe('number');
      expectJson(all);
    });

    it('inspects a container by id and by name; an unknown one is null', async () => {
      const { port, running } = fixture();
      const byId = await port.inspectContainer(running.id);
      expect(byId).toMatchObject({ id: running.id, name: running.name, image: running.image, imageId: running.imageId, running: true, restarting: false });
      expect(await port.inspectContainer(running.name)).toEqual(byId);
      expect(await port.inspectContainer('wd-no-such-container')).toBeNull();
      expectJson(byId);
    });

    it('lists and inspects images; an unknown one is null', async () => {
      const { port, image } = fixture();
      const list = await port.listImages();
      const listed = list.find((i) => i.id === image.id);
      expect(listed?.repoTags).toContain(image.tag);
      expect(listed?.repoTags).not.toContain('<none>:<none>');
      const byId = await port.inspectImage(image.id);
      expect(byId?.platform.os).toBe('linux');
      expect(byId?.platform.architecture).toMatch(/^(amd64|arm64|arm|386|ppc64le|s390x|riscv64)$/);
      expect(await port.inspectImage(image.tag)).toEqual(byId);
      expect(await port.inspectImage('wd-no-such-image:never')).toBeNull();
      expectJson(list);
      expectJson(byId);
    });
  });
}
