import { existsSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { NodePtyTerminal, sessionMembers } from '../../src/agent/node-pty-terminal.js';
import type { TerminalPort } from '../../src/core/shell/terminal.js';
import { MemoryLogger } from '../helpers/auth-log.js';
import { bed } from '../helpers/bed.js';
import { docker } from '../helpers/docker-cli.js';
import { BedScratch } from '../helpers/updater-bed.js';
import { serveTestApp, WsClient } from '../helpers/ws-client.js';

const host = bed().dockerHost;

/** A real PTY terminal that counts the sessions it was asked to open. */
function countingTerminal(): { terminal: NodePtyTerminal; opened: () => number } {
  const terminal = new NodePtyTerminal({ shell: '/bin/sh', dockerHost: host, env: process.env });
  let n = 0;
  const open = terminal.open.bind(terminal);
  terminal.open = async (spec) => {
    n++;
    return open(spec);
  };
  return { terminal, opened: () => n };
}

/** Everything the shell printed so far, as one string. */
const output = (c: WsClient): string => c.frames.filter((f) => f.type === 'output').map((f) => String(f.data)).join('');

async function printed(c: WsClient, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = output(c).match(pattern);
    if (m) return m;
    if (c.closed) throw new Error(`closed (${c.closed.code}) before ${what}: ${output(c)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(output(c))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The memory this process keeps (after a full collection, so garbage does not count).
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
function retained(): number {
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the web shell over a real WebSocket and a real PTY', () => {
  const logger = new MemoryLogger();
  const { terminal, opened } = countingTerminal();
  const scratch = new BedScratch(host);
  let app: Awaited<ReturnType<typeof serveTestApp>>;
  let auth: Record<string, string>;

  beforeAll(async () => {
    app = await serveTestApp(new DockerodePort(host), {
      env: { IS_OPEN_DOCKER_SHELL: 'true' },
      logger,
      tweak: (deps) => {
        deps.terminal = terminal;
        deps.shellLimits = { pingMs: 150, idleMs: 1200, maxSessionsPerUser: 2 };
      },
    });
    auth = { authorization: `Bearer ${await app.login()}` };
  });
  afterAll(async () => {
    await app?.close();
    await terminal.closeAll();
    await scratch.cleanup();
  });

  const openShell = (query = '') => WsClient.open(app.wsUrl(`/api/shell/ws${query}`), auth);
  const answerPings = (c: WsClient) => c.ws.on('message', (m) => JSON.parse(m.toString()).type === 'ping' && c.send({ type: 'pong' }));

  it('says whether the shell is on', async () => {
    const res = await fetch(`${app.base}/api/shell/status`, { headers: auth });
    expect(await res.json()).toMatchObject({ code: 0, data: { enabled: true } });
  });

  it('runs a real shell: UTF-8 round-trips, the size follows resize messages', async () => {
    const c = await openShell('?cols=100&rows=30');
    answerPings(c);
    c.send({ type: 'input', data: 'echo "$((6*7))-你好"; stty size; echo "term=$TERM lang=$LANG"\r' });
    await printed(c, /42-你好/, 'the Chinese text');
    await printed(c, /\b30 100\b/, 'the first size');
    await printed(c, /term=xterm-256color lang=C\.UTF-8/, 'TERM and LANG');
    c.send({ type: 'resize', cols: 123, rows: 45 });
    c.send({ type: 'input', data: 'stty size\r' });
    await printed(c, /\b45 123\b/, 'the size after resize');
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong', 'the pong');
    c.send({ type: 'input', data: 'exit 3\r' });
    await c.waitFor((f) => f.type === 'exit', 'the exit frame');
    expect(c.frames.find((f) => f.type === 'exit')).toEqual({ type: 'exit', code: 3 });
    expect((await c.waitClosed()).code).toBe(1000);
  });

  it('kills every process of the session when the socket closes, background jobs included', async () => {
    const c = await openShell();
    answerPings(c);
    c.send({ type: 'input', data: 'sleep 1000 & echo "bg=$!"; echo "sh=$$"\r' });
    const bg = Number((await printed(c, /bg=(\d+)/, 'the background pid'))[1]);
    const sh = Number((await printed(c, /sh=(\d+)/, 'the shell pid'))[1]);
    expect(alive(bg)).toBe(true);
    expect(sessionMembers(sh)).toContain(bg);
    c.close();
    await eventually(() => !alive(bg) && !alive(sh), 'the sleep and the shell to be gone');
    expect(sessionMembers(sh)).toEqual([]);
  });

  it('a runaway program and a client that stops reading: the server holds a bounded buffer, the PTY waits', async () => {
    const c = await openShell();
    answerPings(c);
    c.send({ type: 'input', data: 'echo "sh=$$"; yes wd-runaway-output-0123456789\r' });
    const sh = Number((await printed(c, /sh=(\d+)/, 'the shell pid'))[1]);
    const raw = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause(); // the kernel buffers fill, then the server's; the PTY is paused, so `yes` blocks
    // A paused client reads no pings: it keeps the session alive by sending (sending is not paused).
    const keepAlive = setInterval(() => c.send({ type: 'pong' }), 100);
    onTestFinished(() => clearInterval(keepAlive));
    await eventually(() => [...app.wss.clients].some((ws) => ws.bufferedAmount >= 256 * 1024), 'the server to hold back');
    const held = [...app.wss.clients].find((ws) => ws.bufferedAmount >= 256 * 1024);
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      samples.push(held?.bufferedAmount ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(Math.max(...samples)).toBeLessThan(256 * 1024 + 64 * 1024);
    raw.resume();
    c.close();
    await eventually(() => sessionMembers(sh).length === 0, 'yes and the shell to be gone');
  });

  it('a client flooding a program that does not read its input: closed at the bound, server memory stays bounded', async () => {
    await eventually(() => terminal.size === 0, 'earlier sessions to end');
    const c = await openShell();
    answerPings(c);
    // Raw mode: once the terminal's input buffer is full the kernel takes nothing more (in line
    // mode it would throw away the rest of an endless line).
    c.send({ type: 'input', data: 'stty raw -echo; echo "sh=$$ flood-$((1+1))"; sleep 1000\r' });
    const sh = Number((await printed(c, /sh=(\d+) flood-2/, 'the shell to sleep with echo off'))[1]);
    const frame = JSON.stringify({ type: 'input', data: 'x'.repeat(60_000) });
    const before = retained();
    const samples: number[] = [];
    let sent = 0;
    while (sent < 800 && !c.closed) {
      // One frame at a time on the client side, so only the server can hold the flood.
      const ok = await new Promise<boolean>((resolve) => c.ws.send(frame, (err) => resolve(!err)));
      if (!ok) break;
      if (++sent % 10 === 0) samples.push(retained() - before);
    }
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    expect(c.frames.find((f) => f.type === 'error')).toMatchObject({ code: 42900, msg: expect.stringContaining('not reading its input: more than 1 MiB') });
    expect(sent).toBeLessThan(800);
    // The whole flood is 48 MB; the server held at most the bound and what was in flight.
    expect(Math.max(0, ...samples)).toBeLessThan(16 * 1024 * 1024);
    await eventually(() => sessionMembers(sh).length === 0, 'the sleep and the shell to be gone');
    await eventually(() => terminal.size === 0, 'the session to end');
    // Released after the close (the socket's buffers go a moment later).
    await eventually(() => retained() - before < 8 * 1024 * 1024, 'the memory to be released');
  });

  it('audits who, from where, start, the lines typed, end', async () => {
    const known = new Set((await app.auth.audit.recent()).map((e) => e.session));
    const c = await openShell();
    answerPings(c);
    c.send({ type: 'input', data: 'echo audited-一\x7f二 line\r' });
    await printed(c, /audited-二 line/, 'the output');
    c.send({ type: 'input', data: 'echo half-typed' });
    c.close();
    const mine = async () => (await app.auth.audit.recent()).filter((e) => e.session && !known.has(e.session));
    await eventually(async () => (await mine()).some((e) => e.event === 'shell.end'), 'the end record');
    const stored = await mine();
    expect(stored.map((e) => e.event)).toEqual(['shell.start', 'shell.end']);
    const [start, end] = stored;
    expect(start).toMatchObject({ user: 'operator', address: '127.0.0.1' });
    expect(end?.session).toBe(start?.session);
    expect(end?.reason).toBe('client closed');
    expect(typeof end?.durationMs).toBe('number');
    const lines = logger.entries().filter((e) => e.action === 'shell.input' && e.session === start?.session).map((e) => e.line);
    expect(lines).toEqual(['echo audited-二 line', 'echo half-typed']);
  });

  it('does not record a line typed at a program\'s prompt with echo off (a password), only its length and the program', async () => {
    await eventually(() => terminal.size === 0, 'earlier sessions to end');
    const c = await openShell();
    answerPings(c);
    // A child program reads with echo off: the terminal's foreground group is the child's.
    c.send({ type: 'input', data: `sh -c 'stty -echo; read secret; stty echo; echo "got-\${#secret}"'\r` });
    await eventually(() => terminal.size > 0, 'the session');
    const id = [...(terminal as unknown as { sessions: Map<string, unknown> }).sessions.keys()][0] as string;
    await eventually(async () => {
      const state = await terminal.inputState(id);
      return state?.echoOff === true && state.reader === 'program';
    }, 'the child to read with echo off');
    c.send({ type: 'input', data: 'hunter2-wd-secret\r' });
    await printed(c, /got-17/, 'the read to finish');
    // Again, and the tab closes with the password half typed.
    c.send({ type: 'input', data: `sh -c 'stty -echo; read secret'\r` });
    await eventually(async () => {
      const state = await terminal.inputState(id);
      return state?.echoOff === true && state.reader === 'program';
    }, 'the second prompt');
    c.send({ type: 'input', data: 'half-typed-wd-secret' });
    c.close();
    await c.waitClosed();
    await eventually(() => terminal.size === 0, 'the session to end');
    expect(logger.lines.some((l) => l.includes('hunter2-wd-secret') || l.includes('half-typed-wd-secret'))).toBe(false);
    const hidden = logger.entries().filter((e) => e.action === 'shell.input' && e.hidden === true);
    expect(hidden).toHaveLength(2);
    expect(hidden[0]).toMatchObject({ line: '(typed with echo off at a prompt of sh: not recorded)', length: 17, program: 'sh' });
    expect(hidden[1]).toMatchObject({ hidden: true, length: 20, program: 'sh' });
  });

  it('echo switched off at the shell\'s own prompt does not blind the audit', async () => {
    await eventually(() => terminal.size === 0, 'earlier sessions to end');
    const c = await openShell();
    answerPings(c);
    c.send({ type: 'input', data: 'stty -echo; echo "off-$((1+1))"\r' });
    await printed(c, /off-2/, 'echo to be off');
    await eventually(() => terminal.size > 0, 'the session');
    const id = [...(terminal as unknown as { sessions: Map<string, unknown> }).sessions.keys()][0] as string;
    await eventually(async () => (await terminal.inputState(id))?.echoOff === true, 'the shell to read with echo off');
    c.send({ type: 'input', data: 'echo "visible-$((2+3))-wd"\r' });
    await printed(c, /visible-5-wd/, 'the command to run');
    c.close();
    await c.waitClosed();
    await eventually(() => terminal.size === 0, 'the session to end');
    const inputs = logger.entries().filter((e) => e.action === 'shell.input' && String(e.line).includes('visible-'));
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({ line: 'echo "visible-$((2+3))-wd"', echoOff: true });
    expect(inputs[0]?.hidden).toBeUndefined();
  });

  it('closes a session whose client stays silent, and keeps one that answers the heartbeat', async () => {
    const silent = await openShell();
    const lively = await openShell();
    answerPings(lively);
    const closed = await silent.waitClosed();
    expect(closed.code).toBe(1000);
    expect(silent.frames.filter((f) => f.type === 'ping').length).toBeGreaterThan(0);
    expect(silent.frames.at(-1)).toMatchObject({ type: 'end', reason: expect.stringContaining('without activity') });
    // The lively one has answered more pings than fit in the idle time, and is still open.
    await eventually(() => lively.frames.filter((f) => f.type === 'ping').length >= 12, 'a dozen pings');
    expect(lively.closed).toBeNull();
    lively.close();
    await lively.waitClosed();
  });

  it('limits sessions per user and the size of a frame', async () => {
    await eventually(() => terminal.size === 0, 'earlier sessions to end');
    const a = await openShell();
    const b = await openShell();
    answerPings(a);
    answerPings(b);
    const before = opened();
    const third = await openShell(); // refused with a message the page can show, no process started
    expect((await third.waitClosed()).code).toBe(1008);
    expect(third.frames).toEqual([{ type: 'error', code: 42900, msg: 'at most 2 shell sessions per user may be open at once: close one first' }]);
    expect(opened()).toBe(before);
    expect(logger.entries().some((e) => e.action === 'shell.refused' && String(e.reason).startsWith('at most 2'))).toBe(true);
    b.ws.send(JSON.stringify({ type: 'input', data: 'x'.repeat(70 * 1024) }));
    expect((await b.waitClosed()).code).toBe(1009);
    await eventually(() => terminal.size === 1, 'the closed session to end');
    const c = await openShell(); // a place is free again
    c.close();
    a.close();
    await eventually(() => terminal.size === 0, 'all sessions to end');
  });

  it('a browser opens it with a one-time ticket from its own page', async () => {
    const res = await fetch(`${app.base}/api/v1/auth/ws-ticket`, { method: 'POST', headers: auth });
    const { ticket } = ((await res.json()) as { data: { ticket: string } }).data;
    const c = await WsClient.open(app.wsUrl(`/api/shell/ws?ticket=${ticket}&cols=60&rows=10`), { origin: app.base });
    answerPings(c);
    c.send({ type: 'input', data: 'stty size\r' });
    await printed(c, /\b10 60\b/, 'the size');
    c.close();
    await c.waitClosed();
    await eventually(() => terminal.size === 0, 'the session to end');
  });

  it('refuses a foreign Origin, a missing token and bad sizes before any process starts', async () => {
    const before = opened();
    expect(await WsClient.refusal(app.wsUrl('/api/shell/ws'), { ...auth, origin: 'https://evil.example' })).toBe(403);
    expect(await WsClient.refusal(app.wsUrl('/api/shell/ws'), { origin: app.base })).toBe(401);
    expect(await WsClient.refusal(app.wsUrl('/api/shell/ws?cols=0'), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl('/api/shell/ws?rows=9999'), auth)).toBe(400);
    expect((await fetch(`${app.base}/api/shell/ws`, { headers: auth })).status).toBe(426);
    expect(opened()).toBe(before);
  });

  it('opens a shell in a running container through docker exec; refuses unknown and stopped ones first', async () => {
    const name = scratch.name('wdst-sh');
    await docker(host, ['run', '-d', '--name', name, '--network', 'none', bed().baseImage, 'sleep', '3600']);
    const c = await WsClient.open(app.wsUrl(`/api/containers/${name}/shell/ws?cols=90&rows=20`), auth);
    answerPings(c);
    c.send({ type: 'input', data: 'echo "$((6*7))-你好-$(hostname)"; stty size; sleep 1001 & echo "bg=$!"\r' });
    await printed(c, /42-你好-[0-9a-f]{12}/, 'output from inside the container');
    await printed(c, /\b20 90\b/, 'the size inside the container');
    await printed(c, /bg=\d+/, 'the background job');
    expect(await docker(host, ['exec', name, 'ps'])).toContain('sleep 1001');
    c.close();
    await c.waitClosed();
    await eventually(() => terminal.size === 0, 'the session to end');
    // docker exec alone would leave the shell and its job running in the container.
    const ps = await docker(host, ['exec', name, 'ps']);
    expect(ps).not.toContain('sleep 1001');
    expect(ps).not.toMatch(/\bsh\s*$/m);
    expect(output(c)).not.toContain('wd-pid');
    const before = opened();
    expect(await WsClient.refusal(app.wsUrl('/api/containers/wdst-no-such-container/shell/ws'), auth)).toBe(404);
    const stopped = scratch.name('wdst-sh-stopped');
    await docker(host, ['create', '--name', stopped, '--network', 'none', bed().baseImage, 'sleep', '3600']);
    expect(await WsClient.refusal(app.wsUrl(`/api/containers/${stopped}/shell/ws`), auth)).toBe(409);
    expect(opened()).toBe(before);
  });
});

describe('the web shell is refused unless IS_OPEN_DOCKER_SHELL is exactly "true"', () => {
  for (const value of [undefined, 'false', '1', 'TRUE ', 'True', 'yes']) {
    it(`IS_OPEN_DOCKER_SHELL=${JSON.stringify(value)}: refused before any process starts`, async () => {
      const { terminal, opened } = countingTerminal();
      const app = await serveTestApp(new DockerodePort(host), {
        env: value === undefined ? {} : { IS_OPEN_DOCKER_SHELL: value },
        tweak: (deps) => {
          deps.terminal = terminal;
        },
      });
      try {
        const auth = { authorization: `Bearer ${await app.login()}` };
        expect(await WsClient.refusal(app.wsUrl('/api/shell/ws'), auth)).toBe(403);
        expect(await WsClient.refusal(app.wsUrl('/api/containers/anything/shell/ws'), auth)).toBe(403);
        const status = await fetch(`${app.base}/api/shell/status`, { headers: auth });
        expect(await status.json()).toMatchObject({ data: { enabled: false } });
        const plain = await fetch(`${app.base}/api/shell/ws`, { headers: auth });
        expect(plain.status).toBe(403);
        expect(((await plain.json()) as { msg: string }).msg).toContain('IS_OPEN_DOCKER_SHELL=true');
        expect(opened()).toBe(0);
      } finally {
        await app.close();
      }
    });
  }
});
