import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { get, type HistoryEntry } from '../api';
import { formatDate, t } from '../i18n';
import { DataTable, ErrorBox, Link, Loading, PageHead, Pager, shortDigest, useData, type Column } from '../ui';

const PAGE_SIZE = 50;

export function HistoryTable({ entries, withName = false }: { entries: HistoryEntry[]; withName?: boolean }) {
  const columns: Column<HistoryEntry>[] = [
    { label: t('history.when'), cell: (e) => formatDate(e.startedAt) },
    ...(withName ? [{ label: t('history.container'), cell: (e: HistoryEntry) => <Link href={`/containers/${encodeURIComponent(e.name)}`}>{e.name}</Link> }] : []),
    {
      label: t('history.result'),
      cell: (e) => (
        <>
          <span class={`badge r-${e.result}`}>{t(`history.${e.result}`)}</span>
          {e.rolledBack && <span class="badge b-Error">{t('history.rolledBack')}</span>}
        </>
      ),
    },
    { label: t('history.trigger'), cell: (e) => e.trigger.kind },
    { label: t('history.digests'), class: 'mono', cell: (e) => `${shortDigest(e.oldDigest)} → ${shortDigest(e.newDigest)}` },
    { label: t('history.duration'), cell: (e) => `${(e.durationMs / 1000).toFixed(1)} s` },
    {
      label: t('history.reason'),
      class: 'wrap',
      cell: (e) => (
        <>
          {e.error ?? ''}
          {e.logs && (
            <details>
              <summary>{t('detail.logs')}</summary>
              <pre class="log small">{e.logs}</pre>
            </details>
          )}
        </>
      ),
    },
  ];
  return <DataTable rows={entries} columns={columns} rowKey={(e) => e.id} rowAttrs={(e) => ({ 'data-result': e.result })} />;
}

/** Every update attempt across containers, newest first. */
export function History() {
  const page = useSignal(1);
  const { data, error, load } = useData(() => get<{ entries: HistoryEntry[]; total: number }>(`/api/updates/history?page=${page.value}&pageSize=${PAGE_SIZE}`));
  useEffect(() => void load(), [page.value]);
  return (
    <section aria-labelledby="page-title">
      <PageHead title={t('history.title')} />
      <ErrorBox err={error.value} onRetry={() => void load()} />
      {data.value ? (
        <>
          <HistoryTable entries={data.value.entries} withName />
          <Pager page={page.value} pages={Math.max(1, Math.ceil(data.value.total / PAGE_SIZE))} onPage={(p) => (page.value = p)} />
        </>
      ) : (
        !error.value && <Loading />
      )}
    </section>
  );
}
