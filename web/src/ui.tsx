import { signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, type Container } from './api';
import { t } from './i18n';
import { onLink } from './router';

// ---- toasts (announced to screen readers) ----
export interface Toast {
  id: number;
  text: string;
  kind: 'ok' | 'error';
}
export const toasts = signal<Toast[]>([]);
let toastId = 0;
export function toast(text: string, kind: Toast['kind'] = 'ok'): void {
  const id = ++toastId;
  toasts.value = [...toasts.value, { id, text, kind }];
  setTimeout(() => (toasts.value = toasts.value.filter((x) => x.id !== id)), kind === 'error' ? 10_000 : 5_000);
}
export function Toasts() {
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.value.map((x) => (
        <div key={x.id} class={`toast ${x.kind}`}>
          <span>{x.text}</span>
          <button type="button" class="link" aria-label={t('ui.close')} onClick={() => (toasts.value = toasts.value.filter((y) => y.id !== x.id))}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

/** A readable message for an error: lockouts with their wait, network failures, else the server's words. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('err.network');
    if (err.status === 429) return t('err.locked', { s: err.retryAfter ?? 60 });
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

// ---- confirmation dialog (native <dialog>: focus trap and Esc for free) ----
interface Ask {
  text: string;
  confirm: string;
  danger: boolean;
  checkbox?: string;
  resolve: (v: { ok: boolean; checked: boolean }) => void;
}
const asking = signal<Ask | null>(null);
export function confirmDialog(text: string, opts: { confirm?: string; danger?: boolean; checkbox?: string } = {}): Promise<{ ok: boolean; checked: boolean }> {
  return new Promise((resolve) => {
    asking.value = { text, confirm: opts.confirm ?? t('ui.confirm'), danger: opts.danger ?? false, ...(opts.checkbox ? { checkbox: opts.checkbox } : {}), resolve };
  });
}
export async function confirmed(text: string, opts: { confirm?: string; danger?: boolean } = {}): Promise<boolean> {
  return (await confirmDialog(text, opts)).ok;
}
export function ConfirmHost() {
  const ref = useRef<HTMLDialogElement>(null);
  const box = useRef<HTMLInputElement>(null);
  const a = asking.value;
  useEffect(() => {
    const d = ref.current;
    if (a && d && !d.open) d.showModal();
  }, [a]);
  const done = (ok: boolean) => {
    const checked = box.current?.checked ?? false;
    ref.current?.close();
    asking.value = null;
    a?.resolve({ ok, checked });
  };
  if (!a) return null;
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-text" onCancel={(e) => { e.preventDefault(); done(false); }}>
      <p id="confirm-text">{a.text}</p>
      {a.checkbox && (
        <label class="check">
          <input type="checkbox" ref={box} /> {a.checkbox}
        </label>
      )}
      <div class="row end">
        <button type="button" onClick={() => done(false)} autofocus>
          {t('ui.cancel')}
        </button>
        <button type="button" class={a.danger ? 'danger' : 'primary'} onClick={() => done(true)}>
          {a.confirm}
        </button>
      </div>
    </dialog>
  );
}

// ---- small pieces ----
export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  return (
    <a href={props.href} class={props.class} aria-current={props['aria-current']} onClick={onLink}>
      {props.children}
    </a>
  );
}

export function shortDigest(d: string | undefined): string {
  if (!d) return '—';
  const hex = d.includes('@') ? d.slice(d.indexOf('@') + 1) : d;
  return hex.replace(/^sha256:/, '').slice(0, 12);
}

export function StatusBadge({ c }: { c: Pick<Container, 'status' | 'skipReason' | 'message' | 'errorKind'> }) {
  const rate = c.status === 'Error' && c.errorKind === 'rate_limited';
  const label = rate ? t('status.RateLimited') : t(`status.${c.status}`);
  const detail = c.status === 'Skipped' ? c.skipReason : c.status === 'Error' ? c.message : undefined;
  const cls = rate ? 'rate' : c.status;
  return (
    <span class="status">
      <span class={`badge b-${cls}`} data-status={c.status}>
        {label}
      </span>
      {detail && <span class="why">{detail}</span>}
    </span>
  );
}

export function Pager(props: { page: number; pages: number; onPage: (p: number) => void }) {
  if (props.pages <= 1) return null;
  return (
    <nav class="pager" aria-label={t('ui.page', { page: props.page, pages: props.pages })}>
      <button type="button" disabled={props.page <= 1} onClick={() => props.onPage(props.page - 1)} aria-label={t('ui.prev')}>
        ‹
      </button>
      <span>{t('ui.page', { page: props.page, pages: props.pages })}</span>
      <button type="button" disabled={props.page >= props.pages} onClick={() => props.onPage(props.page + 1)} aria-label={t('ui.next')}>
        ›
      </button>
    </nav>
  );
}

export function ErrorBox({ err, onRetry }: { err: unknown; onRetry?: () => void }) {
  return (
    <div class="error-box" role="alert">
      {errorText(err)}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('ui.retry')}
        </button>
      )}
    </div>
  );
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API needs a secure context: fall back to a selection copy.
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  toast(t('ui.copied'));
}
