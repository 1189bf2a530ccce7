import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComposeCli } from '../../src/agent/compose-cli.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import { MemoryLogger } from '../helpers/auth-log.js';
import { bed } from '../helpers/bed.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { testApp } from '../helpers/test-app.js';

// No silent skip: the test bed always has docker compose v2 (tests/bed/install.sh); without it this file fails.
if (!bed().compose) throw new Error('the test bed has no docker compose v2 (WD_COMPOSE=1 is missing from /tmp/wd/bed.env): install the compose plugin (tests/bed/install.sh) and run tests/bed/up.sh again');

const host = bed().dockerHost;
const id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const P = `wdcf-env-${id}`;
const appPath = mkdtempSync(join(tmpdir(), 'wdcf-env-'));
const SECRET = `wdcf-probe-${randomBytes(12).toString('hex')}`;
const PASSWORD = `wdcf-password-${randomBytes(12).toString('hex')}`;

// The server's own environment holds secrets (this file runs in its own worker process).
const saved = { probe: process.env.WDCF_SECRET_PROBE, password: process.env.USER_PASSWORD };
process.env.WDCF_SECRET_PROBE = SECRET;
process.env.USER_PASSWORD = PASSWORD;

const logger = new MemoryLogger();
const cli = new ComposeCli(host); // reads process.env, as the server does
const t = testApp(new DockerodePort(host), { compose: cli, composeFiles: new FsProjectFiles(appPath), logger });
const answers: string[] = [];
async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: { code: number; msg: string; data: T } }> {
  const res = await t.request(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await res.text();
  answers.push(text);
  return { status: res.status, body: JSON.parse(text) as { code: number; msg: string; data: T } };
}
const svc = `    image: ${bed().baseImage}\n    network_mode: host\n    stop_grace_period: 1s\n    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n`;

describe('docker compose never sees the server\'s secrets', () => {
  afterAll(async () => {
    await dockerQuiet(host, ['compose', '-p', P, 'down', '--timeout', '1']);
    cli.dispose();
    rmSync(appPath, { recursive: true, force: true });
    if (saved.probe === undefined) delete process.env.WDCF_SECRET_PROBE;
    else process.env.WDCF_SECRET_PROBE = saved.probe;
    if (saved.password === undefined) delete process.env.USER_PASSWORD;
    else process.env.USER_PASSWORD = saved.password;
  });

  it('a compose file interpolating a server variable into a port gets an error without the value', async () => {
    const r = await call('POST', '/api/compose/create', { name: `${P}-port`, yaml: `services:\n  web:\n${svc}    ports: ["\${WDCF_SECRET_PROBE}"]\n` });
    expect(r.status, r.body.msg).toBe(400);
    expect(r.body.msg).toMatch(/^compose file is invalid/);
    expect(r.body.msg).not.toContain(SECRET);
  });

  it('a started project\'s containers get no server variable, only those of the project\'s .env', async () => {
    mkdirSync(join(appPath, P));
    writeFileSync(join(appPath, P, '.env'), 'WDCF_FROM_DOTENV=dotenv-value\n');
    const yaml = `services:\n  web:\n${svc}    environment:\n      PW: "\${USER_PASSWORD}"\n      PROBE: "\${WDCF_SECRET_PROBE:-unset}"\n      FROM_DOTENV: "\${WDCF_FROM_DOTENV}"\n`;
    const created = await call('POST', '/api/compose/create', { name: P, yaml, overwrite: true });
    expect(created.status, created.body.msg).toBe(201);
    const started = await call<{ output: string }>('POST', '/api/compose/start', { name: P });
    expect(started.status, started.body.msg).toBe(200);
    const env = (await docker(host, ['inspect', '--format', '{{json .Config.Env}}', `${P}-web-1`]));
    const vars = JSON.parse(env) as string[];
    expect(vars).toContain('PW=');
    expect(vars).toContain('PROBE=unset');
    expect(vars).toContain('FROM_DOTENV=dotenv-value');
    await call('GET', '/api/compose');
    await call('GET', `/api/compose/file?name=${P}`);
    for (const text of [env, ...answers, ...logger.lines]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(PASSWORD);
    }
  });
});
