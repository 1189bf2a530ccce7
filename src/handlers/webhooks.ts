import { Hono, type Context } from 'hono';
import { AppError, ErrorCode } from '../core/errors.js';
import { parseWebhookPayload } from '../core/webhook/payloads.js';
import { outsideScope, parseImagePattern } from '../core/webhook/targets.js';
import type { FanoutJob } from '../core/webhook/fanout.js';
import type { WebhookJobRunner } from '../core/webhook/jobs.js';
import { clientAddress, type AuthDeps } from './auth-middleware.js';
import type { AppEnv } from './context.js';
import { ok } from './envelope.js';
import type { WebhookCaller } from './webhook-auth.js';

function caller(c: Context): WebhookCaller {
  const found = c.get('webhookCaller');
  if (!found) throw new Error('no webhook caller: the auth guard must run before the webhook routes');
  return found;
}

/**
 * On Workers the job runs after the answer: ctx.waitUntil keeps the isolate for it (within the
 * platform's limits). The Node server has no execution context and needs none.
 */
function keepRunning(c: Context, done: Promise<void>): void {
  let ctx: { waitUntil(p: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    return;
  }
  ctx.waitUntil(done.catch(() => undefined));
}

function byOf(w: WebhookCaller): string {
  return w.kind === 'machine' ? `token:${w.name}` : w.kind === 'user' ? `user:${w.user}` : w.scheme === 'github' ? 'github' : 'hmac';
}

/** POST /api/v1/webhooks/update and GET /api/v1/webhooks/jobs/:id. */
export function webhookRoutes(deps: AuthDeps, jobs: WebhookJobRunner): Hono<AppEnv> {
  const { auth } = deps;
  return new Hono<AppEnv>()
    .post('/api/v1/webhooks/update', async (c) => {
      const who = caller(c);
      const request = parseWebhookPayload(await c.req.text(), { contentType: c.req.header('content-type'), githubEvent: c.req.header('x-github-event') });
      if (request.images.length === 0 && request.containers.length === 0) {
        return ok(c, { jobId: null, ignored: request.ignored, source: request.source }, 200);
      }
      const images = request.images.map(parseImagePattern);
      if (who.kind === 'machine') {
        const outside = outsideScope(who.scope, { images, containers: request.containers });
        if (outside) {
          await auth.audit.record({ event: 'webhook.rejected', address: clientAddress(c, deps), reason: `token ${who.name}: ${outside} is outside its scope`, path: c.req.path }, { persist: false });
          throw new AppError(ErrorCode.BadRequest, `this token may not update ${outside}`, null, { status: 403 });
        }
      }
      // Split deployment: ?host= (X-Watch-Host) names the one host to act on; without it the job goes to every online host.
      const host = c.req.header('x-watch-host');
      const { job, coalesced, done } = await jobs.trigger({ images, containers: request.containers }, { by: byOf(who), source: request.source }, host !== undefined ? { host } : {});
      if (done) keepRunning(c, done);
      await auth.audit.record({ event: 'webhook.accepted', address: clientAddress(c, deps), reason: `${byOf(who)} ${request.source} job ${job.id}${coalesced ? ' (coalesced)' : ''}`, path: c.req.path }, { persist: false });
      const hosts = 'hosts' in job ? { hosts: (job as FanoutJob).hosts.map((h) => ({ host: h.host, jobId: h.jobId, matched: h.matched.map((m) => m.name), ...(h.error ? { error: h.error } : {}) })) } : {};
      return ok(c, { jobId: job.id, coalesced, status: job.status, matched: job.matched.map((m) => m.name), ...hosts }, 202);
    })
    .get('/api/v1/webhooks/jobs/:id', async (c) => {
      const who = caller(c);
      const job = await jobs.get(c.req.param('id'));
      // A machine token sees the jobs it started; the secret's holder and users see all.
      if (!job || (who.kind === 'machine' && job.by !== byOf(who))) throw new AppError(ErrorCode.NotFound, 'no such webhook job');
      return ok(c, job);
    });
}
