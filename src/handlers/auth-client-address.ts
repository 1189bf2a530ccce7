import type { Context } from 'hono';

/**
 * Ready-made `getClientAddress` functions: each returns the address of the peer that opened
 * the connection (never a header a client can set, except where the platform vouches for it).
 */

/** @hono/node-server: the socket's remote address, from `c.env.incoming`. */
export function nodePeerAddress(c: Context): string | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== 'object' || incoming === null || !('socket' in incoming)) return undefined;
  const socket: unknown = incoming.socket;
  if (typeof socket !== 'object' || socket === null || !('remoteAddress' in socket)) return undefined;
  return typeof socket.remoteAddress === 'string' ? socket.remoteAddress : undefined;
}

/** Cloudflare Workers: CF-Connecting-IP is set by Cloudflare's edge and cannot be forged through it. */
export function cloudflarePeerAddress(c: Context): string | undefined {
  return c.req.header('cf-connecting-ip') ?? undefined;
}
