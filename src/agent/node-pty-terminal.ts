import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, write } from 'node:fs';
import { promisify } from 'node:util';
import * as pty from '@lydell/node-pty';
import { Channel } from '../core/channel.js';
import { AppError, ErrorCode } from '../core/errors.js';
import type { InputState, TerminalOutput, TerminalPort, TerminalSpec } from '../core/shell/terminal.js';

const run = promisify(execFile);

export interface NodePtyOptions {
  /** The host shell: `$SHELL` of the server, else /bin/sh. */
  shell: string;
  /** The engine `docker exec` talks to (DOCKER_HOST of the container shell). */
  dockerHost: string;
  /** The docker CLI (default `docker` on PATH). */
  dockerCli?: string;
  /** The server's environment; only PATH, HOME and USER are passed on (never its secrets). */
  env: Record<string, string | undefined>;
  /** How long killed processes get to leave after SIGHUP before SIGKILL. Default 500 ms. */
  killGraceMs?: number;
}

interface Session {
  term: pty.IPty;
  output: Channel<TerminalOutput>;
  exited: Promise<void>;
  /** Container sessions: the container, and the PID of the exec'd shell inside it once it said. */
  container?: { id: string; pid?: number };
  /** Input on its way to the PTY master (see pumpInput). */
  input: InputQueue;
  /** Set once kill() started. */
  killed?: Promise<void>;
}

interface InputQueue {
  fd: number;
  queue: { data: Buffer; done: () => void }[];
  busy: boolean;
  closed: boolean;
  retry?: ReturnType<typeof setTimeout>;
}

/** How long a write waits before trying again when the program does not read its input. */
const INPUT_RETRY_MS = 20;

/**
 * Writes queued input to the PTY master. Not through node-pty's write: on Linux libuv writes to a
 * PTY master in blocking mode (it cannot reopen it non-blocking), so a program that stops reading
 * its input (raw mode, `sleep`) would stall the whole event loop. The master fd is non-blocking:
 * a full terminal answers EAGAIN, and the write is tried again a little later (never in a busy
 * loop). Each piece's promise resolves once the kernel took all of it, or the session ended.
 */
function pumpInput(s: Session): void {
  const q = s.input;
  if (q.busy || q.closed) return;
  // Closed by node-pty (the program ended): the fd number may already name something else.
  if ((s.term as unknown as { _socket?: { destroyed?: boolean } })._socket?.destroyed) return closeInput(q);
  const head = q.queue[0];
  if (!head) return;
  q.busy = true;
  write(q.fd, head.data, 0, head.data.length, null, (err, written) => {
    q.busy = false;
    if (q.closed) return;
    if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') {
      q.retry = setTimeout(() => pumpInput(s), INPUT_RETRY_MS);
      return;
    }
    if (err) {
      closeInput(q); // EIO: the program is gone; its exit reports it
      return;
    }
    if (written < head.data.length) head.data = head.data.subarray(written);
    else {
      q.queue.shift();
      head.done();
    }
    pumpInput(s);
  });
}

/** The session ended: drop what was not taken and let every writer go. */
function closeInput(q: InputQueue): void {
  q.closed = true;
  clearTimeout(q.retry);
  for (const w of q.queue.splice(0)) w.done();
}

/**
 * A container shell first prints its PID inside the container as a private OSC sequence (the
 * terminal never shows it): `docker exec` leaves the exec'd processes running when the client
 * goes away, so `kill` ends them in the container by their session.
 */
const PID_MARK = /\x1b\]777;wd-pid=(\d+)\x07/;
const ANNOUNCE_PID = 'printf "\\033]777;wd-pid=%s\\007" "$$"; exec sh';
/** Kills every process in the container whose session is $1 (busybox and other shells, /proc only). */
const KILL_SESSION = 's=$1; for d in /proc/[0-9]*; do st=$(cat "$d/stat" 2>/dev/null) || continue; st=${st##*) }; set -- $st; [ "$4" = "$s" ] && kill -9 "${d#/proc/}" 2>/dev/null; done; :';

/**
 * Terminal sessions in real pseudo-terminals (node-pty). Every session is a session leader
 * (node-pty calls setsid): `kill` ends every process of that session, background jobs in
 * their own process groups included, then the PTY.
 */
export class NodePtyTerminal implements TerminalPort {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly opts: NodePtyOptions) {}

  async open(spec: TerminalSpec): Promise<{ id: string; pid: number; command: string }> {
    const { file, args } = this.command(spec);
    const env: Record<string, string> = { TERM: 'xterm-256color', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', COLORTERM: 'truecolor' };
    for (const k of ['PATH', 'HOME', 'USER', 'LOGNAME'] as const) {
      const v = this.opts.env[k];
      if (v) env[k] = v;
    }
    env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    env.SHELL = this.opts.shell;
    if (spec.target.kind === 'container') env.DOCKER_HOST = this.opts.dockerHost;
    let term: pty.IPty;
    try {
      term = pty.spawn(file, args, { name: 'xterm-256color', cols: spec.cols, rows: spec.rows, cwd: env.HOME ?? '/', env, encoding: 'utf8' });
    } catch (err) {
      throw new AppError(ErrorCode.Internal, `could not start ${file}: ${String(err)}`, null, { cause: err });
    }
    const id = randomUUID();
    const output = new Channel<TerminalOutput>({ highWaterMark: 64, onFull: () => term.pause(), onDrain: () => term.resume() });
    let resolveExit: () => void = () => {};
    const exited = new Promise<void>((r) => (resolveExit = r));
    const session: Session = { term, output, exited, input: { fd: (term as unknown as { fd: number }).fd, queue: [], busy: false, closed: false } };
    // Container sessions: hold the first output back until the shell's PID mark is seen (and cut out).
    let head: string | null = null;
    if (spec.target.kind === 'container') {
      session.container = { id: spec.target.container };
      head = '';
    }
    const flushHead = (): void => {
      if (head) output.push({ type: 'data', data: head });
      head = null;
    };
    term.onData((data) => {
      if (head === null) return output.push({ type: 'data', data });
      head += data;
      const m = PID_MARK.exec(head);
      if (m && session.container) {
        session.container.pid = Number(m[1]);
        head = head.replace(PID_MARK, '');
        flushHead();
      } else if (head.length > 1024) {
        flushHead();
      }
    });
    term.onExit(({ exitCode, signal }) => {
      flushHead();
      output.push({ type: 'exit', code: exitCode, ...(signal ? { signal } : {}) });
      output.end();
      closeInput(session.input);
      resolveExit();
    });
    this.sessions.set(id, session);
    return { id, pid: term.pid, command: [file, ...args].join(' ') };
  }

  private command(spec: TerminalSpec): { file: string; args: string[] } {
    if (spec.target.kind === 'host') return { file: this.opts.shell, args: [] };
    const c = spec.target.container;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(c)) throw new AppError(ErrorCode.BadRequest, `invalid container name or ID ${JSON.stringify(c)}`);
    // An argument array: the container name never meets a shell on the host.
    return { file: this.opts.dockerCli ?? 'docker', args: ['exec', '-it', '-e', 'TERM=xterm-256color', '-e', 'LANG=C.UTF-8', c, 'sh', '-c', ANNOUNCE_PID] };
  }

  private must(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new AppError(ErrorCode.NotFound, `no terminal session ${id}`);
    return s;
  }

  output(id: string): AsyncIterable<TerminalOutput> {
    return this.must(id).output;
  }

  async write(id: string, data: string): Promise<void> {
    const s = this.must(id);
    await new Promise<void>((resolve) => {
      s.input.queue.push({ data: Buffer.from(data, 'utf8'), done: resolve });
      pumpInput(s);
    });
  }

  async resize(id: string, cols: number, rows: number): Promise<void> {
    this.must(id).term.resize(cols, rows);
  }

  async inputState(id: string): Promise<InputState | null> {
    const s = this.must(id);
    // docker exec keeps this side of the terminal raw: the prompt's echo state is in the container.
    if (s.container) return null;
    const pts = (s.term as unknown as { ptsName?: string }).ptsName;
    if (!pts) return null;
    let echoOff: boolean;
    try {
      const { stdout } = await run('stty', ['-F', pts, '-a'], { timeout: 2000 });
      const flags = new Set(stdout.split(/[\s;]+/));
      echoOff = flags.has('icanon') && flags.has('-echo');
    } catch {
      return null;
    }
    // The terminal's foreground process group: the shell's own while it is at its prompt (or runs
    // a builtin); a job's while a program started from it runs (job control gives each its group).
    const shell = s.term.pid;
    const fg = procStat(shell)?.tpgid;
    if (fg === undefined || fg <= 0) return null;
    const members = groupMembers(fg);
    if (fg === shell && members.every((p) => p === shell)) return { echoOff, reader: 'shell' };
    const program = procComm(fg !== shell ? fg : (members.find((p) => p !== shell) ?? fg));
    return { echoOff, reader: 'program', ...(program ? { program } : {}) };
  }

  /** Ends the session; it counts as open (`size`) until its processes are gone. */
  kill(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return Promise.resolve();
    s.killed ??= this.end(s).finally(() => this.sessions.delete(id));
    return s.killed;
  }

  private async end(s: Session): Promise<void> {
    if (s.container?.pid) {
      const env = { PATH: this.opts.env.PATH ?? '/usr/bin:/bin', HOME: this.opts.env.HOME ?? '/', DOCKER_HOST: this.opts.dockerHost };
      await run(this.opts.dockerCli ?? 'docker', ['exec', s.container.id, 'sh', '-c', KILL_SESSION, 'sh', String(s.container.pid)], { env, timeout: 10_000 }).catch(() => {
        // the container is gone or stopped: so are its processes
      });
    }
    const leader = s.term.pid;
    signalSession(leader, 'SIGHUP');
    const grace = this.opts.killGraceMs ?? 500;
    const deadline = Date.now() + grace;
    while (sessionMembers(leader).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    signalSession(leader, 'SIGKILL');
    try {
      s.term.kill('SIGKILL');
    } catch {
      // already gone
    }
    await Promise.race([s.exited, new Promise((r) => setTimeout(r, grace))]);
    closeInput(s.input);
    void s.output.return();
  }

  /** Ends every session (server shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.kill(id)));
  }

  /** Sessions open right now. */
  get size(): number {
    return this.sessions.size;
  }
}

interface ProcStat {
  state: string;
  pgrp: number;
  session: number;
  /** The foreground process group of the process's controlling terminal. */
  tpgid: number;
}

/** /proc/<pid>/stat (Linux): pid (comm) state ppid pgrp session tty_nr tpgid …; comm may hold spaces and parentheses. */
function procStat(pid: number | string): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '', pgrp: Number(f[2]), session: Number(f[3]), tpgid: Number(f[5]) };
  } catch {
    return null; // the process ended while we looked
  }
}

function procComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function livingWhere(match: (st: ProcStat) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(entry);
    if (st && st.state !== 'Z' && match(st)) pids.push(Number(entry));
  }
  return pids;
}

/** The processes whose session is `sid` (Linux /proc). */
export function sessionMembers(sid: number): number[] {
  return livingWhere((st) => st.session === sid);
}

/** The processes of process group `pgid` (Linux /proc). */
function groupMembers(pgid: number): number[] {
  return livingWhere((st) => st.pgrp === pgid);
}

function signalSession(sid: number, signal: NodeJS.Signals): void {
  for (const pid of sessionMembers(sid)) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}
