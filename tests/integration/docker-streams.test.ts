import { afterAll, describe } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { bed } from '../helpers/bed.js';
import { describeDockerStreams } from '../helpers/docker-port-contract.js';
import { BedScratch, updaterEngines } from '../helpers/updater-bed.js';

// Both engines: logs (framed, demultiplexed) and events, each released when the consumer stops.
for (const { host, label } of updaterEngines()) {
  describe(`Docker port streams on ${label}`, () => {
    const scratch = new BedScratch(host);
    const port = new DockerodePort(host);
    afterAll(() => scratch.cleanup());
    describeDockerStreams(`dockerode on ${label}`, () => ({
      port,
      image: bed().baseImage,
      name: (prefix) => scratch.name(`wdst-${prefix}`),
      openStreams: () => port.activeStreams,
    }));
  });
}
