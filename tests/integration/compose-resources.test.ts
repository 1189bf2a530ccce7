import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComposeCli } from '../../src/agent/compose-cli.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import type { ComposeProject } from '../../src/core/compose/service.js';
import { bed } from '../helpers/bed.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { testApp } from '../helpers/test-app.js';
import { freePort } from '../helpers/edge-worker.js';

// No silent skip: the test bed always has docker compose v2 (tests/bed/install.sh); without it this file fails.
if (!bed().compose) throw new Error('the test bed has no docker compose v2 (WD_COMPOSE=1 is missing from /tmp/wd/bed.env): install the compose plugin (tests/bed/install.sh) and run tests/bed/up.sh again');

const host = bed().dockerHost;
const P = `wdcf-res-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const appPath = mkdtempSync(join(tmpdir(), 'wdcf-res-'));
const cli = new ComposeCli(host);
const t = testApp(new DockerodePort(host), { compose: cli, composeFiles: new FsProjectFiles(appPath) });

async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: { code: number; msg: string; data: T } }> {
  const res = await t.request(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as { code: number; msg: string; data: T } };
}
const project = async () => (await call<ComposeProject[]>('GET', '/api/compose')).body.data.find((p) => p.name === P);

/** A user-defined bridge network and a named volume of the project (never Docker's default bridge), a port on 127.0.0.1 only. */
const yamlWith = (port: number, label: string) => `services:
  web:
    image: ${bed().baseImage}
    stop_grace_period: 1s
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    labels: [wdcf.version=${label}]
    networks: [wdcf-net]
    ports: ["127.0.0.1:${port}:8080"]
    volumes: ["wdcf-vol:/data"]
networks:
  wdcf-net: {}
volumes:
  wdcf-vol: {}
`;

describe('a compose project\'s ports, networks and volumes, and create with overwrite, on the real engine', () => {
  afterAll(async () => {
    await dockerQuiet(host, ['compose', '-p', P, 'down', '--volumes', '--timeout', '1']);
    cli.dispose();
    rmSync(appPath, { recursive: true, force: true });
  });

  it('GET /api/compose shows the published port, the project network and the named volume of a running service', async () => {
    const port = await freePort();
    const created = await call('POST', '/api/compose/create', { name: P, yaml: yamlWith(port, 'one') });
    expect(created.status, created.body.msg).toBe(201);
    const started = await call('POST', '/api/compose/start', { name: P });
    expect(started.status, started.body.msg).toBe(200);
    const p = await project();
    expect(p?.status).toBe('running');
    expect(p?.services).toEqual([expect.objectContaining({
      name: 'web', ports: [`127.0.0.1:${port}->8080/tcp`], networks: [`${P}_wdcf-net`], volumes: [`${P}_wdcf-vol:/data`],
    })]);
    // What the engine really made of it.
    expect(await docker(host, ['port', `${P}-web-1`, '8080/tcp'])).toBe(`127.0.0.1:${port}`);
    expect(await docker(host, ['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}} {{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}', `${P}-web-1`])).toBe(`${P}_wdcf-net ${P}_wdcf-vol:/data`);
  });

  it('create refuses the existing project, and with overwrite: true replaces its file; start then recreates it on the new port', async () => {
    const port = await freePort();
    const yaml = yamlWith(port, 'two');
    const refused = await call('POST', '/api/compose/create', { name: P, yaml });
    expect([refused.status, refused.body.msg]).toEqual([409, `project ${P} already exists under APP_PATH; pass overwrite: true to replace its compose file`]);
    const over = await call<ComposeProject>('POST', '/api/compose/create', { name: P, yaml, overwrite: true });
    expect(over.status, over.body.msg).toBe(201);
    expect(over.body.data.services[0]?.ports).toEqual([`127.0.0.1:${port}->8080/tcp`]);
    expect(readFileSync(join(appPath, P, 'compose.yaml'), 'utf8')).toBe(yaml);
    expect((await call('POST', '/api/compose/start', { name: P })).status).toBe(200);
    expect(await docker(host, ['port', `${P}-web-1`, '8080/tcp'])).toBe(`127.0.0.1:${port}`);
    expect(await docker(host, ['inspect', '--format', '{{index .Config.Labels "wdcf.version"}}', `${P}-web-1`])).toBe('two');
    expect((await project())?.status).toBe('running');
  });
});
