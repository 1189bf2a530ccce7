/**
 * What the agent serves besides Docker: the shell only when its own IS_OPEN_DOCKER_SHELL says
 * so (node-pty never loaded otherwise), sessions ended when the link closes or their output is
 * no longer read, and compose paths kept inside the agent's APP_PATH. The compose CLI and the
 * terminal are stand-ins recording what they were asked (the real ones are tested on the bed
 * and through workerd in tests/integration/edge-streams.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { hostServiceHandlers, type HostServices } from '../../src/agent/agent-services.js';
import type { ComposePort } from '../../src/core/compose/port.js';
import { AppError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/ports.js';
import type { TerminalOutput, TerminalPort } from '../../src/core/shell/terminal.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

function fakeTerminal() {
  const killed: string[] = [];
  let n = 0;
  const t: TerminalPort & { closeAll(): Promise<void> } = {
    open: async () => ({ id: `t${++n}`, pid: 1000 + n, command: '/bin/sh' }),
    output: (): AsyncIterable<TerminalOutput> => ({
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ value: { type: 'data', data: 'x' } as TerminalOutput, done: false }),
        return: async () => ({ value: undefined, done: true }),
      }),
    }),
    write: async () => {},
    resize: async () => {},
    kill: async (id) => void killed.push(id),
    closeAll: async () => {},
  };
  return { t, killed };
}

function services(over: Partial<HostServices> = {}) {
  const ran: string[] = [];
  const compose = {
    up: async (p) => (ran.push(`up ${p.name} ${p.files.join(',')}`), { output: '' }),
    pull: async () => ({ output: '' }),
    run: () => (async function* () {})(),
    ls: async () => [],
    config: async () => ({ ok: true, model: {} }),
    logs: () => (async function* () {})(),
  } satisfies ComposePort;
  const { t, killed } = fakeTerminal();
  let made = 0;
  const h = hostServiceHandlers({
    compose, appPath: '/srv/apps', files: null, shellEnabled: true, logger: quiet,
    terminal: async () => (made++, t), ...over,
  });
  return { h, ran, killed, made: () => made };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('agent services', () => {
  it('refuses every shell operation when the agent\'s own shell switch is off, without loading the terminal', async () => {
    const s = services({ shellEnabled: false });
    expect(await s.h.calls.terminalEnabled!([])).toBe(false);
    const err = await s.h.calls.terminalOpen!([{ target: { kind: 'host' }, cols: 80, rows: 24 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as Error).message).toContain('IS_OPEN_DOCKER_SHELL=true');
    await expect(s.h.streams.terminalOutput!(['t1'])[Symbol.asyncIterator]().next()).rejects.toThrow(/switched off/);
    expect(s.made()).toBe(0);
  });

  it('ends the sessions the control plane opened when the link closes', async () => {
    const s = services();
    const a = (await s.h.calls.terminalOpen!([{ target: { kind: 'host' }, cols: 80, rows: 24 }])) as { id: string };
    const b = (await s.h.calls.terminalOpen!([{ target: { kind: 'container', container: 'c1' }, cols: 80, rows: 24 }])) as { id: string };
    await s.h.calls.terminalKill!([a.id]);
    expect(s.killed).toEqual([a.id]);
    s.h.closed();
    await settle();
    expect(s.killed).toEqual([a.id, b.id]);
    // Nothing is killed twice on a later close.
    s.h.closed();
    await settle();
    expect(s.killed).toEqual([a.id, b.id]);
  });

  it('ends a session whose output the control plane stopped reading', async () => {
    const s = services();
    const { id } = (await s.h.calls.terminalOpen!([{ target: { kind: 'host' }, cols: 80, rows: 24 }])) as { id: string };
    const it = s.h.streams.terminalOutput!([id])[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: 'data', data: 'x' });
    await it.return!();
    expect(s.killed).toEqual([id]);
  });

  it('runs compose only on files inside its own APP_PATH; projects by name need none', async () => {
    const s = services();
    await s.h.calls.composeUp!([{ name: 'web', workingDir: '/srv/apps/web', files: ['/srv/apps/web/compose.yaml'] }, {}]);
    expect(s.ran).toEqual(['up web /srv/apps/web/compose.yaml']);
    for (const files of [['/etc/compose.yaml'], ['/srv/apps/../etc/compose.yaml'], ['/srv/apps-other/x/compose.yaml'], ['compose.yaml']]) {
      const err = await s.h.calls.composeUp!([{ name: 'web', workingDir: '/srv/apps/web', files }, {}]).catch((e: unknown) => e);
      expect((err as Error).message, files[0]).toMatch(/is not under this host's APP_PATH/);
    }
    const draft = await s.h.calls.composeConfig!([{ draft: { name: 'x', projectDir: '/tmp/x', yaml: 'services: {}' } }]).catch((e: unknown) => e);
    expect((draft as Error).message).toMatch(/not under this host's APP_PATH/);
    expect(s.ran).toHaveLength(1);
    // Without an APP_PATH on the agent: file operations say so; listing is empty.
    const none = services({ appPath: '', files: null });
    expect(await none.h.calls.filesList!([])).toEqual([]);
    await expect(none.h.calls.filesRead!(['web'])).rejects.toThrow(/APP_PATH is not set on this host/);
  });
});
