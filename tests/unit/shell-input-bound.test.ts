import type { UpgradeWebSocket, WSEvents } from 'hono/ws';
import { WSContext } from 'hono/ws';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/core/channel.js';
import type { TerminalOutput, TerminalPort } from '../../src/core/shell/terminal.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { testApp } from '../helpers/test-app.js';

/** A terminal whose program never reads its input: every write stays pending until the session is killed. */
class StuckTerminal implements TerminalPort {
  written = 0;
  pendingWrites = 0;
  killed = false;
  /** Set: the program reads, writes are taken at once. */
  reads = false;
  private readonly out = new Channel<TerminalOutput>({ highWaterMark: 8 });
  private readonly release: (() => void)[] = [];
  async open() {
    return { id: 't1', pid: 4242, command: 'stuck' };
  }
  output(): AsyncIterable<TerminalOutput> {
    return this.out;
  }
  write(_id: string, data: string): Promise<void> {
    this.written += data.length;
    if (this.reads) return Promise.resolve();
    this.pendingWrites++;
    return new Promise((resolve) =>
      this.release.push(() => {
        this.pendingWrites--;
        resolve();
      }),
    );
  }
  async resize() {}
  async kill() {
    this.killed = true;
    for (const r of this.release.splice(0)) r();
    this.out.push({ type: 'exit', code: 0 });
    this.out.end();
  }
}

/** The app with the shell on, a stuck terminal and a stand-in for the runtime's WebSocket upgrade. */
async function openSession(maxPendingInput: number) {
  const t = testApp(new MemoryDocker(), { env: { IS_OPEN_DOCKER_SHELL: 'true' } });
  const terminal = new StuckTerminal();
  let events: WSEvents | null = null;
  t.deps.terminal = terminal;
  t.deps.shellLimits = { maxPendingInput };
  t.deps.upgradeWebSocket = ((_c: unknown, ev: WSEvents) => {
    events = ev;
    return Promise.resolve(new Response(null, { status: 200 }));
  }) as unknown as UpgradeWebSocket;
  const res = await t.request('/api/shell/ws', { headers: { upgrade: 'websocket', connection: 'Upgrade' } });
  expect(res.status).toBe(200);
  if (!events) throw new Error('the route did not upgrade');
  const ev: WSEvents = events;
  const sent: Record<string, unknown>[] = [];
  let closed: { code?: number; reason?: string } | null = null;
  let state: 0 | 1 | 2 | 3 = 1;
  const ws = new WSContext({
    send: (data) => void sent.push(JSON.parse(String(data)) as Record<string, unknown>),
    close: (code, reason) => {
      closed = { code, reason };
      state = 3;
    },
    get readyState() {
      return state;
    },
  });
  ev.onOpen?.(new Event('open'), ws);
  const message = (frame: unknown) => ev.onMessage?.(new MessageEvent('message', { data: JSON.stringify(frame) }), ws);
  return { t, terminal, ws, sent, message, closed: () => closed as { code?: number; reason?: string } | null, ev };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe('the web shell bounds input its program does not read', () => {
  it('closes the session with 1008 and an error frame once more than the bound waits, and releases it all', async () => {
    const s = await openSession(256 * 1024);
    const chunk = 'x'.repeat(60 * 1024);
    const frameBytes = JSON.stringify({ type: 'input', data: chunk }).length;
    let sentFrames = 0;
    for (let i = 0; i < 800 && !s.closed(); i++) {
      s.message({ type: 'input', data: chunk });
      sentFrames++;
      await settle();
    }
    // Four frames fit in 256 KiB; the fifth would not: the session is closed, nothing more is taken.
    expect(Math.floor((256 * 1024) / frameBytes)).toBe(4);
    expect(sentFrames).toBe(5);
    expect(s.closed()).toEqual({ code: 1008, reason: 'input not read' });
    expect(s.sent.at(-1)).toEqual({ type: 'error', code: 42900, msg: 'the program in the shell is not reading its input: more than 256 KiB typed or pasted are waiting for it, so the session is closed' });
    // Only the first frame reached the terminal (it is still taking it); the rest waited in the bound.
    expect(s.terminal.written).toBe(60 * 1024);
    await settle();
    expect(s.terminal.killed).toBe(true);
    expect(s.terminal.pendingWrites).toBe(0);
    // Frames after the close are ignored.
    s.message({ type: 'input', data: 'late' });
    await settle();
    expect(s.terminal.written).toBe(60 * 1024);
    const end = (await s.t.auth.audit.recent()).find((e) => e.event === 'shell.end');
    expect(end?.reason).toBe('input not read');
  });

  it('a terminal that takes its input keeps the session open however much is typed', async () => {
    const s = await openSession(128 * 1024);
    s.terminal.reads = true; // like a program that reads: every write is taken at once
    for (let i = 1; i <= 40; i++) {
      s.message({ type: 'input', data: 'y'.repeat(16 * 1024) });
      await until(() => s.terminal.written === i * 16 * 1024);
    }
    expect(s.closed()).toBeNull();
    expect(s.sent.filter((f) => f.type === 'error')).toEqual([]);
    s.ev.onClose?.(new Event('close') as Parameters<NonNullable<WSEvents['onClose']>>[0], s.ws);
    await until(() => s.terminal.killed);
  });
});
