import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import type { ComposeProject } from '../../src/core/compose/service.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { testApp } from '../helpers/test-app.js';

const IMG = `sha256:${'1'.repeat(64)}`;
const appPath = mkdtempSync(join(tmpdir(), 'wdc-routes-'));
afterAll(() => rmSync(appPath, { recursive: true, force: true }));

function engine() {
  const docker = new MemoryDocker();
  docker.addImage({ id: IMG, repoTags: ['127.0.0.1:5000/app:1'], repoDigests: [], platform: { os: 'linux', architecture: 'amd64' } });
  docker.addContainer({ id: 'c1'.padEnd(64, '0'), name: 'shop-web-1', image: '127.0.0.1:5000/app:1', imageId: IMG, labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web', 'com.docker.compose.project.working_dir': '/srv/shop', 'com.docker.compose.project.config_files': '/srv/shop/compose.yaml' } });
  docker.addContainer({ id: 'c2'.padEnd(64, '0'), name: 'shop-db-1', image: '127.0.0.1:5000/app:1', imageId: IMG, state: 'exited', running: false, labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'db' } });
  docker.addContainer({ id: 'c3'.padEnd(64, '0'), name: 'loner', image: '127.0.0.1:5000/app:1', imageId: IMG });
  return docker;
}

type Body<T = unknown> = { code: number; msg: string; data: T };
async function send<T = unknown>(t: ReturnType<typeof testApp>, method: string, path: string, body?: string): Promise<{ status: number; body: Body<T> }> {
  const res = await t.request(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body }) });
  return { status: res.status, body: (await res.json()) as Body<T> };
}

describe('compose routes (validation at the edge; the engine in memory)', () => {
  it('GET /api/compose lists a project from container labels alone when compose ls is unavailable', async () => {
    const r = await send<ComposeProject[]>(testApp(engine()), 'GET', '/api/compose');
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual([{
      name: 'shop', folder: '/srv/shop', files: ['/srv/shop/compose.yaml'], status: 'partial', managed: false, updateAvailable: false,
      services: [
        expect.objectContaining({ name: 'db', containers: [expect.objectContaining({ name: 'shop-db-1', state: 'exited' })] }),
        expect.objectContaining({ name: 'web', image: '127.0.0.1:5000/app:1', containers: [expect.objectContaining({ name: 'shop-web-1', state: 'running' })] }),
      ],
    }]);
  });

  it('needs a token', async () => {
    const res = await testApp(engine()).app.request('/api/compose');
    expect(res.status).toBe(401);
  });

  it('names the body field that is missing, wrong or unknown', async () => {
    const t = testApp(engine());
    expect((await send(t, 'POST', '/api/compose/stop', '{}')).body.msg).toBe('expected the project name (body field or query parameter "name")');
    expect((await send(t, 'POST', '/api/compose/stop', '{"name":"shop","x":1}')).body.msg).toBe('body field "x": unknown field');
    expect((await send(t, 'POST', '/api/compose/stop', 'nope')).body.msg).toMatch(/expected a JSON body/);
    expect((await send(t, 'POST', '/api/compose/create', '{"name":"a","yaml":1}')).body.msg).toBe('body field "yaml": expected the compose file as a string');
    expect((await send(t, 'POST', '/api/compose/create', '{"name":"a"}')).body.msg).toBe('expected the compose file (body field "yaml")');
    expect((await send(t, 'GET', '/api/compose/file')).body.msg).toBe('expected the project name (query parameter "name")');
    const del = await send(t, 'DELETE', '/api/compose/delete');
    expect([del.status, del.body.msg]).toEqual([400, 'expected the project name (body field or query parameter "name")']);
    expect((await send(t, 'DELETE', '/api/compose/delete?name=shop&removeFiles=yes')).body.msg).toMatch(/query parameter "removeFiles": expected true or false/);
  });

  it('a project name given twice (query and body, or twice in the query) is refused naming both, before anything runs', async () => {
    const t = testApp(engine());
    const twice = 'project name given twice: "shop" (query parameter "name") and "other" (body field "name"); give it once';
    for (const [method, path, body] of [
      ['POST', '/api/compose/stop?name=shop', '{"name":"other"}'],
      ['POST', '/api/compose/start?name=shop', '{"name":"other"}'],
      ['DELETE', '/api/compose/delete?name=shop', '{"name":"other"}'],
      ['POST', '/api/compose/create?name=shop', '{"name":"other","yaml":"services: {}\\n"}'],
    ] as const) {
      const r = await send(t, method, path, body);
      expect([r.status, r.body.msg], `${method} ${path}`).toEqual([400, twice]);
    }
    for (const [method, path] of [['POST', '/api/compose/stop?name=shop&name=other'], ['DELETE', '/api/compose/delete?name=shop&name=other'], ['GET', '/api/compose/file?name=shop&name=other']] as const) {
      const r = await send(t, method, path, method === 'GET' ? undefined : '');
      expect([r.status, r.body.msg], `${method} ${path}`).toEqual([400, 'query parameter "name" given more than once: "shop" and "other"; give it once']);
    }
    const flags = await send(t, 'DELETE', '/api/compose/delete?name=shop&removeFiles=true&removeFiles=false');
    expect([flags.status, flags.body.msg]).toEqual([400, 'query parameter "removeFiles" given more than once: "true" and "false"; give it once']);
    // The same value twice is one name (here it gets as far as the missing APP_PATH).
    const same = await send<{ name: string }>(t, 'GET', '/api/compose/file?name=shop&name=shop');
    expect(same.body.msg).toBe('APP_PATH is not set: set compose.appPath (APP_PATH) to the folder that holds your compose projects');
  });

  it('refuses a body over 2 MiB with 413 before reading it, and create without APP_PATH with a clear 40000', async () => {
    const t = testApp(engine());
    const big = await send(t, 'POST', '/api/compose/create', JSON.stringify({ name: 'a', yaml: 'x'.repeat(3 * 1024 * 1024) }));
    expect([big.status, big.body.code]).toEqual([413, 40000]);
    expect(big.body.msg).toMatch(/request body is too large/);
    const noPath = await send(t, 'POST', '/api/compose/create', JSON.stringify({ name: 'a', yaml: 'services: {}\n' }));
    expect([noPath.status, noPath.body.msg]).toEqual([400, 'APP_PATH is not set: set compose.appPath (APP_PATH) to the folder that holds your compose projects']);
  });

  it('unknown projects are 404; a project outside APP_PATH has no file to show', async () => {
    const t = testApp(engine(), { composeFiles: new FsProjectFiles(appPath) });
    expect((await send(t, 'POST', '/api/compose/restart', '{"name":"nope"}')).status).toBe(404);
    expect((await send(t, 'GET', '/api/compose/file?name=shop')).body).toMatchObject({ code: 40400, msg: 'no compose project shop under APP_PATH' });
    expect((await send(t, 'GET', '/api/compose/file?name=..%2Fetc')).body.code).toBe(40000);
  });
});
