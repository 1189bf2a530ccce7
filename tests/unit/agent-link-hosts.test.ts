import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import { describe, expect, it } from 'vitest';
import { prefixedStore, type HostDirectory } from '../../src/core/agent-link/hosts.js';
import { Inventory } from '../../src/core/inventory.js';
import { SCAN_KEY, Scanner } from '../../src/core/scanner.js';
import { createApp } from '../../src/handlers/app.js';
import type { AppDeps } from '../../src/handlers/context.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { TEST_PASSWORD, TEST_USER, testApp } from '../helpers/test-app.js';

describe('hosts routes', () => {
  it('answer 404 on the Node server, which manages only its own host', async () => {
    const { request } = testApp(new MemoryDocker());
    for (const [method, path] of [['GET', '/api/hosts'], ['POST', '/api/hosts'], ['DELETE', '/api/hosts/x']] as const) {
      const res = await request(path, { method, ...(method === 'POST' ? { body: '{"name":"x"}', headers: { 'content-type': 'application/json' } } : {}) });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { msg: string }).msg).toMatch(/manages one host/);
    }
  });

  it('with a directory: create (token once), list, revoke; X-Watch-Host swaps in that host\'s deps', async () => {
    const base = testApp(new MemoryDocker());
    const remote = new MemoryDocker();
    remote.addImage({ id: 'sha256:r1', repoTags: ['remote:1'] });
    remote.addContainer({ id: 'c-remote', name: 'on-remote', image: 'remote:1', imageId: 'sha256:r1' });
    const created: string[] = [];
    const hosts: HostDirectory = {
      list: async () => created.map((name) => ({ name, createdAt: 't', enrolled: false, online: false, agentVersion: null, lastSeen: null, containers: null })),
      create: async (name, opts) => {
        created.push(name);
        return { name, joinToken: `wdj_${opts?.joinTokenTtlMs ?? 'default'}`, expiresAt: 'soon' };
      },
      revoke: async (name) => {
        const i = created.indexOf(name);
        if (i < 0) return false;
        created.splice(i, 1);
        return true;
      },
      exists: async (name) => created.includes(name),
    };
    const selected: string[] = [];
    const deps: AppDeps = { ...base.deps, webhookJobs: undefined, hosts };
    // The host's own scan report (in its part of the store): one update available of two.
    const hostStore = createStorage({ driver: memoryDriver() });
    await hostStore.setItem(SCAN_KEY, {
      startedAt: 't', durationMs: 1, counts: { UpToDate: 1, UpdateAvailable: 1, Skipped: 0, Error: 0 },
      results: { a: { containerId: 'a', status: 'UpdateAvailable' }, b: { containerId: 'b', status: 'UpToDate' } },
    });
    const hostScanner = new Scanner({ ...base.deps, inventory: new Inventory(remote), store: hostStore, checker: { prepare: async () => undefined, check: async () => ({ status: 'UpToDate', remoteDigest: '' }) } });
    deps.selectHost = (name) => {
      selected.push(name);
      return { ...deps, docker: remote, inventory: new Inventory(remote), scanner: hostScanner };
    };
    const app = createApp(deps);
    const login = await app.request('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: TEST_USER, password: TEST_PASSWORD }) });
    const token = ((await login.json()) as { data: { token: string } }).data.token;
    const req = (path: string, init: RequestInit = {}) => app.request(path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });

    const made = await req('/api/hosts', { method: 'POST', body: JSON.stringify({ name: 'web-1', joinTokenTtlSeconds: 60 }) });
    expect(made.status).toBe(201);
    expect(((await made.json()) as { data: unknown }).data).toEqual({ name: 'web-1', joinToken: 'wdj_60000', expiresAt: 'soon' });
    const bad = await req('/api/hosts', { method: 'POST', body: JSON.stringify({ name: 'web-1', joinTokenTtlSeconds: 0 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { msg: string }).msg).toMatch(/joinTokenTtlSeconds/);
    const list = (await (await req('/api/hosts')).json()) as { data: { total: number; hosts: { name: string; updatesAvailable: number | null }[] } };
    expect(list.data.total).toBe(1);
    expect(list.data.hosts).toEqual([expect.objectContaining({ name: 'web-1', updatesAvailable: 1 })]);
    selected.length = 0;

    const names = async (res: Response) => ((await res.json()) as { data: { containers: Array<{ name: string }> } }).data.containers.map((c) => c.name);
    expect(await names(await req('/api/containers?all=true', { headers: { 'x-watch-host': 'web-1' } }))).toEqual(['on-remote']);
    expect(await names(await req('/api/containers?all=true'))).toEqual([]);
    expect(selected).toEqual(['web-1']);

    expect((await req('/api/hosts/web-1', { method: 'DELETE' })).status).toBe(200);
    expect((await req('/api/hosts/web-1', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('per-host store', () => {
  it('keeps each host\'s keys apart in one store', async () => {
    const store = createStorage({ driver: memoryDriver() });
    const a = prefixedStore(store, 'host:a');
    const b = prefixedStore(store, 'host:b');
    await a.setItem('scan:last', 1);
    await b.setItem('scan:last', 2);
    await store.setItem('scan:last', 0);
    expect(await a.getItem('scan:last')).toBe(1);
    expect(await b.getItem('scan:last')).toBe(2);
    expect(await a.getKeys('scan')).toEqual(['scan:last']);
    expect(await a.getKeys()).toEqual(['scan:last']);
    await a.removeItem('scan:last');
    expect(await a.getItem('scan:last')).toBeNull();
    expect(await b.getItem('scan:last')).toBe(2);
  });
});
