import { shellEnabled } from '../session';
import { t } from '../i18n';
import { TerminalView } from '../terminal-view';

/** The host terminal (a PTY on the server), only when IS_OPEN_DOCKER_SHELL=true. */
export function Terminal() {
  return (
    <section aria-labelledby="page-title" class="terminal-page">
      <h1 id="page-title" tabIndex={-1}>
        {t('terminal.title')}
      </h1>
      {shellEnabled.value ? <TerminalView path="/api/shell/ws" label={t('terminal.label')} /> : <p class="muted">{t('terminal.disabled')}</p>}
    </section>
  );
}
