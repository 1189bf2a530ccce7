/**
 * Compose on a host, over its agent link: the host's `docker compose` (ComposePort) and its
 * APP_PATH folders (ProjectFiles). The agent runs them with the real CLI and its own APP_PATH;
 * the ComposeService (actions, one at a time per project, progress) runs on the control plane.
 */
import type {
  ComposeCommand, ComposeConfigResult, ComposeDraft, ComposeLogLine, ComposeLogOptions, ComposeLsEntry, ComposePort, ComposeProjectRef, ComposeRunEvent,
} from '../compose/port.js';
import type { ProjectFiles, ProjectFolder } from '../compose/project-files.js';
import { randomId } from '../auth/encoding.js';
import { plain, type LinkTransport } from './remote-docker.js';
import type { CallOp } from './protocol.js';

export interface RemoteComposeTimeouts {
  /** Quick calls: ls, config, file reads and writes. */
  callMs: number;
  /** `up` / `pull` / one command run, start to end. */
  actionMs: number;
}

export const DEFAULT_COMPOSE_TIMEOUTS: RemoteComposeTimeouts = { callMs: 60_000, actionMs: 30 * 60_000 };

const ref = (p: ComposeProjectRef): ComposeProjectRef => ({ name: p.name, workingDir: p.workingDir, files: [...p.files] });

export class RemoteComposePort implements ComposePort {
  constructor(private readonly link: LinkTransport, private readonly timeouts: RemoteComposeTimeouts = DEFAULT_COMPOSE_TIMEOUTS) {}

  up(project: ComposeProjectRef, opts: { services?: string[]; noDeps?: boolean }): Promise<{ output: string }> {
    return this.link.call('composeUp', [ref(project), plain(opts)], { timeoutMs: this.timeouts.actionMs, idempotencyKey: randomId(12) }) as Promise<{ output: string }>;
  }
  pull(project: ComposeProjectRef, opts: { services?: string[] }): Promise<{ output: string }> {
    return this.link.call('composePull', [ref(project), plain(opts)], { timeoutMs: this.timeouts.actionMs, idempotencyKey: randomId(12) }) as Promise<{ output: string }>;
  }
  run(project: ComposeProjectRef, command: ComposeCommand): AsyncIterable<ComposeRunEvent> {
    return this.link.stream('composeRun', [ref(project), plain(command)], { timeoutMs: this.timeouts.actionMs, idempotencyKey: randomId(12) }) as AsyncIterable<ComposeRunEvent>;
  }
  ls(): Promise<ComposeLsEntry[]> {
    return this.link.call('composeLs', [], { timeoutMs: this.timeouts.callMs }) as Promise<ComposeLsEntry[]>;
  }
  config(source: { project: ComposeProjectRef } | { draft: ComposeDraft }): Promise<ComposeConfigResult> {
    const arg = 'project' in source ? { project: ref(source.project) } : { draft: { name: source.draft.name, projectDir: source.draft.projectDir, yaml: source.draft.yaml } };
    return this.link.call('composeConfig', [arg], { timeoutMs: this.timeouts.callMs }) as Promise<ComposeConfigResult>;
  }
  logs(project: ComposeProjectRef, opts: ComposeLogOptions): AsyncIterable<ComposeLogLine> {
    return this.link.stream('composeLogs', [ref(project), plain(opts)], { timeoutMs: opts.follow ? 0 : this.timeouts.actionMs }) as AsyncIterable<ComposeLogLine>;
  }
}

export class RemoteProjectFiles implements ProjectFiles {
  constructor(private readonly link: LinkTransport, private readonly callMs = DEFAULT_COMPOSE_TIMEOUTS.callMs) {}

  private call<T>(op: CallOp, args: unknown[], mutating = false): Promise<T> {
    return this.link.call(op, args, { timeoutMs: this.callMs, ...(mutating ? { idempotencyKey: randomId(12) } : {}) }) as Promise<T>;
  }

  list(): Promise<ProjectFolder[]> {
    return this.call('filesList', []);
  }
  find(name: string): Promise<ProjectFolder | null> {
    return this.call('filesFind', [name]);
  }
  exists(name: string): Promise<boolean> {
    return this.call('filesExists', [name]);
  }
  folderOf(name: string): Promise<string> {
    return this.call('filesFolderOf', [name]);
  }
  read(name: string): Promise<{ folder: ProjectFolder; yaml: string }> {
    return this.call('filesRead', [name]);
  }
  write(name: string, yaml: string): Promise<ProjectFolder> {
    return this.call('filesWrite', [name, yaml], true);
  }
  async remove(name: string): Promise<void> {
    await this.call('filesRemove', [name], true);
  }
}
