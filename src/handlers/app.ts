import { Hono } from 'hono';
import { installAuth } from './auth.js';
import { containerActions } from './container-actions.js';
import { containers } from './containers.js';
import type { AppDeps, AppEnv } from './context.js';
import { notFound, onError } from './envelope.js';
import { health } from './health.js';
import { images } from './images.js';
import { updates } from './updates.js';

export type { AppDeps } from './context.js';

/** Builds the HTTP app: the same on Node and on Workers; only the deps differ. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  // The guard must come before every route: a middleware added after a route never runs for it.
  installAuth(app, { auth: deps.auth, getClientAddress: deps.getClientAddress });
  app.route('/', health);
  app.route('/', containers);
  app.route('/', containerActions);
  app.route('/', images);
  app.route('/', updates);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
