/**
 * The split deployment in tests: the real Worker in workerd (`wrangler dev --local`, KV and
 * Durable Objects emulated, state persisted to a directory so a restart keeps it) and real
 * agent processes (the built CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startCli, type CliRun } from './cli-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = fileURLToPath(new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface EdgeWorker {
  url: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts `wrangler dev --local` on the given (or a free) port and waits until it serves. */
/**
 * `config`: another wrangler.toml (a test Worker); default the project's. `withoutAssets`: the
 * project's without [assets] (wrangler dev answers scheduled events only then).
 */
export async function startWorker(opts: { persistDir: string; vars: Record<string, string>; port?: number; config?: string; withoutAssets?: boolean; workerLogs?: boolean }): Promise<EdgeWorker> {
  const port = opts.port ?? (await freePort());
  const inspector = await freePort();
  const config = opts.config ?? (opts.withoutAssets ? configWithoutAssets(`${opts.persistDir}-wrangler.toml`) : undefined);
  const args = [
    WRANGLER, 'dev', ...(config ? ['--config', config] : []), '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--persist-to', opts.persistDir, '--show-interactive-dev-session=false',
    // The Worker's console.log lines are wrangler's level "log", below "info".
    '--log-level', opts.workerLogs ? 'log' : 'info',
    ...Object.entries(opts.vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', CI: '1', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited ${child.exitCode}: ${out}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // wrangler runs workerd as a child: end the whole process group we started.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  return { url, port, child, output: () => out, stop };
}

/**
 * Runs the Worker's Cron Trigger once, as if it fired at `time` (ms), through wrangler dev's
 * /cdn-cgi/handler/scheduled route (Miniflare answers it before the static assets, unlike
 * --test-scheduled's /__scheduled, which the assets' SPA fallback would take); answers its status and text.
 */
export async function runScheduled(worker: EdgeWorker, time: number, cron = '* * * * *'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${worker.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}&time=${time}`, { signal: AbortSignal.timeout(120_000) });
  return { status: res.status, text: await res.text() };
}

/**
 * The project's wrangler.toml without the web UI's [assets]: locally, Miniflare hands a
 * triggered scheduled event to a Worker with assets through its asset router, which fails to
 * pass the event on ("Could not serialize object of type ScheduledController"); deployed
 * Workers get Cron Triggers directly. Written to `path`, with `main` made absolute.
 */
function configWithoutAssets(path: string): string {
  const toml = readFileSync(`${ROOT}wrangler.toml`, 'utf8');
  const cut = toml.search(/^\[assets\]/m);
  const body = (cut >= 0 ? toml.slice(0, cut) : toml).replace(/^main = "(.*)"$/m, (_m, main: string) => `main = ${JSON.stringify(`${ROOT}${main}`)}`);
  writeFileSync(path, body);
  return path;
}

/** A real agent process (the built CLI: `npm run build` first), started as users start it: bin/watch-docker agent …. */
export function startAgent(opts: { url: string; host: string; keyFile: string; joinToken?: string; dockerHost: string; env?: Record<string, string> }): CliRun {
  return startCli(
    ['agent', '--url', opts.url.replace(/^http/, 'ws'), '--host', opts.host, '--key-file', opts.keyFile, ...(opts.joinToken ? ['--join-token', opts.joinToken] : [])],
    { DOCKER_HOST: opts.dockerHost, AGENT_RETRY_MAX_MS: '2000', WATCH_LOGGING_LEVEL: 'debug', ...opts.env },
    { launcher: true },
  );
}

/** Stops an agent process and waits for its exit. */
export async function stopAgent(run: CliRun): Promise<number | null> {
  if (run.child.exitCode !== null) return run.child.exitCode;
  run.child.kill('SIGTERM');
  return run.exited;
}

/** Waits until `probe` returns a truthy value (polling), or throws with the last value seen. */
export async function until<T>(what: string, probe: () => Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The API's envelope as the tests read it. */
export interface Envelope<T = any> { code: number; msg: string; data: T }

/**
 * A JSON call to the Worker with the current full token (read at each call: tests sign in
 * after the Worker starts); answers the status and the envelope.
 */
export async function workerApi<T = any>(worker: EdgeWorker, token: string, path: string, init: RequestInit = {}, timeoutMs = 60_000): Promise<{ status: number; body: Envelope<T> }> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(`${worker.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: (await res.json()) as Envelope<T> };
}

export interface LinkProxy {
  /** ws://… base URL for an agent's --url. */
  url: string;
  /** Cuts every connection through it now (both processes live on). */
  drop(): void;
  /** While paused, new connections are closed at once (the agent keeps retrying). */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of the Worker for agents: lets a test cut the agent's link while the
 * agent and the Worker both keep running.
 */
export async function startLinkProxy(target: () => number): Promise<LinkProxy> {
  const { createServer: tcpServer, connect } = await import('node:net');
  const open = new Set<import('node:net').Socket>();
  let paused = false;
  const server = tcpServer((client) => {
    if (paused) return void client.destroy();
    const upstream = connect(target(), '127.0.0.1');
    open.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const drop = () => {
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    url: `ws://127.0.0.1:${port}`,
    drop,
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    close: () => {
      drop();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
