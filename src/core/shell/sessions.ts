/** Limits and timings of the web shell (design §5.3); tests pass shorter durations. */
export interface ShellLimits {
  /** The server sends `{type:'ping'}` this often. */
  pingMs: number;
  /** A session whose client sent nothing (input, resize, ping, pong) for this long is closed. */
  idleMs: number;
  /** Open sessions per user; one more is refused. */
  maxSessionsPerUser: number;
  /**
   * Bytes of client frames a session holds that the terminal has not taken yet (frames waiting
   * their turn, and the one being written while the program in the shell does not read its
   * input). One more frame closes the session (1008 and an error frame): memory stays bounded.
   */
  maxPendingInput: number;
}

export const DEFAULT_SHELL_LIMITS: ShellLimits = { pingMs: 30_000, idleMs: 90_000, maxSessionsPerUser: 5, maxPendingInput: 1024 * 1024 };

export interface OpenShell {
  id: string;
  user: string;
  address: string;
  container: string | null;
  startedAt: number;
}

/** The shell sessions open in this server, for the per-user limit. */
export class ShellSessions {
  private readonly open = new Map<string, OpenShell>();

  countFor(user: string): number {
    let n = 0;
    for (const s of this.open.values()) if (s.user === user) n++;
    return n;
  }

  /** Adds a session unless the user is at the limit (checked and taken in one step). */
  tryAdd(session: OpenShell, max: number): boolean {
    if (this.countFor(session.user) >= max) return false;
    this.open.set(session.id, session);
    return true;
  }

  remove(id: string): OpenShell | undefined {
    const s = this.open.get(id);
    this.open.delete(id);
    return s;
  }

  list(): OpenShell[] {
    return [...this.open.values()];
  }
}
