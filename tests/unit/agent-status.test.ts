import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentStatusFile, agentStatusPath, checkAgentHealth } from '../../src/agent/agent-status.js';
import type { AgentState } from '../../src/agent/agent-link.js';

const dir = mkdtempSync(join(tmpdir(), 'wd-agent-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent status file and health', () => {
  it('is healthy only while the link is online and the file is fresh', async () => {
    const path = agentStatusPath(join(dir, 'data'), 'web-1');
    expect(path).toBe(join(dir, 'data', 'agent-web-1.status.json'));
    expect(await checkAgentHealth(path)).toMatchObject({ healthy: false, message: expect.stringContaining('no agent status at') });
    let state: AgentState = 'connecting';
    const file = new AgentStatusFile(path, { host: 'web-1', version: '9.9.9' }, () => state);
    file.start();
    await file.write();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ host: 'web-1', state: 'connecting', version: '9.9.9', pid: process.pid });
    expect(await checkAgentHealth(path)).toMatchObject({ healthy: false, message: expect.stringMatching(/^agent web-1: connecting since .* not linked to the control plane$/) });
    state = 'online';
    await file.write();
    const online = await checkAgentHealth(path);
    expect(online).toMatchObject({ healthy: true, message: expect.stringMatching(/^agent web-1: online since /) });
    // A status nobody refreshes: the agent stopped.
    expect(await checkAgentHealth(path, Date.now() + 31_000)).toMatchObject({ healthy: false, message: expect.stringContaining('the agent is not running') });
    state = 'stopped';
    await file.stop();
    expect(await checkAgentHealth(path)).toMatchObject({ healthy: false, message: expect.stringContaining('stopped since') });
  });

  it('a state change is written within a second, without waiting for the rewrite interval', async () => {
    const path = join(dir, 'tick', 'agent-h.status.json');
    let state: AgentState = 'waiting';
    const file = new AgentStatusFile(path, { host: 'h', version: '1' }, () => state, () => undefined, 60_000);
    file.start();
    await file.write();
    state = 'online';
    const deadline = Date.now() + 5000;
    while (JSON.parse(readFileSync(path, 'utf8')).state !== 'online' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(JSON.parse(readFileSync(path, 'utf8')).state).toBe('online');
    state = 'stopped';
    await file.stop();
    expect(JSON.parse(readFileSync(path, 'utf8')).state).toBe('stopped');
  });

  it('an unreadable status is unhealthy, naming the file', async () => {
    const path = join(dir, 'bad.status.json');
    writeFileSync(path, 'not json');
    expect(await checkAgentHealth(path)).toEqual({ healthy: false, message: `cannot read the agent status at ${path}: not JSON` });
  });
});
