import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { ApiError, del, get, type Image } from '../api';
import { formatBytes, formatDate, t } from '../i18n';
import { confirmed, DataTable, errorText, ErrorBox, Link, Loading, PageHead, Pager, SearchBox, shortDigest, toast, useData, type Column } from '../ui';

const PAGE_SIZE = 50;

/** Images with size and the containers using them; delete one, prune dangling ones. */
export function Images() {
  const { data: list, error, load } = useData(async () => (await get<{ images: Image[] }>('/api/images')).images.sort((a, b) => (a.repoTags[0] ?? '~').localeCompare(b.repoTags[0] ?? '~')));
  const page = useSignal(1);
  const q = useSignal('');
  useEffect(() => void load(), []);

  const remove = async (img: Image) => {
    const name = img.repoTags[0] ?? img.id.slice(7, 19);
    if (!(await confirmed(t('images.deleteConfirm', { name }), { confirm: t('containers.delete'), danger: true }))) return;
    const target = `id=${encodeURIComponent(img.id)}`;
    try {
      try {
        await del(`/api/images?${target}`);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
        const users = img.containers.map((c) => c.name).join(', ');
        if (!(await confirmed(t('images.deleteForceConfirm', { name, users }), { confirm: t('containers.delete'), danger: true }))) return;
        await del(`/api/images?${target}&force=true`);
      }
      toast(t('containers.done', { name }));
    } catch (err) {
      toast(errorText(err), 'error');
    }
    await load();
  };
  const prune = async () => {
    if (!(await confirmed(t('images.pruneConfirm'), { confirm: t('images.prune'), danger: true }))) return;
    try {
      const r = await del<{ removed: string[]; failed: { id: string; error: string }[] }>('/api/images?prune=dangling');
      toast(t('images.pruned', { n: r.removed.length }), r.failed.length ? 'error' : 'ok');
    } catch (err) {
      toast(errorText(err), 'error');
    }
    await load();
  };

  const needle = q.value.trim().toLowerCase();
  const filtered = (list.value ?? []).filter((i) => !needle || `${i.repoTags.join(' ')} ${i.id}`.toLowerCase().includes(needle));
  const pages = Math.max(1, Math.ceil(filtered.length / PAGE_SIZE));
  const rows = filtered.slice((Math.min(page.value, pages) - 1) * PAGE_SIZE, Math.min(page.value, pages) * PAGE_SIZE);
  const columns: Column<Image>[] = [
    { label: t('images.tags'), class: 'mono wrap', cell: (img) => (img.repoTags.length ? img.repoTags.join(', ') : t('images.untagged')) },
    { label: t('detail.id'), class: 'mono', cell: (img) => shortDigest(img.id) },
    { label: t('images.size'), cell: (img) => formatBytes(img.size) },
    {
      label: t('images.users'),
      cell: (img) =>
        img.containers.length === 0
          ? '—'
          : img.containers.map((c, i) => (
              <span key={c.id}>
                {i > 0 && ', '}
                <Link href={`/containers/${encodeURIComponent(c.name)}`}>{c.name}</Link>
              </span>
            )),
    },
    { label: t('images.created'), cell: (img) => formatDate(img.created) },
    {
      label: t('ui.actions'),
      class: 'actions',
      cell: (img) => (
        <button type="button" class="small danger" onClick={() => void remove(img)} aria-label={`${t('containers.delete')} ${img.repoTags[0] ?? shortDigest(img.id)}`}>
          {t('containers.delete')}
        </button>
      ),
    },
  ];
  return (
    <section aria-labelledby="page-title">
      <PageHead title={t('images.title')}>
        <button type="button" onClick={() => void prune()}>
          {t('images.prune')}
        </button>
      </PageHead>
      <div class="filters" role="search">
        <SearchBox value={q.value} onInput={(v) => ((q.value = v), (page.value = 1))} />
      </div>
      <ErrorBox err={error.value} onRetry={() => void load()} />
      {!list.value && !error.value && <Loading />}
      {list.value && (
        <>
          <DataTable rows={rows} columns={columns} rowKey={(img) => img.id} rowAttrs={(img) => ({ 'data-id': img.id })} />
          <Pager page={Math.min(page.value, pages)} pages={pages} onPage={(p) => (page.value = p)} />
        </>
      )}
    </section>
  );
}
