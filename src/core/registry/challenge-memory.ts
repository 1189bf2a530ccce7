import type { Logger, Store } from '../ports.js';
import type { KnownChallenges } from './challenge.js';

/** The Store key of the remembered registry auth challenges. */
export const CHALLENGES_KEY = 'registry:challenges';

/**
 * Keeps a registry client's learned auth challenges in the Store, so a restarted server (or a
 * new Worker request) sends no GET /v2/ probe before its first token request. Only the public
 * challenge parameters are stored (never credentials or tokens). Writes are serialised and
 * coalesced; a failing store only costs the probe next time.
 */
export class ChallengeMemory {
  private latest: KnownChallenges = {};
  private queued = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly store: Store, private readonly logger: Logger, private readonly key = CHALLENGES_KEY) {}

  /** What an earlier run saved (unvalidated: the client checks each entry), or null. */
  async load(): Promise<unknown> {
    try {
      return await this.store.getItem(this.key);
    } catch (err) {
      this.logger.warn({ component: 'registry', action: 'challenges', err: String(err) }, 'could not read the remembered registry challenges');
      return null;
    }
  }

  save(known: KnownChallenges): void {
    this.latest = known;
    if (this.queued) return;
    this.queued = true;
    this.writing = this.writing.then(async () => {
      this.queued = false;
      try {
        await this.store.setItem(this.key, this.latest);
      } catch (err) {
        this.logger.warn({ component: 'registry', action: 'challenges', err: String(err) }, 'could not save the learned registry challenges');
      }
    });
  }

  /** Resolves once every save asked for so far is written. */
  flush(): Promise<void> {
    return this.writing;
  }
}
