import type { Logger } from '../../src/core/ports.js';

function serialise(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message, stack: v.stack, cause: v.cause } : v));
}

/** A Logger that keeps every line (bindings, fields and message) as text, for searching. */
export class MemoryLogger implements Logger {
  constructor(
    readonly lines: string[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  private write(level: string, obj: Record<string, unknown>, msg?: string): void {
    this.lines.push(serialise({ level, ...this.bindings, ...obj, msg }));
  }

  debug(obj: Record<string, unknown>, msg?: string): void {
    this.write('debug', obj, msg);
  }
  info(obj: Record<string, unknown>, msg?: string): void {
    this.write('info', obj, msg);
  }
  warn(obj: Record<string, unknown>, msg?: string): void {
    this.write('warn', obj, msg);
  }
  error(obj: Record<string, unknown>, msg?: string): void {
    this.write('error', obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new MemoryLogger(this.lines, { ...this.bindings, ...bindings });
  }

  /** The parsed lines, for assertions on fields. */
  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
