import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ComposeProject } from '../../src/core/compose/service.js';
import { bed } from '../helpers/bed.js';
import { dockerQuiet } from '../helpers/docker-cli.js';
import { loginAt, startCli, waitForPort, type CliRun } from '../helpers/cli-process.js';

const host = bed().dockerHost;
const PASSWORD = 'compose server test password 1';
const name = `wdc-srv-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const appPath = mkdtempSync(join(tmpdir(), 'wdc-srv-app-'));
const store = mkdtempSync(join(tmpdir(), 'wdc-srv-store-'));
const home = mkdtempSync(join(tmpdir(), 'wdc-srv-home-'));
let server: CliRun | undefined;

// No silent skip: the test bed always has docker compose v2 (tests/bed/install.sh); without it this file fails.
if (!bed().compose) throw new Error('the test bed has no docker compose v2 (WD_COMPOSE=1 is missing from /tmp/wd/bed.env): install the compose plugin (tests/bed/install.sh) and run tests/bed/up.sh again');

describe('the real server manages the compose projects under APP_PATH', () => {
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await dockerQuiet(host, ['compose', '-p', name, 'down', '--timeout', '1']);
    for (const d of [appPath, store, home]) rmSync(d, { recursive: true, force: true });
  });

  it('lists a folder of APP_PATH, starts it with docker compose, and reads its file back', async () => {
    mkdirSync(join(appPath, name));
    const yaml = `services:\n  one:\n    image: ${bed().baseImage}\n    network_mode: host\n    stop_grace_period: 1s\n    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n`;
    writeFileSync(join(appPath, name, 'docker-compose.yml'), yaml);
    server = startCli([], {
      DOCKER_HOST: host, WATCH_SERVER_ADDR: '127.0.0.1:0', WATCH_STORE_DATA_DIR: store,
      USER_PASSWORD: PASSWORD, WATCH_AUTH_PASSWORD_ITERATIONS: '100000', HOME: home,
      APP_PATH: appPath, WATCH_POLICY_ONLY_LABELS: `wdc.none=${name}`,
    });
    const base = `http://127.0.0.1:${await waitForPort(server)}`;
    const token = await loginAt(base, 'admin', PASSWORD);
    const api = async <T>(path: string, init: RequestInit = {}) => {
      const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(60_000) });
      return { status: res.status, body: (await res.json()) as { msg: string; data: T } };
    };
    const find = async () => (await api<ComposeProject[]>('/api/compose')).body.data.find((p) => p.name === name);

    expect(await find()).toMatchObject({ managed: true, folder: join(appPath, name), files: [join(appPath, name, 'docker-compose.yml')], status: 'stopped' });
    const started = await api<{ ok: boolean }>('/api/compose/start', { method: 'POST', body: JSON.stringify({ name }) });
    expect(started.status, started.body.msg).toBe(200);
    expect((await find())?.status).toBe('running');
    expect((await api<{ yaml: string }>(`/api/compose/file?name=${name}`)).body.data.yaml).toBe(yaml);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
