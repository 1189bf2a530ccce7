/**
 * The agent link protocol: every frame that travels between the control plane (a Durable
 * Object per host) and the agent on a host, as one valibot-validated discriminated union.
 * Both ends parse every frame with `parseFrame` and check its sequence number with
 * `SequenceGuard`, so a malformed, replayed or reordered frame is refused.
 *
 * Flow: the server sends `challenge` (a fresh nonce); the agent answers `auth` (enrolment with
 * a join token and its public key, or a known key) with a signature over the nonce; the server
 * answers `hello` (accepted) or `refused` and closes. Only then may the server send `req`
 * (one reply: `res` or `err`) or `open` (a stream: `data`* then `end` or `err`; the requester
 * grants `credit` and may `cancel`). `ping`/`pong` carry nothing and no sequence number, so the
 * runtime may answer them without waking the Durable Object.
 *
 * Operations are a closed list (`OPS`): no raw Engine API pass-through.
 */
import * as v from 'valibot';

/** 2: the agent runs updates itself (updateContainer, updateOutcomes, updateAck), which an agent of protocol 1 would refuse by dropping the link. */
export const PROTOCOL_VERSION = 2;
/** The longest frame either side accepts (characters of JSON). */
export const MAX_FRAME_CHARS = 4 * 1024 * 1024;
/** Stream items the requester grants at open; it grants more as it consumes them. */
export const INITIAL_CREDIT = 16;
/** The most data frames a responder may have outstanding, whatever credit it was granted. */
export const MAX_CREDIT = 256;

/** One-shot operations: the FullDockerPort calls plus the registry checks the scanner needs. */
export const CALL_OPS = [
  'ping', 'info', 'listContainers', 'inspectContainer', 'listImages', 'inspectImage',
  'inspectContainerRaw', 'inspectImageRaw', 'createContainer', 'startContainer', 'stopContainer',
  'renameContainer', 'removeContainer', 'connectNetwork', 'containerLogs', 'removeImage',
  'registryPrepare', 'registryCheck', 'registryForget',
  // Compose (the ComposePort and the APP_PATH ProjectFiles of the host)
  'composeUp', 'composePull', 'composeLs', 'composeConfig',
  'filesList', 'filesFind', 'filesExists', 'filesFolderOf', 'filesRead', 'filesWrite', 'filesRemove',
  // The web shell (the TerminalPort of the host; refused unless the agent runs with IS_OPEN_DOCKER_SHELL=true)
  'terminalEnabled', 'terminalOpen', 'terminalWrite', 'terminalResize', 'terminalInputState', 'terminalKill',
  // Updates run by the agent itself (they finish or roll back on the host if the link drops)
  'updateContainer', 'updateOutcomes', 'updateAck',
] as const;
/** Operations answered with a stream of items. */
export const STREAM_OPS = ['pullImage', 'streamLogs', 'events', 'composeRun', 'composeLogs', 'terminalOutput'] as const;
export const OPS = [...CALL_OPS, ...STREAM_OPS] as const;
export type CallOp = (typeof CALL_OPS)[number];
export type StreamOp = (typeof STREAM_OPS)[number];
export type Op = (typeof OPS)[number];
/** Calls that change the host: they carry an idempotency key, so a retry does not repeat them. */
export const MUTATING_OPS: ReadonlySet<Op> = new Set<Op>([
  'createContainer', 'startContainer', 'stopContainer', 'renameContainer', 'removeContainer', 'connectNetwork', 'removeImage', 'pullImage',
  'composeUp', 'composePull', 'composeRun', 'filesWrite', 'filesRemove', 'terminalOpen', 'updateContainer', 'updateAck',
]);
/** True for the operations answered with a stream. */
export function isStreamOp(op: string): op is StreamOp {
  return (STREAM_OPS as readonly string[]).includes(op);
}

/** Close codes of the link's WebSocket. */
export const CloseCode = {
  Normal: 1000,
  ProtocolError: 4400,
  Unauthorized: 4401,
  Revoked: 4403,
  Replaced: 4409,
  Timeout: 4408,
} as const;

/** Error codes in `err` and `refused` frames (the AppError codes, see src/core/errors.ts). */
const Code = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(99_999));
const Seq = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER));
const Id = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of 1-64 letters, digits, "_" or "-"'));
const B64 = (max: number) => v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/, 'base64url'), v.maxLength(max));
/** Host names: lower-case letters, digits and "-", as in DNS labels. */
export const HOST_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const HostName = v.pipe(v.string(), v.regex(HOST_NAME, 'a host name of 1-63 lower-case letters, digits or "-"'));
const Version = v.pipe(v.string(), v.maxLength(64));
const Args = v.pipe(v.array(v.unknown()), v.maxLength(8));
const OpName = v.picklist(OPS, 'an operation this protocol names');

export const ChallengeFrame = v.strictObject({ t: v.literal('challenge'), seq: Seq, nonce: B64(128), protocol: v.number(), server: Version });
export const AuthFrame = v.strictObject({
  t: v.literal('auth'),
  seq: Seq,
  host: HostName,
  agentVersion: Version,
  protocol: v.number(),
  /** The agent's ECDSA P-256 public key, raw uncompressed point, base64url. */
  publicKey: B64(128),
  /** Only at enrolment: the single-use join token the admin was shown. */
  joinToken: v.optional(v.pipe(v.string(), v.maxLength(128))),
  /** ECDSA P-256 / SHA-256 signature (IEEE P1363, base64url) of `signedChallenge(...)`. */
  signature: B64(256),
});
export const HelloFrame = v.strictObject({ t: v.literal('hello'), seq: Seq, host: HostName, enrolled: v.boolean() });
export const RefusedFrame = v.strictObject({ t: v.literal('refused'), seq: Seq, code: Code, msg: v.pipe(v.string(), v.maxLength(500)) });
export const RequestFrame = v.strictObject({
  t: v.literal('req'), seq: Seq, id: Id, op: OpName, args: Args, idempotencyKey: v.optional(Id),
});
export const ResultFrame = v.strictObject({ t: v.literal('res'), seq: Seq, id: Id, result: v.optional(v.unknown()) });
export const ErrorFrame = v.strictObject({
  t: v.literal('err'), seq: Seq, id: Id, code: Code, msg: v.pipe(v.string(), v.maxLength(2000)), data: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
});
export const OpenFrame = v.strictObject({
  t: v.literal('open'), seq: Seq, id: Id, op: OpName, args: Args, idempotencyKey: v.optional(Id),
  credit: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_CREDIT)),
});
export const DataFrame = v.strictObject({ t: v.literal('data'), seq: Seq, id: Id, item: v.unknown() });
export const EndFrame = v.strictObject({ t: v.literal('end'), seq: Seq, id: Id });
export const CancelFrame = v.strictObject({ t: v.literal('cancel'), seq: Seq, id: Id });
export const CreditFrame = v.strictObject({ t: v.literal('credit'), seq: Seq, id: Id, n: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_CREDIT)) });
export const PingFrame = v.strictObject({ t: v.literal('ping') });
export const PongFrame = v.strictObject({ t: v.literal('pong') });

export const Frame = v.variant('t', [
  ChallengeFrame, AuthFrame, HelloFrame, RefusedFrame, RequestFrame, ResultFrame, ErrorFrame,
  OpenFrame, DataFrame, EndFrame, CancelFrame, CreditFrame, PingFrame, PongFrame,
]);
export type Frame = v.InferOutput<typeof Frame>;
export type FrameOf<T extends Frame['t']> = Extract<Frame, { t: T }>;
/** A frame before the sender numbers it. */
export type Unsequenced<F extends Frame = Frame> = F extends { seq: number } ? Omit<F, 'seq'> : F;

/** The exact texts of the heartbeat frames (a Durable Object answers them without waking). */
export const PING_TEXT = '{"t":"ping"}';
export const PONG_TEXT = '{"t":"pong"}';

/** A frame that could not be accepted; `code` says whether the link must close. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(message: string, readonly closeCode: number = CloseCode.ProtocolError) {
    super(message);
  }
}

/** Parses and validates one text frame; throws FrameError naming what was wrong. */
export function parseFrame(text: string): Frame {
  if (text.length > MAX_FRAME_CHARS) throw new FrameError(`frame too large (${text.length} characters, at most ${MAX_FRAME_CHARS})`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new FrameError('frame is not JSON');
  }
  const parsed = v.safeParse(Frame, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = v.getDotPath(issue) ?? '';
    throw new FrameError(`invalid frame${path ? ` at "${path}"` : ''}: ${issue.message}`);
  }
  return parsed.output;
}

/**
 * Checks that the frames of one direction arrive numbered 1, 2, 3 … with no gap, repeat or
 * reordering. Its state is one number, so a Durable Object can keep it across hibernation.
 */
export class SequenceGuard {
  constructor(public last = 0) {}

  accept(frame: Frame): void {
    if (!('seq' in frame)) return;
    if (frame.seq !== this.last + 1) {
      throw new FrameError(frame.seq <= this.last ? `frame ${frame.seq} replayed (last was ${this.last})` : `frame ${frame.seq} out of order (expected ${this.last + 1})`);
    }
    this.last = frame.seq;
  }
}

/** Numbers outgoing frames 1, 2, 3 … */
export class SequenceCounter {
  constructor(public last = 0) {}

  stamp<F extends Frame>(frame: Unsequenced<F>): F {
    if (frame.t === 'ping' || frame.t === 'pong') return frame as F;
    return { ...frame, seq: ++this.last } as F;
  }
}

/** What an agent signs to prove it holds its key: bound to the host and this connection's nonce. */
export function signedChallenge(host: string, nonce: string): string {
  return `watch-docker-agent-link-v${PROTOCOL_VERSION}\n${host}\n${nonce}`;
}
