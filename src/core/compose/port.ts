/**
 * The Compose port: what the core asks of `docker compose` on a host. Plain JSON in and out,
 * like the Docker port, so it can travel to an agent. The Node side runs the real CLI.
 */
export interface ComposeProjectRef {
  /** The compose project name (label com.docker.compose.project); always passed as `-p`. */
  name: string;
  /** The project's working directory (label com.docker.compose.project.working_dir). */
  workingDir: string;
  /**
   * Its compose files (label com.docker.compose.project.config_files). Empty: the command runs
   * by project name only (`docker compose -p NAME stop`), reading no compose file at all.
   */
  files: string[];
}

/** One compose command; the adapter turns it into an argument array (never a shell string). */
export type ComposeCommand =
  | { op: 'up'; services?: string[]; noDeps?: boolean }
  | { op: 'pull'; services?: string[] }
  /** Starts existing containers (`docker compose start`): works without the compose file. */
  | { op: 'start' }
  | { op: 'stop'; timeoutSeconds?: number }
  | { op: 'restart'; timeoutSeconds?: number }
  | { op: 'down'; removeVolumes?: boolean; timeoutSeconds?: number };

/** What a running command reports: its output line by line, then exactly one `exit`. */
export type ComposeRunEvent = { type: 'line'; text: string } | { type: 'exit'; code: number };

/** One entry of `docker compose ls --all --format json`. */
export interface ComposeLsEntry {
  name: string;
  /** As compose words it, e.g. "running(2)", "exited(1)". */
  status: string;
  configFiles: string[];
}

/** A compose file to validate that is not saved yet. */
export interface ComposeDraft {
  name: string;
  /** Where the project will live: relative paths in the file resolve against it. */
  projectDir: string;
  yaml: string;
}

/** `docker compose config`: the resolved model, or compose's own words on why it is invalid. */
export type ComposeConfigResult = { ok: true; model: Record<string, unknown> } | { ok: false; error: string };

/** One line of `docker compose logs`. */
export interface ComposeLogLine {
  service: string;
  /** The container as compose prefixes it, e.g. "web-1". */
  container?: string;
  text: string;
  /** Unknown through the CLI (compose prints both streams on its stdout): the CLI adapter leaves it out. */
  stream?: 'stdout' | 'stderr';
}

export interface ComposeLogOptions {
  services?: string[];
  /** Lines per container to start with; all when absent. */
  tail?: number;
  follow?: boolean;
}

export interface ComposePort {
  /** `docker compose -p NAME -f FILE… up -d [--no-deps] [SERVICE…]`; resolves with the CLI's output. */
  up(project: ComposeProjectRef, opts: { services?: string[]; noDeps?: boolean }): Promise<{ output: string }>;
  /** `docker compose -p NAME -f FILE… pull [SERVICE…]`. */
  pull(project: ComposeProjectRef, opts: { services?: string[] }): Promise<{ output: string }>;
  /**
   * Runs one command and yields its output lines as they come, then `{type:'exit', code}`.
   * A non-zero exit is reported, not thrown; a CLI that cannot start throws a DockerError.
   * Stopping the iteration kills the command.
   */
  run(project: ComposeProjectRef, command: ComposeCommand): AsyncIterable<ComposeRunEvent>;
  /** Every project the engine knows (`docker compose ls --all --format json`). */
  ls(): Promise<ComposeLsEntry[]>;
  /** `docker compose config --format json` of a saved project, or of a draft given on stdin. */
  config(source: { project: ComposeProjectRef } | { draft: ComposeDraft }): Promise<ComposeConfigResult>;
  /**
   * `docker compose -p NAME logs` as a stream of lines; stopping the iteration kills the
   * process. Without `follow` it ends when compose has printed what there is.
   */
  logs(project: ComposeProjectRef, opts: ComposeLogOptions): AsyncIterable<ComposeLogLine>;
}
