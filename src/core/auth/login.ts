import type { Auth } from './auth.js';
import { BAD_CREDENTIALS, unauthorized } from './errors.js';
import type { IssuedToken, Session } from './tokens.js';
import { isSetUp, methodsOf, type TwoFactorMethod } from './twofa-store.js';

/** The login answer (design §6.3): a full token, or a temp token and what the second step is. */
export interface LoginResult extends IssuedToken {
  username: string;
  /** True: the token is a temp token; finish with /api/v1/2fa/setup/* or /api/v1/2fa/verify/*. */
  requiresTwoFA: boolean;
  /** Whether the user has a second factor already (false: set one up now). */
  isSetup: boolean;
  /** The preferred method, when set up. */
  method: TwoFactorMethod | null;
  methods: TwoFactorMethod[];
}

/**
 * Checks a user name and password. Without two-factor authentication the answer carries a
 * full token; with it, a temp token that only the /api/v1/2fa/* endpoints accept.
 */
export async function login(auth: Auth, input: { username: string; password: string; address: string }): Promise<LoginResult> {
  const subject = { scope: 'login' as const, user: input.username, address: input.address };
  const { account, tokens } = await auth.ready();
  const attempt = await auth.attempt(subject);
  const ok = await account.check(input.username, input.password);
  if (!ok) {
    // A name that is not the account's may be a mistyped password: never write it down.
    const known = await account.isUser(input.username);
    await auth.failed({ ...subject, user: known ? account.username : '(unknown user)' }, attempt, {});
    throw unauthorized(BAD_CREDENTIALS);
  }
  await auth.succeeded(subject, attempt);
  await auth.sweep().catch(() => 0);
  const user = account.username;
  if (!auth.settings.twofa.enabled) {
    const token = await tokens.issue(user, 'full', ['pwd']);
    await auth.audit.record({ event: 'login.success', user, address: input.address, method: 'pwd' });
    return { ...token, username: user, requiresTwoFA: false, isSetup: false, method: null, methods: [] };
  }
  const record = await auth.twofa.get(user);
  const methods = methodsOf(record);
  const preferred = auth.settings.twofa.users[user]?.method;
  const method = methods.length === 0 ? null : preferred && methods.includes(preferred) ? preferred : (methods[0] ?? null);
  const token = await tokens.issue(user, 'temp', ['pwd']);
  await auth.audit.record({ event: 'login.success', user, address: input.address, method: 'pwd', reason: 'second factor pending' });
  return { ...token, username: user, requiresTwoFA: true, isSetup: isSetUp(record), method, methods };
}

/** Revokes the presented token, or with `all` every token of its user. */
export async function logout(auth: Auth, session: Session, opts: { all: boolean; address: string }): Promise<void> {
  const { tokens } = await auth.ready();
  if (opts.all) await tokens.revokeAll(session.user);
  else await tokens.revoke(session);
  await auth.audit.record({ event: opts.all ? 'token.revoked-all' : 'token.revoked', user: session.user, address: opts.address, reason: 'logout' });
}
