/**
 * Test Worker: POST /call {object, method, args} runs one AtomicStore method through the
 * Worker's own adapter (DurableAtomicStore, one RPC per step) on the StateObject named `object`.
 */
import { durableState, type StateEnv } from '../../../src/worker/state-object.js';

export { StateObject } from '../../../src/worker/state-object.js';

const METHODS = new Set(['get', 'set', 'remove', 'keys', 'take', 'putIfAbsent', 'compareAndSet', 'sweep']);

export default {
  async fetch(request: Request, env: StateEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') return new Response('ok');
    if (url.pathname !== '/call' || request.method !== 'POST') return new Response('not found', { status: 404 });
    const { object, method, args } = (await request.json()) as { object: string; method: string; args: unknown[] };
    if (!METHODS.has(method)) return new Response(`no method ${method}`, { status: 400 });
    const state = durableState(env, object) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const result = await state[method]!(...args);
    return Response.json({ result: result ?? null });
  },
};
