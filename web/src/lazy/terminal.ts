import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { openStream, type Stream } from '../ws';

/**
 * Mounts xterm.js in `el` and connects it to a PTY WebSocket (`path`, cols/rows added):
 * keystrokes go as {type:'input'}, size changes as {type:'resize'}, output arrives as
 * {type:'output'}. UTF-8 and 256 colours are xterm's own. Returns a function that closes both.
 */
export function mountTerminal(el: HTMLElement, path: string, text: { exited: (code: number) => string }): () => void {
  const dark = matchMedia('(prefers-color-scheme: dark)').matches || document.documentElement.dataset.theme === 'dark';
  const term = new Terminal({
    cursorBlink: true,
    convertEol: false,
    fontFamily: 'ui-monospace, "Cascadia Mono", "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: dark ? { background: '#0d1117', foreground: '#e6edf3' } : { background: '#1e1e1e', foreground: '#f0f0f0' },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  try {
    fit.fit();
  } catch {
    /* not laid out yet */
  }
  let stream: Stream | null = null;
  let closed = false;
  // Keys typed before the ticket came back (the socket does not exist yet) are sent once it does.
  let early: unknown[] = [];
  const send = (f: unknown) => (stream ? stream.send(f) : early.length < 1000 && early.push(f));
  const url = new URL(path, location.href);
  url.searchParams.set('cols', String(term.cols));
  url.searchParams.set('rows', String(term.rows));
  openStream(url.pathname + url.search, {
    onFrame: (f) => {
      if (f.type === 'output') term.write(f.data);
      else if (f.type === 'exit') term.write(`\r\n${text.exited(f.code)}\r\n`);
      else if (f.type === 'ping') send({ type: 'pong' });
      else if (f.type === 'error') term.write(`\r\n\x1b[31m${f.msg}\x1b[0m\r\n`);
      else if (f.type === 'end') term.write(`\r\n\x1b[2m[${f.reason ?? 'closed'}]\x1b[0m\r\n`);
    },
    onClose: () => {
      if (!closed) term.write('\r\n\x1b[2m[disconnected]\x1b[0m\r\n');
    },
  }).then(
    (s) => {
      if (closed) return s.close();
      stream = s;
      for (const f of early) s.send(f);
      early = [];
    },
    (err: unknown) => term.write(`\x1b[31m${err instanceof Error ? err.message : String(err)}\x1b[0m\r\n`),
  );
  const input = term.onData((data) => send({ type: 'input', data }));
  const resize = term.onResize(({ cols, rows }) => send({ type: 'resize', cols, rows }));
  const ro = new ResizeObserver(() => {
    try {
      fit.fit();
    } catch {
      /* hidden */
    }
  });
  ro.observe(el);
  term.focus();
  return () => {
    closed = true;
    ro.disconnect();
    input.dispose();
    resize.dispose();
    stream?.close();
    term.dispose();
  };
}
