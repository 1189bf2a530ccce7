import { describe, expect, it } from 'vitest';
import { updateAtomically, type AtomicStore } from '../../src/core/atomic-store.js';
import { AtomicJobStore, JOB_KEEP_MS } from '../../src/core/webhook/job-store.js';
import type { WebhookJob } from '../../src/core/webhook/jobs.js';

/** How many callers race for one key in the concurrency cases. */
const RACERS = 20;

/**
 * One suite for every AtomicStore (LocalAtomicStore on Node, the StateObject Durable Object on
 * Workers). `fresh` gives a store with no keys; stores may share a backend, so keys are
 * unique per case anyway.
 */
export function describeAtomicStore(name: string, fresh: () => AtomicStore): void {
  describe(`AtomicStore contract: ${name}`, () => {
    let n = 0;
    const key = (what: string) => `contract:${what}:${Date.now().toString(36)}-${++n}`;

    it('gets what was set (JSON values), null when absent; remove deletes', async () => {
      const s = fresh();
      const k = key('plain');
      expect(await s.get(k)).toBeNull();
      const value = { a: 1, list: [1, 'two', { three: true }], nested: { exp: 5 } };
      await s.set(k, value);
      expect(await s.get(k)).toEqual(value);
      await s.set(k, 'replaced');
      expect(await s.get(k)).toBe('replaced');
      await s.remove(k);
      expect(await s.get(k)).toBeNull();
    });

    it('lists the keys under a prefix, and only those', async () => {
      const s = fresh();
      const base = key('keys');
      expect(await s.keys(base)).toEqual([]);
      await s.set(`${base}:a`, 1);
      await s.set(`${base}:b`, { exp: 1 });
      await s.set(`${base}x:c`, 1);
      expect((await s.keys(base)).sort()).toEqual([`${base}:a`, `${base}:b`]);
      await s.remove(`${base}:a`);
      expect(await s.keys(base)).toEqual([`${base}:b`]);
    });

    it('take returns the value once, then null', async () => {
      const s = fresh();
      const k = key('take');
      expect(await s.take(k)).toBeNull();
      await s.set(k, { ticket: 'x', exp: 1 });
      expect(await s.take(k)).toEqual({ ticket: 'x', exp: 1 });
      expect(await s.take(k)).toBeNull();
      expect(await s.get(k)).toBeNull();
    });

    it(`${RACERS} concurrent takes of one value: exactly one gets it`, async () => {
      const s = fresh();
      const k = key('take-race');
      await s.set(k, { user: 'admin' });
      const got = await Promise.all(Array.from({ length: RACERS }, () => s.take(k)));
      expect(got.filter((v) => v !== null)).toEqual([{ user: 'admin' }]);
    });

    it('putIfAbsent writes only when absent or expired', async () => {
      const s = fresh();
      const k = key('pia');
      expect(await s.putIfAbsent(k, { exp: 1000 }, 500)).toBe(true);
      expect(await s.putIfAbsent(k, { exp: 2000 }, 999)).toBe(false);
      expect(await s.get(k)).toEqual({ exp: 1000 });
      // Expired at 1000: claimable again.
      expect(await s.putIfAbsent(k, { exp: 3000 }, 1000)).toBe(true);
      expect(await s.get(k)).toEqual({ exp: 3000 });
      // A value without exp never expires.
      const forever = key('pia-forever');
      expect(await s.putIfAbsent(forever, 'first', 0)).toBe(true);
      expect(await s.putIfAbsent(forever, 'second', Number.MAX_SAFE_INTEGER)).toBe(false);
      expect(await s.get(forever)).toBe('first');
    });

    it(`${RACERS} concurrent putIfAbsent: exactly one wins and its value stays`, async () => {
      const s = fresh();
      const k = key('pia-race');
      const won = await Promise.all(Array.from({ length: RACERS }, (_, i) => s.putIfAbsent(k, { by: i, exp: Number.MAX_SAFE_INTEGER }, 0)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await s.get(k)).toEqual({ by: won.indexOf(true), exp: Number.MAX_SAFE_INTEGER });
    });

    it('compareAndSet swaps only from the expected value; null means absent / removes', async () => {
      const s = fresh();
      const k = key('cas');
      expect(await s.compareAndSet(k, { v: 1 }, { v: 2 })).toBe(false);
      expect(await s.get(k)).toBeNull();
      expect(await s.compareAndSet(k, null, { v: 1, list: [1] })).toBe(true);
      expect(await s.compareAndSet(k, null, { v: 9 })).toBe(false);
      expect(await s.compareAndSet(k, { v: 1, list: [2] }, { v: 9 })).toBe(false);
      expect(await s.compareAndSet(k, { v: 1, list: [1] }, { v: 2 })).toBe(true);
      expect(await s.get(k)).toEqual({ v: 2 });
      expect(await s.compareAndSet(k, { v: 2 }, null)).toBe(true);
      expect(await s.get(k)).toBeNull();
    });

    it(`${RACERS} concurrent compareAndSet from one value: exactly one wins`, async () => {
      const s = fresh();
      const k = key('cas-race');
      await s.set(k, { step: 1 });
      const won = await Promise.all(Array.from({ length: RACERS }, (_, i) => s.compareAndSet(k, { step: 1 }, { step: 2, by: i })));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await s.get(k)).toEqual({ step: 2, by: won.indexOf(true) });
    });

    it(`updateAtomically: ${RACERS} concurrent increments all count`, async () => {
      const s = fresh();
      const k = key('counter');
      await Promise.all(Array.from({ length: RACERS }, () => updateAtomically<number, void>(s, k, (c) => ({ next: (c ?? 0) + 1, result: undefined }))));
      expect(await s.get(k)).toBe(RACERS);
    });

    it('sweep removes expired values and values without exp under the prefixes, nothing else', async () => {
      const s = fresh();
      const base = key('sweep');
      await s.set(`${base}:old`, { exp: 100 });
      await s.set(`${base}:plain`, 'no exp');
      await s.set(`${base}:live`, { exp: 5000 });
      await s.set(`${base}x:other`, { exp: 1 });
      expect(await s.sweep([base], 1000)).toBe(2);
      expect(await s.get(`${base}:old`)).toBeNull();
      expect(await s.get(`${base}:plain`)).toBeNull();
      expect(await s.get(`${base}:live`)).toEqual({ exp: 5000 });
      expect(await s.get(`${base}x:other`)).toEqual({ exp: 1 });
      expect(await s.sweep([base], 1000)).toBe(0);
    });

    it('keeps webhook jobs (AtomicJobStore): saved state is read back, expired jobs are swept', async () => {
      const s = fresh();
      let now = 1_000_000;
      const jobs = new AtomicJobStore(s, { now: () => now });
      const id = `wh-${key('job').replace(/[^a-z0-9-]/g, '-')}`;
      const job: WebhookJob = { id, status: 'queued', by: 'hmac', source: 'own', createdAt: new Date(now).toISOString(), triggers: 1, matched: [{ name: 'a', image: 'x:1' }], skipped: [], results: [] };
      await jobs.save(job);
      expect(await jobs.get(id)).toEqual(job);
      const running = { ...job, status: 'running' as const, startedAt: new Date(now).toISOString() };
      await jobs.save(running);
      expect(await jobs.get(id)).toEqual(running);
      expect(await jobs.get('wh-unknown')).toBeNull();
      expect(await jobs.get('../not an id')).toBeNull();
      // A job created a week later sweeps the first one out.
      now += JOB_KEEP_MS + 1;
      const later = { ...job, id: `${id}-2`, createdAt: new Date(now).toISOString() };
      await jobs.save(later);
      expect(await jobs.get(id)).toBeNull();
      expect(await jobs.get(later.id)).toEqual(later);
    });
  });
}
