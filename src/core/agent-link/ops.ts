/**
 * The arguments of every operation the link carries, validated by the agent before it runs
 * anything. An operation's arguments are a positional list, exactly the parameters of the
 * FullDockerPort / ImageChecker method of the same name.
 */
import * as v from 'valibot';
import type { Op } from './protocol.js';

const Str = v.pipe(v.string(), v.minLength(1), v.maxLength(1024));
const Json = v.record(v.string(), v.unknown());
const ImageRefSchema = v.object({
  registry: Str,
  apiHost: Str,
  repository: Str,
  tag: v.optional(Str),
  digest: v.optional(Str),
});
const LocalImageSchema = v.object({
  id: Str,
  repoDigests: v.array(v.string()),
  platform: v.object({ os: v.string(), architecture: v.string(), variant: v.optional(v.string()) }),
});
const Auth = v.strictObject({ username: v.string(), password: v.string(), serveraddress: v.string() });

export const OP_ARGS = {
  ping: v.tuple([]),
  info: v.tuple([]),
  listContainers: v.tuple([v.strictObject({ all: v.boolean() })]),
  inspectContainer: v.tuple([Str]),
  listImages: v.tuple([]),
  inspectImage: v.tuple([Str]),
  inspectContainerRaw: v.tuple([Str]),
  inspectImageRaw: v.tuple([Str]),
  createContainer: v.tuple([Str, Json]),
  startContainer: v.tuple([Str]),
  stopContainer: v.tuple([Str, v.optional(v.strictObject({ timeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))) }))]),
  renameContainer: v.tuple([Str, Str]),
  removeContainer: v.tuple([Str, v.optional(v.strictObject({ force: v.optional(v.boolean()) }))]),
  connectNetwork: v.tuple([Str, Str, v.optional(Json)]),
  containerLogs: v.tuple([Str, v.strictObject({ tail: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10_000)) })]),
  removeImage: v.tuple([Str, v.optional(v.strictObject({ force: v.optional(v.boolean()) }))]),
  registryPrepare: v.tuple([v.pipe(v.array(ImageRefSchema), v.maxLength(10_000))]),
  registryCheck: v.tuple([ImageRefSchema, LocalImageSchema]),
  registryForget: v.tuple([ImageRefSchema]),
  pullImage: v.tuple([Str, v.optional(v.strictObject({ auth: v.optional(Auth) }))]),
  streamLogs: v.tuple([Str, v.strictObject({
    tail: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000))), follow: v.optional(v.boolean()), timestamps: v.optional(v.boolean()),
  })]),
  events: v.tuple([v.optional(v.strictObject({ types: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(32))), v.maxLength(16))) }))]),
} satisfies Record<Op, v.GenericSchema>;

/** The validated arguments of an operation, or an error message naming what was wrong. */
export function parseArgs(op: Op, args: unknown[]): { ok: true; args: unknown[] } | { ok: false; msg: string } {
  const parsed = v.safeParse(OP_ARGS[op], args);
  if (parsed.success) return { ok: true, args: parsed.output as unknown[] };
  const issue = parsed.issues[0];
  const path = v.getDotPath(issue);
  return { ok: false, msg: `${op}: bad arguments${path ? ` at ${path}` : ''}: ${issue.message}` };
}
