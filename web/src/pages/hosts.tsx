import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { del, post } from '../api';
import { formatDate, t } from '../i18n';
import { hosts, loadHosts } from '../session';
import { confirmed, copyText, errorText, ErrorBox, toast } from '../ui';

interface Created {
  name: string;
  joinToken: string;
  expiresAt: string;
}

/** The agent's command line for a new host (README "Enrolling and running an agent"). */
export function agentCommand(origin: string, c: Created): string {
  const url = origin.replace(/^http/, 'ws');
  return `AGENT_JOIN_TOKEN=${c.joinToken} watch-docker agent --url ${url} --host ${c.name} --key-file /var/lib/watch-docker/agent-${c.name}.key`;
}

/** Settings → Hosts (split deployment only): the hosts, enrolling one with a join token, revoking one. */
export function Hosts() {
  const error = useSignal<unknown>(null);
  const created = useSignal<Created | null>(null);
  const msg = useSignal<string | null>(null);
  const busy = useSignal(false);
  const load = async () => {
    await loadHosts();
    error.value = hosts.value === null ? new Error(t('hosts.unavailable')) : null;
  };
  useEffect(() => {
    void load();
    // online state and last seen move on their own: refresh while the page is open
    const timer = setInterval(() => void loadHosts(), 5000);
    return () => clearInterval(timer);
  }, []);
  const add = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const name = String(new FormData(form).get('name') ?? '').trim();
    busy.value = true;
    try {
      created.value = await post<Created>('/api/hosts', { name });
      msg.value = null;
      form.reset();
      await load();
    } catch (err) {
      msg.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };
  const revoke = async (name: string) => {
    if (!(await confirmed(t('hosts.revokeConfirm', { name }), { confirm: t('hosts.revoke'), danger: true }))) return;
    try {
      await del(`/api/hosts/${encodeURIComponent(name)}`);
      if (created.value?.name === name) created.value = null;
      toast(t('hosts.revoked', { name }));
    } catch (err) {
      toast(errorText(err), 'error');
    }
    await load();
  };
  const list = hosts.value;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t('hosts.title')}
      </h1>
      <p class="muted">{t('hosts.intro')}</p>
      {error.value ? <ErrorBox err={error.value} onRetry={() => void load()} /> : null}
      {created.value && (
        <div class="card notice" role="status">
          <p>{t('hosts.tokenShown', { name: created.value.name, at: formatDate(created.value.expiresAt) })}</p>
          <div class="row">
            <code class="secret wrap" data-testid="join-token" aria-label={t('hosts.joinToken')}>
              {created.value.joinToken}
            </code>
            <button type="button" class="small" onClick={() => void copyText(created.value?.joinToken ?? '')}>
              {t('ui.copy')}
            </button>
          </div>
          <p>{t('hosts.runAgent')}</p>
          <div class="row">
            <code class="secret wrap" data-testid="agent-command" aria-label={t('hosts.command')}>
              {agentCommand(location.origin, created.value)}
            </code>
            <button type="button" class="small" onClick={() => void copyText(created.value ? agentCommand(location.origin, created.value) : '')}>
              {t('ui.copy')}
            </button>
          </div>
        </div>
      )}
      <form class="card token-form" onSubmit={(e) => void add(e)}>
        {msg.value && (
          <p class="error-box" role="alert">
            {msg.value}
          </p>
        )}
        <label>
          {t('hosts.name')}
          <input name="name" required maxLength={63} autoComplete="off" />
        </label>
        <button type="submit" class="primary" disabled={busy.value}>
          {t('hosts.add')}
        </button>
      </form>
      {list && list.length === 0 && <p class="muted">{t('hosts.none')}</p>}
      {list && list.length > 0 && (
        <div class="table-wrap">
          <table class="cards">
            <caption class="sr-only">{t('hosts.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('ui.name')}</th>
                <th scope="col">{t('hosts.state')}</th>
                <th scope="col">{t('hosts.agentVersion')}</th>
                <th scope="col">{t('hosts.lastSeen')}</th>
                <th scope="col">{t('ui.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((h) => (
                <tr key={h.name} data-host={h.name}>
                  <td data-label={t('ui.name')}>{h.name}</td>
                  <td data-label={t('hosts.state')}>
                    <span class={`badge ${h.online ? 'c-running' : 'c-stopped'}`} data-testid="host-state">
                      {h.online ? t('hosts.online') : h.enrolled === false ? t('hosts.waiting') : t('hosts.offline')}
                    </span>
                  </td>
                  <td data-label={t('hosts.agentVersion')} class="mono">
                    {h.agentVersion ?? '—'}
                  </td>
                  <td data-label={t('hosts.lastSeen')}>{formatDate(h.lastSeen)}</td>
                  <td data-label={t('ui.actions')} class="actions">
                    <button type="button" class="small danger" onClick={() => void revoke(h.name)} aria-label={`${t('hosts.revoke')} ${h.name}`}>
                      {t('hosts.revoke')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
