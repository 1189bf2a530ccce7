import { AppError, ErrorCode } from './errors.js';
import { KeyedLock } from './keyed-lock.js';
import type { Store } from './ports.js';

/**
 * Strongly consistent key-value state with the atomic steps the single-use rules need (tickets,
 * WebAuthn challenges, used TOTP steps and recovery codes, webhook replay, revocations, the
 * first-run secrets). Each method is one atomic step: of callers racing on one key, exactly one
 * takes a value, puts an absent one, or swaps an expected one.
 *
 * Values are JSON data. A value that is an object with a numeric `exp` (ms since the epoch)
 * counts as absent for `putIfAbsent` once `exp <= nowMs`, and `sweep` removes it.
 *
 * Node: `LocalAtomicStore` (one process; a KeyedLock over the Store). Workers: a Durable Object
 * (src/worker/state-object.ts), since KV is eventually consistent and isolates share no lock.
 */
export interface AtomicStore {
  get<T = unknown>(key: string): Promise<T | null>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
  /** The keys under `prefix` (the part before a ":"), as the Store's getKeys gives them. */
  keys(prefix: string): Promise<string[]>;
  /** Reads and removes the value in one step: null when there was none. */
  take<T = unknown>(key: string): Promise<T | null>;
  /** Writes `value` when the key is absent (or its value expired at `nowMs`); true when written. */
  putIfAbsent(key: string, value: unknown, nowMs: number): Promise<boolean>;
  /**
   * Writes `next` (null removes the key) when the key holds `expected` (null: absent), values
   * compared as JSON; true when written.
   */
  compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean>;
  /** Removes the values under these prefixes that have no `exp`, or whose `exp <= nowMs`; how many. */
  sweep(prefixes: readonly string[], nowMs: number): Promise<number>;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export function isLive(value: unknown, nowMs: number): boolean {
  if (value === null || value === undefined) return false;
  const exp = typeof value === 'object' ? (value as { exp?: unknown }).exp : undefined;
  return typeof exp !== 'number' || exp > nowMs;
}

/** Kept by sweep: an object whose `exp` lies ahead. */
export function isUnexpired(value: unknown, nowMs: number): boolean {
  const exp = typeof value === 'object' && value !== null ? (value as { exp?: unknown }).exp : undefined;
  return typeof exp === 'number' && exp > nowMs;
}

/** Compare-and-set rounds before `update` gives up (each lost round means another caller won one). */
const MAX_ROUNDS = 64;

/**
 * Read-modify-write of one key by compare-and-set: `change` gets the current value (null: none)
 * and returns the value to store (null removes) and the answer; when another caller changed the
 * key meanwhile, it runs again on the new value. `change` must have no other effects.
 */
export async function updateAtomically<T, R>(state: AtomicStore, key: string, change: (current: T | null) => Promise<{ next: T | null; result: R }> | { next: T | null; result: R }): Promise<R> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = await state.get<T>(key);
    const { next, result } = await change(current);
    if (await state.compareAndSet(key, current, next)) return result;
  }
  throw new AppError(ErrorCode.Conflict, 'too many concurrent changes to the same record: try again');
}

/**
 * The Node implementation: one process, so a per-key lock around the Store's get and set makes
 * each step atomic. Keys and values are the Store's, as before this port existed.
 */
export class LocalAtomicStore implements AtomicStore {
  private readonly lock = new KeyedLock();

  constructor(private readonly store: Store) {}

  get<T = unknown>(key: string): Promise<T | null> {
    return this.store.getItem<T>(key);
  }

  set(key: string, value: unknown): Promise<void> {
    return this.lock.run(key, () => this.store.setItem(key, value));
  }

  remove(key: string): Promise<void> {
    return this.lock.run(key, () => this.store.removeItem(key));
  }

  keys(prefix: string): Promise<string[]> {
    return this.store.getKeys(prefix);
  }

  take<T = unknown>(key: string): Promise<T | null> {
    return this.lock.run(key, async () => {
      const value = await this.store.getItem<T>(key);
      if (value !== null) await this.store.removeItem(key);
      return value;
    });
  }

  putIfAbsent(key: string, value: unknown, nowMs: number): Promise<boolean> {
    return this.lock.run(key, async () => {
      if (isLive(await this.store.getItem(key), nowMs)) return false;
      await this.store.setItem(key, value);
      return true;
    });
  }

  compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    return this.lock.run(key, async () => {
      if (!sameJson(await this.store.getItem(key), expected)) return false;
      if (next === null || next === undefined) await this.store.removeItem(key);
      else await this.store.setItem(key, next);
      return true;
    });
  }

  async sweep(prefixes: readonly string[], nowMs: number): Promise<number> {
    let removed = 0;
    for (const base of prefixes) {
      for (const key of await this.store.getKeys(base)) {
        const gone = await this.lock.run(key, async () => {
          if (isUnexpired(await this.store.getItem(key), nowMs)) return false;
          await this.store.removeItem(key);
          return true;
        });
        if (gone) removed++;
      }
    }
    return removed;
  }
}
