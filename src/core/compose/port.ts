/**
 * The Compose port: what the core asks of `docker compose` on a host. Plain JSON in and out,
 * like the Docker port, so it can travel to an agent. The Node side runs the real CLI.
 */
export interface ComposeProjectRef {
  /** The compose project name (label com.docker.compose.project). */
  name: string;
  /** The project's working directory (label com.docker.compose.project.working_dir). */
  workingDir: string;
  /** Its compose files (label com.docker.compose.project.config_files). */
  files: string[];
}

export interface ComposePort {
  /** `docker compose -p NAME -f FILE… up -d [--no-deps] [SERVICE…]`; resolves with the CLI's output. */
  up(project: ComposeProjectRef, opts: { services?: string[]; noDeps?: boolean }): Promise<{ output: string }>;
  /** `docker compose -p NAME -f FILE… pull [SERVICE…]`. */
  pull(project: ComposeProjectRef, opts: { services?: string[] }): Promise<{ output: string }>;
}
