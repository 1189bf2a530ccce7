/**
 * The registry client's fetch for the agent, over node:http / node:https.
 *
 * Why not the global fetch: Node's fetch (undici) parses HTTP with llhttp compiled to
 * WebAssembly, and its first request compiles and instantiates that module: about 8 MB of
 * resident memory for the life of the process, and more while it compiles (measured on
 * Node 20: README, "Agent memory"). node:http parses with the same llhttp built into the
 * node binary. The agent keeps to a small footprint on the host, so its registry checks use
 * this; the server keeps the global fetch.
 *
 * It covers what the registry client asks of fetch (FetchLike): GET/HEAD/POST with headers and
 * a string body, `redirect: 'manual'` (node:http never follows redirects), an AbortSignal for
 * the time-out (rejects with the signal's reason, as fetch does; aborting while the body is
 * read errors the body stream), gzip/deflate/br bodies decoded as fetch decodes them, and
 * network errors as fetch reports them: TypeError('fetch failed') with the errno error as
 * `cause`. Connections are kept alive by Node's global agents.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FetchLike } from '../core/registry/transport.js';

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function bodyOf(res: IncomingMessage): Readable {
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : null;
  if (!decoder) return res;
  // pipeline: an error or a cancel on either side destroys both (and the socket).
  return pipeline(res, decoder, () => undefined);
}

export const nodeFetch: FetchLike = (url, init) =>
  new Promise<Response>((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new TypeError(`fetch failed: unsupported protocol ${target.protocol}`));
      return;
    }
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => (headers[key] = value));
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof URLSearchParams)) {
      reject(new TypeError('fetch failed: only string or URLSearchParams bodies are supported'));
      return;
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, { method, headers, ...(signal ? { signal } : {}) });
    req.once('error', (err) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 599) {
        res.destroy();
        reject(new TypeError(`fetch failed: unexpected HTTP status ${status}`));
        return;
      }
      const out = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) out.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
      if (NULL_BODY.has(status) || method === 'HEAD') {
        res.resume();
        resolve(new Response(null, { status, statusText: res.statusMessage ?? '', headers: out }));
        return;
      }
      if (signal) {
        // As fetch: a time-out while the body is read errors the body with the signal's reason.
        const abort = () => res.destroy(signal.reason as Error);
        signal.addEventListener('abort', abort, { once: true });
        res.once('close', () => signal.removeEventListener('abort', abort));
      }
      const stream = Readable.toWeb(bodyOf(res)) as ReadableStream<Uint8Array>;
      resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: out }));
    });
    if (body !== undefined && body !== null) {
      const text = body.toString();
      if (body instanceof URLSearchParams && !req.hasHeader('content-type')) req.setHeader('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      req.setHeader('content-length', Buffer.byteLength(text));
      req.end(text);
    } else req.end();
  });
