import type { UpgradeWebSocket, WSEvents } from 'hono/ws';
import { WSContext } from 'hono/ws';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/core/channel.js';
import type { InputState, TerminalOutput, TerminalPort } from '../../src/core/shell/terminal.js';
import { MemoryLogger } from '../helpers/auth-log.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { testApp } from '../helpers/test-app.js';

/** A terminal that takes every write and reports the input state the test sets. */
class StateTerminal implements TerminalPort {
  state: InputState | null = null;
  written = '';
  private readonly out = new Channel<TerminalOutput>({ highWaterMark: 8 });
  async open() {
    return { id: 't1', pid: 4242, command: 'fake' };
  }
  output(): AsyncIterable<TerminalOutput> {
    return this.out;
  }
  async write(_id: string, data: string) {
    this.written += data;
  }
  async resize() {}
  async inputState() {
    return this.state;
  }
  async kill() {
    this.out.end();
  }
}

async function session() {
  const logger = new MemoryLogger();
  const t = testApp(new MemoryDocker(), { env: { IS_OPEN_DOCKER_SHELL: 'true' }, logger });
  const terminal = new StateTerminal();
  let events: WSEvents | null = null;
  t.deps.terminal = terminal;
  t.deps.upgradeWebSocket = ((_c: unknown, ev: WSEvents) => {
    events = ev;
    return Promise.resolve(new Response(null, { status: 200 }));
  }) as unknown as UpgradeWebSocket;
  expect((await t.request('/api/shell/ws', { headers: { upgrade: 'websocket', connection: 'Upgrade' } })).status).toBe(200);
  if (!events) throw new Error('the route did not upgrade');
  const ev: WSEvents = events;
  const ws = new WSContext({ send: () => {}, close: () => {}, readyState: 1 });
  ev.onOpen?.(new Event('open'), ws);
  /** Types a line and waits until the terminal has it. */
  const type = async (text: string) => {
    const before = terminal.written.length;
    ev.onMessage?.(new MessageEvent('message', { data: JSON.stringify({ type: 'input', data: `${text}\r` }) }), ws);
    for (let i = 0; i < 200 && terminal.written.length === before; i++) await new Promise((r) => setTimeout(r, 5));
    expect(terminal.written.slice(before)).toBe(`${text}\r`);
  };
  const inputs = () => logger.entries().filter((e) => e.action === 'shell.input');
  return { terminal, type, inputs, logger };
}

describe('the web shell audit of typed lines', () => {
  it('keeps lines the shell itself reads, echo off or not; hides a program\'s echo-off prompt, keeping length and program', async () => {
    const s = await session();
    s.terminal.state = { echoOff: false, reader: 'shell' };
    await s.type('stty -echo');
    s.terminal.state = { echoOff: true, reader: 'shell' };
    await s.type('echo visible');
    s.terminal.state = { echoOff: true, reader: 'program', program: 'sudo' };
    await s.type('pässwörd-wd');
    s.terminal.state = { echoOff: false, reader: 'program', program: 'vi' };
    await s.type('ihello');
    s.terminal.state = null; // cannot tell (a container shell)
    await s.type('echo in-container');
    expect(s.inputs().map(({ line, hidden, length, program, echoOff }) => ({ line, hidden, length, program, echoOff }))).toEqual([
      { line: 'stty -echo', hidden: undefined, length: undefined, program: undefined, echoOff: undefined },
      { line: 'echo visible', hidden: undefined, length: undefined, program: undefined, echoOff: true },
      { line: '(typed with echo off at a prompt of sudo: not recorded)', hidden: true, length: 11, program: 'sudo', echoOff: undefined },
      { line: 'ihello', hidden: undefined, length: undefined, program: undefined, echoOff: undefined },
      { line: 'echo in-container', hidden: undefined, length: undefined, program: undefined, echoOff: undefined },
    ]);
    expect(s.logger.lines.some((l) => l.includes('pässwörd'))).toBe(false);
  });
});
