import { useSignal } from '@preact/signals';
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { get, token } from './api';
import { currentHost, hosts, loadServerFeatures, shellEnabled, signOut, switchHost, watchHosts } from './session';
import { lang, t, type Key } from './i18n';
import { Prefs } from './prefs';
import { live, startLive, stopLive } from './live';
import { Login } from './pages/login';
import { Containers } from './pages/containers';
import { ContainerDetail } from './pages/container-detail';
import { Images } from './pages/images';
import { Compose, ComposeEdit } from './pages/compose';
import { Terminal } from './pages/terminal';
import { History } from './pages/history';
import { Settings } from './pages/settings';
import { Hosts } from './pages/hosts';
import { match, path } from './router';
import { ConfirmHost, Link, Toasts } from './ui';
import './styles.css';

const NAV: { href: string; key: Key; shell?: boolean; hosts?: boolean }[] = [
  { href: '/', key: 'nav.containers' },
  { href: '/images', key: 'nav.images' },
  { href: '/compose', key: 'nav.compose' },
  { href: '/terminal', key: 'nav.terminal', shell: true },
  { href: '/history', key: 'nav.history' },
  { href: '/settings', key: 'nav.settings' },
  { href: '/settings/hosts', key: 'nav.hosts', hosts: true },
];

function section(p: string): string {
  if (p === '/' || p.startsWith('/containers')) return '/';
  if (p === '/settings/hosts') return p;
  return `/${p.split('/')[1] ?? ''}`;
}

function Page() {
  const p = path.value;
  let m: Record<string, string> | null;
  if (p === '/' || p === '/containers') return <Containers />;
  if ((m = match('/containers/:id', p))) return <ContainerDetail id={m.id as string} />;
  if (p === '/images') return <Images />;
  if (p === '/compose') return <Compose />;
  if (p === '/compose/new') return <ComposeEdit name={null} />;
  if ((m = match('/compose/:name/edit', p))) return <ComposeEdit name={m.name as string} />;
  if (p === '/terminal') return <Terminal />;
  if (p === '/history') return <History />;
  if (p === '/settings') return <Settings />;
  if (p === '/settings/hosts') return <Hosts />;
  return <Containers />;
}

function Shell() {
  useEffect(() => {
    void loadServerFeatures();
    startLive();
    const unwatch = watchHosts();
    return () => {
      unwatch();
      stopLive();
    };
  }, []);
  const here = section(path.value);
  return (
    <div class="layout">
      <a class="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header class="top">
        <Link href="/" class="brand">
          <img src="/favicon.svg" alt="" width={22} height={22} /> <span class="brand-text">{t('app.title')}</span>
        </Link>
        {hosts.value && hosts.value.length > 0 && (
          <label class="host">
            <span>{t('ui.host')}</span>
            <select data-testid="host-switcher" value={currentHost.value ?? ''} onChange={(e) => switchHost((e.currentTarget as HTMLSelectElement).value || null)}>
              {hosts.value.map((h) => (
                <option key={h.name} value={h.name}>
                  {h.online ? h.name : `${h.name} (${t('hosts.offline')})`}
                </option>
              ))}
            </select>
          </label>
        )}
        <span class={`live-dot ${live.value ? 'on' : ''}`} title={live.value ? t('ui.live') : t('ui.offline')}>
          <span class="sr-only">{live.value ? t('ui.live') : t('ui.offline')}</span>
        </span>
        <Prefs />
        <button type="button" class="link" onClick={() => void signOut()}>
          {t('ui.signOut')}
        </button>
      </header>
      <nav class="side" aria-label={t('nav.main')}>
        <ul>
          {NAV.filter((n) => (!n.shell || shellEnabled.value) && (!n.hosts || hosts.value !== null)).map((n) => (
            <li key={n.href}>
              <Link href={n.href} aria-current={here === n.href ? 'page' : undefined}>
                {t(n.key)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {/* keyed on the host: choosing another host reloads the page's data (the Hosts page is about all hosts) */}
        <Page key={path.value === '/settings/hosts' ? '' : (currentHost.value ?? '')} />
      </main>
    </div>
  );
}

function App() {
  const checked = useSignal(false);
  useEffect(() => {
    // A stored token may be stale: the first call tells (a 401 clears it).
    if (token.value) get('/api/v1/tokens').catch(() => undefined).finally(() => (checked.value = true));
    else checked.value = true;
  }, []);
  // read lang so the whole tree re-renders on a language switch
  void lang.value;
  return (
    <>
      {!checked.value ? <p class="center">{t('ui.loading')}</p> : token.value ? <Shell /> : <Login />}
      <ConfirmHost />
      <Toasts />
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
