import { currentHost, post } from './api';

/** A frame of the server's streams (the server's own type: src/handlers/stream-frames.ts). */
export type { StreamFrame as Frame } from '../../src/handlers/stream-frames';
import type { StreamFrame as Frame } from '../../src/handlers/stream-frames';

export interface Stream {
  send(frame: unknown): void;
  close(): void;
}

/**
 * Opens a WebSocket on an /api/... path: first a single-use ticket (browsers cannot send an
 * Authorization header on a WebSocket), then ws(s)://<this host>/path?ticket=…
 */
export async function openStream(path: string, handlers: { onFrame: (f: Frame) => void; onClose?: (ev: CloseEvent) => void; onOpen?: () => void }): Promise<Stream> {
  const { ticket } = await post<{ ticket: string }>('/api/v1/auth/ws-ticket');
  const url = new URL(path, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('ticket', ticket);
  // Split deployment: the stream belongs to the chosen host.
  if (currentHost.value) url.searchParams.set('host', currentHost.value);
  const ws = new WebSocket(url);
  // Frames sent while the socket is still connecting (keystrokes typed at once) wait for it.
  let queue: string[] = [];
  ws.onopen = () => {
    for (const f of queue) ws.send(f);
    queue = [];
    handlers.onOpen?.();
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') return;
    try {
      handlers.onFrame(JSON.parse(ev.data) as Frame);
    } catch {
      /* not JSON: ignored */
    }
  };
  ws.onclose = (ev) => handlers.onClose?.(ev);
  return {
    send: (f) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(f));
      else if (ws.readyState === WebSocket.CONNECTING && queue.length < 1000) queue.push(JSON.stringify(f));
    },
    close: () => ws.close(),
  };
}
