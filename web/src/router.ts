import { signal } from '@preact/signals';

/** The current path (History API routing; the server answers index.html for every non-/api path). */
export const path = signal(location.pathname);

window.addEventListener('popstate', () => {
  path.value = location.pathname;
});

export function navigate(to: string): void {
  if (to === location.pathname + location.search) return;
  history.pushState(null, '', to);
  path.value = location.pathname;
  window.scrollTo(0, 0);
  // Move focus to the new page's heading for screen readers and keyboard users.
  requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus());
}

/** A click handler for in-app links: plain left clicks navigate without a reload. */
export function onLink(ev: MouseEvent): void {
  const a = ev.currentTarget as HTMLAnchorElement;
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute('href') ?? '/');
}

/** Matches "/compose/:name" style patterns; the params, or null. */
export function match(pattern: string, p: string): Record<string, string> | null {
  const a = pattern.split('/');
  const b = p.replace(/\/+$/, '').split('/');
  if (p === '/' && pattern === '/') return {};
  if (a.length !== b.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x.startsWith(':')) out[x.slice(1)] = decodeURIComponent(y);
    else if (x !== y) return null;
  }
  return out;
}
