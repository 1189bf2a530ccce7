import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { authApp, bearer, loginToken, post, TestClock } from '../helpers/auth-app.js';

/** A TOTP code from oathtool (liboath, an implementation independent of otplib). */
function oathtool(secret: string, atMs: number): string {
  const at = new Date(atMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', '--digits=6', '--time-step-size=30s', `--now=${at}`, secret], { encoding: 'utf8' }).trim();
}

describe('TOTP codes from oathtool pass, once', () => {
  it('sets up with an oathtool code, verifies with another, refuses the replay', async () => {
    const t = authApp({ env: { IS_SECONDARY_VERIFICATION: 'true' } });
    const temp = await loginToken(t);
    const init = await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(temp));
    const secret = String(init.body.data.secret);

    const setup = await post(t, '/api/v1/2fa/setup/otp/verify', { code: oathtool(secret, t.clock.now()) }, bearer(temp));
    expect(setup.status).toBe(200);

    t.clock.advance(30_000);
    const code = oathtool(secret, t.clock.now());
    expect(code).toMatch(/^\d{6}$/);
    const ok = await post(t, '/api/v1/2fa/verify/otp', { code }, bearer(await loginToken(t)));
    expect(ok.status).toBe(200);
    expect((await post(t, '/api/v1/2fa/verify/otp', { code }, bearer(await loginToken(t)))).status).toBe(401);

    // A code for the next step (clock drift) also passes; one two steps ahead does not.
    t.clock.advance(60_000);
    expect((await post(t, '/api/v1/2fa/verify/otp', { code: oathtool(secret, t.clock.now() + 60_000) }, bearer(await loginToken(t)))).status).toBe(401);
    expect((await post(t, '/api/v1/2fa/verify/otp', { code: oathtool(secret, t.clock.now() + 30_000) }, bearer(await loginToken(t)))).status).toBe(200);
  });

  it('works on the real clock too', async () => {
    const t = authApp({ env: { IS_SECONDARY_VERIFICATION: 'true' }, clock: new (class extends TestClock {
      override now() {
        return Date.now();
      }
    })() });
    const temp = await loginToken(t);
    const secret = String((await post(t, '/api/v1/2fa/setup/otp/init', {}, bearer(temp))).body.data.secret);
    const code = execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
    expect((await post(t, '/api/v1/2fa/setup/otp/verify', { code }, bearer(temp))).status).toBe(200);
  });
});
