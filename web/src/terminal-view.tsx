import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { t } from './i18n';
import { ErrorBox } from './ui';

/** xterm.js on a PTY WebSocket; the terminal code is loaded only when this is shown. */
export function TerminalView({ path, label }: { path: string; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const state = useSignal<'loading' | 'ready' | string>('loading');
  useEffect(() => {
    let dispose: (() => void) | undefined;
    let gone = false;
    import('./lazy/terminal').then(
      ({ mountTerminal }) => {
        if (gone || !el.current) return;
        dispose = mountTerminal(el.current, path, { exited: (code) => t('terminal.exited', { code }) });
        state.value = 'ready';
      },
      (err: unknown) => (state.value = String(err)),
    );
    return () => {
      gone = true;
      dispose?.();
    };
  }, [path]);
  return (
    <div class="term-wrap">
      {state.value === 'loading' && <p class="muted">{t('terminal.loading')}</p>}
      {state.value !== 'loading' && state.value !== 'ready' && <ErrorBox err={state.value} role={null} />}
      <div ref={el} class="term" role="region" aria-label={label} />
    </div>
  );
}
