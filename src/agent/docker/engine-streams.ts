/**
 * The Engine API's stream formats, as plain parsing: framed (non-TTY) log output, split into
 * lines; engine events, as the port's plain DockerEvent.
 */
import type { DockerEvent, LogLine } from '../../core/docker/port.js';

/** The engine frames non-TTY logs: [stream, 0, 0, 0, size (4 bytes BE)] then the payload. */
export function demultiplex(raw: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const kind = raw[at];
    if ((kind !== 0 && kind !== 1 && kind !== 2) || raw[at + 1] !== 0 || raw[at + 2] !== 0 || raw[at + 3] !== 0) {
      return raw.toString('utf8'); // not framed after all
    }
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

export interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> | null };
  time?: number;
  timeNano?: number;
}

export function toDockerEvent(e: EngineEvent): DockerEvent | null {
  const type = e.Type;
  const action = e.Action ?? e.status;
  if (!type || !action) return null;
  const attributes = e.Actor?.Attributes ?? {};
  const ms = e.timeNano !== undefined ? Math.floor(e.timeNano / 1e6) : (e.time ?? 0) * 1000;
  return { type, action, id: e.Actor?.ID ?? e.id ?? '', name: attributes.name ?? '', time: new Date(ms).toISOString(), attributes: { ...attributes } };
}

/** Longest line kept whole; a longer one is cut into pieces of this size (a log without newlines must not grow memory). */
const MAX_LINE = 64 * 1024;

/**
 * Turns the engine's log stream into lines. Without a TTY the engine frames the output
 * ([stream, 0, 0, 0, size (4 bytes BE)] then the payload) and frames may be split across
 * chunks; with a TTY the bytes come raw, all on stdout.
 */
export class LogLineSplitter {
  private header = Buffer.alloc(0);
  private frame: { kind: 'stdout' | 'stderr'; left: number } | null = null;
  private readonly partial = { stdout: '', stderr: '' };
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(
    private readonly tty: boolean,
    private readonly timestamps: boolean,
  ) {}

  feed(chunk: Buffer, push: (line: LogLine) => void): void {
    if (this.tty) return this.text('stdout', chunk, push);
    let at = 0;
    while (at < chunk.length) {
      if (!this.frame) {
        const need = 8 - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (this.header.length < 8) return;
        const kind = this.header[0] === 2 ? 'stderr' : 'stdout';
        this.frame = { kind, left: this.header.readUInt32BE(4) };
        this.header = Buffer.alloc(0);
        if (this.frame.left === 0) this.frame = null;
        continue;
      }
      const take = Math.min(this.frame.left, chunk.length - at);
      this.text(this.frame.kind, chunk.subarray(at, at + take), push);
      at += take;
      this.frame.left -= take;
      if (this.frame.left === 0) this.frame = null;
    }
  }

  /** The end of the stream: a last line without a newline is still a line. */
  flush(push: (line: LogLine) => void): void {
    for (const kind of ['stdout', 'stderr'] as const) {
      const rest = this.partial[kind] + this.decoders[kind].decode();
      this.partial[kind] = '';
      if (rest) this.emit(kind, rest, push);
    }
  }

  private text(kind: 'stdout' | 'stderr', bytes: Buffer, push: (line: LogLine) => void): void {
    let text = this.partial[kind] + this.decoders[kind].decode(bytes, { stream: true });
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      this.emit(kind, text.slice(0, nl), push);
      text = text.slice(nl + 1);
    }
    while (text.length > MAX_LINE) {
      this.emit(kind, text.slice(0, MAX_LINE), push);
      text = text.slice(MAX_LINE);
    }
    this.partial[kind] = text;
  }

  private emit(kind: 'stdout' | 'stderr', raw: string, push: (line: LogLine) => void): void {
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.timestamps) {
      const space = text.indexOf(' ');
      if (space > 0 && /^\d{4}-\d{2}-\d{2}T/.test(text)) {
        push({ stream: kind, ts: text.slice(0, space), text: text.slice(space + 1) });
        return;
      }
    }
    push({ stream: kind, text });
  }
}
