import type { Clock, Store } from '../ports.js';
import { keyOf } from './encoding.js';
import { KeyedLock } from '../keyed-lock.js';

/** Who an attempt is counted against: the account and the client address, separately. */
export interface AttemptSubject {
  scope: 'login' | 'twofa';
  user: string;
  address: string;
}

/** An attempt counted in advance; `reachedMax` when it is the one that fills the window. */
export interface Attempt {
  at: number;
  reachedMax: boolean;
}

/**
 * Counts attempts in a sliding window kept in the store (a list of times per key). Each
 * attempt is counted before it is checked, under a lock, so a burst of parallel guesses
 * cannot all slip through before the first failure is written; a success takes its own
 * entry back. When the account or the address has `max` entries within `windowMs`, further
 * attempts are refused until the oldest leaves the window.
 */
export class FailureLimiter {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private async keys(s: AttemptSubject): Promise<[string, string]> {
    return [`auth:rl:${s.scope}:user:${await keyOf(s.user)}`, `auth:rl:${s.scope}:addr:${await keyOf(s.address)}`];
  }

  private async recent(key: string, now: number): Promise<number[]> {
    const list = await this.store.getItem<number[]>(key);
    return (Array.isArray(list) ? list : []).filter((t) => typeof t === 'number' && t > now - this.windowMs);
  }

  /** Milliseconds until an attempt is allowed (0: now) and, when allowed, the counted attempt. */
  async begin(s: AttemptSubject): Promise<{ waitMs: number; attempt: Attempt | null }> {
    const [userKey, addrKey] = await this.keys(s);
    return this.lock.run(userKey, () =>
      this.lock.run(addrKey, async () => {
        const now = this.clock.now();
        const lists = [await this.recent(userKey, now), await this.recent(addrKey, now)];
        const waitMs = Math.max(0, ...lists.map((l) => (l.length >= this.max ? (l[l.length - this.max] ?? now) + this.windowMs - now : 0)));
        if (waitMs > 0) return { waitMs, attempt: null };
        for (const l of lists) l.push(now);
        await this.store.setItem(userKey, lists[0]?.slice(-this.max));
        await this.store.setItem(addrKey, lists[1]?.slice(-this.max));
        return { waitMs: 0, attempt: { at: now, reachedMax: lists.some((l) => l.length >= this.max) } };
      }),
    );
  }

  /** After a success: the account's count starts again, and the address gets this attempt back. */
  async succeed(s: AttemptSubject, attempt: Attempt): Promise<void> {
    const [userKey, addrKey] = await this.keys(s);
    await this.lock.run(userKey, () => this.store.removeItem(userKey));
    await this.lock.run(addrKey, async () => {
      const list = await this.recent(addrKey, this.clock.now());
      const i = list.lastIndexOf(attempt.at);
      if (i >= 0) list.splice(i, 1);
      await this.store.setItem(addrKey, list);
    });
  }
}
