import { MemoryDocker } from '../helpers/memory-docker.js';
import { describeDockerPort } from '../helpers/docker-port-contract.js';

const docker = new MemoryDocker();
const IMG = `sha256:${'e'.repeat(64)}`;
docker.addImage({ id: IMG, repoTags: ['app:1'] });
docker.addContainer({ id: 'a'.repeat(64), name: 'run', image: 'app:1', imageId: IMG });
docker.addContainer({ id: 'b'.repeat(64), name: 'stop', image: 'app:1', imageId: IMG, state: 'exited', running: false });

describeDockerPort('in-memory fake', () => ({
  port: docker,
  running: { id: 'a'.repeat(64), name: 'run', imageId: IMG, image: 'app:1' },
  stopped: { id: 'b'.repeat(64), name: 'stop' },
  image: { id: IMG, tag: 'app:1' },
}));
