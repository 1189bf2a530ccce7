import { AppError, ErrorCode } from '../errors.js';

/**
 * One action at a time per compose project (key = project name), shared by everything that
 * runs compose on a project: the compose actions (ComposeService) and the update of a compose
 * container (UpdateService). Taking a busy project fails at once with 409 naming the action
 * that holds it; nothing waits.
 */
export class ProjectLocks {
  private readonly busy = new Map<string, string>();

  /** The action holding a project, if any. */
  running(name: string): string | undefined {
    return this.busy.get(name);
  }

  /** Takes the project for `action` (checked and taken in one synchronous step); returns the release. */
  acquire(name: string, action: string): () => void {
    const current = this.busy.get(name);
    if (current !== undefined) throw new AppError(ErrorCode.Conflict, `project ${name} is busy: ${current} is running; try again when it has finished`, { name, running: current });
    this.busy.set(name, action);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.busy.get(name) === action) this.busy.delete(name);
    };
  }

  /** Runs `task` holding the project. */
  async run<T>(name: string, action: string, task: () => Promise<T>): Promise<T> {
    const release = this.acquire(name, action);
    try {
      return await task();
    } finally {
      release();
    }
  }
}
