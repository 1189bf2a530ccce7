import { signal } from '@preact/signals';
import { api, get, setToken } from './api';
import { stopLive } from './live';
import { navigate } from './router';

/** GET /api/shell/status: the Terminal entry appears only when the server enables the shell. */
export const shellEnabled = signal(false);
/**
 * The split deployment's hosts (issue 7). The switcher appears only when GET /api/hosts
 * answers a list; on a single-host server the route does not exist and nothing is shown.
 */
export const hosts = signal<{ id: string; name?: string; online?: boolean }[] | null>(null);
export const currentHost = signal<string | null>(null);

export async function loadServerFeatures(): Promise<void> {
  get<{ enabled: boolean }>('/api/shell/status').then(
    (s) => (shellEnabled.value = s.enabled === true),
    () => (shellEnabled.value = false),
  );
  get<unknown>('/api/hosts').then(
    (h) => {
      const list = Array.isArray(h) ? h : Array.isArray((h as { hosts?: unknown }).hosts) ? (h as { hosts: unknown[] }).hosts : null;
      hosts.value = list as typeof hosts.value;
      if (list && list.length > 0 && !currentHost.value) currentHost.value = (list[0] as { id: string }).id;
    },
    () => (hosts.value = null),
  );
}

export async function signOut(all = false): Promise<void> {
  await api('POST', '/api/v1/auth/logout', { all }).catch(() => undefined);
  stopLive();
  setToken(null);
  navigate('/');
}

