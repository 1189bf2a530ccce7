/**
 * The Durable Objects of the split deployment.
 *
 * HostLink: one per host (idFromName(host)). It keeps the host's record (enrolled key, hashed
 * single-use join token) in its own strongly consistent storage, holds the agent's WebSocket
 * with the hibernation API (the socket's attachment carries the host, whether it authenticated,
 * and both sequence numbers, so all of it survives hibernation), and relays the Worker's
 * requests to the agent. Heartbeats are answered by the runtime without waking the object.
 *
 * HostRegistry: a single object listing the hosts, so a host created is listed at once.
 */
import { DurableObject } from 'cloudflare:workers';
import { createStorage } from 'unstorage';
import kvDriver from 'unstorage/drivers/cloudflare-kv-binding';
import { prefixedStore } from '../core/agent-link/hosts.js';
import { syncUpdateOutcomes } from '../core/agent-link/remote-updater.js';
import { UpdateHistory } from '../core/update-history.js';
import { silentLogger, systemClock } from '../core/ports.js';
import { markUpdated } from '../core/scanner.js';
import { LinkRequester, errorFromFrame, errorToFrame } from '../core/agent-link/endpoint.js';
import { authenticate, newHost, newNonce, type HostRecord } from '../core/agent-link/enrolment.js';
import {
  CloseCode, FrameError, PING_TEXT, PONG_TEXT, PROTOCOL_VERSION, SequenceCounter, SequenceGuard, parseFrame,
  type CallOp, type Frame, type StreamOp, type Unsequenced,
} from '../core/agent-link/protocol.js';
import { AppError, ErrorCode, describeError } from '../core/errors.js';
import pkg from '../../package.json' with { type: 'json' };
import { StreamRelay, type RelayBatch } from './stream-relay.js';

/** What a socket carries through hibernation. */
interface Attachment {
  host: string;
  nonce: string;
  authed: boolean;
  agentVersion: string | null;
  connectedAt: number;
  /** Last sequence number received from / sent to the agent. */
  inSeq: number;
  outSeq: number;
}

/** The answer of a relayed call: plain data, so it crosses the RPC boundary with its code. */
export type RelayOutcome<T = unknown> = { ok: true; result: T } | { ok: false; code: number; msg: string; data?: Record<string, unknown> | null };

export interface HostStatus {
  exists: boolean;
  createdAt: string | null;
  enrolled: boolean;
  online: boolean;
  agentVersion: string | null;
  lastSeen: string | null;
}

/** How long an agent has to authenticate after connecting. */
const AUTH_DEADLINE_MS = 10_000;
/** Items of a collected stream kept (the last ones). */
const MAX_COLLECTED = 1000;
/** Credit a relayed stream grants the agent: with the relay's 64 items, what one stream may hold here. */
const RELAY_CREDIT = 128;
const RECORD = 'record';
const SEEN = 'seen';

export class HostLink extends DurableObject<Record<string, unknown>> {
  private link: { ws: WebSocket; requester: LinkRequester } | null = null;
  /** Streams the Worker reads in batches (logs, events, compose, terminal output). */
  private readonly relays = new Map<string, StreamRelay>();

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_TEXT, PONG_TEXT));
  }

  /** The agent's connection: `GET /agent/connect?host=NAME` with Upgrade: websocket. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    const host = new URL(request.url).searchParams.get('host') ?? '';
    const record = await this.ctx.storage.get<HostRecord>(RECORD);
    // Refused before the upgrade: nothing runs for an unknown or revoked host.
    if (!record || record.name !== host) return new Response(`host ${host} is not known to this control plane (create it, or it was revoked)`, { status: 403 });
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [host]);
    const nonce = newNonce();
    server.serializeAttachment({ host, nonce, authed: false, agentVersion: null, connectedAt: Date.now(), inSeq: 0, outSeq: 0 } satisfies Attachment);
    this.sendFrame(server, { t: 'challenge', nonce, protocol: PROTOCOL_VERSION, server: pkg.version });
    await this.ctx.storage.setAlarm(Date.now() + AUTH_DEADLINE_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Closes sockets that did not authenticate in time. */
  override async alarm(): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att && !att.authed && Date.now() - att.connectedAt >= AUTH_DEADLINE_MS) ws.close(CloseCode.Unauthorized, 'did not authenticate in time');
    }
  }

  private sendFrame(ws: WebSocket, frame: Unsequenced): void {
    const att = ws.deserializeAttachment() as Attachment;
    const counter = new SequenceCounter(att.outSeq);
    const text = JSON.stringify(counter.stamp(frame));
    att.outSeq = counter.last;
    ws.serializeAttachment(att);
    ws.send(text);
  }

  private requesterFor(ws: WebSocket): LinkRequester {
    if (this.link?.ws !== ws) {
      this.link?.requester.closeAll('replaced by a new connection');
      this.link = { ws, requester: new LinkRequester((f) => this.sendFrame(ws, f)) };
    }
    return this.link.requester;
  }

  private authedSocket(): WebSocket | null {
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att?.authed) return ws;
    }
    return null;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as Attachment;
    let frame: Frame;
    try {
      if (typeof message !== 'string') throw new FrameError('binary frames are not part of the protocol');
      frame = parseFrame(message);
      const guard = new SequenceGuard(att.inSeq);
      guard.accept(frame);
      att.inSeq = guard.last;
      ws.serializeAttachment(att);
    } catch (err) {
      this.drop(ws, err instanceof FrameError ? err.closeCode : CloseCode.ProtocolError, describeError(err));
      return;
    }
    if (frame.t === 'ping') {
      ws.send(PONG_TEXT);
      return;
    }
    if (frame.t === 'pong') return;
    if (!att.authed) {
      await this.authenticate(ws, att, frame);
      return;
    }
    try {
      this.requesterFor(ws).handle(frame);
    } catch (err) {
      this.drop(ws, err instanceof FrameError ? err.closeCode : CloseCode.ProtocolError, describeError(err));
    }
  }

  private async authenticate(ws: WebSocket, att: Attachment, frame: Frame): Promise<void> {
    if (frame.t !== 'auth') {
      this.refuse(ws, `expected an auth frame, got "${frame.t}"`);
      return;
    }
    // One decision at a time: two agents racing with the same join token cannot both enrol.
    const outcome = await this.ctx.blockConcurrencyWhile(async () => {
      const record = (await this.ctx.storage.get<HostRecord>(RECORD)) ?? null;
      const result = await authenticate(record && record.name === frame.host && record.name === att.host ? record : null, frame, att.nonce, Date.now());
      if (result.ok && result.enrolled) await this.ctx.storage.put(RECORD, result.record);
      return result;
    });
    if (!outcome.ok) {
      this.refuse(ws, outcome.msg);
      return;
    }
    // One agent per host: a new authenticated connection replaces the old one.
    for (const other of this.ctx.getWebSockets()) {
      if (other !== ws && (other.deserializeAttachment() as Attachment | null)?.authed) this.drop(other, CloseCode.Replaced, 'replaced by a new connection of the same host');
    }
    const fresh = ws.deserializeAttachment() as Attachment;
    ws.serializeAttachment({ ...fresh, authed: true, nonce: '', agentVersion: frame.agentVersion } satisfies Attachment);
    await this.ctx.storage.put(SEEN, { at: Date.now(), agentVersion: frame.agentVersion });
    const requester = this.requesterFor(ws);
    this.sendFrame(ws, { t: 'hello', host: att.host, enrolled: outcome.enrolled });
    // Back online: the outcomes of updates the agent finished or settled meanwhile go into the host's history.
    this.ctx.waitUntil(this.takeOutcomes(att.host, requester));
  }

  private async takeOutcomes(host: string, requester: LinkRequester): Promise<void> {
    const kv = this.env.STATE as KVNamespace | undefined;
    if (!kv) return;
    const store = prefixedStore(createStorage({ driver: kvDriver({ binding: kv }) }), `host:${host}`);
    const history = new UpdateHistory(store);
    try {
      await syncUpdateOutcomes({
        link: { call: (op, args, opts) => requester.call(op, args, opts) }, history, logger: silentLogger,
        // As the history routes do: a finished update shows as up to date in the host's scan report.
        onUpdated: async (e) => {
          if (e.newContainerId && e.newImageId) await markUpdated(store, systemClock, e.newContainerId, e.newImageId, undefined);
        },
      });
    } catch (err) {
      console.log(JSON.stringify({ level: 'warn', component: 'host-link', host, action: 'outcomes', err: describeError(err), msg: 'could not take the update outcomes the agent reported; the history routes ask again' }));
    }
  }

  private refuse(ws: WebSocket, msg: string): void {
    try {
      this.sendFrame(ws, { t: 'refused', code: ErrorCode.Unauthorized, msg });
    } catch {
      // already closed
    }
    this.drop(ws, CloseCode.Unauthorized, msg);
  }

  private drop(ws: WebSocket, code: number, reason: string): void {
    if (this.link?.ws === ws) {
      this.link.requester.closeAll(reason);
      this.link = null;
    }
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // already closed
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.closed(ws, `closed (${code}${reason ? `: ${reason}` : ''})`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.closed(ws, describeError(error));
  }

  private async closed(ws: WebSocket, reason: string): Promise<void> {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (this.link?.ws === ws) {
      this.link.requester.closeAll(reason);
      this.link = null;
    }
    if (att?.authed && (await this.ctx.storage.get(RECORD))) await this.ctx.storage.put(SEEN, { at: Date.now(), agentVersion: att.agentVersion });
  }

  // ---- RPC from the Worker ----

  /** Creates the host with a fresh join token; a host that exists is a conflict. */
  async create(name: string, ttlMs: number): Promise<RelayOutcome<{ joinToken: string; expiresAt: string }>> {
    return this.ctx.blockConcurrencyWhile(async () => {
      if (await this.ctx.storage.get(RECORD)) return { ok: false, code: ErrorCode.Conflict, msg: `a host named ${name} exists: revoke it first` };
      const { record, joinToken, expiresAt } = await newHost(name, Date.now(), ttlMs);
      await this.ctx.storage.put(RECORD, record);
      return { ok: true, result: { joinToken, expiresAt } };
    });
  }

  /** Forgets the host (key, join token, state) and disconnects its agent. */
  async revoke(): Promise<boolean> {
    const existed = (await this.ctx.storage.get(RECORD)) !== undefined;
    await this.ctx.storage.deleteAll();
    for (const ws of this.ctx.getWebSockets()) this.drop(ws, CloseCode.Revoked, 'this host was revoked');
    return existed;
  }

  async status(): Promise<HostStatus> {
    const record = await this.ctx.storage.get<HostRecord>(RECORD);
    const seen = await this.ctx.storage.get<{ at: number; agentVersion: string }>(SEEN);
    const ws = this.authedSocket();
    const att = ws ? (ws.deserializeAttachment() as Attachment) : null;
    const beat = ws ? this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0 : 0;
    const last = Math.max(seen?.at ?? 0, beat);
    return {
      exists: record !== undefined,
      createdAt: record?.createdAt ?? null,
      enrolled: record?.publicKey != null,
      online: ws !== null,
      agentVersion: att?.agentVersion ?? seen?.agentVersion ?? null,
      lastSeen: last > 0 ? new Date(last).toISOString() : null,
    };
  }

  private async ready(): Promise<LinkRequester | RelayOutcome<never>> {
    const record = await this.ctx.storage.get<HostRecord>(RECORD);
    if (!record) return { ok: false, code: ErrorCode.NotFound, msg: 'no such host (GET /api/hosts lists them)' };
    const ws = this.authedSocket();
    if (!ws) return { ok: false, code: ErrorCode.HostOffline, msg: `host ${record.name} is offline: its agent is not connected`, data: { host: record.name, reason: 'offline' } };
    return this.requesterFor(ws);
  }

  /** Relays one call to the agent; answers at once when it is not connected. */
  async call(op: CallOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): Promise<RelayOutcome> {
    const requester = await this.ready();
    if (!(requester instanceof LinkRequester)) return requester;
    try {
      return { ok: true, result: await requester.call(op, args, opts) };
    } catch (err) {
      return { ok: false, ...errorToFrame(err) };
    }
  }

  /** Opens a stream on the agent for the Worker to read with streamNext; answers at once when the agent is not connected. */
  async streamOpen(op: StreamOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): Promise<RelayOutcome<{ id: string }>> {
    const requester = await this.ready();
    if (!(requester instanceof LinkRequester)) return requester;
    const id = crypto.randomUUID();
    // More credit than a collected pull: a live stream's items are small and many (log lines).
    const it = requester.stream(op, args, { ...opts, credit: RELAY_CREDIT })[Symbol.asyncIterator]();
    this.relays.set(id, new StreamRelay(it, () => this.relays.delete(id)));
    return { ok: true, result: { id } };
  }

  /** The next items of a relayed stream (waits for the first). */
  async streamNext(id: string, max: number): Promise<RelayBatch> {
    const relay = this.relays.get(id);
    if (!relay) return { ok: false, code: ErrorCode.HostOffline, msg: 'the stream is gone (its host disconnected, or it was idle too long)', data: { reason: 'stream-gone' } };
    return relay.next(max);
  }

  /** The reader left: the stream is cancelled on the agent. */
  async streamCancel(id: string): Promise<void> {
    await this.relays.get(id)?.cancel();
  }

  /** Runs a stream on the agent and answers its items (the last MAX_COLLECTED). */
  async collect(op: StreamOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): Promise<RelayOutcome<unknown[]>> {
    const requester = await this.ready();
    if (!(requester instanceof LinkRequester)) return requester;
    const items: unknown[] = [];
    try {
      for await (const item of requester.stream(op, args, opts)) {
        items.push(item);
        if (items.length > MAX_COLLECTED) items.shift();
      }
      return { ok: true, result: items };
    } catch (err) {
      return { ok: false, ...errorToFrame(err) };
    }
  }
}


/** Stream relays of a HostLink (kept apart from the class body so the edits stay small). */
export interface StreamRelayApi {
  streamOpen(op: StreamOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): Promise<RelayOutcome<{ id: string }>>;
  streamNext(id: string, max: number): Promise<RelayBatch>;
  streamCancel(id: string): Promise<void>;
}

/** The list of hosts, in one object so that it is consistent. */
export class HostRegistry extends DurableObject<Record<string, unknown>> {
  async add(name: string): Promise<boolean> {
    const key = `host:${name}`;
    if (await this.ctx.storage.get(key)) return false;
    await this.ctx.storage.put(key, { createdAt: new Date().toISOString() });
    return true;
  }

  async remove(name: string): Promise<boolean> {
    return this.ctx.storage.delete(`host:${name}`);
  }

  async list(): Promise<string[]> {
    const all = await this.ctx.storage.list({ prefix: 'host:' });
    return [...all.keys()].map((k) => k.slice('host:'.length)).sort();
  }
}

/** Turns a relay outcome back into a value or an AppError. */
export function unwrap<T>(outcome: RelayOutcome<T>): T {
  if (outcome.ok) return outcome.result;
  throw errorFromFrame(outcome);
}
