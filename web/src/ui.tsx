import { signal, useSignal, type Signal } from '@preact/signals';
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

/**
 * The one error box of every page: the message (an ApiError, an Error or plain text), an
 * optional title, details in <pre>, and a retry button. Renders nothing when there is no error.
 */
export function ErrorBox(props: { err: unknown; onRetry?: () => void; title?: string; testid?: string; pre?: boolean; role?: 'alert' | null; id?: string }) {
  const { err, onRetry } = props;
  if (err === null || err === undefined || err === false || err === '') return null;
  const text = typeof err === 'string' ? err : errorText(err);
  return (
    <div class="error-box" role={props.role === null ? undefined : 'alert'} data-testid={props.testid} id={props.id}>
      {props.title && <strong>{props.title}</strong>}
      {props.pre ? <pre class="wrap">{text}</pre> : text}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('ui.retry')}
        </button>
      )}
    </div>
  );
}

/** "Loading…" while a list is on its way. */
export function Loading() {
  return <p>{t('ui.loading')}</p>;
}

/** What an empty list says (default: "None"). */
export function EmptyState({ text }: { text?: string }) {
  return <p class="muted">{text ?? t('ui.none')}</p>;
}

/** One column of a DataTable: its header, its cell, and the cell's class. */
export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  class?: string;
}

/**
 * The one table of every list: a header row, one row per item, cells labelled for the phone
 * layout (each cell shows its column's name there), and the empty state when there are no rows.
 */
export function DataTable<T>(props: { rows: readonly T[]; columns: Column<T>[]; rowKey: (row: T) => string; rowAttrs?: (row: T) => Record<string, string | boolean | undefined>; caption?: string; empty?: string }) {
  if (props.rows.length === 0) return <EmptyState text={props.empty} />;
  return (
    <div class="table-wrap">
      <table class="cards">
        {props.caption && <caption class="sr-only">{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.label} scope="col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={props.rowKey(r)} {...(props.rowAttrs?.(r) ?? {})}>
              {props.columns.map((c) => (
                <td key={c.label} data-label={c.label} class={c.class}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A page's heading (focused on navigation, named by the section) with its actions beside it. */
export function PageHead({ title, children }: { title: string; children?: ComponentChildren }) {
  const h1 = (
    <h1 id="page-title" tabIndex={-1}>
      {title}
    </h1>
  );
  if (!children) return h1;
  return (
    <div class="page-head">
      {h1}
      {children}
    </div>
  );
}

/** The search box above a list. */
export function SearchBox({ value, onInput }: { value: string; onInput: (v: string) => void }) {
  return <input type="search" aria-label={t('containers.search')} placeholder={t('containers.search')} value={value} onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)} />;
}

/**
 * Loads data for a page: `data` (undefined while loading), `error`, and `load` to reload (after
 * an action, on an event, on retry). A failed reload keeps the data it had.
 */
export function useData<T>(fetch: () => Promise<T>): { data: Signal<T | undefined>; error: Signal<unknown>; load: () => Promise<void> } {
  const data = useSignal<T | undefined>(undefined);
  const error = useSignal<unknown>(null);
  const latest = useRef(fetch);
  latest.current = fetch;
  const load = useRef(async () => {
    try {
      data.value = await latest.current();
      error.value = null;
    } catch (err) {
      error.value = err;
    }
  }).current;
  return { data, error, load };
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
