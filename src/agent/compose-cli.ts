import { execFile } from 'node:child_process';
import { AppError, ErrorCode } from '../core/errors.js';
import type { ComposePort, ComposeProjectRef } from '../core/compose/port.js';

const MAX_OUTPUT = 8 * 1024 * 1024;

/**
 * The Compose port over the real `docker compose` CLI, always with an argument array (never a
 * shell string), in the project's working directory and against the configured engine.
 */
export class ComposeCli implements ComposePort {
  constructor(private readonly dockerHost: string, private readonly timeoutMs = 10 * 60_000) {}

  private run(project: ComposeProjectRef, args: string[]): Promise<{ output: string }> {
    const argv = ['compose', '-p', project.name, ...project.files.flatMap((f) => ['-f', f]), ...args];
    return new Promise((resolve, reject) => {
      execFile('docker', argv, { cwd: project.workingDir, env: { ...process.env, DOCKER_HOST: this.dockerHost }, timeout: this.timeoutMs, maxBuffer: MAX_OUTPUT }, (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim();
        if (err) {
          const last = output.split('\n').slice(-5).join('\n');
          reject(new AppError(ErrorCode.DockerError, `docker compose ${args[0] ?? ''} for project ${project.name} failed: ${last || err.message}`, { output: last }));
        } else resolve({ output });
      });
    });
  }

  up(project: ComposeProjectRef, opts: { services?: string[]; noDeps?: boolean }): Promise<{ output: string }> {
    return this.run(project, ['up', '-d', ...(opts.noDeps ? ['--no-deps'] : []), ...(opts.services ?? [])]);
  }

  pull(project: ComposeProjectRef, opts: { services?: string[] }): Promise<{ output: string }> {
    return this.run(project, ['pull', ...(opts.services ?? [])]);
  }
}
