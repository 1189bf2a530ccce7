import type { ContainerInspect, DockerLifecyclePort } from '../docker/port.js';
import { AppError } from '../errors.js';
import type { UpdateJournal } from './journal.js';
import type { RecreatePlan } from './recreate-plan.js';

/*
 * The moves shared by a rollback (in the updater) and by reconcile (at start-up, after a crash):
 * find our new container, remove it, and put the old one back under its name.
 */

type Docker = Pick<DockerLifecyclePort, 'inspectContainerRaw' | 'removeContainer' | 'renameContainer' | 'startContainer' | 'createContainer' | 'connectNetwork'>;

/** How far the engine's clock may lag ours before a container made during the update looks older. */
const CLOCK_SLACK_MS = 60_000;

export function nameOf(c: Pick<ContainerInspect, 'Name'>): string {
  return c.Name.replace(/^\//, '');
}

function isNotFound(err: unknown): boolean {
  return err instanceof AppError && err.data?.engineStatus === 404;
}

/** Removes a container (never its volumes); one that is already gone is fine. */
export async function removeIfPresent(docker: Pick<DockerLifecyclePort, 'removeContainer'>, id: string): Promise<void> {
  try {
    await docker.removeContainer(id, { force: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * The new container of an interrupted update. Its ID is in the journal once create answered;
 * before that, a crash can leave it unrecorded, holding the name: it is ours when it runs the
 * update's image and was created after the update began (the old one was parked by then).
 */
export async function findNewContainer(docker: Pick<DockerLifecyclePort, 'inspectContainerRaw'>, j: UpdateJournal): Promise<ContainerInspect | null> {
  if (j.newContainerId) {
    const byId = await docker.inspectContainerRaw(j.newContainerId);
    if (byId) return byId;
  }
  const holder = await docker.inspectContainerRaw(j.name);
  if (!holder || holder.Id === j.containerId) return null;
  const madeDuring = Date.parse(holder.Created) >= Date.parse(j.startedAt) - CLOCK_SLACK_MS;
  return holder.Config.Image === j.image && madeDuring ? holder : null;
}

/** Creates a container from a plan and attaches its extra networks (API < 1.44). */
export async function createFromPlan(docker: Pick<Docker, 'createContainer' | 'connectNetwork'>, plan: RecreatePlan): Promise<{ id: string; warnings: string[] }> {
  const created = await docker.createContainer(plan.name, plan.body);
  for (const n of plan.connect) await docker.connectNetwork(n.network, created.id, n.endpoint);
  return created;
}

/**
 * Puts the old container back: its own name, running if it ran. An auto-remove container is
 * gone once stopped; `recreate` (when given) builds it again from its old image.
 */
export async function restoreOld(docker: Docker, j: UpdateJournal, recreate?: () => RecreatePlan): Promise<'restored' | 'recreated' | 'missing'> {
  const old = await docker.inspectContainerRaw(j.containerId);
  if (old) {
    if (nameOf(old) !== j.name) await docker.renameContainer(j.containerId, j.name);
    if (j.wasRunning) await docker.startContainer(j.containerId);
    return 'restored';
  }
  if (!recreate) return 'missing';
  const { id } = await createFromPlan(docker, recreate());
  if (j.wasRunning) await docker.startContainer(id);
  return 'recreated';
}
