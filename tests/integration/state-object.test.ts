import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { AtomicStore } from '../../src/core/atomic-store.js';
import { describeAtomicStore } from '../helpers/atomic-store-contract.js';
import { startWorker, type EdgeWorker } from '../helpers/edge-worker.js';

/**
 * The AtomicStore contract against the StateObject Durable Object in workerd (wrangler dev
 * --local): a test Worker (tests/helpers/state-worker) calls the Worker's own adapter, one RPC
 * to the object per step, for each call sent here.
 */
const CONFIG = fileURLToPath(new URL('../helpers/state-worker/wrangler.toml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wd-cons-state-'));
let worker: EdgeWorker | undefined;

class RemoteAtomicStore implements AtomicStore {
  constructor(private readonly object: string) {}

  private async call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (!worker) throw new Error('the test Worker is not running');
    const res = await fetch(`${worker.url}/call`, { method: 'POST', body: JSON.stringify({ object: this.object, method, args }), signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) throw new Error(`${method}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { result: T }).result;
  }

  get<T>(key: string) { return this.call<T | null>('get', key); }
  set(key: string, value: unknown) { return this.call<void>('set', key, value); }
  remove(key: string) { return this.call<void>('remove', key); }
  keys(prefix: string) { return this.call<string[]>('keys', prefix); }
  take<T>(key: string) { return this.call<T | null>('take', key); }
  putIfAbsent(key: string, value: unknown, nowMs: number) { return this.call<boolean>('putIfAbsent', key, value, nowMs); }
  compareAndSet(key: string, expected: unknown, next: unknown) { return this.call<boolean>('compareAndSet', key, expected, next); }
  sweep(prefixes: readonly string[], nowMs: number) { return this.call<number>('sweep', prefixes, nowMs); }
}

beforeAll(async () => {
  worker = await startWorker({ persistDir: join(dir, 'state'), vars: {}, config: CONFIG });
});

afterAll(async () => {
  await worker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let objects = 0;
describeAtomicStore('StateObject (Durable Object in workerd)', () => new RemoteAtomicStore(`contract-${++objects}`));
