import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { get, type HistoryEntry } from '../api';
import { formatDate, t } from '../i18n';
import { ErrorBox, Link, Pager, shortDigest } from '../ui';

const PAGE_SIZE = 50;

export function HistoryTable({ entries, withName = false }: { entries: HistoryEntry[]; withName?: boolean }) {
  if (entries.length === 0) return <p class="muted">{t('ui.none')}</p>;
  return (
    <div class="table-wrap">
      <table class="cards">
        <thead>
          <tr>
            <th scope="col">{t('history.when')}</th>
            {withName && <th scope="col">{t('history.container')}</th>}
            <th scope="col">{t('history.result')}</th>
            <th scope="col">{t('history.trigger')}</th>
            <th scope="col">{t('history.digests')}</th>
            <th scope="col">{t('history.duration')}</th>
            <th scope="col">{t('history.reason')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id} data-result={e.result}>
              <td data-label={t('history.when')}>{formatDate(e.startedAt)}</td>
              {withName && (
                <td data-label={t('history.container')}>
                  <Link href={`/containers/${encodeURIComponent(e.name)}`}>{e.name}</Link>
                </td>
              )}
              <td data-label={t('history.result')}>
                <span class={`badge r-${e.result}`}>{t(`history.${e.result}`)}</span>
                {e.rolledBack && <span class="badge b-Error">{t('history.rolledBack')}</span>}
              </td>
              <td data-label={t('history.trigger')}>{e.trigger.kind}</td>
              <td data-label={t('history.digests')} class="mono">
                {shortDigest(e.oldDigest)} → {shortDigest(e.newDigest)}
              </td>
              <td data-label={t('history.duration')}>{(e.durationMs / 1000).toFixed(1)} s</td>
              <td data-label={t('history.reason')} class="wrap">
                {e.error ?? ''}
                {e.logs && (
                  <details>
                    <summary>{t('detail.logs')}</summary>
                    <pre class="log small">{e.logs}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Every update attempt across containers, newest first. */
export function History() {
  const page = useSignal(1);
  const data = useSignal<{ entries: HistoryEntry[]; total: number } | null>(null);
  const error = useSignal<unknown>(null);
  const load = async () => {
    try {
      data.value = await get(`/api/updates/history?page=${page.value}&pageSize=${PAGE_SIZE}`);
      error.value = null;
    } catch (err) {
      error.value = err;
    }
  };
  useEffect(() => void load(), [page.value]);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t('history.title')}
      </h1>
      {error.value ? <ErrorBox err={error.value} onRetry={() => void load()} /> : null}
      {data.value ? (
        <>
          <HistoryTable entries={data.value.entries} withName />
          <Pager page={page.value} pages={Math.max(1, Math.ceil(data.value.total / PAGE_SIZE))} onPage={(p) => (page.value = p)} />
        </>
      ) : (
        !error.value && <p>{t('ui.loading')}</p>
      )}
    </section>
  );
}
