import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { bed } from '../helpers/bed.js';
import { docker } from '../helpers/docker-cli.js';
import { BedScratch } from '../helpers/updater-bed.js';
import { serveTestApp, WsClient } from '../helpers/ws-client.js';

// Live streams over a real WebSocket, from a real server over the real engine.
describe('live streams over WebSocket', () => {
  const host = bed().dockerHost;
  const scratch = new BedScratch(host);
  const port = new DockerodePort(host);
  let app: Awaited<ReturnType<typeof serveTestApp>>;
  let auth: Record<string, string>;

  beforeAll(async () => {
    app = await serveTestApp(port);
    auth = { authorization: `Bearer ${await app.login()}` };
  });
  afterAll(async () => {
    await app?.close();
    await scratch.cleanup();
  });

  const run = async (prefix: string, script: string, extra: string[] = []): Promise<string> => {
    const name = scratch.name(`wdst-${prefix}`);
    await docker(host, ['run', '-d', '--name', name, '--network', 'none', ...extra, bed().baseImage, 'sh', '-c', script]);
    return name;
  };

  it('the event stream shows a container being started and stopped', async () => {
    const client = await WsClient.open(app.wsUrl('/api/events/ws'), auth);
    try {
      // Once the engine answered the events request, a container made after this is seen.
      await eventually(() => port.activeStreams === 1, 'the engine event stream to open');
      const name = await run('ev', 'exec sleep 3600');
      await docker(host, ['stop', '-t', '0', name]);
      const of = (action: string) => (f: Record<string, unknown>) => f.type === 'event' && (f.event as { name?: string; action?: string }).name === name && (f.event as { action?: string }).action === action;
      for (const a of ['create', 'start', 'die', 'stop']) await client.waitFor(of(a), `the ${a} event`);
      const start = (await client.waitFor(of('start'), 'start')).event as Record<string, unknown>;
      expect(start).toMatchObject({ type: 'container', name, attributes: expect.objectContaining({ image: bed().baseImage }) });
      expect(client.frames.every((f) => f.type === 'event')).toBe(true);
      expect(client.frames.some((f) => String((f.event as { action?: string }).action).startsWith('exec_'))).toBe(false);
    } finally {
      client.close();
    }
    await eventually(() => port.activeStreams === 0, 'the event stream to be released');
  });

  it('follows a container\'s logs, and releases the engine stream when the client goes away', async () => {
    const name = await run('logs', 'echo ready; echo 你好 >&2; while sleep 0.2; do [ -f /tmp/go ] && break; done; echo later; exec sleep 3600');
    const client = await WsClient.open(app.wsUrl(`/api/containers/${name}/logs/ws?tail=10&follow=1`), auth);
    await client.waitFor((f) => f.text === 'ready', 'the first line');
    expect(await client.waitFor((f) => f.text === '你好', 'the stderr line')).toMatchObject({ type: 'line', stream: 'stderr', container: name });
    expect(port.activeStreams).toBe(1);
    await docker(host, ['exec', name, 'touch', '/tmp/go']);
    await client.waitFor((f) => f.text === 'later', 'a line printed after the stream opened');
    client.close();
    await client.waitClosed();
    await eventually(() => port.activeStreams === 0, 'the engine log stream to be released');
  });

  it('a finished log ends with an end frame and a normal close', async () => {
    const name = await run('done', 'echo one; echo two');
    await eventually(async () => (await docker(host, ['inspect', '-f', '{{.State.Running}}', name])) === 'false', 'the container to exit');
    const client = await WsClient.open(app.wsUrl(`/api/containers/${name}/logs/ws?tail=1`), auth);
    expect((await client.waitClosed()).code).toBe(1000);
    expect(client.frames).toEqual([{ type: 'line', text: 'two', stream: 'stdout', container: name }, { type: 'end' }]);
  });

  it('a client that stops reading holds the server at a bounded buffer, and gets every line once it reads again', async () => {
    const lines = 100_000;
    const name = await run('slow', `yes wd-slow-consumer-0123456789-0123456789-0123456789 | head -n ${lines} | cat -n; exec sleep 3600`);
    await eventually(async () => (await port.containerLogs(name, { tail: 1 })).includes(String(lines)), 'the output to be written');
    const client = await WsClient.open(app.wsUrl(`/api/containers/${name}/logs/ws?tail=${lines}&follow=1`), auth);
    const raw = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause(); // the client reads nothing more: the kernel buffers fill, then the server's
    const serverSide = [...app.wss.clients][0];
    expect(serverSide).toBeDefined();
    await eventually(() => (serverSide?.bufferedAmount ?? 0) >= 256 * 1024, 'the server to hold back', 200);
    // Back-pressure: the server stops reading the engine stream instead of buffering it.
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      samples.push(serverSide?.bufferedAmount ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(Math.max(...samples)).toBeLessThan(256 * 1024 + 64 * 1024);
    expect(client.frames.length).toBeLessThan(lines);
    raw.resume();
    await client.waitFor((f) => typeof f.text === 'string' && f.text.trim().startsWith(`${lines}\t`), 'the last line', 60_000);
    const got = client.frames.filter((f) => f.type === 'line');
    expect(got).toHaveLength(lines); // nothing dropped, nothing twice
    expect(client.frames.some((f) => f.type === 'dropped')).toBe(false);
    client.close();
    await eventually(() => port.activeStreams === 0, 'the engine log stream to be released');
  });

  it('refuses before the upgrade: a plain GET, an unknown container, a bad tail, a foreign Origin, no token', async () => {
    const plain = await fetch(`${app.base}/api/events/ws`, { headers: auth });
    expect(plain.status).toBe(426);
    expect(((await plain.json()) as { msg: string }).msg).toContain('WebSocket');
    expect(await WsClient.refusal(app.wsUrl('/api/containers/wdt-no-such-container/logs/ws'), auth)).toBe(404);
    expect(await WsClient.refusal(app.wsUrl('/api/containers/..%2F..%2Fimages/logs/ws'), auth)).toBe(400);
    const name = await run('refuse', 'exec sleep 3600');
    expect(await WsClient.refusal(app.wsUrl(`/api/containers/${name}/logs/ws?tail=lots`), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl(`/api/containers/${name}/logs/ws?nope=1`), auth)).toBe(400);
    expect(await WsClient.refusal(app.wsUrl('/api/events/ws'), { ...auth, origin: 'https://evil.example' })).toBe(403);
    expect(await WsClient.refusal(app.wsUrl('/api/events/ws'))).toBe(403); // neither Origin nor token
    expect(await WsClient.refusal(app.wsUrl('/api/events/ws'), { origin: app.base })).toBe(401);
    expect(await WsClient.refusal(app.wsUrl('/api/events/ws?ticket=wd-made-up-ticket-0123456789'), { origin: app.base })).toBe(401);
    expect(port.activeStreams).toBe(0);
  });

  it('a browser opens a stream with a one-time ticket from its own page', async () => {
    const res = await fetch(`${app.base}/api/v1/auth/ws-ticket`, { method: 'POST', headers: auth });
    const { ticket } = ((await res.json()) as { data: { ticket: string } }).data;
    const origin = app.base;
    const client = await WsClient.open(app.wsUrl(`/api/events/ws?ticket=${ticket}`), { origin });
    client.close();
    await client.waitClosed();
    // Single use.
    expect(await WsClient.refusal(app.wsUrl(`/api/events/ws?ticket=${ticket}`), { origin })).toBe(401);
  });
});

async function eventually(cond: () => boolean | Promise<boolean>, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
