/**
 * Runs read-modify-write sequences on one store key one at a time within this process.
 * The Store has no atomic update; this closes the race on Node (one process). On Workers,
 * isolates do not share it, so counters there are best effort (noted where it matters).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
