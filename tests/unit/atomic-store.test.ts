import { createStorage } from 'unstorage';
import { describe, expect, it } from 'vitest';
import { LocalAtomicStore } from '../../src/core/atomic-store.js';
import { describeAtomicStore } from '../helpers/atomic-store-contract.js';

describeAtomicStore('LocalAtomicStore (Node) over unstorage memory', () => new LocalAtomicStore(createStorage()));

describe('LocalAtomicStore', () => {
  it('keeps the store layout: the value is the store item under the same key', async () => {
    const store = createStorage();
    const state = new LocalAtomicStore(store);
    await state.putIfAbsent('webhook:seen:abc', { exp: 10 }, 0);
    expect(await store.getItem('webhook:seen:abc')).toEqual({ exp: 10 });
    await store.setItem('auth:ws-ticket:t', { user: 'admin', exp: 10 });
    expect(await state.take('auth:ws-ticket:t')).toEqual({ user: 'admin', exp: 10 });
    expect(await store.hasItem('auth:ws-ticket:t')).toBe(false);
  });
});
