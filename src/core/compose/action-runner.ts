import { AppError, ErrorCode, describeError } from '../errors.js';
import type { ComposeCommand, ComposePort, ComposeProjectRef } from './port.js';
import { ProgressBus } from './progress.js';
import { ProjectLocks } from './project-locks.js';

/** Lines of a command's output kept for the API answer (the progress stream has them all). */
const OUTPUT_LINES = 200;

export interface ActionResult {
  name: string;
  action: string;
  ok: boolean;
  output: string;
}

/** What an action's steps get: run a compose command (its lines go to the progress bus), or say something. */
export interface ActionContext {
  exec(ref: ComposeProjectRef, command: ComposeCommand): Promise<void>;
  note(text: string): void;
}

/**
 * Runs compose actions one at a time per project: a second action on a busy project gets 409
 * naming the running one. Every action's output goes, line by line, to the progress bus.
 */
export class ActionRunner {
  readonly bus = new ProgressBus();

  /** `locks`: shared with whatever else runs compose on a project (the container update path). */
  constructor(private readonly compose: ComposePort, readonly locks: ProjectLocks = new ProjectLocks()) {}

  /** The action running on a project, if any. */
  running(name: string): string | undefined {
    return this.locks.running(name);
  }

  async run<T>(name: string, action: string, steps: (ctx: ActionContext) => Promise<T>): Promise<ActionResult & { value: T }> {
    // Checked and taken in one synchronous step: two requests can never both pass.
    const release = this.locks.acquire(name, action);
    const lines: string[] = [];
    const say = (text: string) => {
      lines.push(text);
      if (lines.length > OUTPUT_LINES) lines.shift();
      this.bus.publish(name, { type: 'line', text });
    };
    const ctx: ActionContext = {
      note: say,
      exec: async (ref, command) => {
        let code = -1;
        for await (const ev of this.compose.run(ref, command)) {
          if (ev.type === 'line') say(ev.text);
          else code = ev.code;
        }
        if (code !== 0) {
          const tail = lines.slice(-5).join('\n');
          throw new AppError(ErrorCode.DockerError, `docker compose ${command.op} for project ${name} failed (exit ${code})${tail ? `: ${tail}` : ''}`, { name, action, ok: false, output: lines.join('\n') });
        }
      },
    };
    this.bus.publish(name, { type: 'start', action });
    try {
      const value = await steps(ctx);
      this.bus.publish(name, { type: 'done', action, ok: true });
      return { name, action, ok: true, output: lines.join('\n'), value };
    } catch (err) {
      this.bus.publish(name, { type: 'done', action, ok: false, error: describeError(err) });
      if (err instanceof AppError && err.data === null) throw new AppError(err.code, err.message, { name, action, ok: false, output: lines.join('\n') }, { status: err.status, cause: err });
      throw err;
    } finally {
      release();
    }
  }
}
