/**
 * StateObject: the strongly consistent state of the control plane (the AtomicStore port of
 * src/core/atomic-store.ts) in Durable Object storage. Workers KV is eventually consistent and
 * every isolate has its own memory, so a lock there would not stop two isolates from both
 * accepting one TOTP code; a Durable Object is one place that serves one call at a time.
 *
 * Each step is one RPC, and each method reads and writes with the synchronous storage API
 * (SQLite-backed objects: ctx.storage.kv) without awaiting anything in between, so no other call
 * can run between its read and its write.
 *
 * Sharding: one object (idFromName('auth')) holds all auth state (machine tokens too). There is one account, so the
 * traffic is a few calls per sign-in, WebSocket ticket or webhook delivery: far below what one
 * object serves, and one object lets the rate limiter count an account and an address together.
 * Webhook jobs use a second object of the same class (idFromName('webhook-jobs')), so their
 * writes never queue behind sign-ins.
 */
import { DurableObject } from 'cloudflare:workers';
import { isLive, isUnexpired, sameJson, type AtomicStore } from '../core/atomic-store.js';

export class StateObject extends DurableObject<Record<string, unknown>> {
  private get kv(): SyncKvStorage {
    return this.ctx.storage.kv;
  }

  async read(key: string): Promise<unknown> {
    return this.kv.get(key) ?? null;
  }

  async write(key: string, value: unknown): Promise<void> {
    if (value === null || value === undefined) this.kv.delete(key);
    else this.kv.put(key, value);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.kv.list({ prefix: prefix.endsWith(':') ? prefix : `${prefix}:` })].map(([k]) => k);
  }

  async take(key: string): Promise<unknown> {
    const value = this.kv.get(key);
    if (value !== undefined) this.kv.delete(key);
    return value ?? null;
  }

  async putIfAbsent(key: string, value: unknown, nowMs: number): Promise<boolean> {
    if (isLive(this.kv.get(key), nowMs)) return false;
    this.kv.put(key, value);
    return true;
  }

  async compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    if (!sameJson(this.kv.get(key), expected)) return false;
    if (next === null || next === undefined) this.kv.delete(key);
    else this.kv.put(key, next);
    return true;
  }

  async sweep(prefixes: string[], nowMs: number): Promise<number> {
    let removed = 0;
    for (const base of prefixes) {
      const prefix = base.endsWith(':') ? base : `${base}:`;
      const stale = [...this.kv.list({ prefix })].filter(([, v]) => !isUnexpired(v, nowMs)).map(([k]) => k);
      for (const k of stale) if (this.kv.delete(k)) removed++;
    }
    return removed;
  }
}

/** The AtomicStore of the Worker: one RPC to the StateObject per step. */
export class DurableAtomicStore implements AtomicStore {
  /** A stub per call: a stub made while serving one request cannot do I/O for another. */
  constructor(private readonly stub: () => DurableObjectStub<StateObject>) {}

  async get<T = unknown>(key: string): Promise<T | null> {
    return (await this.stub().read(key)) as T | null;
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.stub().write(key, value);
  }

  async remove(key: string): Promise<void> {
    await this.stub().write(key, null);
  }

  keys(prefix: string): Promise<string[]> {
    return this.stub().keys(prefix);
  }

  async take<T = unknown>(key: string): Promise<T | null> {
    return (await this.stub().take(key)) as T | null;
  }

  putIfAbsent(key: string, value: unknown, nowMs: number): Promise<boolean> {
    return this.stub().putIfAbsent(key, value, nowMs);
  }

  compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    return this.stub().compareAndSet(key, expected, next);
  }

  sweep(prefixes: readonly string[], nowMs: number): Promise<number> {
    return this.stub().sweep([...prefixes], nowMs);
  }
}

export interface StateEnv {
  STATE_OBJECT: DurableObjectNamespace<StateObject>;
}

/** The AtomicStore in the StateObject named `name` ('auth' or 'webhook-jobs'). */
export function durableState(env: StateEnv, name: string): DurableAtomicStore {
  return new DurableAtomicStore(() => env.STATE_OBJECT.get(env.STATE_OBJECT.idFromName(name)));
}
