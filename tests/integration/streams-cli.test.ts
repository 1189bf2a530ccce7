import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bed } from '../helpers/bed.js';
import { loginAt, startCli, waitForPort, type CliRun } from '../helpers/cli-process.js';
import { WsClient } from '../helpers/ws-client.js';

// The real CLI server (dist/cli.js): WebSockets wired into `serve`, the PTY only with the variable.
const runs: CliRun[] = [];
afterEach(() => {
  for (const r of runs.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});
const PASSWORD = 'streams-cli-password-1';
const env = (extra: Record<string, string> = {}): Record<string, string> => ({
  DOCKER_HOST: bed().dockerHost, WATCH_SERVER_ADDR: '127.0.0.1:0', WATCH_STORE_DATA_DIR: mkdtempSync(join(tmpdir(), 'wdst-cli-')),
  USER_NAME: 'admin', USER_PASSWORD: PASSWORD, WATCH_AUTH_PASSWORD_ITERATIONS: '100000', SHELL: '/bin/sh', ...extra,
});

async function serve(extra: Record<string, string> = {}) {
  const run = startCli([], env(extra));
  runs.push(run);
  const port = await waitForPort(run);
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${await loginAt(base, 'admin', PASSWORD)}` };
  return { run, base, auth, ws: (path: string) => `ws://127.0.0.1:${port}${path}` };
}

describe('WebSockets in the real server', () => {
  it('streams events and opens a shell when IS_OPEN_DOCKER_SHELL=true; shuts down cleanly with both open', async () => {
    const s = await serve({ IS_OPEN_DOCKER_SHELL: 'true' });
    const events = await WsClient.open(s.ws('/api/events/ws'), s.auth);
    const sh = await WsClient.open(s.ws('/api/shell/ws?cols=77&rows=22'), s.auth);
    sh.send({ type: 'input', data: 'stty size; echo "$((6*7))-你好"; sleep 1000 & echo "bg=$!"\r' });
    await sh.waitFor(() => /22 77[\s\S]*42-你好[\s\S]*bg=\d+/.test(sh.frames.map((f) => f.data ?? '').join('')), 'the shell output');
    const bg = Number(/bg=(\d+)/.exec(sh.frames.map((f) => f.data ?? '').join(''))?.[1]);
    s.run.child.kill('SIGTERM');
    expect(await s.run.exited).toBe(0);
    await events.waitClosed();
    await sh.waitClosed();
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      try {
        process.kill(bg, 0);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        gone = true;
      }
    }
    expect(gone).toBe(true);
  });

  it('refuses the shell when the variable is not exactly "true"', async () => {
    const s = await serve({ IS_OPEN_DOCKER_SHELL: 'TRUE ' });
    expect(await WsClient.refusal(s.ws('/api/shell/ws'), s.auth)).toBe(403);
    const status = await fetch(`${s.base}/api/shell/status`, { headers: s.auth });
    expect(await status.json()).toMatchObject({ data: { enabled: false } });
  });
});
