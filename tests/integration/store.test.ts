import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeStore } from '../../src/agent/store.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { bed } from '../helpers/bed.js';
import { testApp } from '../helpers/test-app.js';

const REDIS_PORT = 6391;

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

describe('store drivers', () => {
  let redis: ChildProcess;
  beforeAll(async () => {
    redis = spawn('redis-server', ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort(REDIS_PORT);
  });
  afterAll(() => {
    redis.kill('SIGTERM');
  });

  it('keeps state in a real Redis when store.driver is redis, and /readyz uses it', async () => {
    const store = await createNodeStore({ driver: 'redis', dataDir: './unused', redisUrl: `redis://127.0.0.1:${REDIS_PORT}` });
    await store.setItem('scan:last', { total: 3 });
    const again = await createNodeStore({ driver: 'redis', dataDir: './unused', redisUrl: `redis://127.0.0.1:${REDIS_PORT}` });
    expect(await again.getItem('scan:last')).toEqual({ total: 3 });
    const res = await testApp(new DockerodePort(bed().dockerHost), { store }).app.request('/readyz');
    expect(res.status).toBe(200);
    await store.dispose();
    await again.dispose();
  });

  it('refuses the redis driver without a URL', async () => {
    await expect(createNodeStore({ driver: 'redis', dataDir: './x', redisUrl: '' })).rejects.toThrow('store.redisUrl is required');
  });

  it('keeps state in memory when store.driver is memory', async () => {
    const store = await createNodeStore({ driver: 'memory', dataDir: './unused', redisUrl: '' });
    await store.setItem('a', 1);
    expect(await store.getItem('a')).toBe(1);
  });
});
