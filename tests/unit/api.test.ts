import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { testApp } from '../helpers/test-app.js';

const IMG = `sha256:${'1'.repeat(64)}`;
const DIGEST = `sha256:${'d'.repeat(64)}`;

function seeded() {
  const docker = new MemoryDocker();
  docker.addImage({ id: IMG, repoTags: ['127.0.0.1:5000/app:1'], repoDigests: [`127.0.0.1:5000/app@${DIGEST}`], platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
  docker.addContainer({ id: 'c1'.padEnd(64, '0'), name: 'web', image: '127.0.0.1:5000/app:1', imageId: IMG, labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web', 'com.docker.compose.project.working_dir': '/srv/shop', 'com.docker.compose.project.config_files': '/srv/shop/compose.yaml,/srv/shop/override.yaml' } });
  docker.addContainer({ id: 'c2'.padEnd(64, '0'), name: 'old', image: 'gone:latest', imageId: `sha256:${'9'.repeat(64)}`, state: 'exited', running: false });
  return docker;
}

describe('HTTP API over a Docker port', () => {
  it('GET /api/containers: the envelope, the status model, compose labels and platform', async () => {
    const { request } = testApp(seeded());
    const res = await request('/api/containers');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { code: number; msg: string; data: { containers: Record<string, unknown>[]; total: number } };
    expect(body.code).toBe(0);
    expect(body.msg).toBe('success');
    expect(body.data.total).toBe(1);
    const [c] = body.data.containers;
    expect(c).toMatchObject({
      name: 'web', image: '127.0.0.1:5000/app:1', running: true, status: 'NotChecked', skipped: false,
      repoTags: ['127.0.0.1:5000/app:1'], repoDigests: [`127.0.0.1:5000/app@${DIGEST}`], currentDigest: DIGEST,
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
      compose: { project: 'shop', service: 'web', workingDir: '/srv/shop', configFiles: ['/srv/shop/compose.yaml', '/srv/shop/override.yaml'] },
    });
    // Nothing about the remote side is invented before a check.
    expect(c).not.toHaveProperty('remoteDigest');
    expect(c).not.toHaveProperty('lastCheckedAt');
  });

  it('includes stopped containers with ?all=true or docker.includeStopped', async () => {
    const docker = seeded();
    const byQuery = await (await testApp(docker).request('/api/containers?all=true')).json() as { data: { total: number } };
    expect(byQuery.data.total).toBe(2);
    const byConfig = await (await testApp(docker, { env: { WATCH_DOCKER_INCLUDE_STOPPED: 'true' } }).request('/api/containers')).json() as { data: { containers: { name: string; running: boolean; platform?: unknown }[] } };
    const old = byConfig.data.containers.find((c) => c.name === 'old');
    expect(old).toMatchObject({ running: false });
    expect(old).not.toHaveProperty('platform');
  });

  it('GET /api/images lists users of each image', async () => {
    const { request } = testApp(seeded());
    const body = (await (await request('/api/images')).json()) as { data: { images: { id: string; containers: { name: string }[] }[]; total: number } };
    expect(body.data.total).toBe(1);
    expect(body.data.images[0]?.containers.map((c) => c.name).sort()).toEqual(['web']);
  });

  it('answers a bad parameter with 400 and a message naming it', async () => {
    const { request } = testApp(seeded());
    const res = await request('/api/containers?all=maybe');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: ErrorCode.BadRequest, msg: 'query parameter "all": expected true or false', data: null });
    const res2 = await request('/api/containers?bogus=1');
    expect(res2.status).toBe(400);
    expect(((await res2.json()) as { msg: string }).msg).toBe('unknown query parameter "bogus"');
  });

  it('answers an unknown route with 404 in the envelope', async () => {
    const res = await testApp(seeded()).request('/api/nope', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: 40400, msg: 'no route for POST /api/nope', data: null });
  });

  it('turns a Docker failure into 50003 and an unexpected one into 500, never a stack trace', async () => {
    const docker = seeded();
    docker.failure = new AppError(ErrorCode.DockerError, 'cannot reach the Docker engine at unix:///x: ENOENT');
    const res = await testApp(docker).request('/api/containers');
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ code: 50003, msg: 'cannot reach the Docker engine at unix:///x: ENOENT', data: null });

    docker.failure = new TypeError('secret internals at Object.<anonymous> (/src/x.ts:1:1)');
    const res2 = await testApp(docker).request('/api/images');
    expect(res2.status).toBe(500);
    const text = await res2.text();
    expect(JSON.parse(text)).toEqual({ code: 500, msg: 'internal error', data: null });
    expect(text).not.toContain('secret internals');
  });

  it('/healthz is up while /readyz reports Docker down with 503 and the reason', async () => {
    const docker = seeded();
    const { app } = testApp(docker);
    expect((await app.request('/readyz')).status).toBe(200);
    docker.failure = new AppError(ErrorCode.DockerError, 'cannot reach the Docker engine at unix:///x: ECONNREFUSED');
    expect((await app.request('/healthz')).status).toBe(200);
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: number; msg: string };
    expect(body.code).toBe(503);
    expect(body.msg).toContain('docker: cannot reach the Docker engine at unix:///x: ECONNREFUSED');
  });

  it('/readyz reports a broken store', async () => {
    const broken = { getItem: async () => null, setItem: async () => { throw new Error('disk full'); }, removeItem: async () => {}, getKeys: async () => [] };
    const res = await testApp(seeded(), { store: broken }).app.request('/readyz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { msg: string }).msg).toContain('store: disk full');
  });
});
