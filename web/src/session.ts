import { signal } from '@preact/signals';
import { api, ApiError, currentHost, get, setHost, setToken } from './api';
import { startLive, stopLive } from './live';
import { navigate } from './router';
import { parseHosts, pickHost, type HostInfo } from './host-choice';

export type { HostInfo };

/** GET /api/shell/status: the Terminal entry appears only when the server enables the shell. */
export const shellEnabled = signal(false);
/**
 * The split deployment's hosts (issue 7). The switcher and the Hosts settings appear only when
 * GET /api/hosts answers; on a single-host server the route answers 404 and nothing is shown.
 */
export const hosts = signal<HostInfo[] | null>(null);
export { currentHost };

/** Re-reads the host list and keeps the chosen host valid. */
export async function loadHosts(): Promise<void> {
  try {
    const list = parseHosts(await get<unknown>('/api/hosts'));
    hosts.value = list;
    if (list) {
      const pick = pickHost(list, currentHost.value);
      if (pick !== currentHost.value) switchHost(pick);
    }
  } catch (err) {
    // 404: one host (the Node server); a host remembered from a split deployment means nothing
    // here. Other failures (network) keep what was known.
    if (err instanceof ApiError && err.status === 404) {
      hosts.value = null;
      if (currentHost.value) setHost(null);
    }
  }
}

/** How often the shell re-reads the host list (split deployment only). */
export const HOSTS_POLL_MS = 10_000;

/**
 * Keeps the host switcher's online states fresh on every page: re-reads GET /api/hosts every
 * HOSTS_POLL_MS while the tab is visible, and at once when the tab or window comes back. Only
 * in the split deployment (a single-host server answers 404 and is not asked again). Returns
 * the function that stops it.
 */
export function watchHosts(): () => void {
  const refresh = () => {
    if (hosts.value !== null && document.visibilityState === 'visible') void loadHosts();
  };
  const timer = setInterval(refresh, HOSTS_POLL_MS);
  const onVisible = () => document.visibilityState === 'visible' && refresh();
  document.addEventListener('visibilitychange', onVisible);
  addEventListener('focus', refresh);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
    removeEventListener('focus', refresh);
  };
}

/** Chooses a host: remembered, the page reloads its data (keyed on the host) and the event stream restarts. */
export function switchHost(name: string | null): void {
  if (name === currentHost.value) return;
  setHost(name);
  stopLive();
  startLive();
  loadShellStatus();
}

/** GET /api/shell/status (per host in the split deployment). */
function loadShellStatus(): void {
  get<{ enabled: boolean }>('/api/shell/status').then(
    (s) => (shellEnabled.value = s.enabled === true),
    () => (shellEnabled.value = false),
  );
}

export async function loadServerFeatures(): Promise<void> {
  const before = currentHost.value;
  await loadHosts();
  // switchHost already asked when the host changed
  if (currentHost.value === before) loadShellStatus();
}

export async function signOut(all = false): Promise<void> {
  await api('POST', '/api/v1/auth/logout', { all }).catch(() => undefined);
  stopLive();
  setToken(null);
  navigate('/');
}

