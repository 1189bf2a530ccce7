/**
 * What an agent serves besides Docker and the registry checks: compose (the real CLI and the
 * host's APP_PATH folders) and the web shell (node-pty, only when the agent itself runs with
 * IS_OPEN_DOCKER_SHELL=true). Arguments arrive validated by the protocol's schemas; paths are
 * checked again here to stay inside the agent's own APP_PATH.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { CallOp, StreamOp } from '../core/agent-link/protocol.js';
import type { ComposeCommand, ComposeDraft, ComposeLogOptions, ComposePort, ComposeProjectRef } from '../core/compose/port.js';
import type { ProjectFiles } from '../core/compose/project-files.js';
import { AppError, ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { TerminalPort, TerminalSpec } from '../core/shell/terminal.js';

export interface HostServices {
  compose: ComposePort;
  /** The agent's APP_PATH ('' when it has none). */
  appPath: string;
  files: ProjectFiles | null;
  /** Whether the agent's own IS_OPEN_DOCKER_SHELL is exactly "true". */
  shellEnabled: boolean;
  /** Made on first use, only when the shell is enabled (node-pty is a native module). */
  terminal: () => Promise<TerminalPort & { closeAll(): Promise<void> }>;
  logger: Logger;
}

export type CallTable = Partial<Record<CallOp, (args: unknown[]) => Promise<unknown>>>;
export type StreamTable = Partial<Record<StreamOp, (args: unknown[]) => AsyncIterable<unknown>>>;

/** True when `path` is `root` or inside it (after resolving `..`). */
function inside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The call and stream handlers of compose and the shell, plus what to do when the link closes. */
export function hostServiceHandlers(s: HostServices): { calls: CallTable; streams: StreamTable; closed: () => void } {
  const noAppPath = () => new AppError(ErrorCode.BadRequest, 'APP_PATH is not set on this host: start its agent with APP_PATH (the folder that holds the compose projects)');
  const files = (): ProjectFiles => {
    if (!s.files) throw noAppPath();
    return s.files;
  };
  /** A project given with compose files must live under this agent's APP_PATH. */
  const checkRef = (p: ComposeProjectRef): ComposeProjectRef => {
    if (p.files.length === 0) return { name: p.name, workingDir: '', files: [] };
    if (!s.appPath) throw noAppPath();
    for (const path of [p.workingDir, ...p.files]) {
      if (!isAbsolute(path) || !inside(s.appPath, path)) throw new AppError(ErrorCode.BadRequest, `compose project ${p.name}: ${path} is not under this host's APP_PATH`);
    }
    return p;
  };
  const checkDraft = (d: ComposeDraft): ComposeDraft => {
    if (!s.appPath) throw noAppPath();
    if (!isAbsolute(d.projectDir) || !inside(s.appPath, d.projectDir)) throw new AppError(ErrorCode.BadRequest, `compose project ${d.name}: ${d.projectDir} is not under this host's APP_PATH`);
    return d;
  };
  const refused = () => new AppError(ErrorCode.BadRequest, "the web shell is switched off on this host: its agent must be started with IS_OPEN_DOCKER_SHELL=true (exactly) to allow it");
  /** Sessions opened over the link: ended when the link closes (the control plane can no longer end them). */
  const open = new Set<string>();
  let term: Promise<TerminalPort & { closeAll(): Promise<void> }> | null = null;
  const terminal = () => {
    if (!s.shellEnabled) throw refused();
    return (term ??= s.terminal());
  };
  const a = (args: unknown[], i: number) => args[i] as never;

  const calls: CallTable = {
    composeUp: async (x) => s.compose.up(checkRef(a(x, 0)), a(x, 1)),
    composePull: async (x) => s.compose.pull(checkRef(a(x, 0)), a(x, 1)),
    composeLs: () => s.compose.ls(),
    composeConfig: async (x) => {
      const src = x[0] as { project: ComposeProjectRef } | { draft: ComposeDraft };
      return s.compose.config('project' in src ? { project: checkRef(src.project) } : { draft: checkDraft(src.draft) });
    },
    filesList: async () => (s.files ? s.files.list() : []),
    filesFind: async (x) => (s.files ? s.files.find(a(x, 0)) : null),
    filesExists: async (x) => (s.files ? s.files.exists(a(x, 0)) : false),
    filesFolderOf: async (x) => files().folderOf(a(x, 0)),
    filesRead: async (x) => files().read(a(x, 0)),
    filesWrite: async (x) => files().write(a(x, 0), a(x, 1)),
    filesRemove: async (x) => files().remove(a(x, 0)),
    terminalEnabled: async () => s.shellEnabled,
    terminalOpen: async (x) => {
      const opened = await (await terminal()).open(x[0] as TerminalSpec);
      open.add(opened.id);
      s.logger.info({ component: 'shell', action: 'open', pid: opened.pid, command: opened.command }, 'shell session started for the control plane');
      return opened;
    },
    terminalWrite: async (x) => (await terminal()).write(a(x, 0), a(x, 1)),
    terminalResize: async (x) => (await terminal()).resize(a(x, 0), a(x, 1), a(x, 2)),
    terminalInputState: async (x) => {
      const t = await terminal();
      return t.inputState ? t.inputState(a(x, 0)) : null;
    },
    terminalKill: async (x) => {
      open.delete(a(x, 0));
      await (await terminal()).kill(a(x, 0));
    },
  };
  const streams: StreamTable = {
    composeRun: (x) => s.compose.run(checkRef(a(x, 0)), x[1] as ComposeCommand),
    composeLogs: (x) => s.compose.logs(checkRef(a(x, 0)), x[1] as ComposeLogOptions),
    terminalOutput: (x) => {
      const id = x[0] as string;
      return {
        [Symbol.asyncIterator]: () => {
          // Opened lazily, so a refusal reaches the control plane as the stream's error.
          let it: AsyncIterator<unknown> | null = null;
          return {
            async next() {
              it ??= (await terminal()).output(id)[Symbol.asyncIterator]();
              return it.next();
            },
            async return() {
              await it?.return?.();
              // The control plane stopped reading (its client left, or it lost the reader): a
              // session nobody can see is ended, even if its kill call never arrives.
              if (open.delete(id)) await (await terminal()).kill(id).catch(() => undefined);
              return { value: undefined, done: true as const };
            },
          };
        },
      };
    },
  };
  const closed = (): void => {
    if (open.size === 0 || !term) return;
    const ids = [...open];
    open.clear();
    void term.then(async (t) => {
      for (const id of ids) await t.kill(id).catch(() => undefined);
      s.logger.info({ component: 'shell', action: 'kill', sessions: ids.length }, 'the link closed: ended its shell sessions');
    });
  };
  return { calls, streams, closed };
}
