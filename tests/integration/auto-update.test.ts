import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bed, uniqueName } from '../helpers/bed.js';
import { loginAt, startCli, waitForPort, type CliRun } from '../helpers/cli-process.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';

const host = bed().dockerHost;
const run = uniqueName('auto');
const selector = `wdt.auto=${run}`;
const repo = `${bed().regPlain}/wdt/${run}`;
const PASSWORD = 'auto-update-password';

describe('the server on its own', () => {
  let server: CliRun | undefined;
  beforeAll(async () => {
    await buildImage(host, `${repo}:latest`);
    await pushImage(host, `${repo}:latest`);
    await docker(host, ['run', '-d', '--network', 'none', '--name', run, '--label', selector, `${repo}:latest`]);
    await buildImage(host, `${repo}:latest`);
    await pushImage(host, `${repo}:latest`);
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    const ids = await docker(host, ['ps', '-aq', '--filter', `label=${selector}`]).catch(() => '');
    for (const id of ids.split('\n').filter(Boolean)) await dockerQuiet(host, ['rm', '-f', id]);
    await dockerQuiet(host, ['rmi', '-f', `${repo}:latest`]);
  });

  it('scans at start and applies the update on the auto-update schedule', async () => {
    server = startCli([], {
      DOCKER_HOST: host, WATCH_SERVER_ADDR: '127.0.0.1:0', WATCH_STORE_DATA_DIR: mkdtempSync(join(tmpdir(), 'wdt-auto-')),
      USER_PASSWORD: PASSWORD, WATCH_AUTH_PASSWORD_ITERATIONS: '100000', HOME: mkdtempSync(join(tmpdir(), 'wdt-home-')),
      WATCH_POLICY_ONLY_LABELS: selector, WATCH_UPDATE_ENABLED: 'true', WATCH_UPDATE_AUTO_UPDATE_CRON: '*/3 * * * * *',
      WATCH_UPDATE_SETTLE_TIME: '1s', WATCH_UPDATE_TIMEZONE: 'UTC',
    });
    const port = await waitForPort(server);
    const token = await loginAt(`http://127.0.0.1:${port}`, 'admin', PASSWORD);
    const get = async <T>(path: string) => ((await (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: T }).data;
    const deadline = Date.now() + 45_000;
    let entries: { name: string; result: string; trigger: { kind: string } }[] = [];
    while (Date.now() < deadline) {
      entries = (await get<{ entries: typeof entries }>('/api/updates/history')).entries;
      if (entries.length > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(entries[0]).toMatchObject({ name: run, result: 'updated', trigger: { kind: 'schedule' } });
    const newId = await docker(host, ['image', 'inspect', '--format', '{{.Id}}', `${repo}:latest`]);
    expect(await docker(host, ['inspect', '--format', '{{.Image}}', run])).toBe(newId);
    expect(server.stdout()).toContain('"action":"auto-update"');
  });
});
