/**
 * The web shell of a host, over its agent link: the PTY runs on the host (node-pty in the
 * agent), only when the agent itself runs with IS_OPEN_DOCKER_SHELL=true; the control plane's
 * own guard (full token, Origin, session limit, audit) applies before that. Output comes as a
 * stream with credit; input and resizes are calls, sent one after the other.
 */
import { randomId } from '../auth/encoding.js';
import type { InputState, TerminalOutput, TerminalPort, TerminalSpec } from '../shell/terminal.js';
import type { LinkTransport } from './remote-docker.js';

const CALL_MS = 30_000;

export class RemoteTerminal implements TerminalPort {
  constructor(private readonly link: LinkTransport) {}

  /** Whether the host's agent allows the shell (its IS_OPEN_DOCKER_SHELL, not the control plane's). */
  async enabled(): Promise<boolean> {
    return (await this.link.call('terminalEnabled', [], { timeoutMs: CALL_MS })) === true;
  }
  open(spec: TerminalSpec): Promise<{ id: string; pid: number; command: string }> {
    const target = spec.target.kind === 'host' ? { kind: 'host' } : { kind: 'container', container: spec.target.container };
    return this.link.call('terminalOpen', [{ target, cols: spec.cols, rows: spec.rows }], { timeoutMs: CALL_MS, idempotencyKey: randomId(12) }) as Promise<{ id: string; pid: number; command: string }>;
  }
  output(id: string): AsyncIterable<TerminalOutput> {
    return this.link.stream('terminalOutput', [id], { timeoutMs: 0 }) as AsyncIterable<TerminalOutput>;
  }
  async write(id: string, data: string): Promise<void> {
    await this.link.call('terminalWrite', [id, data], { timeoutMs: CALL_MS });
  }
  async resize(id: string, cols: number, rows: number): Promise<void> {
    await this.link.call('terminalResize', [id, cols, rows], { timeoutMs: CALL_MS });
  }
  /** Who reads the host's terminal and whether it echoes (for the audit log); only the known fields are taken from the agent's answer. */
  async inputState(id: string): Promise<InputState | null> {
    const r = (await this.link.call('terminalInputState', [id], { timeoutMs: CALL_MS })) as Partial<InputState> | null;
    if (!r || typeof r !== 'object' || typeof r.echoOff !== 'boolean' || (r.reader !== 'shell' && r.reader !== 'program')) return null;
    return { echoOff: r.echoOff, reader: r.reader, ...(r.reader === 'program' && typeof r.program === 'string' ? { program: r.program.slice(0, 64) } : {}) };
  }
  async kill(id: string): Promise<void> {
    await this.link.call('terminalKill', [id], { timeoutMs: CALL_MS });
  }
}
