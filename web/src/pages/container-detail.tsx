import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { get, type Container, type HistoryEntry } from '../api';
import { formatDate, t } from '../i18n';
import { LiveLog } from '../live-log';
import { shellEnabled } from '../session';
import { TerminalView } from '../terminal-view';
import { ErrorBox, Link, Loading, PageHead, shortDigest, StatusBadge } from '../ui';
import { useEventReload } from './containers';
import { HistoryTable } from './history';

/** One container: its configuration, live logs, update history and (when enabled) a shell. */
export function ContainerDetail({ id }: { id: string }) {
  const c = useSignal<Container | null | undefined>(undefined);
  const error = useSignal<unknown>(null);
  const history = useSignal<HistoryEntry[]>([]);
  const shell = useSignal(false);

  const load = async () => {
    try {
      const r = await get<{ containers: Container[] }>('/api/containers?all=true');
      c.value = r.containers.find((x) => x.name === id || x.id === id || x.id.startsWith(id)) ?? null;
      const h = await get<{ entries: HistoryEntry[] }>('/api/updates/history?page=1&pageSize=100');
      history.value = h.entries.filter((e) => e.name === c.value?.name);
      error.value = null;
    } catch (err) {
      error.value = err;
    }
  };
  useEffect(() => void load(), [id]);
  useEventReload(load);

  const x = c.value;
  return (
    <section aria-labelledby="page-title">
      <p>
        <Link href="/">← {t('nav.containers')}</Link>
      </p>
      <PageHead title={x?.name ?? id} />
      <ErrorBox err={error.value} onRetry={() => void load()} />
      {x === undefined && !error.value && <Loading />}
      {x === null && <ErrorBox err={t('detail.notFound', { id })} role={null} />}
      {x && (
        <>
          <h2>{t('detail.config')}</h2>
          <dl class="kv">
            <dt>{t('containers.status')}</dt>
            <dd>
              <StatusBadge c={x} />
            </dd>
            <dt>{t('containers.state')}</dt>
            <dd>{x.state}</dd>
            <dt>{t('containers.image')}</dt>
            <dd class="mono wrap">{x.image}</dd>
            <dt>{t('detail.id')}</dt>
            <dd class="mono">{x.id.slice(0, 12)}</dd>
            <dt>{t('containers.digest')}</dt>
            <dd class="mono wrap">
              {shortDigest(x.currentDigest)} → {shortDigest(x.remoteDigest)}
            </dd>
            <dt>{t('detail.platform')}</dt>
            <dd>{x.platform ? [x.platform.os, x.platform.architecture, x.platform.variant].filter(Boolean).join('/') : '—'}</dd>
            <dt>{t('containers.project')}</dt>
            <dd>{x.compose ? `${x.compose.project} / ${x.compose.service}` : '—'}</dd>
            <dt>{t('detail.created')}</dt>
            <dd>{formatDate(x.created)}</dd>
            <dt>{t('containers.checked')}</dt>
            <dd>{x.lastCheckedAt ? formatDate(x.lastCheckedAt) : t('containers.never')}</dd>
            <dt>{t('detail.labels')}</dt>
            <dd>
              <ul class="labels">
                {Object.entries(x.labels).map(([k, v]) => (
                  <li key={k} class="mono wrap">
                    {k}={v}
                  </li>
                ))}
              </ul>
            </dd>
          </dl>
          <h2>{t('detail.logs')}</h2>
          <LiveLog path={`/api/containers/${encodeURIComponent(x.id)}/logs/ws?tail=500&follow=1`} filename={`${x.name}.log`} label={`${t('detail.logs')}: ${x.name}`} />
          <h2>{t('detail.history')}</h2>
          <HistoryTable entries={history.value} />
          {shellEnabled.value && x.running && (
            <>
              <h2>{t('detail.shell')}</h2>
              {shell.value ? (
                <TerminalView path={`/api/containers/${encodeURIComponent(x.id)}/shell/ws`} label={`${t('detail.shell')}: ${x.name}`} />
              ) : (
                <button type="button" onClick={() => (shell.value = true)}>
                  {t('detail.openShell')}
                </button>
              )}
            </>
          )}
        </>
      )}
    </section>
  );
}
