import { Hono } from 'hono';
import { installAuth } from './auth.js';
import { compose } from './compose.js';
import { containerActions } from './container-actions.js';
import { containers } from './containers.js';
import type { AppDeps, AppEnv } from './context.js';
import { notFound, onError } from './envelope.js';
import { health } from './health.js';
import { hostRoutes } from './hosts.js';
import { images } from './images.js';
import { updates } from './updates.js';
import { streams } from './streams.js';
import { shell } from './shell.js';
import { machineTokenRoutes } from './machine-tokens.js';
import { webhookRoutes } from './webhooks.js';
import { parseDuration } from '../core/config/duration.js';
import { WebhookJobs } from '../core/webhook/jobs.js';

export type { AppDeps } from './context.js';

/** Builds the HTTP app: the same on Node and on Workers; only the deps differ. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  // The guard must come before every route: a middleware added after a route never runs for it.
  const authDeps = {
    auth: deps.auth,
    getClientAddress: deps.getClientAddress,
    webhook: { secret: deps.config.webhook.secret, replayWindowMs: parseDuration(deps.config.webhook.replayWindow) ?? 300_000 },
  };
  installAuth(app, authDeps);
  // Split deployment: X-Watch-Host (the Worker turns ?host= into it) picks the host's deps, so
  // every route below runs unchanged against that host.
  const { selectHost } = deps;
  if (selectHost) {
    app.use('/api/*', async (c, next) => {
      const host = c.req.header('x-watch-host');
      if (host !== undefined) c.set('deps', selectHost(host));
      await next();
    });
  }
  const jobs = deps.webhookJobs ?? new WebhookJobs({
    listContainers: () => deps.inventory.containers({ includeStopped: deps.config.docker.includeStopped }),
    updateOne: (name, trigger) => deps.updates.updateOne(name, trigger),
    forget: (refs) => deps.scanner.forget(refs),
    config: deps.config, clock: deps.clock, logger: deps.logger,
    ...(deps.webhookJobStore ? { store: deps.webhookJobStore } : {}),
  });
  deps.webhookJobs = jobs;
  app.route('/', machineTokenRoutes(authDeps));
  app.route('/', webhookRoutes(authDeps, jobs));
  app.route('/', hostRoutes(deps, authDeps));
  app.route('/', health);
  app.route('/', containers);
  app.route('/', containerActions);
  app.route('/', images);
  app.route('/', updates);
  app.route('/', streams);
  app.route('/', shell);
  app.route('/', compose);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
