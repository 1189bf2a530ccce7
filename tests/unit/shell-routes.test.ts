import { describe, expect, it } from 'vitest';
import type { FullDockerPort } from '../../src/core/docker/port.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import type { TerminalPort } from '../../src/core/shell/terminal.js';
import { MemoryDocker } from '../helpers/memory-docker.js';
import { TEST_PASSWORD, TEST_USER, testApp } from '../helpers/test-app.js';

/** A terminal that must never be reached: every call is counted and refused. */
function trapTerminal(): { terminal: TerminalPort; calls: string[] } {
  const calls: string[] = [];
  const trap = (name: string) => async () => {
    calls.push(name);
    throw new Error(`terminal.${name} must not be called`);
  };
  const terminal = { open: trap('open'), output: () => { calls.push('output'); throw new Error('no'); }, write: trap('write'), resize: trap('resize'), kill: trap('kill') } as unknown as TerminalPort;
  return { terminal, calls };
}

const upgrade = (token: string) => ({ upgrade: 'websocket', connection: 'Upgrade', authorization: `Bearer ${token}` });

async function body(res: Response): Promise<{ code: number; msg: string }> {
  return (await res.json()) as { code: number; msg: string };
}

describe('shell and stream routes before the upgrade (app.request, no socket)', () => {
  it('a temp token (second factor not finished) and a CI machine token never reach the shell', async () => {
    const { terminal, calls } = trapTerminal();
    const t = testApp(new MemoryDocker(), { env: { IS_OPEN_DOCKER_SHELL: 'true', IS_SECONDARY_VERIFICATION: 'true' } });
    t.deps.terminal = terminal;
    const login = await t.app.request('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: TEST_USER, password: TEST_PASSWORD }) });
    const temp = ((await login.json()) as { data: { token: string; kind?: string } }).data.token;
    const res = await t.app.request('/api/shell/ws', { headers: upgrade(temp) });
    expect(res.status).toBe(401);
    expect((await body(res)).msg).toContain('two-factor');

    const t2 = testApp(new MemoryDocker(), { env: { IS_OPEN_DOCKER_SHELL: 'true' } });
    t2.deps.terminal = terminal;
    const made = await t2.request('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci', scope: { containers: ['web'] } }) });
    expect(made.status).toBe(201);
    const machine = ((await made.json()) as { data: { token: string } }).data.token;
    expect((await t2.app.request('/api/shell/ws', { headers: upgrade(machine) })).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('on a runtime without WebSockets or a terminal (Workers today) the routes say so instead of crashing', async () => {
    const docker = new MemoryDocker();
    const t = testApp(docker, { env: { IS_OPEN_DOCKER_SHELL: 'true' } });
    const token = await (async () => {
      const r = await t.app.request('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: TEST_USER, password: TEST_PASSWORD }) });
      return ((await r.json()) as { data: { token: string } }).data.token;
    })();
    const shell = await t.app.request('/api/shell/ws', { headers: upgrade(token) });
    expect(shell.status).toBe(501);
    expect((await body(shell)).msg).toContain('not available on this runtime');
    expect(await (await t.app.request('/api/shell/status', { headers: { authorization: `Bearer ${token}` } })).json()).toMatchObject({ data: { enabled: false } });
    const events = await t.app.request('/api/events/ws', { headers: upgrade(token) });
    expect(events.status).toBe(501);
    expect((await body(events)).msg).toContain('WebSockets are not available');
    // The Worker's Docker port answers "no agent connected" for every call: 502 before any upgrade.
    const noAgent = new Proxy({}, { get: () => async () => { throw new AppError(ErrorCode.DockerError, 'no agent is connected for this host'); } }) as FullDockerPort;
    const w = testApp(noAgent);
    const wt = await (async () => {
      const r = await w.app.request('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: TEST_USER, password: TEST_PASSWORD }) });
      return ((await r.json()) as { data: { token: string } }).data.token;
    })();
    for (const path of ['/api/events/ws', '/api/containers/web/logs/ws']) {
      const res = await w.app.request(path, { headers: upgrade(wt) });
      expect(res.status).toBe(502);
      expect((await body(res)).msg).toContain('no agent');
    }
  });

  it('plain GETs on stream routes get 426 naming the WebSocket', async () => {
    const t = testApp(new MemoryDocker());
    for (const path of ['/api/events/ws', '/api/containers/x/logs/ws', '/api/compose/logs/ws?name=x', '/api/compose/progress/ws?name=x']) {
      const res = await t.request(path);
      expect(res.status).toBe(426);
      expect((await body(res)).msg).toContain('WebSocket endpoint');
    }
  });
});
