import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { del, get, post, setToken, type MachineToken, type TwoFAStatus } from '../api';
import { formatDate, t } from '../i18n';
import { Prefs } from '../prefs';
import { hosts, signOut } from '../session';
import { confirmed, copyText, DataTable, errorText, ErrorBox, Link, PageHead, toast, useData, type Column } from '../ui';
import { RecoveryCodes } from './login';

/** Second factor, recovery codes, machine tokens, appearance. */
export function Settings() {
  return (
    <section aria-labelledby="page-title">
      <PageHead title={t('settings.title')} />
      {hosts.value !== null && (
        <p>
          <Link href="/settings/hosts">{t('settings.hosts')}</Link>
        </p>
      )}
      <TwoFactor />
      <Tokens />
      <h2>{t('settings.appearance')}</h2>
      <Prefs />
      <p>
        <button type="button" onClick={() => void signOut(true)}>
          {t('settings.signOutAll')}
        </button>
      </p>
    </section>
  );
}

function TwoFactor() {
  const { data: st, error, load } = useData(() => get<TwoFAStatus>('/api/v1/2fa/status'));
  const otp = useSignal<{ secret: string; qrCode: string } | null>(null);
  const codes = useSignal<string[] | null>(null);
  const msg = useSignal<string | null>(null);
  useEffect(() => void load(), []);

  /** A finished set-up trades the token for a new one (the old one is revoked). */
  const done = (r: { token: string; recoveryCodes: string[] | null }) => {
    setToken(r.token);
    if (r.recoveryCodes) codes.value = r.recoveryCodes;
    void load();
  };
  const startOtp = async () => {
    try {
      otp.value = await post('/api/v1/2fa/setup/otp/init');
    } catch (err) {
      msg.value = errorText(err);
    }
  };
  const verifyOtp = async (ev: Event) => {
    ev.preventDefault();
    const code = String(new FormData(ev.currentTarget as HTMLFormElement).get('code') ?? '').trim();
    try {
      done(await post('/api/v1/2fa/setup/otp/verify', { code }));
      otp.value = null;
      msg.value = null;
    } catch (err) {
      msg.value = errorText(err);
    }
  };
  const addKey = async () => {
    try {
      const { startRegistration } = await import('@simplewebauthn/browser');
      const optionsJSON = await post<Parameters<typeof startRegistration>[0]['optionsJSON']>('/api/v1/2fa/setup/webauthn/begin');
      const response = await startRegistration({ optionsJSON });
      done(await post('/api/v1/2fa/setup/webauthn/finish', response));
      toast(t('settings.keyAdded'));
      msg.value = null;
    } catch (err) {
      msg.value = errorText(err);
    }
  };
  const disable = async (ev: Event) => {
    ev.preventDefault();
    const code = String(new FormData(ev.currentTarget as HTMLFormElement).get('code') ?? '').trim();
    try {
      await post('/api/v1/2fa/disable', { code });
      toast(t('settings.disabled'));
      setToken(null);
    } catch (err) {
      msg.value = errorText(err);
    }
  };

  const s = st.value;
  return (
    <>
      <h2>{t('settings.twofa')}</h2>
      <ErrorBox err={error.value} />
      {codes.value && <RecoveryCodes codes={codes.value} onDone={() => (codes.value = null)} />}
      {s && !s.enabled && <p class="muted">{t('settings.twofaOff')}</p>}
      {s?.enabled && (
        <div class="card">
          <p>{s.methods.length ? t('settings.methods', { methods: s.methods.join(', ') }) : t('settings.noMethods')}</p>
          <p>{t('settings.recoveryLeft', { n: s.recoveryCodesLeft })}</p>
          <ErrorBox err={msg.value} />
          <div class="row wrap-row">
            {!s.methods.includes('otp') && (
              <button type="button" onClick={() => void startOtp()}>
                {t('settings.addOtp')}
              </button>
            )}
            {s.webauthn.available && (
              <button type="button" onClick={() => void addKey()}>
                {t('settings.addWebauthn')}
              </button>
            )}
          </div>
          {otp.value && (
            <form onSubmit={(e) => void verifyOtp(e)}>
              <p>{t('twofa.scan')}</p>
              <img class="qr" src={otp.value.qrCode} alt={t('twofa.qr')} width={200} height={200} />
              <p>
                {t('twofa.secret')}: <code class="secret">{otp.value.secret}</code>
              </p>
              <label>
                {t('twofa.code')}
                <input name="code" inputMode="numeric" autocomplete="one-time-code" required />
              </label>
              <button type="submit" class="primary">
                {t('twofa.verify')}
              </button>
            </form>
          )}
          {s.isSetup && (
            <form onSubmit={(e) => void disable(e)} class="row wrap-row">
              <label>
                {t('settings.disableCode')}
                <input name="code" autocomplete="off" required />
              </label>
              <button type="submit" class="danger">
                {t('settings.disable')}
              </button>
            </form>
          )}
        </div>
      )}
    </>
  );
}

const list = (s: FormDataEntryValue | null) =>
  String(s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function Tokens() {
  const { data: tokens, error, load } = useData(async () => (await get<{ tokens: MachineToken[] }>('/api/v1/tokens')).tokens);
  const created = useSignal<{ name: string; token: string } | null>(null);
  const msg = useSignal<string | null>(null);
  useEffect(() => void load(), []);
  const create = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    const images = list(f.get('images'));
    const containers = list(f.get('containers'));
    try {
      const r = await post<{ name: string; token: string }>('/api/v1/tokens', {
        name: String(f.get('name') ?? '').trim(),
        scope: { ...(images.length ? { images } : {}), ...(containers.length ? { containers } : {}) },
      });
      created.value = { name: r.name, token: r.token };
      msg.value = null;
      form.reset();
      await load();
    } catch (err) {
      msg.value = errorText(err);
    }
  };
  const revoke = async (name: string) => {
    if (!(await confirmed(t('settings.tokenRevokeConfirm', { name }), { confirm: t('settings.tokenRevoke'), danger: true }))) return;
    try {
      await del(`/api/v1/tokens/${encodeURIComponent(name)}`);
      if (created.value?.name === name) created.value = null;
    } catch (err) {
      toast(errorText(err), 'error');
    }
    await load();
  };
  const columns: Column<MachineToken>[] = [
    { label: t('ui.name'), cell: (tk) => tk.name },
    { label: t('settings.scope'), class: 'mono wrap', cell: (tk) => [...(tk.scope.images ?? []), ...(tk.scope.containers ?? []).map((c) => `container:${c}`)].join(', ') },
    { label: t('settings.created'), cell: (tk) => formatDate(tk.createdAt) },
    { label: t('settings.lastUsed'), cell: (tk) => formatDate(tk.lastUsedAt) },
    {
      label: t('ui.actions'),
      class: 'actions',
      cell: (tk) => (
        <button type="button" class="small danger" onClick={() => void revoke(tk.name)} aria-label={`${t('settings.tokenRevoke')} ${tk.name}`}>
          {t('settings.tokenRevoke')}
        </button>
      ),
    },
  ];
  return (
    <>
      <h2>{t('settings.tokens')}</h2>
      <p class="muted">{t('settings.tokensIntro')}</p>
      <ErrorBox err={error.value} />
      {created.value && (
        <div class="card notice" role="status">
          <p>{t('settings.tokenShown')}</p>
          <div class="row">
            <code class="secret wrap" data-testid="new-token">
              {created.value.token}
            </code>
            <button type="button" class="small" onClick={() => void copyText(created.value?.token ?? '')}>
              {t('ui.copy')}
            </button>
          </div>
        </div>
      )}
      <form class="card token-form" onSubmit={(e) => void create(e)}>
        <ErrorBox err={msg.value} />
        <label>
          {t('settings.tokenName')}
          <input name="name" required pattern="[A-Za-z0-9_.\-]{1,64}" />
        </label>
        <label>
          {t('settings.tokenImages')}
          <input name="images" placeholder="registry.example.com/shop/web" />
        </label>
        <label>
          {t('settings.tokenContainers')}
          <input name="containers" />
        </label>
        <button type="submit" class="primary">
          {t('settings.tokenCreate')}
        </button>
      </form>
      {tokens.value && tokens.value.length > 0 && <DataTable rows={tokens.value} columns={columns} rowKey={(tk) => tk.name} rowAttrs={(tk) => ({ 'data-token': tk.name })} />}
    </>
  );
}
