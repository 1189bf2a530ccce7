/**
 * The WebSocket upgrade of the Workers entry. Hono's `hono/cloudflare-workers` helper never
 * calls `onOpen`, and the stream and shell routes start their work there; a server socket of a
 * WebSocketPair is open as soon as it is accepted, so this one calls `onOpen` right after
 * `accept()` (messages sent before the client has connected are queued by the runtime).
 */
import { WSContext, defineWebSocketHelper, type UpgradeWebSocket } from 'hono/ws';

/** How long a closed socket's request stays alive for the route's clean-up calls. */
const CLEANUP_GRACE_MS = 3000;

export const upgradeWebSocket: UpgradeWebSocket = defineWebSocketHelper(async (c, events) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return;
  const pair = new WebSocketPair();
  const client = pair[0];
  const server = pair[1];
  const ws = new WSContext({
    close: (code, reason) => server.close(code, reason),
    get protocol() {
      return server.protocol;
    },
    raw: server,
    get readyState() {
      return server.readyState as 0 | 1 | 2 | 3;
    },
    url: server.url ? new URL(server.url) : null,
    send: (source) => server.send(source as string | ArrayBuffer),
  });
  server.addEventListener('close', (evt) => {
    const cleanup = Promise.resolve(events.onClose?.(evt, ws) as unknown);
    // The request ends with its socket, and with it any I/O not awaited: give the route's
    // clean-up (cancelling the stream on the agent, ending a shell session) time to reach the
    // host's Durable Object.
    c.executionCtx.waitUntil(Promise.all([cleanup.catch(() => undefined), new Promise((r) => setTimeout(r, CLEANUP_GRACE_MS))]));
    // Answer the client's close frame, so its close handshake completes.
    try {
      server.close(evt.code === 1005 || evt.code === 1006 ? 1000 : evt.code, evt.reason);
    } catch {
      // already closed
    }
  });
  if (events.onMessage) server.addEventListener('message', (evt) => events.onMessage?.(evt, ws));
  if (events.onError) server.addEventListener('error', (evt) => events.onError?.(evt, ws));
  server.accept();
  events.onOpen?.(new Event('open'), ws);
  return new Response(null, { status: 101, webSocket: client });
});
