import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { del, post } from '../api';
import { formatDate, t } from '../i18n';
import { hosts, loadHosts, type HostInfo } from '../session';
import { confirmed, copyText, DataTable, errorText, ErrorBox, PageHead, toast, type Column } from '../ui';

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
  // (online state and last seen move on their own: the shell polls the list on every page)
  useEffect(() => void load(), []);
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
  const columns: Column<HostInfo>[] = [
    { label: t('ui.name'), cell: (h) => h.name },
    {
      label: t('hosts.state'),
      cell: (h) => (
        <span class={`badge ${h.online ? 'c-running' : 'c-stopped'}`} data-testid="host-state">
          {h.online ? t('hosts.online') : h.enrolled === false ? t('hosts.waiting') : t('hosts.offline')}
        </span>
      ),
    },
    { label: t('hosts.agentVersion'), class: 'mono', cell: (h) => h.agentVersion ?? '—' },
    { label: t('hosts.lastSeen'), cell: (h) => formatDate(h.lastSeen) },
    {
      label: t('ui.actions'),
      class: 'actions',
      cell: (h) => (
        <button type="button" class="small danger" onClick={() => void revoke(h.name)} aria-label={`${t('hosts.revoke')} ${h.name}`}>
          {t('hosts.revoke')}
        </button>
      ),
    },
  ];
  return (
    <section aria-labelledby="page-title">
      <PageHead title={t('hosts.title')} />
      <p class="muted">{t('hosts.intro')}</p>
      <ErrorBox err={error.value} onRetry={() => void load()} />
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
        <ErrorBox err={msg.value} />
        <label>
          {t('hosts.name')}
          <input name="name" required maxLength={63} autoComplete="off" />
        </label>
        <button type="submit" class="primary" disabled={busy.value}>
          {t('hosts.add')}
        </button>
      </form>
      {list && <DataTable rows={list} columns={columns} rowKey={(h) => h.name} rowAttrs={(h) => ({ 'data-host': h.name })} caption={t('hosts.title')} empty={t('hosts.none')} />}
    </section>
  );
}
