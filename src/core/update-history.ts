import type { Store } from './ports.js';

export type UpdateTriggerKind = 'api' | 'batch' | 'schedule' | 'webhook';

/** One update attempt, as kept in the store and shown by GET /api/updates/history. */
export interface HistoryEntry {
  id: string;
  trigger: { kind: UpdateTriggerKind; by?: string };
  containerId: string;
  /** The container that holds the name afterwards (the same one when nothing changed or on rollback). */
  newContainerId?: string;
  name: string;
  image: string;
  result: 'updated' | 'unchanged' | 'failed';
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
