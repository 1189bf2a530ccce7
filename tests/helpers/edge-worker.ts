/**
 * The split deployment in tests: the real Worker in workerd (`wrangler dev --local`, KV and
 * Durable Objects emulated, state persisted to a directory so a restart keeps it) and real
 * agent processes (the built CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
export async function startWorker(opts: { persistDir: string; vars: Record<string, string>; port?: number }): Promise<EdgeWorker> {
  const port = opts.port ?? (await freePort());
  const inspector = await freePort();
  const args = [
    WRANGLER, 'dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--persist-to', opts.persistDir, '--show-interactive-dev-session=false', '--log-level', 'info',
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
