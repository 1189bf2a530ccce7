import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { ApiError, del, get, type Image } from '../api';
import { formatBytes, formatDate, t } from '../i18n';
import { confirmed, errorText, ErrorBox, Link, Pager, shortDigest, toast } from '../ui';

const PAGE_SIZE = 50;

/** Images with size and the containers using them; delete one, prune dangling ones. */
export function Images() {
  const list = useSignal<Image[] | null>(null);
  const error = useSignal<unknown>(null);
  const page = useSignal(1);
  const q = useSignal('');
  const load = async () => {
    try {
      const r = await get<{ images: Image[] }>('/api/images');
      list.value = r.images.sort((a, b) => (a.repoTags[0] ?? '~').localeCompare(b.repoTags[0] ?? '~'));
      error.value = null;
    } catch (err) {
      error.value = err;
    }
  };
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
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          {t('images.title')}
        </h1>
        <button type="button" onClick={() => void prune()}>
          {t('images.prune')}
        </button>
      </div>
      <div class="filters" role="search">
        <input type="search" aria-label={t('containers.search')} placeholder={t('containers.search')} value={q.value} onInput={(e) => ((q.value = (e.currentTarget as HTMLInputElement).value), (page.value = 1))} />
      </div>
      {error.value ? <ErrorBox err={error.value} onRetry={() => void load()} /> : null}
      {!list.value && !error.value && <p>{t('ui.loading')}</p>}
      {list.value && (
        <>
          <div class="table-wrap">
            <table class="cards">
              <thead>
                <tr>
                  <th scope="col">{t('images.tags')}</th>
                  <th scope="col">{t('detail.id')}</th>
                  <th scope="col">{t('images.size')}</th>
                  <th scope="col">{t('images.users')}</th>
                  <th scope="col">{t('images.created')}</th>
                  <th scope="col">{t('ui.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((img) => (
                  <tr key={img.id} data-id={img.id}>
                    <td data-label={t('images.tags')} class="mono wrap">
                      {img.repoTags.length ? img.repoTags.join(', ') : t('images.untagged')}
                    </td>
                    <td data-label={t('detail.id')} class="mono">
                      {shortDigest(img.id)}
                    </td>
                    <td data-label={t('images.size')}>{formatBytes(img.size)}</td>
                    <td data-label={t('images.users')}>
                      {img.containers.length === 0
                        ? '—'
                        : img.containers.map((c, i) => (
                            <span key={c.id}>
                              {i > 0 && ', '}
                              <Link href={`/containers/${encodeURIComponent(c.name)}`}>{c.name}</Link>
                            </span>
                          ))}
                    </td>
                    <td data-label={t('images.created')}>{formatDate(img.created)}</td>
                    <td data-label={t('ui.actions')} class="actions">
                      <button type="button" class="small danger" onClick={() => void remove(img)} aria-label={`${t('containers.delete')} ${img.repoTags[0] ?? shortDigest(img.id)}`}>
                        {t('containers.delete')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={Math.min(page.value, pages)} pages={pages} onPage={(p) => (page.value = p)} />
        </>
      )}
    </section>
  );
}
