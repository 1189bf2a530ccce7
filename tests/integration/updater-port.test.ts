import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { describeDockerLifecycle } from '../helpers/docker-port-contract.js';
import { buildImage } from '../helpers/images.js';
import { BedScratch, updaterEngines } from '../helpers/updater-bed.js';

// Both engines at once: each has its own containers, networks and repositories.
describe.concurrent('the Docker port lifecycle calls', () => {
  for (const { host, label, block } of updaterEngines()) {
    describe(`Docker port lifecycle on ${label}`, () => {
      const scratch = new BedScratch(host);
      const networks: [string, string] = ['', ''];

      beforeAll(async () => {
        networks[0] = await scratch.network(block + 10);
        networks[1] = await scratch.network(block + 11);
      });
      afterAll(() => scratch.cleanup());

      it('refuses names that would reach another endpoint of the engine', async () => {
        const port = new DockerodePort(host);
        for (const p of [port.inspectContainerRaw('../images/x'), port.removeContainer('a/../../images/x'), port.removeImage('wd/../../containers/x'), port.connectNetwork('n/../x', 'c')]) {
          const err = await p.then(() => null, (e: unknown) => e);
          expect(err).toBeInstanceOf(AppError);
          expect((err as AppError).code).toBe(ErrorCode.BadRequest);
        }
      });

      describeDockerLifecycle(`dockerode on ${label}`, () => ({
        port: new DockerodePort(host),
        image: bed().baseImage,
        pullable: `${bed().regPlain}/wd/busybox:latest`,
        missing: `${bed().regPlain}/wd/busybox:wd-no-such-tag`,
        networks,
        disposableImage: async () => {
          const ref = `${uniqueName('disposable')}:v1`;
          scratch.image(ref);
          await buildImage(host, ref);
          return ref;
        },
        name: (prefix) => scratch.name(prefix),
      }));
    });
  }
});
