import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { describeDockerPort, type PortFixture } from '../helpers/docker-port-contract.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { testApp } from '../helpers/test-app.js';

interface View {
  id: string; name: string; image: string; imageId: string; running: boolean; state: string; labels: Record<string, string>;
  repoTags: string[]; repoDigests: string[]; currentDigest?: string; status: string; skipped: boolean;
  platform?: { os: string; architecture: string; variant?: string };
  compose?: { project: string; service: string; workingDir?: string; configFiles: string[] };
}

for (const host of bed().engines) {
  describe(`discovery on ${host}`, () => {
    const port = new DockerodePort(host);
    const repo = `${bed().regPlain}/wdt/${uniqueName('disc')}`;
    const localTag = `${uniqueName('local')}:latest`;
    const names = { pushed: uniqueName('pushed'), local: uniqueName('localc'), stopped: uniqueName('stopped'), moved: uniqueName('moved') };
    const composeProject = uniqueName('proj').replace(/[^a-z0-9_-]/g, '');
    let pushedDigest = '';
    let imageId = '';
    let movedImageId = '';
    let composeDir = '';
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      imageId = await buildImage(host, `${repo}:v1`, { labels: { 'org.example.team': 'core' } });
      await pushImage(host, `${repo}:v1`);
      const digests = JSON.parse(await docker(host, ['image', 'inspect', '--format', '{{json .RepoDigests}}', `${repo}:v1`])) as string[];
      pushedDigest = (digests[0] ?? '').split('@')[1] ?? '';
      await buildImage(host, localTag);
      ids.pushed = await docker(host, ['run', '-d', '--network', 'none', '--name', names.pushed, '--label', 'watchdocker.skip=true', '--label', 'tier=web', `${repo}:v1`]);
      ids.local = await docker(host, ['run', '-d', '--network', 'none', '--name', names.local, localTag]);
      ids.stopped = await docker(host, ['create', '--network', 'none', '--name', names.stopped, localTag]);
      // A container whose tag later moves to another image: the engine then lists it by image ID.
      movedImageId = await buildImage(host, `${repo}:moving`);
      ids.moved = await docker(host, ['run', '-d', '--network', 'none', '--name', names.moved, `${repo}:moving`]);
      await buildImage(host, `${repo}:moving`);
      if (bed().compose) {
        composeDir = mkdtempSync(join(tmpdir(), 'wdt-compose-'));
        writeFileSync(join(composeDir, 'compose.yaml'), `services:\n  app:\n    image: ${repo}:v1\n    network_mode: none\n`);
        await docker(host, ['compose', '-p', composeProject, '-f', join(composeDir, 'compose.yaml'), 'up', '-d'], { timeoutMs: 60_000 });
      }
    });

    afterAll(async () => {
      if (composeDir) await dockerQuiet(host, ['compose', '-p', composeProject, '-f', join(composeDir, 'compose.yaml'), 'down', '--timeout', '1']);
      for (const n of Object.values(names)) await dockerQuiet(host, ['rm', '-f', n]);
      await dockerQuiet(host, ['rmi', '-f', `${repo}:v1`, `${repo}:moving`, movedImageId, localTag]);
    });

    const list = async (query = ''): Promise<View[]> => {
      const res = await testApp(port).request(`/api/containers${query}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: { containers: View[] } }).data.containers;
    };

    it('lists a pushed image with its RepoDigests, labels and platform', async () => {
      const c = (await list()).find((x) => x.name === names.pushed);
      expect(pushedDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(c).toMatchObject({
        id: ids.pushed, image: `${repo}:v1`, imageId, running: true, state: 'running', status: 'NotChecked', skipped: false,
        repoDigests: [`${repo}@${pushedDigest}`], currentDigest: pushedDigest,
        labels: expect.objectContaining({ 'watchdocker.skip': 'true', tier: 'web', 'org.example.team': 'core' }),
      });
      expect(c?.repoTags).toContain(`${repo}:v1`);
      const arch = (await docker(host, ['version', '--format', '{{.Server.Arch}}'])).trim();
      expect(c?.platform).toEqual({ os: 'linux', architecture: arch });
    });

    it('shows a local build with no RepoDigests and no digest', async () => {
      const c = (await list()).find((x) => x.name === names.local);
      expect(c).toMatchObject({ image: localTag, repoDigests: [] });
      expect(c).not.toHaveProperty('currentDigest');
    });

    it('keeps the image reference as written after its tag moved to another image', async () => {
      const c = (await list()).find((x) => x.name === names.moved);
      expect(c).toMatchObject({ image: `${repo}:moving`, imageId: movedImageId });
      expect(c?.repoTags).not.toContain(`${repo}:moving`);
    });

    it('includes stopped containers only when asked', async () => {
      expect((await list()).map((c) => c.name)).not.toContain(names.stopped);
      const stopped = (await list('?all=true')).find((c) => c.name === names.stopped);
      expect(stopped).toMatchObject({ running: false, state: 'created' });
      const viaConfig = await testApp(port, { env: { WATCH_DOCKER_INCLUDE_STOPPED: 'true' } }).request('/api/containers');
      expect(JSON.stringify(await viaConfig.json())).toContain(names.stopped);
    });

    it.runIf(bed().compose)('reports the compose labels of a real compose project', async () => {
      const c = (await list()).find((x) => x.compose?.project === composeProject);
      expect(c?.compose).toEqual({ project: composeProject, service: 'app', workingDir: composeDir, configFiles: [join(composeDir, 'compose.yaml')] });
      expect(c?.image).toBe(`${repo}:v1`);
    });

    it('lists images with the containers that use them', async () => {
      const res = await testApp(port).request('/api/images');
      const body = (await res.json()) as { data: { images: { id: string; repoTags: string[]; repoDigests: string[]; size: number; platform?: { os: string }; containers: { name: string }[] }[] } };
      const img = body.data.images.find((i) => i.id === imageId);
      expect(img?.repoTags).toContain(`${repo}:v1`);
      expect(img?.repoDigests).toEqual([`${repo}@${pushedDigest}`]);
      expect(img?.size).toBeGreaterThan(0);
      expect(img?.platform?.os).toBe('linux');
      expect(img?.containers.map((c) => c.name)).toContain(names.pushed);
    });

    const fixture: PortFixture = {
      port,
      get running() { return { id: ids.pushed ?? '', name: names.pushed, imageId, image: `${repo}:v1` }; },
      get stopped() { return { id: ids.stopped ?? '', name: names.stopped }; },
      get image() { return { id: imageId, tag: `${repo}:v1` }; },
    };
    describeDockerPort(`dockerode on ${host}`, () => fixture);
  });
}
