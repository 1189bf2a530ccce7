import type { Context } from 'hono';
import type { Auth } from '../core/auth/auth.js';
import { MACHINE_TOKEN_PREFIX, type MachineScope } from '../core/auth/machine-tokens.js';
import { verifyGithub, verifyTimestamped } from '../core/webhook/signature.js';

/** Who called a webhook route. */
export type WebhookCaller =
  | { kind: 'machine'; name: string; scope: MachineScope }
  | { kind: 'hmac'; scheme: 'signature' | 'github' }
  | { kind: 'user'; user: string };

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by the auth guard on the webhook routes. */
    webhookCaller: WebhookCaller;
  }
}

/** webhook.secret and webhook.replayWindow, as the guard needs them. */
export interface WebhookAuthSettings {
  secret: string;
  replayWindowMs: number;
}

/** GitHub sends no timestamp: its delivery ids are remembered this long. */
export const GITHUB_DELIVERY_KEEP_MS = 7 * 24 * 3_600_000;
export const WEBHOOK_MAX_BODY = 1024 * 1024;

export type WebhookAuthOutcome =
  | { kind: 'caller'; caller: WebhookCaller }
  /** A Bearer token that is not a machine token: the usual JWT check decides. */
  | { kind: 'user-token' }
  | { kind: 'denied'; status: 401 | 413; reason: string; message: string };

const REFUSED = 'send a machine token (Authorization: Bearer wdm_…) or a signed request (X-Signature-256 and X-Webhook-Timestamp)';

/**
 * The webhook routes take a machine token, an HMAC signature under webhook.secret (ours with a
 * timestamp, or GitHub's with its delivery id), or a full user token. Signatures are accepted
 * once. The raw body is read here (Hono keeps it for the route).
 */
export async function authenticateWebhook(c: Context, auth: Auth, settings: WebhookAuthSettings | undefined): Promise<WebhookAuthOutcome> {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) return { kind: 'denied', status: 401, reason: 'malformed authorization', message: REFUSED };
    if (!match[1].startsWith(MACHINE_TOKEN_PREFIX)) return { kind: 'user-token' };
    const found = await auth.machineTokens.verify(match[1]);
    if (!found) return { kind: 'denied', status: 401, reason: 'unknown machine token', message: REFUSED };
    return { kind: 'caller', caller: { kind: 'machine', name: found.name, scope: found.scope } };
  }
  const hub = c.req.header('x-hub-signature-256');
  const ours = c.req.header('x-signature-256');
  if (hub === undefined && ours === undefined) return { kind: 'denied', status: 401, reason: 'no credentials', message: REFUSED };
  if (!settings || settings.secret === '') return { kind: 'denied', status: 401, reason: 'signature sent but webhook.secret is not set', message: 'signed webhooks are off: set webhook.secret (WATCH_WEBHOOK_SECRET)' };
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > WEBHOOK_MAX_BODY) return { kind: 'denied', status: 413, reason: 'body too large', message: `the body may be at most ${WEBHOOK_MAX_BODY} bytes` };
  const body = await c.req.text();
  if (body.length > WEBHOOK_MAX_BODY) return { kind: 'denied', status: 413, reason: 'body too large', message: `the body may be at most ${WEBHOOK_MAX_BODY} bytes` };
  const nowMs = auth.clock.now();
  const check = ours !== undefined
    ? await verifyTimestamped({ secret: settings.secret, signature: ours, timestamp: c.req.header('x-webhook-timestamp'), body, nowMs, windowMs: settings.replayWindowMs })
    : await verifyGithub({ secret: settings.secret, signature: hub, delivery: c.req.header('x-github-delivery'), body, nowMs, keepMs: Math.max(GITHUB_DELIVERY_KEEP_MS, settings.replayWindowMs) });
  if (!check.ok) return { kind: 'denied', status: 401, reason: check.reason, message: 'the webhook signature was refused (wrong secret, stale timestamp or malformed headers)' };
  if (!(await auth.webhookReplay.claim(check.replayKey, check.expiresAtMs))) {
    return { kind: 'denied', status: 401, reason: 'replayed signature', message: 'this signature was already used: sign every request afresh' };
  }
  return { kind: 'caller', caller: { kind: 'hmac', scheme: ours !== undefined ? 'signature' : 'github' } };
}
