/**
 * The hosts of a split deployment, as the handlers see them. The Workers entry implements it
 * with Durable Objects; the Node server has one implicit host and no directory.
 */
import type { Store } from '../ports.js';

export interface HostSummary {
  name: string;
  createdAt: string;
  /** The agent has enrolled its key. */
  enrolled: boolean;
  /** An authenticated agent is connected now. */
  online: boolean;
  agentVersion: string | null;
  /** ISO 8601: the last frame or heartbeat from the agent; null when it never connected. */
  lastSeen: string | null;
  /** Counted when the host is online and answers quickly; null otherwise. */
  containers: { total: number; running: number } | null;
}

export interface CreatedHost {
  name: string;
  /** Shown once; only its hash is kept. */
  joinToken: string;
  expiresAt: string;
}

export interface HostDirectory {
  list(): Promise<HostSummary[]>;
  create(name: string, opts?: { joinTokenTtlMs?: number }): Promise<CreatedHost>;
  /** Forgets the host's key and disconnects its agent; false when there was no such host. */
  revoke(name: string): Promise<boolean>;
  exists(name: string): Promise<boolean>;
}

/** A view of a store where every key starts with `prefix` (per-host state in a shared store). */
export function prefixedStore(store: Store, prefix: string): Store {
  const p = prefix.endsWith(':') ? prefix : `${prefix}:`;
  return {
    getItem: (key) => store.getItem(p + key),
    setItem: (key, value) => store.setItem(p + key, value),
    removeItem: (key) => store.removeItem(p + key),
    getKeys: async (base) => (await store.getKeys(p + (base ?? ''))).filter((k) => k.startsWith(p)).map((k) => k.slice(p.length)),
  };
}
