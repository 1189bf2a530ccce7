import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { t } from './i18n';
import { openStream, type Stream } from './ws';

const KEEP = 5000;
const SHOW = 2000;

/**
 * A live log over a WebSocket (frames {type:'line'|'dropped'|'end'|'error'}): filter, pause,
 * download. Keeps the last 5000 lines; shows the last 2000 that match.
 */
export function LiveLog({ path, filename, label }: { path: string; filename: string; label: string }) {
  const lines = useSignal<string[]>([]);
  const filter = useSignal('');
  const follow = useSignal(true);
  const note = useSignal<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    let stream: Stream | null = null;
    let closed = false;
    let buf: string[] = [];
    let pending: string[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      buf = buf.concat(pending).slice(-KEEP);
      pending = [];
      lines.value = buf;
    };
    const push = (s: string) => {
      pending.push(s);
      timer ??= setTimeout(flush, 100);
    };
    lines.value = [];
    note.value = null;
    openStream(path, {
      onFrame: (f) => {
        if (f.type === 'line') push(f.service ? `${f.service} | ${f.text}` : f.text);
        else if (f.type === 'dropped') push(`… ${t('logs.dropped', { n: f.count })}`);
        else if (f.type === 'end') note.value = t('logs.ended');
        else if (f.type === 'error') note.value = f.msg;
      },
      onClose: (ev) => {
        if (!closed && !note.value) note.value = ev.code === 1006 && buf.length === 0 && pending.length === 0 ? t('logs.unavailable') : t('logs.ended');
      },
    }).then(
      (s) => (closed ? s.close() : (stream = s)),
      (err: unknown) => (note.value = err instanceof Error ? err.message : String(err)),
    );
    return () => {
      closed = true;
      clearTimeout(timer);
      stream?.close();
    };
  }, [path]);

  const needle = filter.value.toLowerCase();
  const shown = (needle ? lines.value.filter((l) => l.toLowerCase().includes(needle)) : lines.value).slice(-SHOW);
  useEffect(() => {
    if (follow.value && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [shown.length, follow.value]);

  const download = () => {
    const blob = new Blob([lines.value.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  return (
    <div class="live-log">
      <div class="row">
        <input type="search" aria-label={t('logs.search')} placeholder={t('logs.search')} value={filter.value} onInput={(e) => (filter.value = (e.currentTarget as HTMLInputElement).value)} />
        <button type="button" class="small" aria-pressed={follow.value} onClick={() => (follow.value = !follow.value)}>
          {follow.value ? t('logs.pause') : t('logs.follow')}
        </button>
        <button type="button" class="small" onClick={download} disabled={lines.value.length === 0}>
          {t('logs.download')}
        </button>
      </div>
      <pre ref={pre} class="log" tabIndex={0} aria-label={label} aria-live="off">
        {shown.join('\n')}
      </pre>
      {note.value && <p class="muted">{note.value}</p>}
    </div>
  );
}
