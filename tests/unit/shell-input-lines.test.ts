import { describe, expect, it } from 'vitest';
import { InputLines, MAX_AUDIT_LINE } from '../../src/core/shell/input-lines.js';
import { ShellSessions } from '../../src/core/shell/sessions.js';

describe('typed input as audit lines', () => {
  it('ends lines at Enter, in pieces or all at once', () => {
    const l = new InputLines();
    expect(l.feed('ec')).toEqual([]);
    expect(l.feed('ho 你好\r')).toEqual(['echo 你好']);
    expect(l.feed('ls\rpwd\n\r')).toEqual(['ls', 'pwd']);
    expect(l.rest()).toBeNull();
  });

  it('applies Backspace and Ctrl-U, drops a line abandoned with Ctrl-C', () => {
    const l = new InputLines();
    expect(l.feed('lx\x7fs -l\r')).toEqual(['ls -l']);
    expect(l.feed('rm -rf /tmp/x\x15echo ok\r')).toEqual(['echo ok']);
    expect(l.feed('sleep 10\x03')).toEqual([]);
    expect(l.feed('\r')).toEqual([]);
  });

  it('leaves out escape sequences (arrow keys, function keys)', () => {
    const l = new InputLines();
    expect(l.feed('\x1b[A\x1b[1;5Decho a\x1bOPb\r')).toEqual(['echo ab']);
  });

  it('cuts a very long line and says so; keeps what was typed before the end', () => {
    const l = new InputLines();
    const [line] = l.feed(`${'a'.repeat(MAX_AUDIT_LINE + 100)}\r`);
    expect(line).toBe(`${'a'.repeat(MAX_AUDIT_LINE)}…(cut)`);
    l.feed('half');
    expect(l.rest()).toBe('half');
  });
});

describe('shell sessions per user', () => {
  it('takes a place only under the limit, and frees it', () => {
    const s = new ShellSessions();
    const at = (id: string, user = 'a') => ({ id, user, address: '127.0.0.1', container: null, startedAt: 0 });
    expect(s.tryAdd(at('1'), 2)).toBe(true);
    expect(s.tryAdd(at('2'), 2)).toBe(true);
    expect(s.tryAdd(at('3'), 2)).toBe(false);
    expect(s.tryAdd(at('4', 'b'), 2)).toBe(true);
    s.remove('1');
    expect(s.countFor('a')).toBe(1);
    expect(s.tryAdd(at('3'), 2)).toBe(true);
  });
});
