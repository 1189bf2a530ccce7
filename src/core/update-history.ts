import type { Store } from './ports.js';

/** 'agent': an outcome a host's agent reported that had no entry here (e.g. settled at its restart). */
export type UpdateTriggerKind = 'api' | 'batch' | 'schedule' | 'webhook' | 'agent';

/** One update attempt, as kept in the store and shown by GET /api/updates/history. */
export interface HistoryEntry {
  id: string;
  trigger: { kind: UpdateTriggerKind; by?: string };
  containerId: string;
  /** The container that holds the name afterwards (the same one when nothing changed or on rollback). */
  newContainerId?: string;
  name: string;
  image: string;
  /**
   * interrupted: the link to the host's agent dropped while it ran the update (split deployment);
   * the agent finishes or rolls it back on the host, and the entry is replaced by the outcome
   * when the agent reconnects.
   */
  result: 'updated' | 'unchanged' | 'failed' | 'interrupted';
  oldImageId?: string;
  newImageId?: string;
  oldDigest?: string;
  newDigest?: string;
  startedAt: string;
  durationMs: number;
  /** For failures: what went wrong, whether the old container was put back, and its new twin's last logs. */
  error?: string;
  rolledBack?: boolean;
  logs?: string;
}

const PREFIX = 'history';
const KEEP = 1000;

/** Update history in the store, newest first. Keys sort by time, so listing needs no index. */
export class UpdateHistory {
  constructor(private readonly store: Store) {}

  async add(entry: HistoryEntry): Promise<void> {
    await this.store.setItem(`${PREFIX}:${entry.startedAt.replace(/[^0-9]/g, '')}-${entry.id}`, entry);
    const keys = await this.keys();
    for (const old of keys.slice(KEEP)) await this.store.removeItem(old);
  }

  /** The entry with this id, with its store key; null when there is none. */
  async find(id: string): Promise<{ key: string; entry: HistoryEntry } | null> {
    const key = (await this.keys()).find((k) => idOfKey(k) === id);
    const entry = key ? await this.store.getItem<HistoryEntry>(key) : null;
    return key && entry ? { key, entry } : null;
  }

  /** Replaces the entry with the same id in place (same key, so the same position), or adds it. */
  async put(entry: HistoryEntry): Promise<void> {
    const found = await this.find(entry.id);
    if (found) await this.store.setItem(found.key, entry);
    else await this.add(entry);
  }

  private async keys(): Promise<string[]> {
    return (await this.store.getKeys(PREFIX)).sort().reverse();
  }

  async page(page: number, pageSize: number): Promise<{ entries: HistoryEntry[]; total: number; page: number; pageSize: number }> {
    const keys = await this.keys();
    const slice = keys.slice((page - 1) * pageSize, page * pageSize);
    const entries = (await Promise.all(slice.map((k) => this.store.getItem<HistoryEntry>(k)))).filter((e): e is HistoryEntry => e !== null);
    return { entries, total: keys.length, page, pageSize };
  }
}

/** The entry id in a key `history:<digits of startedAt>-<id>`. */
function idOfKey(key: string): string {
  const rest = key.slice(PREFIX.length + 1);
  return rest.slice(rest.indexOf('-') + 1);
}
