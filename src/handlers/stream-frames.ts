/**
 * The frames of the WebSocket stream routes, shared by the server (ws-stream.ts) and the web UI
 * (web/src/ws.ts): a type only, with no imports, so the browser build can take it as it is.
 *
 * Server→client frames of the stream routes (JSON text frames).
 */
export type StreamFrame =
  | { type: 'line'; text: string; stream?: 'stdout' | 'stderr'; service?: string; container?: string; ts?: string }
  | { type: 'event'; event: unknown }
  | { type: 'dropped'; count: number }
  | { type: 'end'; reason?: string }
  | { type: 'error'; code: number; msg: string }
  | { type: 'start'; action: string }
  | { type: 'done'; action: string; ok: boolean; error?: string }
  // the web shell (server→client)
  | { type: 'output'; data: string }
  | { type: 'exit'; code: number }
  | { type: 'ping' }
  | { type: 'pong' };
