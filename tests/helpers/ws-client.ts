import { serve, upgradeWebSocket, type ServerType } from '@hono/node-server';
import type { UpgradeWebSocket } from 'hono/ws';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { FullDockerPort } from '../../src/core/docker/port.js';
import { nodePeerAddress } from '../../src/handlers/auth-client-address.js';
import { WS_MAX_PAYLOAD } from '../../src/handlers/ws-stream.js';
import { TEST_PASSWORD, TEST_USER, testApp, type TestAppOptions } from './test-app.js';

/**
 * The real app (testApp) served over real HTTP with @hono/node-server's WebSocket support, as
 * src/server.ts does (peer addresses from the socket); `login()` gives a full token.
 */
export async function serveTestApp(docker: FullDockerPort, opts: TestAppOptions & { tweak?: (deps: ReturnType<typeof testApp>['deps']) => void } = {}) {
  const t = testApp(docker, { getClientAddress: nodePeerAddress, ...opts });
  t.deps.upgradeWebSocket = upgradeWebSocket as UpgradeWebSocket;
  opts.tweak?.(t.deps);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1', websocket: { server: wss } }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const login = async (): Promise<string> => {
    const res = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: TEST_USER, password: TEST_PASSWORD }) });
    const body = (await res.json()) as { data: { token: string } };
    return body.data.token;
  };
  return {
    ...t,
    base,
    port,
    wss,
    login,
    wsUrl: (path: string) => `ws://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        server.close(() => resolve());
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  };
}

/** A real WebSocket client that keeps every frame it gets, parsed. */
export class WsClient {
  readonly frames: Array<Record<string, unknown>> = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Opens a socket; rejects with the HTTP status when the upgrade is refused. */
  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const client = new WsClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
        res.resume();
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  /** The HTTP status of a refused upgrade (throws if the socket opened). */
  static async refusal(url: string, headers: Record<string, string> = {}): Promise<number> {
    const outcome = await WsClient.open(url, headers).then(
      (c) => {
        c.ws.terminate();
        return null;
      },
      (e: unknown) => (e as { status?: number }).status ?? -1,
    );
    if (outcome === null) throw new Error(`${url} opened, but it should have been refused`);
    return outcome;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Waits for a frame matching `pred` (looking at every frame since the socket opened). */
  async waitFor(pred: (f: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) before ${what}; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 15_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the socket to close');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }
}
