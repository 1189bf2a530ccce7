import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeCli } from '../../src/agent/compose-cli.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import { bed } from '../helpers/bed.js';
import { composeLogProcesses } from '../helpers/processes.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { BedScratch } from '../helpers/updater-bed.js';
import { serveTestApp, WsClient } from '../helpers/ws-client.js';

/**
 * Keep-alive of the stream routes, over a real server, engine and `docker compose`: a client
 * that answers the server's pings keeps its stream; one that vanishes without closing (here:
 * its socket paused, so it neither reads the pings nor answers them) is dropped and its source
 * released — the engine's log stream, the `docker compose logs` process.
 */
const host = bed().dockerHost;
const PING_MS = 150;
const P = `wdka-cmp-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const appPath = mkdtempSync(join(tmpdir(), 'wdka-app-'));
const yaml = `services:\n  talk:\n    image: ${bed().baseImage}\n    network_mode: host\n    stop_grace_period: 1s\n    command: ["sh", "-c", "echo hello-keepalive; trap 'exit 0' TERM; while true; do sleep 1; done"]\n`;

async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The client stops reading its socket: pings are never seen, so never answered, and the socket is not closed. */
function vanish(client: WsClient): void {
  (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

describe('stream keep-alive', () => {
  const scratch = new BedScratch(host);
  const port = new DockerodePort(host);
  let app: Awaited<ReturnType<typeof serveTestApp>>;
  let auth: Record<string, string>;
  let pings = 0;

  beforeAll(async () => {
    app = await serveTestApp(port, {
      compose: new ComposeCli(host),
      composeFiles: new FsProjectFiles(appPath),
      tweak: (deps) => {
        deps.streamPingMs = PING_MS;
      },
    });
    auth = { authorization: `Bearer ${await app.login()}` };
  });
  afterAll(async () => {
    await dockerQuiet(host, ['compose', '-p', P, 'down', '--timeout', '1']);
    await app?.close();
    await scratch.cleanup();
    rmSync(appPath, { recursive: true, force: true });
  });

  it('keeps a followed log open while the client answers pings, and drops it and releases the engine stream when the client vanishes', async () => {
    const name = scratch.name('wdka-logs');
    await docker(host, ['run', '-d', '--name', name, '--network', 'none', bed().baseImage, 'sh', '-c', 'echo first; exec sleep 3600']);
    const client = await WsClient.open(app.wsUrl(`/api/containers/${name}/logs/ws?tail=10&follow=1`), auth);
    client.ws.on('ping', () => pings++);
    await client.waitFor((f) => f.text === 'first', 'the first line');
    expect(port.activeStreams).toBe(1);
    // A live client (ws answers pings by itself) stays through many ping rounds.
    await eventually(() => pings >= 6, 'six pings answered');
    expect(client.closed).toBeNull();
    expect(port.activeStreams).toBe(1);

    vanish(client);
    // The server notices the missing pongs, drops the connection and releases the source,
    // although the client never closed and no line was written to it since.
    await eventually(() => port.activeStreams === 0, 'the engine log stream to be released');
    await eventually(() => app.wss.clients.size === 0, 'the server to drop the socket');
    client.ws.terminate();
  });

  it.runIf(bed().compose)('kills `docker compose logs` when a following client vanishes', async () => {
    const created = await fetch(`${app.base}/api/compose/create`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: P, yaml }),
    });
    expect(created.status).toBe(201);
    const started = await fetch(`${app.base}/api/compose/start`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: P }) });
    expect(started.status).toBe(200);
    const client = await WsClient.open(app.wsUrl(`/api/compose/logs/ws?name=${P}&tail=10&follow=1`), auth);
    await client.waitFor((f) => f.text === 'hello-keepalive', 'the service\'s line', 30_000);
    expect(composeLogProcesses(P)).toBeGreaterThanOrEqual(1);
    vanish(client);
    await eventually(() => composeLogProcesses(P) === 0, 'no `docker compose logs` process left');
    await eventually(() => app.wss.clients.size === 0, 'the server to drop the socket');
    client.ws.terminate();
  });

  it('answers a JSON {type:\'ping\'} on a stream with {type:\'pong\'}', async () => {
    const client = await WsClient.open(app.wsUrl('/api/events/ws'), auth);
    client.send({ type: 'ping' });
    expect(await client.waitFor((f) => f.type === 'pong', 'the pong')).toEqual({ type: 'pong' });
    client.close();
    await client.waitClosed();
    await eventually(() => port.activeStreams === 0, 'the event stream to be released');
  });
});
