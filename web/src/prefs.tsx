import { signal } from '@preact/signals';
import { lang, setLang, t } from './i18n';

/** The theme: system, light or dark (remembered). */
export type Theme = 'auto' | 'light' | 'dark';
const THEME_KEY = 'wd.theme';
export const theme = signal<Theme>((localStorage.getItem(THEME_KEY) as Theme | null) ?? 'auto');
function applyTheme(): void {
  if (theme.value === 'auto') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', theme.value);
}
applyTheme();
export function setTheme(th: Theme): void {
  theme.value = th;
  localStorage.setItem(THEME_KEY, th);
  applyTheme();
}

/** Language and theme pickers (header and sign-in page). */
export function Prefs() {
  return (
    <div class="prefs">
      <select aria-label={t('ui.language')} value={lang.value} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as 'en' | 'zh')}>
        <option value="en">English</option>
        <option value="zh">中文</option>
      </select>
      <select aria-label={t('ui.theme')} value={theme.value} onChange={(e) => setTheme((e.currentTarget as HTMLSelectElement).value as Theme)}>
        <option value="auto">{t('ui.theme.auto')}</option>
        <option value="light">{t('ui.theme.light')}</option>
        <option value="dark">{t('ui.theme.dark')}</option>
      </select>
    </div>
  );
}
