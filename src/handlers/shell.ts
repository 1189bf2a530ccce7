/**
 * The web shell (design §5): a PTY on the host or `docker exec -it <id> sh` in a container,
 * over a WebSocket. Everything that can refuse does so before any process starts: the shell
 * must be switched on (IS_OPEN_DOCKER_SHELL=true exactly), the caller must hold a full token
 * (the guard has already checked Origin and the token or one-time ticket), the runtime must
 * have a terminal, a container must exist and run, and the user must be under the session limit
 * (checked as the socket opens, answered with an error frame and close 1008).
 *
 * Client→server frames: {type:'input', data}, {type:'resize', cols, rows}, {type:'ping'},
 * {type:'pong'}. Server→client: {type:'output', data}, {type:'exit', code}, {type:'ping'},
 * {type:'pong'}, {type:'error', code, msg}, {type:'end', reason?}.
 */
import { Hono, type Context } from 'hono';
import type { WSContext } from 'hono/ws';
import * as v from 'valibot';
import { AppError, ErrorCode, describeError } from '../core/errors.js';
import { InputLines } from '../core/shell/input-lines.js';
import { DEFAULT_SHELL_LIMITS, ShellSessions, type ShellLimits } from '../core/shell/sessions.js';
import type { InputState, TerminalOutput, TerminalTarget } from '../core/shell/terminal.js';
import { clientAddress, getSession } from './auth-middleware.js';
import type { AppDeps, AppEnv } from './context.js';
import { ok, parseQuery } from './envelope.js';
import { existingContainer } from './streams.js';
import { pipeFrames, sinkOf, upgrade, WS_CLOSE, WS_MAX_PAYLOAD, type Pipe, type StreamFrame } from './ws-stream.js';

const dimension = (max: number) => v.pipe(v.string(), v.regex(/^\d{1,4}$/, 'expected a whole number'), v.transform(Number), v.minValue(1, 'at least 1'), v.maxValue(max, `at most ${max}`));
const SizeQuery = v.strictObject({ ticket: v.optional(v.string()), cols: v.optional(dimension(1000)), rows: v.optional(dimension(500)) });

const ClientFrame = v.variant('type', [
  v.strictObject({ type: v.literal('input'), data: v.string() }),
  v.strictObject({ type: v.literal('resize'), cols: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)), rows: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(500)) }),
  v.strictObject({ type: v.literal('ping') }),
  v.strictObject({ type: v.literal('pong') }),
]);
type ClientFrame = v.InferOutput<typeof ClientFrame>;

/** The UTF-8 size of a string, without encoding it (a frame may be 64 KiB, many may come). */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4; // a surrogate pair
      i++;
    } else n += 3;
  }
  return n;
}

const sizeText = (bytes: number): string => (bytes >= 1024 * 1024 ? `${+(bytes / 1024 / 1024).toFixed(1)} MiB` : `${+(bytes / 1024).toFixed(1)} KiB`);

function limitsOf(deps: AppDeps): ShellLimits {
  return { ...DEFAULT_SHELL_LIMITS, ...deps.shellLimits };
}

function registryOf(deps: AppDeps): ShellSessions {
  return (deps.shellSessions ??= new ShellSessions());
}

function addressOf(c: Context<AppEnv>): string {
  const { auth, getClientAddress } = c.get('deps');
  return clientAddress(c, { auth, getClientAddress });
}

/** The checks before any process starts; each refusal is audited (log only: anyone can cause one). */
async function admit(c: Context<AppEnv>, container: string | null): Promise<void> {
  const deps = c.get('deps');
  const refuse = async (status: 403 | 426 | 501, reason: string, code: ErrorCode = ErrorCode.BadRequest): Promise<never> => {
    const user = c.get('authSession')?.user;
    await deps.auth.audit.record({ event: 'shell.refused', ...(user ? { user } : {}), address: addressOf(c), path: c.req.path, reason, ...(container ? { container } : {}) }, { persist: false });
    throw new AppError(code, reason, null, { status });
  };
  if (deps.terminal?.enabled) {
    // A host's agent: its own IS_OPEN_DOCKER_SHELL decides (an offline host answers 50005 here).
    if (!(await deps.terminal.enabled())) await refuse(403, 'the web shell is switched off on this host: its agent must be started with IS_OPEN_DOCKER_SHELL=true (exactly) to allow it');
  } else if (!deps.config.shell.enabled) await refuse(403, 'the web shell is switched off: the server must be started with IS_OPEN_DOCKER_SHELL=true (exactly) to allow it');
  const session = getSession(c);
  if (session.kind !== 'full') await refuse(403, 'the web shell needs a full sign-in token');
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') await refuse(426, `${c.req.path} is a WebSocket endpoint: open it with a WebSocket client (GET with Upgrade: websocket)`);
  if (!deps.terminal) await refuse(501, 'the web shell is not available on this runtime: it needs the Node server beside the Docker host (on Workers it will go through the host agent)');
  // The per-user session limit is checked once the socket is open (see shellSocket): a browser
  // cannot read why an upgrade was refused, but it shows an error frame.
}

/** Upgrades to a shell session on `target`. Only call after admit(). */
function shellSocket(c: Context<AppEnv>, target: TerminalTarget, size: { cols: number; rows: number }): Promise<Response> {
  const deps = c.get('deps');
  const terminal = deps.terminal;
  if (!terminal) throw new AppError(ErrorCode.Internal, 'no terminal');
  const { auth, logger, clock } = deps;
  const limits = limitsOf(deps);
  const registry = registryOf(deps);
  const user = getSession(c).user;
  const address = addressOf(c);
  const container = target.kind === 'container' ? target.container : null;
  const sid = crypto.randomUUID();
  const who = { user, address, session: sid, ...(container ? { container } : {}) };
  const lines = new InputLines();

  let socket: WSContext | null = null;
  let termId: Promise<string | null> = Promise.resolve(null);
  let pipe: Pipe | null = null;
  let ping: ReturnType<typeof setInterval> | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let chain: Promise<void> = Promise.resolve();
  /** Bytes of client frames on `chain` not yet handled: waiting their turn, or being written to a terminal that does not take them. */
  let pendingInput = 0;
  let admitted = false;
  let ended = false;
  const startedAt = clock.now();

  const send = (frame: StreamFrame): void => {
    if (socket?.readyState === 1) socket.send(JSON.stringify(frame));
  };
  const closeWith = (code: number, reason: string, frame?: StreamFrame): void => {
    if (frame) send(frame);
    if (socket && socket.readyState <= 1) socket.close(code, reason);
    void end(reason);
  };
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => closeWith(WS_CLOSE.normal, 'idle timeout', { type: 'end', reason: `closed after ${Math.round(limits.idleMs / 1000)} s without activity` }), limits.idleMs);
  };
  /**
   * A typed line. Hidden only when a program started from the shell reads it with echo off (a
   * password prompt: sudo, passwd, a script's `read -s`): its length and the program stand in.
   * Echo switched off while the shell itself reads (`stty -echo` at the prompt) hides nothing.
   */
  const audit = (line: string, state: InputState | null = null): Promise<void> => {
    if (state?.echoOff && state.reader === 'program') {
      const program = state.program ?? 'a program';
      return auth.audit.record({ event: 'shell.input', ...who, line: `(typed with echo off at a prompt of ${program}: not recorded)`, hidden: true, length: [...line].length, program }, { persist: false });
    }
    return auth.audit.record({ event: 'shell.input', ...who, line, ...(state?.echoOff ? { echoOff: true } : {}) }, { persist: false });
  };

  /** Once: stop timers, kill the session's processes, audit the end. */
  const end = async (reason: string): Promise<void> => {
    if (ended) return;
    ended = true;
    clearInterval(ping);
    clearTimeout(idle);
    pipe?.stop();
    if (!admitted) return;
    registry.remove(sid);
    const id = await termId.catch(() => null);
    // A line typed but not ended (a password half typed when the tab closed): asked while the
    // prompt is still there, like a finished line.
    const rest = lines.rest();
    const restState = rest !== null && id && terminal.inputState ? await terminal.inputState(id).catch(() => null) : null;
    if (id) await terminal.kill(id).catch((err: unknown) => logger.warn({ component: 'shell', action: 'kill', session: sid, err: describeError(err) }, 'could not end the shell session'));
    if (rest !== null) await audit(rest, restState);
    await auth.audit.record({ event: 'shell.end', ...who, reason, durationMs: clock.now() - startedAt });
  };

  const handle = async (frame: ClientFrame): Promise<void> => {
    if (frame.type === 'ping') return send({ type: 'pong' });
    if (frame.type === 'pong') return;
    const id = await termId;
    if (!id || ended) return;
    if (frame.type === 'resize') return terminal.resize(id, frame.cols, frame.rows);
    const done = lines.feed(frame.data);
    // Asked before the line reaches the program, so a password prompt is still showing.
    const state = done.length > 0 && terminal.inputState ? await terminal.inputState(id).catch(() => null) : null;
    for (const line of done) await audit(line, state);
    if (ended) return;
    await terminal.write(id, frame.data);
  };

  return upgrade(c, {
    onOpen: (_ev, ws) => {
      socket = ws;
      // Checked and taken in one step, before any process starts: two sockets opening at the same
      // moment cannot both get the last place.
      if (!registry.tryAdd({ id: sid, user, address, container, startedAt }, limits.maxSessionsPerUser)) {
        const msg = `at most ${limits.maxSessionsPerUser} shell sessions per user may be open at once: close one first`;
        void auth.audit.record({ event: 'shell.refused', ...who, reason: msg }, { persist: false });
        closeWith(WS_CLOSE.policy, 'too many sessions', { type: 'error', code: ErrorCode.TooManyRequests, msg });
        return;
      }
      admitted = true;
      touch();
      ping = setInterval(() => send({ type: 'ping' }), limits.pingMs);
      termId = (async () => {
        await auth.audit.record({ event: 'shell.start', ...who });
        const opened = await terminal.open({ target, cols: size.cols, rows: size.rows });
        logger.info({ component: 'shell', action: 'open', session: sid, user, pid: opened.pid, command: opened.command }, 'shell session started');
        return opened.id;
      })();
      termId.then(
        (id) => {
          if (!id) return;
          if (ended) return void terminal.kill(id);
          pipe = pipeFrames(terminal.output(id), sinkOf(ws), (o: TerminalOutput): StreamFrame => (o.type === 'data' ? { type: 'output', data: o.data } : { type: 'exit', code: o.code }));
          // The shell ended by itself (exit); a stop because the client left is onClose's to record.
          void pipe.done.then((outcome) => {
            if (outcome !== 'stopped') void end(outcome === 'end' ? 'exited' : 'output failed');
          });
        },
        (err: unknown) => closeWith(WS_CLOSE.serverError, 'could not start', { type: 'error', code: ErrorCode.Internal, msg: `the shell could not start: ${describeError(err)}` }),
      );
    },
    onMessage: (ev) => {
      if (ended) return;
      touch();
      const data = ev.data;
      if (typeof data !== 'string') return send({ type: 'error', code: ErrorCode.BadRequest, msg: 'frames must be JSON text' });
      const bytes = utf8Length(data);
      // Node's WebSocketServer enforces this already (maxPayload); Workers do not.
      if (bytes > WS_MAX_PAYLOAD) return closeWith(WS_CLOSE.tooBig, 'frame too large');
      // A program that does not read its input (`sleep` after `stty -echo`) stops taking writes;
      // frames queued behind it would grow without end. Past the bound the session is closed.
      if (pendingInput + bytes > limits.maxPendingInput) {
        const msg = `the program in the shell is not reading its input: more than ${sizeText(limits.maxPendingInput)} typed or pasted are waiting for it, so the session is closed`;
        logger.warn({ component: 'shell', action: 'input-overflow', session: sid, user, pending: pendingInput }, 'shell input not read: session closed');
        return closeWith(WS_CLOSE.policy, 'input not read', { type: 'error', code: ErrorCode.TooManyRequests, msg });
      }
      let frame: ClientFrame;
      try {
        const parsed = v.safeParse(ClientFrame, JSON.parse(data));
        if (!parsed.success) throw new Error(parsed.issues[0].message);
        frame = parsed.output;
      } catch (err) {
        return send({ type: 'error', code: ErrorCode.BadRequest, msg: `unreadable frame (${describeError(err)}): expected {type:'input', data}, {type:'resize', cols, rows}, {type:'ping'} or {type:'pong'}` });
      }
      pendingInput += bytes;
      chain = chain
        .then(() => handle(frame))
        .catch((err: unknown) => send({ type: 'error', code: ErrorCode.Internal, msg: describeError(err) }))
        .finally(() => {
          pendingInput -= bytes;
        });
    },
    // The promise lets a runtime keep the request alive until the session is ended (Workers).
    onClose: () => end('client closed'),
    onError: () => void end('socket error'),
  });
}

export const shell = new Hono<AppEnv>()
  /** GET /api/shell/status: whether the web shell can be opened here (for the UI). */
  .get('/api/shell/status', async (c) => {
    const { config, terminal } = c.get('deps');
    if (terminal?.enabled) return ok(c, { enabled: await terminal.enabled() });
    return ok(c, { enabled: config.shell.enabled && terminal !== undefined });
  })
  /** GET /api/shell/ws?cols=C&rows=R: a shell on the host ($SHELL or /bin/sh). */
  .get('/api/shell/ws', async (c) => {
    await admit(c, null);
    const q = parseQuery(SizeQuery, c.req.query());
    return shellSocket(c, { kind: 'host' }, { cols: q.cols ?? 80, rows: q.rows ?? 24 });
  })
  /** GET /api/containers/:id/shell/ws?cols=C&rows=R: `docker exec -it <id> sh` in a PTY. */
  .get('/api/containers/:id/shell/ws', async (c) => {
    const ref = c.req.param('id');
    await admit(c, ref);
    const q = parseQuery(SizeQuery, c.req.query());
    const found = await existingContainer(c, ref);
    if (!found.running) throw new AppError(ErrorCode.Conflict, `container ${found.name} is not running: start it to open a shell in it`, { container: found.name });
    return shellSocket(c, { kind: 'container', container: found.id }, { cols: q.cols ?? 80, rows: q.rows ?? 24 });
  });
