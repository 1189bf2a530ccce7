/** Request routing of the Workers entry that is not a Hono route. */
import { HOST_NAME } from '../core/agent-link/protocol.js';
import type { EdgeEnv } from './edge-hosts.js';

export const AGENT_PATH = '/agent/connect';

/** `GET /agent/connect?host=NAME` (WebSocket): handed to that host's Durable Object; null for any other path. */
export function agentConnect(request: Request, env: EdgeEnv): Response | Promise<Response> | null {
  const url = new URL(request.url);
  if (url.pathname !== AGENT_PATH) return null;
  const host = url.searchParams.get('host') ?? '';
  if (!HOST_NAME.test(host)) return new Response('?host= must name a host: 1-63 lower-case letters, digits or "-"', { status: 400 });
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
  return env.HOST_LINK.get(env.HOST_LINK.idFromName(host)).fetch(request);
}

/**
 * `?host=NAME` on an /api request becomes the X-Watch-Host header (and leaves the query), so
 * the handlers, which refuse unknown query parameters, run unchanged for the chosen host.
 */
export function hostParamToHeader(request: Request): Request {
  const url = new URL(request.url);
  const host = url.searchParams.get('host');
  if (host === null || !url.pathname.startsWith('/api/')) return request;
  url.searchParams.delete('host');
  const out = new Request(url.toString(), request);
  out.headers.set('x-watch-host', host);
  return out;
}
