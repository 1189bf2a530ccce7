import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, del, get, post, type ComposeProject } from '../api';
import { t, type Key } from '../i18n';
import { LiveLog } from '../live-log';
import { navigate } from '../router';
import { confirmDialog, EmptyState, errorText, ErrorBox, Link, Loading, PageHead, toast } from '../ui';
import { openStream, type Stream } from '../ws';
import { useEventReload } from './containers';

type Action = 'start' | 'stop' | 'restart' | 'pull' | 'update';
const ACTIONS: Action[] = ['start', 'stop', 'restart', 'pull', 'update'];

/** Compose projects: status, services, updates; actions with live progress; logs. */
export function Compose() {
  const list = useSignal<ComposeProject[] | null>(null);
  const error = useSignal<unknown>(null);
  const missing = useSignal(false);
  const running = useSignal<Record<string, Action>>({});
  const open = useSignal<{ name: string; view: 'progress' | 'logs' } | null>(null);

  const load = async () => {
    try {
      list.value = (await get<ComposeProject[]>('/api/compose')).sort((a, b) => a.name.localeCompare(b.name));
      error.value = null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) missing.value = true;
      else error.value = err;
    }
  };
  useEffect(() => void load(), []);
  useEventReload(load);

  const act = async (p: ComposeProject, action: Action) => {
    running.value = { ...running.value, [p.name]: action };
    open.value = { name: p.name, view: 'progress' };
    const label = t(`compose.${action}` as Key);
    try {
      await post(`/api/compose/${action}`, { name: p.name });
      toast(t('compose.actionDone', { action: label, name: p.name }));
    } catch (err) {
      toast(t('compose.actionFailed', { action: label, name: p.name, msg: errorText(err) }), 'error');
    } finally {
      const { [p.name]: _, ...rest } = running.value;
      running.value = rest;
      await load();
    }
  };
  const remove = async (p: ComposeProject) => {
    const r = await confirmDialog(t('compose.deleteConfirm', { name: p.name }), { confirm: t('compose.delete'), danger: true, ...(p.managed ? { checkbox: t('compose.deleteFiles') } : {}) });
    if (!r.ok) return;
    try {
      await del('/api/compose/delete', { name: p.name, removeFiles: r.checked });
      toast(t('containers.done', { name: p.name }));
    } catch (err) {
      toast(errorText(err), 'error');
    }
    await load();
  };

  return (
    <section aria-labelledby="page-title">
      <PageHead title={t('compose.title')}>
        {!missing.value && (
          <Link href="/compose/new" class="button primary">
            {t('compose.new')}
          </Link>
        )}
      </PageHead>
      {missing.value && <p class="muted">{t('compose.unavailable')}</p>}
      <ErrorBox err={error.value} onRetry={() => void load()} />
      {!list.value && !error.value && !missing.value && <Loading />}
      {list.value?.length === 0 && <EmptyState />}
      <div class="projects">
        {list.value?.map((p) => (
          <article key={p.name} class="card project" data-project={p.name} data-status={p.status} aria-labelledby={`proj-${p.name}`}>
            <header class="row spread">
              <h2 id={`proj-${p.name}`}>{p.name}</h2>
              <span class={`badge c-${p.status}`}>{t(`cstatus.${p.status}` as Key)}</span>
              {p.updateAvailable && <span class="badge b-UpdateAvailable">{t('compose.updateAvailable')}</span>}
              {!p.managed && <span class="muted small">{t('compose.unmanaged')}</span>}
            </header>
            <ErrorBox err={p.error} role={null} />
            <ul class="services" aria-label={t('compose.services')}>
              {p.services.map((s) => (
                <li key={s.name}>
                  <strong>{s.name}</strong> <span class="mono wrap">{s.image}</span>{' '}
                  {s.containers.map((c) => (
                    <span key={c.id} class={`state ${c.state === 'running' ? 'on' : 'off'}`}>
                      {c.state}
                    </span>
                  ))}
                  {s.updateAvailable && <span class="badge b-UpdateAvailable">{t('compose.updateAvailable')}</span>}
                </li>
              ))}
            </ul>
            <div class="row wrap-row">
              {ACTIONS.map((a) => (
                <button key={a} type="button" class="small" disabled={!!running.value[p.name]} aria-busy={running.value[p.name] === a} onClick={() => void act(p, a)} aria-label={`${t(`compose.${a}` as Key)} ${p.name}`}>
                  {t(`compose.${a}` as Key)}
                </button>
              ))}
              {p.managed && (
                <Link href={`/compose/${encodeURIComponent(p.name)}/edit`} class="button small">
                  {t('compose.edit')}
                </Link>
              )}
              <button type="button" class="small" aria-pressed={open.value?.name === p.name && open.value.view === 'logs'} onClick={() => (open.value = open.value?.name === p.name && open.value.view === 'logs' ? null : { name: p.name, view: 'logs' })}>
                {t('compose.logs')}
              </button>
              <button type="button" class="small danger" disabled={!!running.value[p.name]} onClick={() => void remove(p)} aria-label={`${t('compose.delete')} ${p.name}`}>
                {t('compose.delete')}
              </button>
            </div>
            {open.value?.name === p.name && open.value.view === 'progress' && <Progress name={p.name} />}
            {open.value?.name === p.name && open.value.view === 'logs' && (
              <LiveLog path={`/api/compose/logs/ws?name=${encodeURIComponent(p.name)}&tail=200&follow=1`} filename={`${p.name}.log`} label={`${t('compose.logs')}: ${p.name}`} />
            )}
          </article>
        ))}
      </div>
    </section>
  );
}

/** Lines of the project's running compose action (/api/compose/progress/ws). */
export function Progress({ name }: { name: string }) {
  const lines = useSignal<string[]>([]);
  useEffect(() => {
    let s: Stream | null = null;
    let gone = false;
    openStream(`/api/compose/progress/ws?name=${encodeURIComponent(name)}`, {
      onFrame: (f) => {
        if (f.type === 'start') lines.value = [...lines.value, `▶ ${f.action}`];
        else if (f.type === 'line') lines.value = [...lines.value.slice(-1000), f.text];
        else if (f.type === 'done') lines.value = [...lines.value, `${f.ok ? '✓' : '✗'} ${f.action}${f.error ? `: ${f.error}` : ''}`];
        else if (f.type === 'error') lines.value = [...lines.value, f.msg];
      },
    }).then(
      (x) => (gone ? x.close() : (s = x)),
      () => undefined,
    );
    return () => {
      gone = true;
      s?.close();
    };
  }, [name]);
  return (
    <pre class="log" tabIndex={0} aria-label={`${t('compose.progress')}: ${name}`} aria-live="polite">
      {lines.value.join('\n')}
    </pre>
  );
}

const TEMPLATE = `services:
  web:
    image: nginx:latest
    network_mode: host
    restart: unless-stopped
`;

/** Create (name === null) or edit a project's compose file; the server validates it with docker compose config. */
export function ComposeEdit({ name }: { name: string | null }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<{ value(): string; set(s: string): void; destroy(): void } | null>(null);
  const projectName = useSignal(name ?? '');
  const loaded = useSignal(false);
  const problem = useSignal<string | null>(null);
  const busy = useSignal(false);

  useEffect(() => {
    let gone = false;
    (async () => {
      let text = TEMPLATE;
      if (name) {
        try {
          text = (await get<{ yaml: string }>(`/api/compose/file?name=${encodeURIComponent(name)}`)).yaml;
        } catch (err) {
          problem.value = errorText(err);
        }
      }
      const { mountYamlEditor } = await import('../lazy/yaml-editor');
      if (gone || !host.current) return;
      editor.current = mountYamlEditor(host.current, text, t('compose.yaml'), () => (problem.value = null));
      loaded.value = true;
    })().catch((err: unknown) => (problem.value = errorText(err)));
    return () => {
      gone = true;
      editor.current?.destroy();
    };
  }, [name]);

  const save = async (ev: Event) => {
    ev.preventDefault();
    const yaml = editor.current?.value() ?? '';
    busy.value = true;
    problem.value = null;
    try {
      await post('/api/compose/create', { name: projectName.value.trim(), yaml, overwrite: name !== null });
      if (name === null) await post('/api/compose/start', { name: projectName.value.trim() });
      toast(t('containers.done', { name: projectName.value }));
      navigate('/compose');
    } catch (err) {
      problem.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };

  return (
    <section aria-labelledby="page-title">
      <p>
        <Link href="/compose">← {t('compose.title')}</Link>
      </p>
      <PageHead title={name ? `${t('compose.edit')}: ${name}` : t('compose.new')} />
      <form onSubmit={(e) => void save(e)} class="compose-form">
        <label>
          {t('compose.name')}
          <input name="name" required pattern="[a-z0-9][a-z0-9_-]*" value={projectName.value} readOnly={name !== null} onInput={(e) => (projectName.value = (e.currentTarget as HTMLInputElement).value)} />
        </label>
        <div class="editor-label" id="yaml-label">
          {t('compose.yaml')}
        </div>
        {!loaded.value && <p class="muted">{t('compose.editorLoading')}</p>}
        <div ref={host} class="editor" aria-labelledby="yaml-label" />
        <ErrorBox err={problem.value} title={t('compose.invalid')} pre testid="compose-error" />
        <button type="submit" class="primary" disabled={busy.value || !loaded.value} aria-busy={busy.value}>
          {name ? t('compose.saveFile') : t('compose.create')}
        </button>
      </form>
    </section>
  );
}
