import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bed } from '../helpers/bed.js';
import { loginAt, startCli, waitForPort, type CliRun } from '../helpers/cli-process.js';

const runs: CliRun[] = [];
const start = (args: string[], env: Record<string, string>) => {
  const run = startCli(args, env);
  runs.push(run);
  return run;
};
afterEach(() => {
  for (const r of runs.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});
const dataDir = () => mkdtempSync(join(tmpdir(), 'wdt-cli-'));
const PASSWORD = 'cli-test-password-1';
const baseEnv = (): Record<string, string> => ({ DOCKER_HOST: bed().dockerHost, WATCH_SERVER_ADDR: '127.0.0.1:0', WATCH_STORE_DATA_DIR: dataDir(), USER_NAME: 'admin', USER_PASSWORD: PASSWORD, WATCH_AUTH_PASSWORD_ITERATIONS: '100000' });

describe('watch-docker CLI', () => {
  it('prints help and version', async () => {
    const help = start(['--help'], {});
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('watch-docker [serve] [--config PATH]');
    const version = start(['--version'], {});
    expect(await version.exited).toBe(0);
    expect(version.stdout().trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it.each([
    [['--config', 'FILE'], 'scan:\n  interval: 10x\n', {}, 'config: scan.interval = "10x": expected a duration like 30s, 10m or 1h30m'],
    [['--config', 'FILE'], 'update: {autoUpdateCron: "0 0 3 * * * *"}\n', {}, 'config: update.autoUpdateCron = "0 0 3 * * * *": expected a cron expression'],
    [['--config', 'FILE'], 'docker: {host: "/var/run/docker.sock"}\n', {}, 'config: docker.host = "/var/run/docker.sock": expected unix:///path or tcp://host:port'],
    [[], '', { WATCH_SERVER_ADDR: 'localhost' }, 'config: server.addr (from WATCH_SERVER_ADDR) = "localhost": expected host:port'],
    [['--config', 'FILE'], 'server: {addr: ":8080"}\nsurprise: true\n', {}, 'config: surprise = true: unknown key'],
    [[], '', { WATCH_SCAN_INTERVAL: '10x' }, 'config: scan.interval (from WATCH_SCAN_INTERVAL) = "10x"'],
    [[], '', { WATCH_CONFIG: '/nonexistent/watch.yaml' }, 'config: cannot read /nonexistent/watch.yaml: ENOENT'],
  ])('exits non-zero with one line naming the key for %j %j %j', async (args, yaml, env, message) => {
    const file = join(dataDir(), 'config.yaml');
    writeFileSync(file, yaml);
    const run = start(args.map((a) => (a === 'FILE' ? file : a)), { ...baseEnv(), ...env });
    expect(await run.exited).toBe(2);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
    expect(run.stdout()).toBe('');
  });

  it('serves /healthz, /readyz and /api/containers for the engine, and keeps its data 0600', async () => {
    const env = baseEnv();
    const run = start([], env);
    const port = await waitForPort(run);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { data: { status: string } }).data.status).toBe('ok');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/api/containers`)).status).toBe(401);
    const token = await loginAt(`http://127.0.0.1:${port}`, 'admin', PASSWORD);
    const list = (await (await fetch(`http://127.0.0.1:${port}/api/containers`, { headers: { authorization: `Bearer ${token}` } })).json()) as { code: number; data: { total: number } };
    expect(list.code).toBe(0);
    expect(typeof list.data.total).toBe('number');
    expect(statSync(join(env.WATCH_STORE_DATA_DIR as string, 'health', 'probe')).mode & 0o777).toBe(0o600);
  });

  it('reports an unreachable engine on /readyz with 503 and keeps /healthz up', async () => {
    const run = start([], { ...baseEnv(), DOCKER_HOST: 'unix:///tmp/wd/no-such.sock' });
    const port = await waitForPort(run);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { msg: string }).msg).toContain('cannot reach the Docker engine at unix:///tmp/wd/no-such.sock');
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    // A socket proxy in front of the real engine that holds each response for 0.8 s.
    const engineSocket = bed().dockerHost.replace('unix://', '');
    const proxyPath = join(dataDir(), 'slow.sock');
    const proxy: Server = createServer((client) => {
      const upstream = createConnection(engineSocket);
      client.pipe(upstream);
      upstream.on('data', (d) => setTimeout(() => client.write(d), 800));
      upstream.on('end', () => setTimeout(() => client.end(), 900));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    }).listen(proxyPath);
    try {
      const run = start([], { ...baseEnv(), DOCKER_HOST: `unix://${proxyPath}` });
      const port = await waitForPort(run);
      const token = await loginAt(`http://127.0.0.1:${port}`, 'admin', PASSWORD);
      const inFlight = fetch(`http://127.0.0.1:${port}/api/containers`, { headers: { authorization: `Bearer ${token}` } });
      await new Promise((r) => setTimeout(r, 300));
      run.child.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { code: number }).code).toBe(0);
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toContain('"action":"shutdown"');
    } finally {
      proxy.close();
    }
  });

  it('exits 0 on SIGINT when idle', async () => {
    const run = start([], baseEnv());
    await waitForPort(run);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });
});
