/**
 * Hono's WebSocket upgrade for Workers, with `onOpen`: Hono's own Cloudflare adapter never calls
 * it (a Worker's socket is open as soon as it is accepted), and the stream routes start their
 * stream in `onOpen`. Here it is called right after accept().
 */
import { WSContext, defineWebSocketHelper } from 'hono/ws';

export const upgradeWebSocket = defineWebSocketHelper(async (c, events) => {
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
    send: (source) => server.send(source),
  });
  if (events.onClose) server.addEventListener('close', (evt) => events.onClose?.(evt, ws));
  if (events.onMessage) server.addEventListener('message', (evt) => events.onMessage?.(evt as never, ws));
  if (events.onError) server.addEventListener('error', (evt) => events.onError?.(evt, ws));
  server.accept();
  events.onOpen?.(new Event('open'), ws);
  return new Response(null, { status: 101, webSocket: client });
});
