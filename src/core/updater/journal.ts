import type { Store } from '../ports.js';

/**
 * The steps of one update, in order. The journal names the step about to be taken: it is
 * written before the step starts, so after a crash the journal always names a step that may
 * have happened, never one that surely did not.
 */
export const UPDATE_STEPS = ['pull', 'inspect', 'stop', 'rename', 'create', 'connect', 'start', 'health', 'cleanup', 'rollback'] as const;
export type UpdateStep = (typeof UPDATE_STEPS)[number];

/** What a crashed update left behind, and everything needed to put it right. */
export interface UpdateJournal {
  v: 1;
  /** The container being replaced. */
  containerId: string;
  /** Its name, without the slash: exactly one container must hold it when all is done. */
  name: string;
  /** The name the old container is parked under while its successor is tried. */
  parkedName: string;
  /** The reference the new container is created from. */
  image: string;
  oldImageId: string;
  /** Running (or restarting) before the update: it must be running after, whichever wins. */
  wasRunning: boolean;
  /** The engine removes an auto-remove container itself once it is stopped. */
  autoRemove: boolean;
  /** removeOldContainer: false — the old container stays, parked and stopped, after success. */
  keepOld: boolean;
  step: UpdateStep;
  /** Known once the create call has answered. */
  newContainerId?: string;
  /** ISO 8601; a container created before this is never taken for ours. */
  startedAt: string;
  updatedAt: string;
}

export const JOURNAL_PREFIX = 'journal:';

export function journalKey(containerId: string): string {
  return `${JOURNAL_PREFIX}${containerId}`;
}

function isJournal(v: unknown): v is UpdateJournal {
  const j = v as Partial<UpdateJournal> | null;
  return !!j && j.v === 1 && typeof j.containerId === 'string' && typeof j.name === 'string' && typeof j.step === 'string';
}

export async function readJournal(store: Store, containerId: string): Promise<UpdateJournal | null> {
  const v = await store.getItem<unknown>(journalKey(containerId));
  return isJournal(v) ? v : null;
}

/** Every open journal: updates that did not finish (crash, or a rollback that failed). */
export async function listJournals(store: Store): Promise<UpdateJournal[]> {
  const keys = (await store.getKeys('journal')).filter((k) => k.startsWith(JOURNAL_PREFIX));
  const out: UpdateJournal[] = [];
  for (const key of keys) {
    const v = await store.getItem<unknown>(key);
    if (isJournal(v)) out.push(v);
  }
  return out;
}

export async function writeJournal(store: Store, journal: UpdateJournal): Promise<void> {
  await store.setItem(journalKey(journal.containerId), journal);
}

export async function clearJournal(store: Store, containerId: string): Promise<void> {
  await store.removeItem(journalKey(containerId));
}
