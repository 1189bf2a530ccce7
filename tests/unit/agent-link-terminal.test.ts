/**
 * The shell audit's input state across the agent link: the agent answers its terminal's
 * inputState (null where the terminal cannot tell), and the control plane's RemoteTerminal takes
 * only the known fields of that answer, so a wrong answer becomes "cannot tell", never a field
 * of the audit log the agent made up.
 */
import { describe, expect, it } from 'vitest';
import { hostServiceHandlers } from '../../src/agent/agent-services.js';
import type { LinkTransport } from '../../src/core/agent-link/remote-docker.js';
import { RemoteTerminal } from '../../src/core/agent-link/remote-terminal.js';
import type { ComposePort } from '../../src/core/compose/port.js';
import type { Logger } from '../../src/core/ports.js';
import type { InputState, TerminalPort } from '../../src/core/shell/terminal.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };
const compose = {} as ComposePort;

function agentWith(state: ((id: string) => Promise<InputState | null>) | undefined) {
  const t: TerminalPort & { closeAll(): Promise<void> } = {
    open: async () => ({ id: 't1', pid: 1, command: '/bin/sh' }),
    output: () => (async function* () {})(),
    write: async () => {},
    resize: async () => {},
    kill: async () => {},
    closeAll: async () => {},
    ...(state ? { inputState: state } : {}),
  };
  return hostServiceHandlers({ compose, appPath: '', files: null, shellEnabled: true, logger: quiet, terminal: async () => t });
}

/** A transport answering every call with `answer` and recording what was asked. */
function transport(answer: unknown) {
  const asked: Array<[string, unknown[]]> = [];
  const link: LinkTransport = {
    call: async (op, args) => (asked.push([op, args]), answer),
    stream: () => (async function* () {})(),
  };
  return { link, asked };
}

describe('shell input state through the agent link', () => {
  it('the agent answers its terminal\'s state, or null when the terminal cannot tell', async () => {
    const seen: string[] = [];
    const h = agentWith(async (id) => (seen.push(id), { echoOff: true, reader: 'program', program: 'sudo' }));
    expect(await h.calls.terminalInputState!(['t1'])).toEqual({ echoOff: true, reader: 'program', program: 'sudo' });
    expect(seen).toEqual(['t1']);
    expect(await agentWith(undefined).calls.terminalInputState!(['t1'])).toBeNull();
  });

  it('the control plane asks terminalInputState and keeps only the known fields', async () => {
    const ok = transport({ echoOff: false, reader: 'shell', program: 'ignored for the shell', extra: 'x' });
    expect(await new RemoteTerminal(ok.link).inputState('t1')).toEqual({ echoOff: false, reader: 'shell' });
    expect(ok.asked).toEqual([['terminalInputState', ['t1']]]);
    const program = transport({ echoOff: true, reader: 'program', program: 'p'.repeat(100) });
    expect(await new RemoteTerminal(program.link).inputState('t1')).toEqual({ echoOff: true, reader: 'program', program: 'p'.repeat(64) });
    for (const bad of [null, false, 'yes', { echoOff: 'true', reader: 'shell' }, { echoOff: true, reader: 'root' }, { reader: 'shell' }]) {
      expect(await new RemoteTerminal(transport(bad).link).inputState('t1'), JSON.stringify(bad)).toBeNull();
    }
  });
});
