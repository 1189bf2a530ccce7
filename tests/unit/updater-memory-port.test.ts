import { describeDockerLifecycle, describeDockerStreams } from '../helpers/docker-port-contract.js';
import { MemoryDocker } from '../helpers/memory-docker.js';

const docker = new MemoryDocker();
docker.networks = new Set(['net-a', 'net-b']);
const IMG = `sha256:${'e'.repeat(64)}`;
docker.addImage({ id: IMG, repoTags: ['app:1'], config: { Env: ['PATH=/bin'], Cmd: ['sleep', '3600'] } });
docker.addRemote('127.0.0.1:5000/app:1', { id: `sha256:${'d'.repeat(64)}`, config: { Cmd: ['sh'] } });
let n = 0;

describeDockerLifecycle('in-memory fake', () => ({
  port: docker,
  image: 'app:1',
  pullable: '127.0.0.1:5000/app:1',
  missing: '127.0.0.1:5000/app:never',
  networks: ['net-a', 'net-b'],
  disposableImage: async () => {
    n += 1;
    docker.addImage({ id: `sha256:${n.toString(16).padStart(64, 'a')}`, repoTags: [`scratch:${n}`] });
    return `scratch:${n}`;
  },
  name: (prefix) => `${prefix}-${++n}`,
}));

describeDockerStreams('in-memory fake', () => ({
  port: docker,
  image: 'app:1',
  name: (prefix) => `${prefix}-${++n}`,
  openStreams: () => docker.eventStreams.size + docker.logFollowers.size,
}));
