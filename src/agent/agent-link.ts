/**
 * The agent: a Node process beside the Docker socket that dials out to the control plane
 * (`wss://`, or `ws://` to this machine only), enrols with its join token or proves its key,
 * and then serves the link's operations with the local Docker port and registry checker.
 * It reconnects with jittered exponential back-off and never accepts a request before the
 * control plane said hello.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import WebSocket from 'ws';
import { LinkResponder, type OpHandlers } from '../core/agent-link/endpoint.js';
import { generateAgentKey, signChallenge, type AgentKeyFile } from '../core/agent-link/enrolment.js';
import {
  CloseCode, FrameError, MAX_FRAME_CHARS, PING_TEXT, PROTOCOL_VERSION, SequenceCounter, SequenceGuard, parseFrame,
  type CallOp, type Frame, type StreamOp, type Unsequenced,
} from '../core/agent-link/protocol.js';
import type { FullDockerPort, RegistryAuth } from '../core/docker/port.js';
import { AppError, ErrorCode, describeError } from '../core/errors.js';
import type { ImageRef } from '../core/image-ref.js';
import type { Logger } from '../core/ports.js';
import type { ImageChecker } from '../core/scanner.js';
import type { CallTable, StreamTable } from './agent-services.js';

/** Refuses a control-plane URL the agent must not dial: ws:// only to this machine. */
export function agentUrl(base: string, host: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new AppError(ErrorCode.BadRequest, `--url ${JSON.stringify(base)} is not a URL (expected wss://control-plane.example.com)`);
  }
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol === 'ws:') {
    const h = url.hostname.replace(/^\[|\]$/g, '');
    if (!(h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h))) {
      throw new AppError(ErrorCode.BadRequest, `--url ${url.origin}: plain ws:// is allowed only to localhost or 127.0.0.0/8; use wss://`);
    }
  } else if (url.protocol !== 'wss:') {
    throw new AppError(ErrorCode.BadRequest, `--url ${url.origin}: expected wss:// (or ws:// to localhost)`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/agent/connect';
  url.searchParams.set('host', host);
  return url;
}

/** Reads the agent's key file, or makes a new key pair and writes it with mode 0600. */
export async function loadOrCreateKey(path: string, logger: Logger): Promise<AgentKeyFile> {
  try {
    const text = await readFile(path, 'utf8');
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      await chmod(path, 0o600);
      logger.warn({ component: 'agent', action: 'key', file: path }, 'the key file was readable by others: set it to 0600');
    }
    const key = JSON.parse(text) as AgentKeyFile;
    if (key.kind !== 'watch-docker-agent-key' || typeof key.publicKey !== 'string' || typeof key.privateJwk !== 'object') throw new Error('not an agent key file');
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot use the key file ${path}: ${describeError(err)}`);
  }
  const key = await generateAgentKey();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(key)}\n`, { mode: 0o600, flag: 'wx' });
  logger.info({ component: 'agent', action: 'key', file: path }, 'made a new agent key pair');
  return key;
}

/** Serves the protocol's operations with the local Docker port and registry checker. */
export function localHandlers(docker: FullDockerPort, checker: ImageChecker, more?: { calls: CallTable; streams: StreamTable; closed?: () => void }): OpHandlers {
  const a = (args: unknown[], i: number) => args[i] as never;
  const none = (op: string) => async () => {
    throw new AppError(ErrorCode.BadRequest, `${op} is not served by this agent`);
  };
  const calls: Record<CallOp, (args: unknown[]) => Promise<unknown>> = {
    ping: () => docker.ping(),
    info: () => docker.info(),
    listContainers: (x) => docker.listContainers(a(x, 0)),
    inspectContainer: (x) => docker.inspectContainer(a(x, 0)),
    listImages: () => docker.listImages(),
    inspectImage: (x) => docker.inspectImage(a(x, 0)),
    inspectContainerRaw: (x) => docker.inspectContainerRaw(a(x, 0)),
    inspectImageRaw: (x) => docker.inspectImageRaw(a(x, 0)),
    createContainer: (x) => docker.createContainer(a(x, 0), a(x, 1)),
    startContainer: (x) => docker.startContainer(a(x, 0)),
    stopContainer: (x) => docker.stopContainer(a(x, 0), a(x, 1)),
    renameContainer: (x) => docker.renameContainer(a(x, 0), a(x, 1)),
    removeContainer: (x) => docker.removeContainer(a(x, 0), a(x, 1)),
    connectNetwork: (x) => docker.connectNetwork(a(x, 0), a(x, 1), a(x, 2)),
    containerLogs: (x) => docker.containerLogs(a(x, 0), a(x, 1)),
    removeImage: (x) => docker.removeImage(a(x, 0), a(x, 1)),
    registryPrepare: (x) => checker.prepare(a(x, 0)),
    registryCheck: async (x) => {
      const r = await checker.check(a(x, 0), a(x, 1));
      return { status: r.status, remoteDigest: r.remoteDigest };
    },
    registryForget: async (x) => checker.forget?.(x[0] as ImageRef),
    composeUp: none('composeUp'), composePull: none('composePull'), composeLs: none('composeLs'), composeConfig: none('composeConfig'),
    filesList: none('filesList'), filesFind: none('filesFind'), filesExists: none('filesExists'), filesFolderOf: none('filesFolderOf'),
    filesRead: none('filesRead'), filesWrite: none('filesWrite'), filesRemove: none('filesRemove'),
    terminalEnabled: async () => false, terminalOpen: none('terminalOpen'), terminalWrite: none('terminalWrite'), terminalResize: none('terminalResize'),
    terminalInputState: none('terminalInputState'), terminalKill: none('terminalKill'),
    updateContainer: none('updateContainer'), updateOutcomes: async () => [], updateAck: async () => 0,
    ...more?.calls,
  };
  const streams: StreamTable = {
    pullImage: (x) => docker.pullImage(x[0] as string, x[1] as { auth?: RegistryAuth } | undefined),
    streamLogs: (x) => docker.streamLogs(a(x, 0), a(x, 1)),
    events: (x) => docker.events(x[0] as { types?: string[] } | undefined),
    ...more?.streams,
  };
  return {
    call: (op, args) => calls[op](args),
    stream: (op: StreamOp, args) => {
      const open = streams[op];
      if (!open) throw new AppError(ErrorCode.BadRequest, `${op} is not served by this agent`);
      return open(args);
    },
    ...(more?.closed ? { closed: more.closed } : {}),
  };
}

export interface AgentOptions {
  url: URL;
  host: string;
  key: AgentKeyFile;
  joinToken?: string;
  handlers: OpHandlers;
  logger: Logger;
  version: string;
  /** Back-off between connection attempts: the first, and the cap. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Heartbeat interval; the link is dropped after three missed answers. */
  heartbeatMs?: number;
}

export type AgentState = 'connecting' | 'authenticating' | 'online' | 'waiting' | 'stopped';

/** The agent's connection loop. */
export class AgentLink {
  private ws: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private joinToken: string | undefined;
  state: AgentState = 'waiting';
  /** Why the last attempt ended (a refusal names the reason). */
  lastError: string | null = null;

  constructor(private readonly opts: AgentOptions) {
    this.joinToken = opts.joinToken;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(CloseCode.Normal, 'agent stopping');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  private connect(): void {
    const { logger, host } = this.opts;
    this.state = 'connecting';
    const ws = new WebSocket(this.opts.url, { maxPayload: MAX_FRAME_CHARS * 4, handshakeTimeout: 15_000 });
    this.ws = ws;
    const out = new SequenceCounter();
    const guard = new SequenceGuard();
    let authed = false;
    let lastHeard = Date.now();
    const heartbeatMs = this.opts.heartbeatMs ?? 20_000;
    const send = (frame: Unsequenced) => {
      if (ws.readyState !== WebSocket.OPEN) throw new Error('the link is closed');
      ws.send(JSON.stringify(out.stamp(frame)));
    };
    const responder = new LinkResponder(send, this.opts.handlers);
    const beat = setInterval(() => {
      if (Date.now() - lastHeard > 3 * heartbeatMs) {
        logger.warn({ component: 'agent', action: 'heartbeat', host }, 'the control plane stopped answering: reconnecting');
        ws.terminate();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(PING_TEXT);
    }, heartbeatMs);
    const fail = (code: number, msg: string) => {
      this.lastError = msg;
      logger.warn({ component: 'agent', action: 'protocol', host, err: msg }, 'dropping the link');
      ws.close(code, msg.slice(0, 120));
    };

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString().slice(0, 500)));
      res.on('end', () => {
        this.lastError = `${res.statusCode}: ${body.trim()}`;
        logger.error({ component: 'agent', action: 'connect', host, status: res.statusCode, err: body.trim() }, 'the control plane refused the connection');
        ws.terminate();
      });
    });
    ws.on('open', () => {
      this.state = 'authenticating';
      lastHeard = Date.now();
    });
    ws.on('message', (data, isBinary) => {
      lastHeard = Date.now();
      if (isBinary) return fail(CloseCode.ProtocolError, 'binary frames are not part of the protocol');
      let frame: Frame;
      try {
        frame = parseFrame(data.toString());
        guard.accept(frame);
      } catch (err) {
        return fail(err instanceof FrameError ? err.closeCode : CloseCode.ProtocolError, describeError(err));
      }
      if (frame.t === 'pong') return;
      if (frame.t === 'ping') return void ws.send('{"t":"pong"}');
      if (!authed) {
        if (frame.t === 'challenge') {
          if (frame.protocol !== PROTOCOL_VERSION) return fail(CloseCode.ProtocolError, `the control plane speaks protocol ${frame.protocol}, this agent ${PROTOCOL_VERSION}`);
          void signChallenge(this.opts.key, host, frame.nonce).then((signature) => {
            try {
              send({
                t: 'auth', host, agentVersion: this.opts.version, protocol: PROTOCOL_VERSION, publicKey: this.opts.key.publicKey, signature,
                ...(this.joinToken ? { joinToken: this.joinToken } : {}),
              });
            } catch {
              // closed meanwhile: the close handler retries
            }
          });
          return;
        }
        if (frame.t === 'hello') {
          authed = true;
          this.state = 'online';
          this.attempt = 0;
          this.lastError = null;
          // Enrolled: the token is used up, and no longer needed.
          this.joinToken = undefined;
          logger.info({ component: 'agent', action: frame.enrolled ? 'enrolled' : 'connected', host }, frame.enrolled ? 'enrolled with the control plane' : 'connected to the control plane');
          return;
        }
        if (frame.t === 'refused') {
          this.lastError = frame.msg;
          logger.error({ component: 'agent', action: 'refused', host, code: frame.code, err: frame.msg }, 'the control plane refused this agent');
          return;
        }
        return fail(CloseCode.ProtocolError, `expected a challenge, got "${frame.t}" before authentication`);
      }
      try {
        responder.handle(frame);
      } catch (err) {
        fail(err instanceof FrameError ? err.closeCode : CloseCode.ProtocolError, describeError(err));
      }
    });
    ws.on('error', (err) => {
      this.lastError ??= describeError(err);
      logger.debug({ component: 'agent', action: 'connect', host, err: describeError(err) }, 'link error');
    });
    ws.on('close', (code, reason) => {
      clearInterval(beat);
      responder.closeAll();
      if (authed) logger.warn({ component: 'agent', action: 'disconnected', host, code, reason: reason.toString() }, 'the link closed');
      if (code === CloseCode.Revoked) this.lastError = 'this host was revoked';
      this.ws = null;
      if (this.stopped) return;
      this.state = 'waiting';
      const cap = Math.min(this.opts.retryMaxMs ?? 30_000, (this.opts.retryMinMs ?? 1000) * 2 ** this.attempt);
      this.attempt = Math.min(this.attempt + 1, 20);
      // Jittered: many agents cut off together do not come back in step.
      const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
      this.retryTimer = setTimeout(() => this.connect(), delay);
    });
  }
}
