import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, ApiError, setToken, type LoginResult } from '../api';
import { t } from '../i18n';
import { Prefs } from '../prefs';
import { ErrorBox } from '../ui';

/**
 * The autofocus attribute only acts on page load: each step's first field gets the focus when it
 * appears (a ref callback runs as the element is inserted), once.
 */
function focusOnce(el: HTMLElement | null): void {
  if (el && el.dataset.focused !== '1') {
    el.dataset.focused = '1';
    setTimeout(() => el.focus(), 0);
  }
}

type Step =
  | { kind: 'password' }
  | { kind: 'verify'; temp: string; methods: string[]; mode: 'otp' | 'recovery' }
  | { kind: 'setup'; temp: string }
  | { kind: 'otp-setup'; temp: string; secret: string; qrCode: string }
  | { kind: 'codes'; full: string; codes: string[] };

/** The sign-in flow: password, then (when the server asks) the second factor or its first set-up. */
export function Login() {
  const step = useSignal<Step>({ kind: 'password' });
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const lockedUntil = useSignal(0);
  const now = useSignal(Date.now());

  useEffect(() => {
    const id = setInterval(() => (now.value = Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  const lockLeft = Math.max(0, Math.ceil((lockedUntil.value - now.value) / 1000));

  /** Runs one request; maps 401/429 to clear messages. */
  async function run(work: () => Promise<void>, badKey: 'login.bad' | 'twofa.bad'): Promise<void> {
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await work();
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        lockedUntil.value = Date.now() + (err.retryAfter ?? 60) * 1000;
        now.value = Date.now();
        error.value = 'locked';
      } else if (err instanceof ApiError && err.status === 401) error.value = t(badKey);
      else if (err instanceof ApiError && err.status === 0) error.value = t('err.network');
      else error.value = err instanceof Error ? err.message : String(err);
    } finally {
      busy.value = false;
    }
  }

  const finish = (full: string, codes: string[] | null | undefined) => {
    if (codes && codes.length > 0) step.value = { kind: 'codes', full, codes };
    else setToken(full);
  };

  const s = step.value;
  const focusFirst = focusOnce;
  const msg = error.value === 'locked' ? (lockLeft > 0 ? t('err.locked', { s: lockLeft }) : null) : error.value;
  const disabled = lockLeft > 0;

  const onPassword = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    void run(async () => {
      const r = await api<LoginResult>('POST', '/api/v1/auth/login', { username: f.get('username'), password: f.get('password') }, { token: null });
      if (!r.requiresTwoFA) return setToken(r.token);
      if (!r.isSetup) step.value = { kind: 'setup', temp: r.token };
      else step.value = { kind: 'verify', temp: r.token, methods: r.methods, mode: 'otp' };
    }, 'login.bad');
  };

  const onCode = (temp: string, mode: 'otp' | 'recovery') => (ev: Event) => {
    ev.preventDefault();
    const code = String(new FormData(ev.currentTarget as HTMLFormElement).get('code') ?? '').trim();
    void run(async () => {
      const r = await api<{ token: string }>('POST', `/api/v1/2fa/verify/${mode}`, { code }, { token: temp });
      setToken(r.token);
    }, 'twofa.bad');
  };

  const onWebAuthn = (temp: string) =>
    run(async () => {
      const { startAuthentication } = await import('@simplewebauthn/browser');
      const optionsJSON = await api<Parameters<typeof startAuthentication>[0]['optionsJSON']>('POST', '/api/v1/2fa/verify/webauthn/begin', {}, { token: temp });
      let response;
      try {
        response = await startAuthentication({ optionsJSON });
      } catch (err) {
        throw new Error(t('twofa.webauthnFailed', { msg: (err as Error).message }));
      }
      const r = await api<{ token: string }>('POST', '/api/v1/2fa/verify/webauthn/finish', response, { token: temp });
      setToken(r.token);
    }, 'twofa.bad');

  const setupWebAuthn = (temp: string) =>
    run(async () => {
      const { startRegistration } = await import('@simplewebauthn/browser');
      const optionsJSON = await api<Parameters<typeof startRegistration>[0]['optionsJSON']>('POST', '/api/v1/2fa/setup/webauthn/begin', {}, { token: temp });
      let response;
      try {
        response = await startRegistration({ optionsJSON });
      } catch (err) {
        throw new Error(t('twofa.webauthnFailed', { msg: (err as Error).message }));
      }
      const r = await api<{ token: string; recoveryCodes: string[] | null }>('POST', '/api/v1/2fa/setup/webauthn/finish', response, { token: temp });
      finish(r.token, r.recoveryCodes);
    }, 'twofa.bad');

  const setupOtp = (temp: string) =>
    run(async () => {
      const r = await api<{ secret: string; qrCode: string }>('POST', '/api/v1/2fa/setup/otp/init', {}, { token: temp });
      step.value = { kind: 'otp-setup', temp, secret: r.secret, qrCode: r.qrCode };
    }, 'twofa.bad');

  const onOtpSetup = (temp: string) => (ev: Event) => {
    ev.preventDefault();
    const code = String(new FormData(ev.currentTarget as HTMLFormElement).get('code') ?? '').trim();
    void run(async () => {
      const r = await api<{ token: string; recoveryCodes: string[] | null }>('POST', '/api/v1/2fa/setup/otp/verify', { code }, { token: temp });
      finish(r.token, r.recoveryCodes);
    }, 'twofa.bad');
  };

  const back = (
    <button type="button" class="link" onClick={() => ((step.value = { kind: 'password' }), (error.value = null))}>
      {t('twofa.startOver')}
    </button>
  );
  const alert = <ErrorBox err={msg} id="login-error" />;

  let body;
  if (s.kind === 'password') {
    body = (
      <form onSubmit={onPassword} aria-describedby={msg ? 'login-error' : undefined}>
        <h1 tabIndex={-1}>{t('login.title')}</h1>
        {alert}
        <label>
          {t('login.username')}
          <input name="username" autocomplete="username" required ref={focusFirst} />
        </label>
        <label>
          {t('login.password')}
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button class="primary" type="submit" disabled={disabled}>
          {t('login.submit')}
        </button>
      </form>
    );
  } else if (s.kind === 'verify') {
    body = (
      <div>
        <h1 tabIndex={-1}>{t('twofa.title')}</h1>
        {alert}
        {s.methods.includes('webauthn') && (
          <button type="button" class="primary wide" disabled={disabled} aria-busy={busy.value} onClick={() => void onWebAuthn(s.temp)} ref={focusFirst}>
            {t('twofa.webauthn')}
          </button>
        )}
        <form onSubmit={onCode(s.temp, s.mode)} key={s.mode}>
          <label>
            {s.mode === 'otp' ? t('twofa.code') : t('twofa.recovery')}
            {s.mode === 'otp' ? (
              <input name="code" inputMode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required ref={s.methods.includes('webauthn') ? undefined : focusFirst} />
            ) : (
              <input name="code" autocomplete="off" required ref={focusFirst} />
            )}
          </label>
          <button type="submit" class={s.methods.includes('webauthn') ? '' : 'primary'} disabled={disabled}>
            {t('twofa.verify')}
          </button>
        </form>
        <p class="row">
          <button type="button" class="link" onClick={() => (step.value = { ...s, mode: s.mode === 'otp' ? 'recovery' : 'otp' })}>
            {s.mode === 'otp' ? t('twofa.useRecovery') : t('twofa.useOtp')}
          </button>
          {back}
        </p>
      </div>
    );
  } else if (s.kind === 'setup') {
    body = (
      <div>
        <h1 tabIndex={-1}>{t('twofa.setupTitle')}</h1>
        <p>{t('twofa.setupIntro')}</p>
        {alert}
        <div class="stack">
          <button type="button" class="primary wide" disabled={disabled} onClick={() => void setupOtp(s.temp)} ref={focusFirst}>
            {t('twofa.setupOtp')}
          </button>
          <button type="button" class="wide" disabled={disabled} onClick={() => void setupWebAuthn(s.temp)}>
            {t('twofa.setupWebauthn')}
          </button>
        </div>
        <p>{back}</p>
      </div>
    );
  } else if (s.kind === 'otp-setup') {
    body = (
      <form onSubmit={onOtpSetup(s.temp)}>
        <h1 tabIndex={-1}>{t('twofa.setupOtp')}</h1>
        <p>{t('twofa.scan')}</p>
        <img class="qr" src={s.qrCode} alt={t('twofa.qr')} width={200} height={200} />
        <p>
          {t('twofa.secret')}: <code class="secret" data-testid="otp-secret">{s.secret}</code>
        </p>
        {alert}
        <label>
          {t('twofa.code')}
          <input name="code" inputMode="numeric" autocomplete="one-time-code" required ref={focusFirst} />
        </label>
        <button class="primary" type="submit" disabled={disabled}>
          {t('twofa.verify')}
        </button>
        <p>{back}</p>
      </form>
    );
  } else {
    body = <RecoveryCodes codes={s.codes} onDone={() => setToken(s.full)} />;
  }
  return (
    <div class="login-wrap">
      <main class="card login" id="main">
        {body}
      </main>
      <Prefs />
    </div>
  );
}

export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div>
      <h1 tabIndex={-1}>{t('twofa.recoveryTitle')}</h1>
      <p>{t('twofa.recoveryIntro')}</p>
      <ol class="codes" aria-label={t('twofa.recoveryTitle')}>
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <button type="button" class="primary" onClick={onDone} ref={focusOnce}>
        {t('twofa.continue')}
      </button>
    </div>
  );
}
