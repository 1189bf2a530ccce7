/** Longest input line kept for the audit log; the rest of a longer line is cut off and marked. */
export const MAX_AUDIT_LINE = 2048;

/**
 * Turns the keystrokes a terminal client sends into the lines the user typed, for the audit
 * log. It records keystrokes, not what the shell finally ran: Enter ends a line, Backspace and
 * Ctrl-U edit it, Ctrl-C drops it, escape sequences (arrow keys, history) are left out, so a
 * line recalled from history or completed with Tab shows only the keys typed.
 */
export class InputLines {
  private line = '';
  private truncated = false;
  /** Inside an escape sequence: 'esc' after ESC, 'csi' after ESC [, 'ss3' after ESC O. */
  private escape: 'esc' | 'csi' | 'ss3' | null = null;

  /** Feeds typed data; returns the lines it completed. */
  feed(data: string): string[] {
    const done: string[] = [];
    for (const ch of data) {
      if (this.escape) {
        this.skipEscape(ch);
        continue;
      }
      const code = ch.codePointAt(0) ?? 0;
      if (ch === '\r' || ch === '\n') {
        if (this.line.length > 0 || this.truncated) done.push(this.take());
      } else if (ch === '\x1b') {
        this.escape = 'esc';
      } else if (ch === '\x7f' || ch === '\b') {
        this.line = [...this.line].slice(0, -1).join('');
      } else if (ch === '\x15' || ch === '\x03') {
        this.line = ''; // Ctrl-U clears the line, Ctrl-C abandons it
        this.truncated = false;
      } else if (code >= 0x20 || ch === '\t') {
        if (this.line.length < MAX_AUDIT_LINE) this.line += ch;
        else this.truncated = true;
      }
    }
    return done;
  }

  /** What was typed after the last Enter (at the end of a session). */
  rest(): string | null {
    return this.line.length > 0 || this.truncated ? this.take() : null;
  }

  private take(): string {
    const line = this.truncated ? `${this.line}…(cut)` : this.line;
    this.line = '';
    this.truncated = false;
    return line;
  }

  private skipEscape(ch: string): void {
    if (this.escape === 'esc') {
      this.escape = ch === '[' ? 'csi' : ch === 'O' ? 'ss3' : null;
      return;
    }
    if (this.escape === 'ss3') {
      this.escape = null;
      return;
    }
    // CSI: parameters and intermediates until a final byte @..~
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x40 && code <= 0x7e) this.escape = null;
  }
}
