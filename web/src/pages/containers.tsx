import { useComputed, useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { del, get, post, type Container, type HistoryEntry, type Status } from '../api';
import { formatDate, t } from '../i18n';
import { containerEvents } from '../live';
import { confirmed, DataTable, errorText, ErrorBox, Link, Loading, PageHead, Pager, SearchBox, shortDigest, StatusBadge, toast, useData, type Column } from '../ui';

const PAGE_SIZE = 50;
const STATUSES: (Status | 'RateLimited')[] = ['UpdateAvailable', 'UpToDate', 'Skipped', 'Error', 'RateLimited', 'NotChecked'];

/**
 * Reloads a list when the event stream reports a change. Throttled: a burst of events (an
 * update stops, renames, creates and starts containers) is one reload, at most one runs at a
 * time, and one more follows if events came in while it ran.
 */
export function useEventReload(reload: () => void | Promise<void>): void {
  const latest = useRef(reload);
  latest.current = reload;
  const seen = useRef(containerEvents.value);
  const state = useRef<{ timer?: ReturnType<typeof setTimeout>; running: boolean; again: boolean }>({ running: false, again: false });
  const ev = containerEvents.value;
  useEffect(() => {
    if (seen.current === ev) return;
    seen.current = ev;
    const st = state.current;
    if (st.running) {
      st.again = true;
      return;
    }
    if (st.timer) return;
    const fire = () => {
      st.timer = undefined;
      st.running = true;
      Promise.resolve(latest.current())
        .catch(() => undefined)
        .finally(() => {
          st.running = false;
          if (st.again) {
            st.again = false;
            st.timer = setTimeout(fire, 500);
          }
        });
    };
    st.timer = setTimeout(fire, 500);
  }, [ev]);
  useEffect(() => () => clearTimeout(state.current.timer), []);
}

/** The home page: every container with its update status, filters, and actions. */
export function Containers() {
  const { data: list, error, load } = useData(async () => (await get<{ containers: Container[] }>('/api/containers?all=true')).containers.sort((a, b) => a.name.localeCompare(b.name)));
  const q = useSignal(new URLSearchParams(location.search).get('q') ?? '');
  const status = useSignal<string>('');
  const state = useSignal<string>('');
  const page = useSignal(1);
  const busy = useSignal<Record<string, string>>({});
  const scanning = useSignal(false);
  const updatingAll = useSignal(false);

  useEffect(() => void load(), []);
  useEventReload(load);

  const filtered = useComputed(() => {
    const needle = q.value.trim().toLowerCase();
    return (list.value ?? []).filter((c) => {
      if (needle && !`${c.name} ${c.image} ${c.compose?.project ?? ''}`.toLowerCase().includes(needle)) return false;
      if (state.value === 'running' && !c.running) return false;
      if (state.value === 'stopped' && c.running) return false;
      if (status.value) {
        const rate = c.status === 'Error' && c.errorKind === 'rate_limited';
        if (status.value === 'RateLimited' ? !rate : c.status !== status.value || (status.value === 'Error' && rate)) return false;
      }
      return true;
    });
  });
  const available = useComputed(() => (list.value ?? []).filter((c) => c.status === 'UpdateAvailable'));
  const pages = Math.max(1, Math.ceil(filtered.value.length / PAGE_SIZE));
  if (page.value > pages) page.value = pages;
  const rows = filtered.value.slice((page.value - 1) * PAGE_SIZE, page.value * PAGE_SIZE);

  const act = async (c: Container, label: string, work: () => Promise<unknown>) => {
    busy.value = { ...busy.value, [c.name]: label };
    try {
      await work();
      return true;
    } catch (err) {
      toast(errorText(err), 'error');
      return false;
    } finally {
      const { [c.name]: _, ...rest } = busy.value;
      busy.value = rest;
      await load();
    }
  };
  const update = (c: Container) =>
    act(c, t('containers.updating'), async () => {
      try {
        await post<HistoryEntry>(`/api/containers/${encodeURIComponent(c.name)}/update`);
        toast(t('containers.updated', { name: c.name }));
      } catch (err) {
        throw new Error(t('containers.updateFailed', { name: c.name, msg: errorText(err) }));
      }
    });
  const startStop = async (c: Container) => {
    if (c.running && !(await confirmed(t('containers.stopConfirm', { name: c.name }), { confirm: t('containers.stop') }))) return;
    await act(c, '…', () => post(`/api/containers/${encodeURIComponent(c.id)}/${c.running ? 'stop' : 'start'}`));
  };
  const remove = async (c: Container) => {
    if (!(await confirmed(t('containers.deleteConfirm', { name: c.name }), { confirm: t('containers.delete'), danger: true }))) return;
    if (await act(c, '…', () => del(`/api/containers/${encodeURIComponent(c.id)}${c.running ? '?force=true' : ''}`))) toast(t('containers.done', { name: c.name }));
  };
  const scan = async () => {
    scanning.value = true;
    try {
      const r = await post<{ containers: Container[]; total: number }>('/api/scan');
      toast(t('containers.scanned', { n: r.total }));
      await load();
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      scanning.value = false;
    }
  };
  const updateAll = async () => {
    const n = available.value.length;
    if (!(await confirmed(t('containers.updateAllConfirm', { n }), { confirm: t('containers.update') }))) return;
    updatingAll.value = true;
    try {
      const r = await post<{ results: HistoryEntry[]; skipped: unknown[] }>('/api/updates/run');
      const ok = r.results.filter((x) => x.result === 'updated').length;
      const failed = r.results.filter((x) => x.result === 'failed').length;
      toast(t('containers.updateAllDone', { ok, failed, skipped: r.skipped.length }), failed ? 'error' : 'ok');
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      updatingAll.value = false;
      await load();
    }
  };

  const columns: Column<Container>[] = [
    { label: t('ui.name'), cell: (c) => <NameCell c={c} /> },
    { label: t('containers.status'), cell: (c) => <StatusCell c={c} /> },
    { label: t('containers.image'), class: 'mono wrap', cell: (c) => c.image },
    { label: t('containers.digest'), class: 'mono', cell: (c) => <DigestCell c={c} /> },
    { label: t('ui.actions'), class: 'actions', cell: (c) => <Actions c={c} busy={busy.value[c.name]} onUpdate={update} onStartStop={startStop} onDelete={remove} /> },
  ];
  const setFilter = (s: { value: string }, v: string) => ((s.value = v), (page.value = 1));

  return (
    <section aria-labelledby="page-title">
      <PageHead title={t('containers.title')}>
        <div class="row">
          <button type="button" onClick={() => void scan()} disabled={scanning.value} aria-busy={scanning.value}>
            {scanning.value ? t('containers.scanning') : t('containers.scan')}
          </button>
          <button type="button" class="primary" onClick={() => void updateAll()} disabled={available.value.length === 0 || updatingAll.value} aria-busy={updatingAll.value}>
            {updatingAll.value ? t('containers.updating') : t('containers.updateAll', { n: available.value.length })}
          </button>
        </div>
      </PageHead>
      <div class="filters" role="search">
        <SearchBox value={q.value} onInput={(v) => setFilter(q, v)} />
        <select aria-label={t('containers.filterStatus')} value={status.value} onChange={(e) => setFilter(status, (e.currentTarget as HTMLSelectElement).value)}>
          <option value="">
            {t('containers.filterStatus')}: {t('containers.all')}
          </option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`status.${s}`)}
            </option>
          ))}
        </select>
        <select aria-label={t('containers.filterState')} value={state.value} onChange={(e) => setFilter(state, (e.currentTarget as HTMLSelectElement).value)}>
          <option value="">
            {t('containers.filterState')}: {t('containers.all')}
          </option>
          <option value="running">{t('containers.running')}</option>
          <option value="stopped">{t('containers.stopped')}</option>
        </select>
      </div>
      <ErrorBox err={error.value} onRetry={() => void load()} />
      {list.value === undefined && !error.value && <Loading />}
      {list.value && (
        <>
          <p class="muted" aria-live="polite">
            {t('containers.count', { shown: filtered.value.length, total: list.value.length })}
          </p>
          <DataTable rows={rows} columns={columns} rowKey={(c) => c.id} rowAttrs={(c) => ({ 'data-name': c.name, 'data-status': c.status, 'aria-busy': busy.value[c.name] ? true : undefined })} />
          <Pager page={page.value} pages={pages} onPage={(p) => (page.value = p)} />
        </>
      )}
    </section>
  );
}

function NameCell({ c }: { c: Container }) {
  return (
    <>
      <Link href={`/containers/${encodeURIComponent(c.name)}`}>{c.name}</Link>
      <span class={`state ${c.running ? 'on' : 'off'}`}>{c.running ? t('containers.running') : c.state}</span>
      {c.compose && (
        <span class="sub">
          {t('containers.project')}: {c.compose.project}/{c.compose.service}
        </span>
      )}
    </>
  );
}

function StatusCell({ c }: { c: Container }) {
  return (
    <>
      <StatusBadge c={c} />
      <span class="sub">
        {t('containers.checked')}: {c.lastCheckedAt ? formatDate(c.lastCheckedAt) : t('containers.never')}
      </span>
    </>
  );
}

function DigestCell({ c }: { c: Container }) {
  return (
    <>
      <span title={c.currentDigest}>{shortDigest(c.currentDigest)}</span>
      {c.remoteDigest && c.remoteDigest !== c.currentDigest ? <span title={c.remoteDigest}> → {shortDigest(c.remoteDigest)}</span> : null}
    </>
  );
}

function Actions(props: { c: Container; busy: string | undefined; onUpdate: (c: Container) => unknown; onStartStop: (c: Container) => unknown; onDelete: (c: Container) => unknown }) {
  const { c, busy } = props;
  if (busy) return <span class="muted">{busy}</span>;
  return (
    <>
      {c.status === 'UpdateAvailable' && (
        <button type="button" class="primary small" onClick={() => props.onUpdate(c)} aria-label={`${t('containers.update')} ${c.name}`}>
          {t('containers.update')}
        </button>
      )}
      <button type="button" class="small" onClick={() => props.onStartStop(c)} aria-label={`${c.running ? t('containers.stop') : t('containers.start')} ${c.name}`}>
        {c.running ? t('containers.stop') : t('containers.start')}
      </button>
      <button type="button" class="small danger" onClick={() => props.onDelete(c)} aria-label={`${t('containers.delete')} ${c.name}`}>
        {t('containers.delete')}
      </button>
    </>
  );
}
