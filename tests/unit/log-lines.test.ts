import { describe, expect, it } from 'vitest';
import { LogLineSplitter } from '../../src/agent/docker/engine-streams.js';
import type { LogLine } from '../../src/core/docker/port.js';

function frame(kind: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function run(splitter: LogLineSplitter, chunks: Buffer[]): LogLine[] {
  const out: LogLine[] = [];
  for (const c of chunks) splitter.feed(c, (l) => out.push(l));
  splitter.flush((l) => out.push(l));
  return out;
}

describe('the engine log stream as lines', () => {
  it('demultiplexes frames split anywhere, even inside a header or a UTF-8 character', () => {
    const raw = Buffer.concat([frame(1, 'hello\nwor'), frame(2, 'oops\n'), frame(1, 'ld 你好\n'), frame(1, 'no newline at the end')]);
    const expected = [{ stream: 'stdout', text: 'hello' }, { stream: 'stderr', text: 'oops' }, { stream: 'stdout', text: 'world 你好' }, { stream: 'stdout', text: 'no newline at the end' }];
    for (const size of [1, 3, 7, 8, 9, 64]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < raw.length; i += size) chunks.push(raw.subarray(i, i + size));
      expect(run(new LogLineSplitter(false, false), chunks)).toEqual(expected);
    }
  });

  it('takes a TTY container\'s output raw, without the carriage returns', () => {
    expect(run(new LogLineSplitter(true, false), [Buffer.from('one\r\ntw'), Buffer.from('o\r\n')])).toEqual([{ stream: 'stdout', text: 'one' }, { stream: 'stdout', text: 'two' }]);
  });

  it('splits off the timestamp the engine puts in front when asked', () => {
    expect(run(new LogLineSplitter(false, true), [frame(1, '2026-11-29T10:00:00.123456789Z hello world\n')])).toEqual([{ stream: 'stdout', ts: '2026-11-29T10:00:00.123456789Z', text: 'hello world' }]);
  });

  it('cuts a line without newlines into bounded pieces instead of growing', () => {
    const out = run(new LogLineSplitter(true, false), [Buffer.alloc(200 * 1024, 'a')]);
    expect(out.map((l) => l.text.length)).toEqual([65536, 65536, 65536, 200 * 1024 - 3 * 65536]);
  });
});
