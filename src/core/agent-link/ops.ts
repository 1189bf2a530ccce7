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
const Int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const Name = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,127}$/, 'a compose project name'));
const Services = v.optional(v.pipe(v.array(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'a service name'))), v.maxLength(256)));
const Path = v.pipe(v.string(), v.maxLength(4096));
const ProjectRef = v.strictObject({ name: Name, workingDir: Path, files: v.pipe(v.array(Path), v.maxLength(16)) });
const Timeout = v.optional(Int(0, 3600));
const ComposeCommandSchema = v.variant('op', [
  v.strictObject({ op: v.literal('up'), services: Services, noDeps: v.optional(v.boolean()) }),
  v.strictObject({ op: v.literal('pull'), services: Services }),
  v.strictObject({ op: v.literal('start') }),
  v.strictObject({ op: v.literal('stop'), timeoutSeconds: Timeout }),
  v.strictObject({ op: v.literal('restart'), timeoutSeconds: Timeout }),
  v.strictObject({ op: v.literal('down'), removeVolumes: v.optional(v.boolean()), timeoutSeconds: Timeout }),
]);
const ConfigSource = v.union([
  v.strictObject({ project: ProjectRef }),
  v.strictObject({ draft: v.strictObject({ name: Name, projectDir: Path, yaml: v.pipe(v.string(), v.maxLength(1024 * 1024)) }) }),
]);
const TerminalId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]{1,64}$/, 'a terminal session id'));
const TerminalTarget = v.variant('kind', [
  v.strictObject({ kind: v.literal('host') }),
  v.strictObject({ kind: v.literal('container'), container: Str }),
]);

/** The id of an update (the control plane's history entry id). */
const UpdateId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'an update id of 1-64 letters, digits, "_" or "-"'));
const Ms = Int(0, 24 * 3600_000);
/** The Updater's options that cross the link (no callbacks; registry credentials only for this pull). */
const UpdateOptionsSchema = v.strictObject({
  image: v.optional(Str),
  auth: v.optional(Auth),
  removeOldContainer: v.optional(v.boolean()),
  removeOldImage: v.optional(v.boolean()),
  settleMs: v.optional(Ms),
  healthTimeoutMs: v.optional(Ms),
  pollMs: v.optional(Int(10, 60_000)),
  logLines: v.optional(Int(0, 10_000)),
  force: v.optional(v.boolean()),
});

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
  streamLogs: v.tuple([Str, v.strictObject({ tail: v.optional(Int(0, 1_000_000)), follow: v.optional(v.boolean()), timestamps: v.optional(v.boolean()) })]),
  events: v.tuple([v.optional(v.strictObject({ types: v.optional(v.pipe(v.array(Str), v.maxLength(16))) }))]),
  composeUp: v.tuple([ProjectRef, v.strictObject({ services: Services, noDeps: v.optional(v.boolean()) })]),
  composePull: v.tuple([ProjectRef, v.strictObject({ services: Services })]),
  composeRun: v.tuple([ProjectRef, ComposeCommandSchema]),
  composeLs: v.tuple([]),
  composeConfig: v.tuple([ConfigSource]),
  composeLogs: v.tuple([ProjectRef, v.strictObject({ services: Services, tail: v.optional(Int(0, 1_000_000)), follow: v.optional(v.boolean()) })]),
  filesList: v.tuple([]),
  filesFind: v.tuple([Name]),
  filesExists: v.tuple([Name]),
  filesFolderOf: v.tuple([Name]),
  filesRead: v.tuple([Name]),
  filesWrite: v.tuple([Name, v.pipe(v.string(), v.maxLength(1024 * 1024))]),
  filesRemove: v.tuple([Name]),
  terminalEnabled: v.tuple([]),
  terminalOpen: v.tuple([v.strictObject({ target: TerminalTarget, cols: Int(1, 1000), rows: Int(1, 500) })]),
  terminalOutput: v.tuple([TerminalId]),
  terminalWrite: v.tuple([TerminalId, v.pipe(v.string(), v.maxLength(64 * 1024))]),
  terminalResize: v.tuple([TerminalId, Int(1, 1000), Int(1, 500)]),
  terminalInputState: v.tuple([TerminalId]),
  terminalKill: v.tuple([TerminalId]),
  updateContainer: v.tuple([Str, UpdateOptionsSchema, UpdateId]),
  updateOutcomes: v.tuple([]),
  updateAck: v.tuple([v.pipe(v.array(UpdateId), v.maxLength(1000))]),
} satisfies Record<Op, v.GenericSchema>;

/** The validated arguments of an operation, or an error message naming what was wrong. */
export function parseArgs(op: Op, args: unknown[]): { ok: true; args: unknown[] } | { ok: false; msg: string } {
  const parsed = v.safeParse(OP_ARGS[op], args);
  if (parsed.success) return { ok: true, args: parsed.output as unknown[] };
  const issue = parsed.issues[0];
  const path = v.getDotPath(issue);
  return { ok: false, msg: `${op}: bad arguments${path ? ` at ${path}` : ''}: ${issue.message}` };
}
