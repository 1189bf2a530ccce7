import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Channel } from '../core/channel.js';
import type { ComposeCommand, ComposeConfigResult, ComposeDraft, ComposeLogLine, ComposeLogOptions, ComposeLsEntry, ComposePort, ComposeProjectRef, ComposeRunEvent } from '../core/compose/port.js';
import { AppError, ErrorCode } from '../core/errors.js';

const MAX_OUTPUT = 8 * 1024 * 1024;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const clean = (line: string) => line.replace(ANSI, '').replace(/\r$/, '');
/** Log lines queued for a slow reader before the CLI's output is paused. */
const LOG_HIGH_WATER = 1000;

function commandArgs(c: ComposeCommand): string[] {
  const t = (s?: number) => (s === undefined ? [] : ['--timeout', String(s)]);
  switch (c.op) {
    case 'up': return ['up', '-d', ...(c.noDeps ? ['--no-deps'] : []), '--', ...(c.services ?? [])];
    case 'pull': return ['pull', '--', ...(c.services ?? [])];
    case 'start': return ['start'];
    case 'stop': return ['stop', ...t(c.timeoutSeconds)];
    case 'restart': return ['restart', ...t(c.timeoutSeconds)];
    case 'down': return ['down', ...(c.removeVolumes ? ['--volumes'] : []), ...t(c.timeoutSeconds)];
  }
}

/**
 * The only variables of the server's environment a docker / docker compose child gets. Compose
 * interpolates `${VAR}` in a compose file from its environment, so anything else (USER_PASSWORD,
 * JWT and registry secrets, WATCH_* settings …) would reach the project's containers and
 * compose's error messages. A project takes its variables from the `.env` file in its folder.
 */
export const CHILD_ENV_KEYS = ['PATH', 'HOME', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'LANG', 'LC_ALL', 'TMPDIR', 'XDG_RUNTIME_DIR'] as const;

/** The environment of a docker / compose child: the allowlisted variables and the engine's DOCKER_HOST. */
export function childEnv(from: Record<string, string | undefined>, dockerHost: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of CHILD_ENV_KEYS) {
    const v = from[k];
    if (v) env[k] = v;
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  env.DOCKER_HOST = dockerHost;
  return env;
}

/**
 * "web-1  | text" → the container prefix compose prints and the line. No `stream`: compose
 * prints its containers' stdout and stderr alike on its own stdout, so it cannot be told.
 */
export function parseLogLine(raw: string): ComposeLogLine | null {
  const line = clean(raw);
  const bar = line.indexOf(' | ');
  if (bar < 0) return null;
  const container = line.slice(0, bar).trim();
  return { service: container.replace(/-\d+$/, ''), container, text: line.slice(bar + 3) };
}

/**
 * The Compose port over the real `docker compose` CLI, always with an argument array (never a
 * shell string) and against the configured engine. A command with compose files runs in the
 * project's folder; one by project name only runs in an empty folder, so no stray compose file
 * is ever picked up. Every process runs in its own process group, killed as a whole.
 */
export class ComposeCli implements ComposePort {
  private readonly children = new Set<ChildProcess>();
  private emptyDir: string | undefined;

  private readonly env: Record<string, string>;
  private readonly timeoutMs: number;

  /** `env`: the server's environment (default process.env), of which only CHILD_ENV_KEYS are passed on. */
  constructor(dockerHost: string, opts: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}) {
    this.env = childEnv(opts.env ?? process.env, dockerHost);
    this.timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  }

  private spawn(project: ComposeProjectRef | null, args: string[], stdin?: string): ChildProcess {
    // With files: the project folder is given, so a compose file passed by its real path (a
    // link resolved and checked by the caller) keeps the project's own folder.
    const files = project && project.files.length > 0 ? [...(project.workingDir ? ['--project-directory', project.workingDir] : []), ...project.files.flatMap((f) => ['-f', f])] : [];
    const argv = ['compose', ...(project ? ['-p', project.name, ...files] : []), ...args];
    const env = { ...this.env };
    const cwd = project && project.files.length > 0 && project.workingDir ? project.workingDir : (this.emptyDir ??= mkdtempSync(join(tmpdir(), 'wd-compose-')));
    const child = spawn('docker', argv, { cwd, env, detached: true, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) {
      // A CLI that exits before reading its input must not crash the server with EPIPE.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(stdin);
    }
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
    return child;
  }

  private kill(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const pid = child.pid;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const hard = setTimeout(() => signal('SIGKILL'), 2_000);
    hard.unref();
    child.once('close', () => clearTimeout(hard));
  }

  /** Kills every compose process still running and removes the empty folder (server shutdown). */
  dispose(): void {
    for (const c of this.children) this.kill(c);
    if (this.emptyDir) rmSync(this.emptyDir, { recursive: true, force: true });
    this.emptyDir = undefined;
  }

  private failed(err: Error): AppError {
    return new AppError(ErrorCode.DockerError, `docker compose could not be started: ${err.message}`);
  }

  run(project: ComposeProjectRef, command: ComposeCommand): AsyncIterable<ComposeRunEvent> {
    const child = this.spawn(project, commandArgs(command));
    const ch = new Channel<ComposeRunEvent>({ onClose: () => this.kill(child) });
    let open = 2;
    let exit: number | null = null;
    const finish = () => {
      if (open > 0 || exit === null) return;
      ch.push({ type: 'exit', code: exit });
      ch.end();
    };
    for (const s of [child.stdout, child.stderr]) {
      if (!s) continue;
      const rl = createInterface({ input: s, crlfDelay: Infinity });
      rl.on('line', (l) => {
        const text = clean(l).trim();
        if (text) ch.push({ type: 'line', text });
      });
      rl.on('close', () => {
        open--;
        finish();
      });
    }
    const timer = setTimeout(() => {
      ch.push({ type: 'line', text: `timed out after ${Math.round(this.timeoutMs / 1000)} s` });
      this.kill(child);
    }, this.timeoutMs);
    timer.unref();
    child.on('error', (err) => {
      clearTimeout(timer);
      ch.end(this.failed(err));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      exit = code ?? (signal ? 128 : 1);
      finish();
    });
    return ch;
  }

  private async collect(project: ComposeProjectRef, command: ComposeCommand): Promise<{ output: string }> {
    const lines: string[] = [];
    let code = -1;
    for await (const ev of this.run(project, command)) {
      if (ev.type === 'line') lines.push(ev.text);
      else code = ev.code;
    }
    const output = lines.join('\n');
    if (code !== 0) {
      const last = lines.slice(-5).join('\n');
      throw new AppError(ErrorCode.DockerError, `docker compose ${command.op} for project ${project.name} failed: ${last || `exit ${code}`}`, { output: last });
    }
    return { output };
  }

  up(project: ComposeProjectRef, opts: { services?: string[]; noDeps?: boolean }): Promise<{ output: string }> {
    return this.collect(project, { op: 'up', ...opts });
  }

  pull(project: ComposeProjectRef, opts: { services?: string[] }): Promise<{ output: string }> {
    return this.collect(project, { op: 'pull', ...opts });
  }

  /** Runs to the end and returns stdout, stderr and the exit code (output capped). */
  private exec(project: ComposeProjectRef | null, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(project, args, stdin);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      const take = (into: Buffer[]) => (d: Buffer) => {
        size += d.length;
        if (size > MAX_OUTPUT) this.kill(child);
        else into.push(d);
      };
      child.stdout?.on('data', take(out));
      child.stderr?.on('data', take(err));
      const timer = setTimeout(() => this.kill(child), this.timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(this.failed(e));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: clean(Buffer.concat(err).toString('utf8')).trim() });
      });
    });
  }

  async ls(): Promise<ComposeLsEntry[]> {
    const r = await this.exec(null, ['ls', '--all', '--format', 'json']);
    if (r.code !== 0) throw new AppError(ErrorCode.DockerError, `docker compose ls failed: ${r.stderr.split('\n').slice(-3).join(' ') || `exit ${r.code}`}`);
    const raw: unknown = JSON.parse(r.stdout || '[]');
    return (Array.isArray(raw) ? raw : []).map((e: { Name?: unknown; Status?: unknown; ConfigFiles?: unknown }) => ({
      name: String(e.Name ?? ''),
      status: String(e.Status ?? ''),
      configFiles: String(e.ConfigFiles ?? '').split(',').filter(Boolean),
    })).filter((e) => e.name !== '');
  }

  async config(source: { project: ComposeProjectRef } | { draft: ComposeDraft }): Promise<ComposeConfigResult> {
    const r = 'project' in source
      ? await this.exec(source.project, ['config', '--format', 'json'])
      : await this.exec(null, ['-p', source.draft.name, '--project-directory', source.draft.projectDir, '-f', '-', 'config', '--format', 'json'], source.draft.yaml);
    if (r.code !== 0) return { ok: false, error: (r.stderr || `exit ${r.code}`).slice(0, 2000) };
    let model: unknown;
    try {
      model = JSON.parse(r.stdout);
    } catch {
      model = null;
    }
    if (typeof model !== 'object' || model === null || Array.isArray(model)) return { ok: false, error: 'docker compose config printed no model' };
    return { ok: true, model: model as Record<string, unknown> };
  }

  logs(project: ComposeProjectRef, opts: ComposeLogOptions): AsyncIterable<ComposeLogLine> {
    const args = ['-p', project.name, 'logs', '--no-color', ...(opts.follow ? ['--follow'] : []), '--tail', opts.tail === undefined ? 'all' : String(opts.tail), '--', ...(opts.services ?? [])];
    const child = this.spawn(null, args);
    const ch = new Channel<ComposeLogLine>({
      onClose: () => this.kill(child),
      highWaterMark: LOG_HIGH_WATER,
      onFull: () => child.stdout?.pause(),
      onDrain: () => child.stdout?.resume(),
    });
    const complaints: string[] = [];
    let open = 2;
    let code: number | null = null;
    const finish = () => {
      if (open > 0 || code === null) return;
      if (code === 0) ch.end();
      else ch.end(new AppError(ErrorCode.DockerError, `docker compose logs for project ${project.name} failed: ${complaints.slice(-3).join(' ') || `exit ${code}`}`));
    };
    for (const s of [child.stdout, child.stderr]) {
      if (!s) continue;
      const rl = createInterface({ input: s, crlfDelay: Infinity });
      rl.on('line', (l) => {
        const parsed = parseLogLine(l);
        if (parsed) ch.push(parsed);
        else if (clean(l).trim()) complaints.push(clean(l).trim());
      });
      rl.on('close', () => {
        open--;
        finish();
      });
    }
    child.on('error', (err) => ch.end(this.failed(err)));
    child.on('close', (c, signal) => {
      code = c ?? (signal ? 128 : 1);
      finish();
    });
    return ch;
  }
}
