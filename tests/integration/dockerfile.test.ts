import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAt } from '../helpers/cli-process.js';
import { freePort, startWorker, workerApi } from '../helpers/edge-worker.js';
import { readBedEnv, uniqueName } from '../helpers/bed.js';
import { startDebCache, type DebCache } from '../helpers/deb-cache.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { WsClient } from '../helpers/ws-client.js';

/**
 * The project's Dockerfile, built for real and run against the test engine: the image
 * serves, sees the engine through the mounted socket as the non-root `node` user, turns
 * healthy by its own HEALTHCHECK, and carries no devDependencies. It ships the docker CLI and
 * the Compose v2 plugin (client only): with APP_PATH mounted at the host's path it lists and
 * starts a compose project, and with IS_OPEN_DOCKER_SHELL=true its web shell (node-pty) opens
 * on the host side and inside a container (`docker exec -it`).
 *
 * The base image `node:22-bookworm-slim` cannot be pulled on the test machine: the test
 * bed's stand-in (tests/bed/standin-node-image.sh) is loaded into the engine first.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STANDIN = fileURLToPath(new URL('../bed/standin-node-image.sh', import.meta.url));
const IMAGE = 'watch-docker:test';
const IMAGE_LEGACY = 'watch-docker:test-legacy';
const MIN = 60_000;

// Set by the integration globalSetup from /tmp/wd/bed.env; read the file directly otherwise.
const HOST = process.env.WD_DOCKER_HOST ?? readBedEnv().WD_DOCKER_HOST ?? '';
const SOCKET = HOST.startsWith('unix://') ? HOST.slice('unix://'.length) : '';

const name = uniqueName('dockerfile');
/** APP_PATH: a host folder, mounted at the same path inside the container (bind mounts in compose files resolve on the host). */
const appPath = mkdtempSync(join(tmpdir(), 'wd-dockerfile-app-'));
const project = uniqueName('wddf').toLowerCase().replace(/[^a-z0-9_-]/g, '-');
/** Caches the Dockerfile's Debian packages between builds and runs (tests/helpers/deb-cache.ts). */
let debs: DebCache | null = null;
let port = 0;
let containerId = '';
/** BuildKit when the buildx plugin is there (the CLI's default then); else the legacy builder. */
let buildkit = false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function logsTail(): Promise<string> {
  return docker(HOST, ['logs', '--tail', '40', name]).catch((e: Error) => `(no logs: ${e.message})`);
}

/** Polls until fn returns a value (not undefined), or fails with the last reason and the container's logs. */
async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last: ${last})` : ''}\n${await logsTail()}`);
    await sleep(500);
  }
}

const PASSWORD = 'dockerfile-test-password';
let token: string | undefined;

async function getJson(path: string): Promise<{ status: number; body: any }> {
  if (path.startsWith('/api/')) token ??= await loginAt(`http://127.0.0.1:${port}`, 'admin', PASSWORD);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.json() };
}

describe('Dockerfile', () => {
  beforeAll(async () => {
    if (!SOCKET) throw new Error(`the Dockerfile test needs a unix-socket engine, got WD_DOCKER_HOST=${JSON.stringify(HOST)}`);

    // 1. The stand-in base image: built once and cached, loaded in later runs.
    await run('bash', [STANDIN], { env: { ...process.env, DOCKER_HOST: HOST }, timeout: 20 * MIN, maxBuffer: 16 * 1024 * 1024 }).catch(
      (err: { stderr?: string; message: string }) => {
        throw new Error(`${STANDIN} failed: ${err.stderr?.trim() || err.message}`);
      },
    );

    // 2. The image, exactly as a user builds it (plus what this machine's network needs).
    // --network host: npm reaches the registry; never --pull: the base image is local only.
    // DEBIAN_MIRROR: the trixie packages (docker CLI, compose) through a local cache.
    buildkit = await docker(HOST, ['buildx', 'version']).then(() => true, () => false);
    debs = await startDebCache();
    const t0 = Date.now();
    await docker(HOST, ['build', '--network', 'host', '--force-rm', '--build-arg', `DEBIAN_MIRROR=${debs.url}`, '-t', IMAGE, ROOT], {
      timeoutMs: 15 * MIN,
      env: { DOCKER_BUILDKIT: buildkit ? '1' : '0' },
    });
    console.info(`[dockerfile] ${buildkit ? 'BuildKit' : 'legacy'} build: ${Math.round((Date.now() - t0) / 1000)} s; Debian files cached/fetched: ${debs.stats.hits}/${debs.stats.misses}`);

    // A compose project under APP_PATH, readable by the image's node user.
    chmodSync(appPath, 0o755);
    mkdirSync(join(appPath, project));
    writeFileSync(
      join(appPath, project, 'compose.yaml'),
      `services:\n  idle:\n    image: ${readBedEnv().WD_BASE_IMAGE ?? 'wd-busybox:latest'}\n    network_mode: host\n    stop_grace_period: 1s\n    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n`,
    );
    chmodSync(join(appPath, project), 0o755);

    // 3. Run it beside the engine's socket, as the non-root user with the socket's group.
    port = await freePort();
    const gid = String(statSync(SOCKET).gid);
    containerId = await docker(HOST, [
      'run', '-d', '--name', name, '--network', 'host',
      '-v', `${SOCKET}:/var/run/docker.sock`,
      '--group-add', gid,
      '-v', `${appPath}:${appPath}`,
      '-e', `APP_PATH=${appPath}`,
      '-e', 'IS_OPEN_DOCKER_SHELL=true',
      '-e', `WATCH_SERVER_ADDR=127.0.0.1:${port}`,
      '-e', `USER_PASSWORD=${PASSWORD}`,
      '--health-interval', '1s', '--health-timeout', '5s', '--health-start-period', '30s', '--health-retries', '3',
      IMAGE,
    ]);
  }, 40 * MIN);

  afterAll(async () => {
    // -v: also the anonymous /data volume. The stand-in base image stays: it is the cache.
    await dockerQuiet(HOST, ['compose', '-p', project, 'down', '--timeout', '1']);
    await dockerQuiet(HOST, ['rm', '-f', '-v', name]);
    rmSync(appPath, { recursive: true, force: true });
    await debs?.close();
    await dockerQuiet(HOST, ['rmi', '-f', IMAGE]);
    await dockerQuiet(HOST, ['rmi', '-f', IMAGE_LEGACY]);
  }, 2 * MIN);

  it('has the runtime configuration of the Dockerfile', async () => {
    const cfg = JSON.parse(await docker(HOST, ['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as {
      User: string;
      Env: string[];
      ExposedPorts: Record<string, unknown>;
      Entrypoint: string[];
      Cmd: string[];
      Volumes: Record<string, unknown>;
      Labels: Record<string, string>;
      Healthcheck: { Test: string[] };
    };
    expect(cfg.User).toBe('node');
    expect(cfg.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'WATCH_SERVER_ADDR=:8080', 'WATCH_STORE_DATA_DIR=/data']));
    expect(Object.keys(cfg.ExposedPorts)).toEqual(['8080/tcp']);
    expect(Object.keys(cfg.Volumes)).toEqual(['/data']);
    expect(cfg.Entrypoint).toEqual(['/app/bin/watch-docker']);
    expect(cfg.Cmd).toEqual(['serve']);
    expect(cfg.Healthcheck.Test).toEqual(['CMD', 'node', 'dist/cli.js', 'health']);
    expect(cfg.Labels['org.opencontainers.image.title']).toBe('watch-docker');
    expect(cfg.Labels['org.opencontainers.image.licenses']).toBe('MIT');
  });

  it('answers GET /healthz', async () => {
    const { body } = await waitFor('GET /healthz to answer 200', 60_000, async () => {
      const r = await getJson('/healthz');
      return r.status === 200 ? r : undefined;
    });
    expect(body).toMatchObject({ code: 0, msg: 'success', data: { status: 'ok' } });
  }, 2 * MIN);

  it('lists its own container through the mounted socket', async () => {
    const body = await waitFor('GET /api/containers to list the container itself', 60_000, async () => {
      const r = await getJson('/api/containers');
      if (r.status !== 200 || r.body?.code !== 0) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
      const mine = (r.body.data.containers as { id: string; name: string }[]).some(
        (c) => c.id === containerId || c.name.replace(/^\//, '') === name,
      );
      return mine ? r.body : undefined;
    });
    expect(body.code).toBe(0);
    expect(body.data.total).toBeGreaterThanOrEqual(1);
  }, 2 * MIN);

  it('runs as uid 1000 and can write only its data volume', async () => {
    expect(await docker(HOST, ['exec', name, 'id', '-u'])).toBe('1000');
    expect(await docker(HOST, ['exec', name, 'id', '-g'])).toBe('1000');
    // /data is the node user's; the code is not.
    await docker(HOST, ['exec', name, 'touch', '/data/.write-test']);
    await expect(docker(HOST, ['exec', name, 'touch', '/app/dist/.write-test'])).rejects.toThrow();
  });

  it('turns healthy by its own HEALTHCHECK', async () => {
    const status = await waitFor('the Docker health status to turn healthy', 90_000, async () => {
      const s = await docker(HOST, ['inspect', '--format', '{{.State.Health.Status}}', name]);
      if (s === 'unhealthy') {
        const log = await docker(HOST, ['inspect', '--format', '{{json .State.Health.Log}}', name]);
        throw new Error(`unhealthy: ${log}`);
      }
      return s === 'healthy' ? s : undefined;
    });
    expect(status).toBe('healthy');
  }, 2 * MIN);

  it('carries production dependencies only, and no sources or tests', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
    };
    const wanted = Object.keys(pkg.dependencies).map((d) => `node_modules/${d}`);
    // A devDependency may also be a real runtime dependency of a dependency (the lockfile
    // then does not mark it dev, e.g. @types/node under protobufjs): only dev-only ones must be absent.
    const devOnly = Object.keys(pkg.devDependencies)
      .map((d) => `node_modules/${d}`)
      .filter((p) => lock.packages[p]?.dev === true || lock.packages[p]?.devOptional === true);
    expect(devOnly).toContain('node_modules/vitest');
    const probe = [...wanted, 'dist/cli.js', 'package.json', ...devOnly, 'src', 'tests', 'node_modules/.bin/tsc', 'node_modules/.bin/vitest'];
    // Plain argv (no shell): node prints which of these paths exist inside the container.
    const out = await docker(HOST, [
      'exec', '-w', '/app', name, 'node', '-e',
      'const fs=require("fs");console.log(JSON.stringify(process.argv.slice(1).filter((p)=>fs.existsSync(p))))',
      ...probe,
    ]);
    expect(JSON.parse(out)).toEqual([...wanted, 'dist/cli.js', 'package.json']);
    // The literal check as well: listing a devDependency fails.
    await expect(docker(HOST, ['exec', '-w', '/app', name, 'ls', 'node_modules/vitest'])).rejects.toThrow();
  });

  it('ships the docker CLI and the Compose v2 plugin, client only, talking to the mounted engine', async () => {
    expect(await docker(HOST, ['exec', name, 'docker', 'version', '--format', '{{.Client.Version}}'])).toMatch(/^\d+\.\d+\.\d+/);
    expect(await docker(HOST, ['exec', name, 'docker', 'compose', 'version', '--short'])).toMatch(/^v?2\.\d+\.\d+/);
    // As the node user, through the socket and the group added with --group-add.
    const engine = await docker(HOST, ['version', '--format', '{{.Server.Version}}']);
    expect(await docker(HOST, ['exec', name, 'docker', 'version', '--format', '{{.Server.Version}}'])).toBe(engine);
    // No daemon, no containerd.
    const found = await docker(HOST, ['exec', name, 'sh', '-c', 'for b in dockerd containerd runc docker-proxy; do command -v $b || true; done']);
    expect(found).toBe('');
  });

  it('lists and starts a compose project under APP_PATH through the image\'s docker compose', async () => {
    const listed = await waitFor('GET /api/compose to list the project', 60_000, async () => {
      const r = await getJson('/api/compose');
      if (r.status !== 200 || r.body?.code !== 0) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
      return (r.body.data as { name: string }[]).find((p) => p.name === project);
    });
    expect(listed).toMatchObject({ name: project, folder: join(appPath, project), managed: true, status: 'stopped' });
    const res = await fetch(`http://127.0.0.1:${port}/api/compose/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: project }),
      signal: AbortSignal.timeout(120_000),
    });
    const body = (await res.json()) as { code: number; msg: string; data: { ok: boolean; output: string } };
    expect(res.status, `${body.msg} ${body.data?.output ?? ''}`).toBe(200);
    expect(body.data.ok).toBe(true);
    const running = await waitFor('the project to be running', 60_000, async () => {
      const r = await getJson('/api/compose');
      const p = (r.body.data as { name: string; status: string }[]).find((x) => x.name === project);
      return p?.status === 'running' ? p : undefined;
    });
    expect(running).toMatchObject({ name: project, status: 'running' });
  }, 3 * MIN);

  it('opens the web shell (node-pty) in the image, and a shell inside a container', async () => {
    token ??= await loginAt(`http://127.0.0.1:${port}`, 'admin', PASSWORD);
    const headers = { authorization: `Bearer ${token}`, origin: `http://127.0.0.1:${port}` };
    const run = async (path: string, command: string, expected: string): Promise<string> => {
      const client = await WsClient.open(`ws://127.0.0.1:${port}${path}`, headers);
      try {
        client.send({ type: 'input', data: `${command}\n` });
        let out = '';
        await client.waitFor((f) => {
          if (f.type === 'output') out += String(f.data);
          return out.includes(expected);
        }, `"${expected}" from ${path}`, 30_000);
        return out;
      } finally {
        client.close();
      }
    };
    // The host side of the shell is the image itself: the node user, in /home/node.
    expect(await run('/api/shell/ws?cols=100&rows=30', 'echo "wd-$(id -u)-$((6*7))"', 'wd-1000-42')).toContain('wd-1000-42');
    // `docker exec -it` into another container: the test bed's busybox, as root there.
    const other = `${name}-sh`;
    await docker(HOST, ['run', '-d', '--name', other, '--network', 'none', readBedEnv().WD_BASE_IMAGE ?? 'wd-busybox:latest', 'sleep', '3600']);
    try {
      expect(await run(`/api/containers/${other}/shell/ws`, 'echo "in-$(id -u)-$((6*7))"', 'in-0-42')).toContain('in-0-42');
    } finally {
      await dockerQuiet(HOST, ['rm', '-f', other]);
    }
  }, 2 * MIN);

  it('runs as an agent (`agent`): enrols with a Worker, turns healthy by the same HEALTHCHECK, keeps its key across a restart', async () => {
    const agentName = `${name}-agent`;
    const volume = `${agentName}-data`;
    const stateDir = mkdtempSync(join(tmpdir(), 'wd-dockerfile-worker-'));
    const worker = await startWorker({ persistDir: stateDir, vars: { USER_NAME: 'admin', USER_PASSWORD: PASSWORD } });
    try {
      const edgeToken = await loginAt(worker.url, 'admin', PASSWORD);
      const host = 'dockerfile-agent';
      const created = await workerApi(worker, edgeToken, '/api/hosts', { method: 'POST', body: JSON.stringify({ name: host }) });
      expect(created.status).toBe(201);
      const online = () => waitFor(`host ${host} online in the Worker`, 60_000, async () => {
        const hosts = (await workerApi<{ hosts: Array<{ name: string; online: boolean }> }>(worker, edgeToken, '/api/hosts')).body.data.hosts;
        return hosts.find((h) => h.name === host && h.online) ? true : undefined;
      });
      const healthy = () => waitFor('the agent container to turn healthy', 90_000, async () => {
        const s = await docker(HOST, ['inspect', '--format', '{{.State.Health.Status}}', agentName]);
        if (s === 'unhealthy') throw new Error(`unhealthy: ${await docker(HOST, ['inspect', '--format', '{{json .State.Health.Log}}', agentName])}`);
        return s === 'healthy' ? s : undefined;
      });
      await docker(HOST, [
        'run', '-d', '--name', agentName, '--network', 'host',
        '-v', `${SOCKET}:/var/run/docker.sock`, '--group-add', String(statSync(SOCKET).gid),
        '-v', `${volume}:/data`,
        '-e', `AGENT_URL=${worker.url.replace(/^http/, 'ws')}`, '-e', `AGENT_HOST=${host}`, '-e', `AGENT_JOIN_TOKEN=${created.body.data.joinToken}`,
        '--health-interval', '1s', '--health-timeout', '5s', '--health-start-period', '30s', '--health-retries', '3',
        IMAGE, 'agent',
      ]);
      await online();
      expect(await healthy()).toBe('healthy');
      // The launcher started node with the agent's flags (PID 1: exec, no shell left over).
      const cmdline = (await docker(HOST, ['exec', agentName, 'cat', '/proc/1/cmdline'])).split('\0').filter(Boolean);
      expect(cmdline.slice(0, 2)).toEqual(['node', '--max-semi-space-size=1']);
      expect(cmdline.slice(-2)).toEqual(['/app/bin/../dist/cli.js', 'agent']);
      expect(await docker(HOST, ['exec', agentName, 'stat', '-c', '%a %U', `/data/agent-${host}.key`])).toBe('600 node');
      const rss = /VmRSS:\s+(\d+) kB/.exec(await docker(HOST, ['exec', agentName, 'cat', '/proc/1/status']))?.[1];
      console.info(`[dockerfile] agent container RSS once online: ${(Number(rss) / 1024).toFixed(1)} MB`);
      // A listing through the agent in the container.
      const listed = await workerApi<unknown[]>(worker, edgeToken, `/api/containers?all=true&host=${host}`);
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body.data)).toContain(agentName);
      // A restart (the spent join token still in its environment): the key in the volume proves the host.
      await docker(HOST, ['restart', '-t', '5', agentName]);
      await online();
      expect(await healthy()).toBe('healthy');
      // The control plane stopped: the agent's link is down and the HEALTHCHECK says so.
      await worker.stop();
      const down = await waitFor('the agent to report its link down', 60_000, async () => {
        const r = await docker(HOST, ['exec', agentName, 'node', 'dist/cli.js', 'health']).then(() => undefined, (e: Error) => e.message);
        return r;
      });
      expect(down).toMatch(new RegExp(`agent ${host}: (waiting|connecting) since .*not linked to the control plane`));
    } finally {
      await worker.stop();
      await dockerQuiet(HOST, ['rm', '-f', '-v', agentName]);
      await dockerQuiet(HOST, ['volume', 'rm', volume]);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 6 * MIN);

  it('builds the same image with the legacy builder (no BuildKit-only syntax)', async (ctx) => {
    if (!buildkit) ctx.skip(); // the image above was built by the legacy builder already
    const dangling = async () =>
      new Set((await docker(HOST, ['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).split('\n').filter(Boolean));
    const before = await dangling();
    try {
      const t0 = Date.now();
      await docker(HOST, ['build', '--network', 'host', '--force-rm', '--build-arg', `DEBIAN_MIRROR=${debs?.url ?? ''}`, '-t', IMAGE_LEGACY, ROOT], {
        timeoutMs: 15 * MIN,
        env: { DOCKER_BUILDKIT: '0' },
      });
      console.info(`[dockerfile] legacy build: ${Math.round((Date.now() - t0) / 1000)} s; Debian files cached/fetched: ${debs?.stats.hits}/${debs?.stats.misses}`);
      expect(await docker(HOST, ['run', '--rm', '--network', 'none', '--entrypoint', 'docker', IMAGE_LEGACY, 'compose', 'version', '--short'])).toMatch(/^v?2\./);
      const fmt = '{{json .Config.User}} {{json .Config.Env}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.Healthcheck}} {{json .Config.Labels}}';
      expect(await docker(HOST, ['image', 'inspect', '--format', fmt, IMAGE_LEGACY])).toBe(await docker(HOST, ['image', 'inspect', '--format', fmt, IMAGE]));
    } finally {
      // The legacy builder keeps the build stage as an untagged image: remove what this build left.
      await dockerQuiet(HOST, ['rmi', '-f', IMAGE_LEGACY]);
      for (const id of await dangling()) if (!before.has(id)) await dockerQuiet(HOST, ['rmi', id]);
    }
  }, 20 * MIN);
});
