import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
/** The launcher users run (bin/watch-docker: `node <flags for the command> dist/cli.js …`). */
export const LAUNCHER = fileURLToPath(new URL('../../bin/watch-docker', import.meta.url));

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts the built CLI (`npm run build` first) as a real process: `node dist/cli.js …`, or
 * with `launcher` through bin/watch-docker as users start it (node found on PATH).
 */
export function startCli(args: string[], env: Record<string, string>, opts: { launcher?: boolean } = {}): CliRun {
  const child = spawn(opts.launcher ? LAUNCHER : process.execPath, opts.launcher ? args : [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for the server's "listening" log line and returns its port. */
export async function waitForPort(run: CliRun, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of run.stdout().split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as { action?: string; port?: number };
      if (rec.action === 'listen' && rec.port) return rec.port;
    }
    if (run.child.exitCode !== null) throw new Error(`the server exited ${run.child.exitCode}: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server did not start: ${run.stdout()} ${run.stderr()}`);
}

/** Logs in to a running server and returns a full token (2FA off). */
export async function loginAt(baseUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }), signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { data?: { token?: string }; msg?: string };
  if (res.status !== 200 || !body.data?.token) throw new Error(`login failed: ${res.status} ${body.msg ?? ''}`);
  return body.data.token;
}
