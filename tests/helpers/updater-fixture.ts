import { createStorage, type Storage } from 'unstorage';
import type { ContainerCreateBody, ImageConfig } from '../../src/core/docker/port.js';
import { silentLogger, type Clock } from '../../src/core/ports.js';
import type { UpdateJournal, UpdateStep } from '../../src/core/updater/journal.js';
import { Updater, type UpdaterDeps } from '../../src/core/updater/updater.js';
import { MemoryDocker } from './memory-docker.js';
import type { FakeBehaviour } from './updater-fake-engine.js';

export const REF = 'reg.test/app:latest';
export const OLD_IMAGE = `sha256:${'1'.repeat(64)}`;
export const NEW_IMAGE = `sha256:${'2'.repeat(64)}`;

export const OLD_CONFIG: ImageConfig = { Env: ['PATH=/bin', 'APP_VERSION=1', 'SHARED=image'], Cmd: ['serve'], Labels: { version: '1' }, WorkingDir: '/app' };
export const NEW_CONFIG: ImageConfig = { Env: ['PATH=/bin', 'APP_VERSION=2', 'SHARED=image'], Cmd: ['serve', '--v2'], Labels: { version: '2' }, WorkingDir: '/app2' };

export interface FakeSetup {
  docker: MemoryDocker;
  store: Storage;
  updater: Updater;
  /** The container being updated. */
  id: string;
  /** Steps seen by onStep, with the journal's step as stored at that moment. */
  steps: Array<{ step: UpdateStep; stored: string | null }>;
  clock: Clock & { t: number };
}

/**
 * An in-memory engine holding one running container "web" on REF (the old image), and a
 * registry where REF now names NEW_IMAGE; plus an Updater over them with a fake clock.
 */
export async function fakeSetup(opts: {
  body?: Partial<ContainerCreateBody>;
  newConfig?: ImageConfig;
  behaviour?: FakeBehaviour;
  apiVersion?: string;
  start?: boolean;
  onStep?: UpdaterDeps['onStep'];
} = {}): Promise<FakeSetup> {
  const docker = new MemoryDocker();
  if (opts.apiVersion) docker.apiVersion = opts.apiVersion;
  const store = createStorage();
  docker.addImage({ id: OLD_IMAGE, repoTags: [REF], config: OLD_CONFIG });
  docker.addRemote(REF, { id: NEW_IMAGE, config: opts.newConfig ?? NEW_CONFIG, ...(opts.behaviour ? { behaviour: opts.behaviour } : {}) });
  const { id } = await docker.createContainer('web', { Image: REF, Env: ['USER_VAR=mine', 'SHARED=user'], HostConfig: { NetworkMode: 'none' }, ...opts.body });
  if (opts.start !== false) await docker.startContainer(id);
  docker.calls = [];
  const clock = { t: Date.now(), now: () => clock.t };
  const steps: FakeSetup['steps'] = [];
  const updater = new Updater({
    docker, store, logger: silentLogger, clock,
    sleep: async (ms) => {
      clock.t += ms;
    },
    onStep: async (step, journal) => {
      const stored = journal ? await store.getItem<UpdateJournal>(`journal:${journal.containerId}`) : null;
      steps.push({ step, stored: stored?.step ?? null });
      await opts.onStep?.(step, journal);
    },
  });
  return { docker, store, updater, id, steps, clock };
}

/** Names of every container the fake engine holds. */
export function containerNames(docker: MemoryDocker): string[] {
  return [...docker.containers.values()].map((c) => c.name).sort();
}

/** A promise that never settles: the process "freezes" at a step, as before a SIGKILL. */
export const freeze = (): Promise<never> => new Promise<never>(() => undefined);
