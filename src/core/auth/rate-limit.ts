import { updateAtomically, type AtomicStore } from '../atomic-store.js';
import { AppError, ErrorCode } from '../errors.js';
import type { Clock } from '../ports.js';
import { keyOf } from './encoding.js';

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
 * attempt is counted before it is checked, by compare-and-set, so a burst of parallel guesses
 * cannot all slip through before the first failure is written; a success takes its own
 * entry back. When the account or the address has `max` entries within `windowMs`, further
 * attempts are refused until the oldest leaves the window.
 */
export class FailureLimiter {
  constructor(
    private readonly state: AtomicStore,
    private readonly clock: Clock,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private async keys(s: AttemptSubject): Promise<[string, string]> {
    return [`auth:rl:${s.scope}:user:${await keyOf(s.user)}`, `auth:rl:${s.scope}:addr:${await keyOf(s.address)}`];
  }

  private recent(list: unknown, now: number): number[] {
    return (Array.isArray(list) ? list : []).filter((t): t is number => typeof t === 'number' && t > now - this.windowMs);
  }

  /** Milliseconds until an attempt is allowed (0: now) and, when allowed, the counted attempt. */
  async begin(s: AttemptSubject): Promise<{ waitMs: number; attempt: Attempt | null }> {
    const [userKey, addrKey] = await this.keys(s);
    for (let round = 0; round < 64; round++) {
      const now = this.clock.now();
      const stored = [await this.state.get(userKey), await this.state.get(addrKey)];
      const lists = stored.map((l) => this.recent(l, now));
      const waitMs = Math.max(0, ...lists.map((l) => (l.length >= this.max ? (l[l.length - this.max] ?? now) + this.windowMs - now : 0)));
      if (waitMs > 0) return { waitMs, attempt: null };
      for (const l of lists) l.push(now);
      // Both counts or neither: another attempt that changed one meanwhile means another round.
      if (!(await this.state.compareAndSet(userKey, stored[0], lists[0]?.slice(-this.max)))) continue;
      if (await this.state.compareAndSet(addrKey, stored[1], lists[1]?.slice(-this.max))) {
        return { waitMs: 0, attempt: { at: now, reachedMax: lists.some((l) => l.length >= this.max) } };
      }
      await this.giveBack(userKey, now);
    }
    throw new AppError(ErrorCode.TooManyRequests, 'too many attempts at once: try again');
  }

  /** After a success: the account's count starts again, and the address gets this attempt back. */
  async succeed(s: AttemptSubject, attempt: Attempt): Promise<void> {
    const [userKey, addrKey] = await this.keys(s);
    await this.state.remove(userKey);
    await this.giveBack(addrKey, attempt.at);
  }

  private async giveBack(key: string, at: number): Promise<void> {
    await updateAtomically<number[], void>(this.state, key, (stored) => {
      const list = this.recent(stored, this.clock.now());
      const i = list.lastIndexOf(at);
      if (i >= 0) list.splice(i, 1);
      return { next: list, result: undefined };
    });
  }
}
