import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the real docker CLI against an engine (argument array, never a shell string). */
export async function docker(host: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const env = { ...process.env, DOCKER_HOST: host, ...opts.env };
  if (opts.input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = spawn('docker', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`docker ${args.join(' ')} exited ${code}: ${err.trim()}`))));
      child.stdin.end(opts.input);
    });
  }
  try {
    const { stdout } = await run('docker', args, { env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Like docker(), but never throws: for clean-up. */
export async function dockerQuiet(host: string, args: string[]): Promise<void> {
  await docker(host, args).catch(() => undefined);
}
