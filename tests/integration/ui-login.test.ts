import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVirtualAuthenticator, launchChromium, type Browser } from '../helpers/browser.js';
import { expectAccessible, oathtool, shoot, startUiServer, type UiServer } from '../helpers/ui.js';

/**
 * The web UI's sign-in in real Chromium against the real server with the second factor on:
 * first-time TOTP set-up from the QR code's secret (codes from oathtool), recovery codes,
 * adding a security key (DevTools virtual authenticator) in Settings, then signing in with each
 * factor, clear messages for a wrong password, a wrong code and a lockout.
 */

const USER = 'admin';
const PASSWORD = 'ui-login-test-password-1';

describe('web UI: sign-in and second factor', () => {
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let secret = '';
  let recovery: string[] = [];

  const errorText = () => page.locator('#login-error').textContent();
  const signInWithPassword = async (password = PASSWORD) => {
    await page.getByLabel('User name').fill(USER);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  };
  const signedIn = () => page.getByRole('navigation', { name: 'Main navigation' }).waitFor();

  beforeAll(async () => {
    server = await startUiServer({
      USER_NAME: USER,
      USER_PASSWORD: PASSWORD,
      IS_SECONDARY_VERIFICATION: 'true',
      TWOFA_ALLOWED_DOMAINS: 'localhost',
      WATCH_AUTH_MAX_FAILURES: '4',
      WATCH_SCAN_INITIAL_SCAN_ON_START: 'false',
      // Only this file's (no) containers are checked: nothing else of the engine's is touched.
      WATCH_POLICY_ONLY_LABELS: 'wdui.none=1',
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
    await addVirtualAuthenticator(page);
    // The UI follows the browser's language; this file checks the English words.
    await page.addInitScript("localStorage.setItem('wd.lang', 'en')");
    await page.goto(`${server.base}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('says so when the password is wrong, then sets up TOTP from the QR code and shows recovery codes once', async () => {
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible(page, 'sign-in page');
    await shoot(page, 'login');
    await signInWithPassword('not-the-password');
    expect(await errorText()).toBe('Wrong user name or password.');

    await signInWithPassword();
    await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
    await page.getByRole('button', { name: 'Authenticator app (TOTP)' }).click();
    const qr = page.getByRole('img', { name: 'QR code for the authenticator app' });
    await qr.waitFor();
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/(svg\+xml|png|gif);base64,/);
    secret = (await page.getByTestId('otp-secret').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await expectAccessible(page, 'TOTP set-up page');
    await shoot(page, 'twofa-setup');

    await page.getByLabel('Code from your authenticator app').fill(oathtool(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    recovery = await page.locator('ol.codes code').allTextContents();
    expect(recovery).toHaveLength(10);
    await page.getByRole('button', { name: 'I saved them, continue' }).click();
    await signedIn();
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
  });

  it('adds a security key in Settings', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText('Set up: otp').waitFor();
    await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
    await page.getByText('Security key added.').waitFor();
    await page.getByText('Set up: otp, webauthn').waitFor();
    await expectAccessible(page, 'settings page (2FA on)');
    await shoot(page, 'settings-twofa');
  });

  it('signs in with password + TOTP; a wrong code gets a clear message', async () => {
    await signOut();
    await signInWithPassword();
    await page.getByRole('heading', { name: 'Second factor' }).waitFor();
    await expectAccessible(page, 'second-factor page');
    await shoot(page, 'twofa-verify');
    // A code that is none of the three the server would accept now.
    const valid = new Set([-30, 0, 30].map((s) => oathtool(secret, s)));
    const wrong = ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c)) as string;
    await page.getByLabel('Code from your authenticator app').fill(wrong);
    await page.getByRole('button', { name: 'Verify' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('That code is not right');
    // The set-up spent the current step's code; the next step's code is within the accepted drift.
    await page.getByLabel('Code from your authenticator app').fill(oathtool(secret, 30));
    await page.getByRole('button', { name: 'Verify' }).click();
    await signedIn();
  });

  it('signs in with password + security key (WebAuthn), with the keyboard only', async () => {
    await signOut();
    // The user name field has the focus; Tab to the password, Enter submits, and the security
    // key button has the focus on the next screen.
    await page.keyboard.type(USER);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Use a security key or passkey' }).waitFor();
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Use a security key or passkey');
    await page.keyboard.press('Enter');
    await signedIn();
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
  });

  it('signs in with a recovery code', async () => {
    await signOut();
    await signInWithPassword();
    await page.getByRole('button', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recovery[0] as string);
    await page.getByRole('button', { name: 'Verify' }).click();
    await signedIn();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText('Recovery codes left: 9').waitFor();
  });

  it('turns the second factor off in Settings with a recovery code, which signs out everywhere', async () => {
    await page.getByLabel('A current code or a recovery code').fill(recovery[1] as string);
    await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // The server still asks for a second factor, so the next sign-in sets one up again.
    await signInWithPassword();
    await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
    await page.getByRole('button', { name: 'Back to sign in' }).click();
  });

  it('tells how long to wait after too many failed sign-ins (429 + Retry-After)', async () => {
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    let text = '';
    for (let i = 0; i < 6 && !text.includes('Too many'); i++) {
      await signInWithPassword(`wrong-${i}`);
      await page.locator('#login-error').waitFor();
      text = (await errorText()) ?? '';
    }
    expect(text).toMatch(/^Too many failed attempts\. Try again in \d+ seconds\.$/);
    expect(await page.getByRole('button', { name: 'Sign in' }).isDisabled()).toBe(true);
    await shoot(page, 'login-locked');
  });
});
