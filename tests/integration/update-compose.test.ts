import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeCli } from '../../src/agent/compose-cli.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { loadConfig } from '../../src/core/config/load.js';
import { createUpdateChecker } from '../../src/core/update-check.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { testApp } from '../helpers/test-app.js';

const host = bed().dockerHost;
const project = uniqueName('cmp').replace(/[^a-z0-9_-]/g, '');
const repo = `${bed().regPlain}/wdt/${project}`;
const dir = mkdtempSync(join(tmpdir(), 'wdt-compose-update-'));
const file = join(dir, 'compose.yaml');

// No silent skip: the test bed always has docker compose v2 (tests/bed/install.sh); without it this file fails.
if (!bed().compose) throw new Error('the test bed has no docker compose v2 (WD_COMPOSE=1 is missing from /tmp/wd/bed.env): install the compose plugin (tests/bed/install.sh) and run tests/bed/up.sh again');

describe('compose containers', () => {
  beforeAll(async () => {
    await buildImage(host, `${repo}:latest`);
    await pushImage(host, `${repo}:latest`);
    writeFileSync(file, `services:\n  web:\n    image: ${repo}:latest\n    network_mode: none\n    labels: [wdt.compose=${project}]\n  side:\n    image: ${repo}:latest\n    network_mode: none\n    labels: [wdt.compose=${project}]\n`);
    await docker(host, ['compose', '-p', project, '-f', file, 'up', '-d'], { timeoutMs: 60_000 });
    await buildImage(host, `${repo}:latest`);
    await pushImage(host, `${repo}:latest`);
  });
  afterAll(async () => {
    await dockerQuiet(host, ['compose', '-p', project, '-f', file, 'down', '--timeout', '1']);
    await dockerQuiet(host, ['rmi', '-f', `${repo}:latest`]);
  });

  const app = (allow: boolean) => {
    const env = { WATCH_POLICY_ONLY_LABELS: `wdt.compose=${project}`, WATCH_UPDATE_ALLOW_COMPOSE_UPDATE: String(allow) };
    return testApp(new DockerodePort(host), { env, compose: new ComposeCli(host), checker: createUpdateChecker(loadConfig({ env, readSecretFile: () => '' })).checker });
  };
  const webName = `${project}-web-1`;

  it('shows UpdateAvailable with a note and refuses to update unless allowed', async () => {
    const t = app(false);
    const scan = (await (await t.request('/api/scan', { method: 'POST' })).json()) as { data: { containers: { name: string; status: string; message?: string }[] } };
    expect(scan.data.containers.find((c) => c.name === webName)).toMatchObject({ status: 'UpdateAvailable', message: `managed by compose project ${project}` });
    const res = await t.request(`/api/containers/${webName}/update`, { method: 'POST' });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { code: number; msg: string };
    expect(body.code).toBe(50002);
    expect(body.msg).toContain('set update.allowComposeUpdate');
  });

  it('when allowed, updates only that service the way compose would', async () => {
    const before = await docker(host, ['inspect', '--format', '{{.Id}} {{.Image}}', `${project}-side-1`]);
    const t = app(true);
    const res = await t.request(`/api/containers/${webName}/update`, { method: 'POST' });
    const body = (await res.json()) as { code: number; msg: string; data: { result: string; newImageId: string } };
    expect(res.status, body.msg).toBe(200);
    expect(body.data.result).toBe('updated');
    const newId = await docker(host, ['image', 'inspect', '--format', '{{.Id}}', `${repo}:latest`]);
    expect(await docker(host, ['inspect', '--format', '{{.Image}}', webName])).toBe(newId);
    expect(body.data.newImageId).toBe(newId);
    // --no-deps: the other service was not touched.
    expect(await docker(host, ['inspect', '--format', '{{.Id}} {{.Image}}', `${project}-side-1`])).toBe(before);
    // Still a member of the compose project.
    expect(await docker(host, ['inspect', '--format', '{{index .Config.Labels "com.docker.compose.project"}}', webName])).toBe(project);
  });
});
