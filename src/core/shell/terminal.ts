/**
 * The terminal port: pseudo-terminal sessions as plain data, so the same calls can travel to an
 * agent on the host. A session is named by its id; its output is an AsyncIterable that ends
 * after the `exit` item; stopping the iteration does not end the session, `kill` does.
 * Implementation: node-pty on the host (src/agent/node-pty-terminal.ts).
 */

/** What to run. The implementation decides the program: the host's `$SHELL` (or /bin/sh), or `docker exec -it <id> sh`. */
export type TerminalTarget = { kind: 'host' } | { kind: 'container'; container: string };

export interface TerminalSpec {
  target: TerminalTarget;
  cols: number;
  rows: number;
}

export type TerminalOutput = { type: 'data'; data: string } | { type: 'exit'; code: number; signal?: number };

/** The terminal's input as the audit log sees it. */
export interface InputState {
  /** Echo is off in line (canonical) mode: how password prompts read. */
  echoOff: boolean;
  /**
   * `shell`: the session's own shell holds the terminal alone (its prompt, or one of its builtins
   * such as `read`); `program`: a program started from it does (sudo, passwd, a script).
   */
  reader: 'shell' | 'program';
  /** The program's name (`reader: 'program'`), as the system knows it. */
  program?: string;
}

export interface TerminalPort {
  /**
   * Where the terminal runs elsewhere (a host's agent): whether that side allows the shell (its
   * own IS_OPEN_DOCKER_SHELL). It then decides instead of this server's setting. Absent: local.
   */
  enabled?(): Promise<boolean>;
  /** Starts a session: `TERM=xterm-256color`, UTF-8 locale. */
  open(spec: TerminalSpec): Promise<{ id: string; pid: number; command: string }>;
  /** The session's output (UTF-8 text), then one `exit` item. One consumer per session. */
  output(id: string): AsyncIterable<TerminalOutput>;
  /**
   * Resolves once the terminal has taken the data (the kernel accepted it). While the program in
   * the terminal does not read its input the kernel's buffer fills and the promise waits: callers
   * write one piece at a time and bound what they hold meanwhile. Resolves, too, when the session ends.
   */
  write(id: string, data: string): Promise<void>;
  resize(id: string, cols: number, rows: number): Promise<void>;
  /**
   * Who reads the terminal's input right now and whether it is echoed, for the audit log; asked
   * when a line is complete, before it reaches the program. Null where it cannot tell.
   */
  inputState?(id: string): Promise<InputState | null>;
  /** Ends the session and every process it started (its whole session, not only the shell). */
  kill(id: string): Promise<void>;
}
