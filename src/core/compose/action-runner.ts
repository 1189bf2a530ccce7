import { AppError, ErrorCode, describeError } from '../errors.js';
import type { ComposeCommand, ComposePort, ComposeProjectRef } from './port.js';
import { ProgressBus } from './progress.js';

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
  private readonly busy = new Map<string, string>();
  readonly bus = new ProgressBus();

  constructor(private readonly compose: ComposePort) {}

  /** The action running on a project, if any. */
  running(name: string): string | undefined {
    return this.busy.get(name);
  }

  async run<T>(name: string, action: string, steps: (ctx: ActionContext) => Promise<T>): Promise<ActionResult & { value: T }> {
    // Checked and taken in one synchronous step: two requests can never both pass.
    const current = this.busy.get(name);
    if (current) throw new AppError(ErrorCode.Conflict, `project ${name} is busy: ${current} is running; try again when it has finished`, { name, running: current });
    this.busy.set(name, action);
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
      this.busy.delete(name);
    }
  }
}
