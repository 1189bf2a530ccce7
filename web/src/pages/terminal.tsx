import { shellEnabled } from '../session';
import { t } from '../i18n';
import { TerminalView } from '../terminal-view';
import { PageHead } from '../ui';

/** The host terminal (a PTY on the server), only when IS_OPEN_DOCKER_SHELL=true. */
export function Terminal() {
  return (
    <section aria-labelledby="page-title" class="terminal-page">
      <PageHead title={t('terminal.title')} />
      {shellEnabled.value ? <TerminalView path="/api/shell/ws" label={t('terminal.label')} /> : <p class="muted">{t('terminal.disabled')}</p>}
    </section>
  );
}
