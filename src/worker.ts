/**
 * The Cloudflare Workers entry: the same Hono app as the Node server, with state in Workers KV.
 * Docker is reached through an agent on each host; until an agent is connected, every Docker
 * call answers a clear "no agent connected" error (and /readyz says so).
 */
import { createStorage } from 'unstorage';
import kvDriver from 'unstorage/drivers/cloudflare-kv-binding';
import { loadConfig } from './core/config/load.js';
import type { FullDockerPort } from './core/docker/port.js';
import type { ComposePort } from './core/compose/port.js';
import type { ProjectFiles } from './core/compose/project-files.js';
import { ProjectLocks } from './core/compose/project-locks.js';
import { ComposeService } from './core/compose/service.js';
import { Auth } from './core/auth/auth.js';
import { authSettings } from './core/auth/settings.js';
import { AppError, ErrorCode } from './core/errors.js';
import { Inventory } from './core/inventory.js';
import { systemClock, type Logger } from './core/ports.js';
import { Scanner } from './core/scanner.js';
import { createUpdateChecker } from './core/update-check.js';
import { UpdateHistory } from './core/update-history.js';
import { UpdateService } from './core/update-service.js';
import { Updater } from './core/updater/updater.js';
import { createApp, type AppDeps } from './handlers/app.js';
import { cloudflarePeerAddress } from './handlers/auth-client-address.js';
import pkg from '../package.json' with { type: 'json' };
import { EdgeHostDirectory, hostDepsSelector, type EdgeEnv } from './worker/edge-hosts.js';
import { agentConnect, hostParamToHeader } from './worker/routing.js';
import { upgradeWebSocket } from './worker/ws-upgrade.js';
import { runScheduledTick, type ScheduleEnv } from './worker/schedule.js';
import { hostWebhookJobs } from './worker/webhook-fanout.js';
import { durableState, type StateEnv } from './worker/state-object.js';
import { AtomicJobStore } from './core/webhook/job-store.js';
import type { FanoutRecord } from './core/webhook/fanout.js';

export { HostLink, HostRegistry } from './worker/host-link.js';
export { HostSchedule } from './worker/schedule.js';
export { StateObject } from './worker/state-object.js';

interface WorkerEnv extends EdgeEnv, ScheduleEnv, StateEnv {
  STATE: KVNamespace;
  [key: string]: unknown;
}

function consoleLogger(bindings: Record<string, unknown> = {}): Logger {
  const log = (level: string) => (obj: Record<string, unknown>, msg?: string) =>
    console.log(JSON.stringify({ level, ...bindings, ...obj, ...(obj.err instanceof Error ? { err: obj.err.message } : {}), msg }));
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (b) => consoleLogger({ ...bindings, ...b }) };
}

const noAgent = (): never => {
  throw new AppError(ErrorCode.BadRequest, 'this control plane manages several hosts: name one with ?host=NAME (GET /api/hosts lists them)');
};
/** Without ?host= there is no Docker to talk to: every Docker call says how to name a host. */
const disconnectedDocker = new Proxy({}, {
  // /readyz asks the control plane itself: ready when its store works (hosts report their own state).
  get: (_t, prop) => (prop === 'ping' ? async () => undefined : async () => noAgent()),
}) as FullDockerPort;
/** Compose and the project files live on the host too: without ?host= the same answer. */
const disconnectedCompose = new Proxy({}, { get: () => () => noAgent() }) as ComposePort;
const disconnectedFiles = new Proxy({}, { get: () => async () => noAgent() }) as ProjectFiles;

/**
 * The app and everything behind it, built once per isolate: the update checker's cache, the
 * update service's job table and the auth state then live as long as the isolate, not one request.
 */
function build(env: WorkerEnv) {
  const vars: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') vars[k] = v;
  const config = loadConfig({
    env: vars,
    readSecretFile: () => {
      throw new Error('secret files are not available on Workers; use `wrangler secret put`');
    },
  });
  const store = createStorage({ driver: kvDriver({ binding: env.STATE }) });
  const logger = consoleLogger();
  const inventory = new Inventory(disconnectedDocker);
  const { checker, challenges } = createUpdateChecker(config, { logger, challengeStore: store });
  const scanner = new Scanner({ inventory, checker, store, logger, clock: systemClock, config });
  // Workers refuse PBKDF2 above 100,000 rounds.
  // Single-use codes, tickets, challenges, replay keys, revocations and attempt counts need one
  // consistent place: a Durable Object (KV is eventually consistent). Bulk data stays in KV.
  const auth = new Auth({ settings: { ...authSettings(config), passwordIterations: 100_000 }, store, state: durableState(env, 'auth'), logger, clock: systemClock });
  const history = new UpdateHistory(store);
  const updater = new Updater({ docker: disconnectedDocker, store, logger });
  const composeLocks = new ProjectLocks();
  const updates = new UpdateService({ docker: disconnectedDocker, updater, compose: null, composeLocks, scanner, history, config, credentials: config.registry.auth, logger, clock: systemClock });
  const compose = new ComposeService({ compose: disconnectedCompose, files: disconnectedFiles, docker: disconnectedDocker, scanner, logger, locks: composeLocks });
  const hosts = new EdgeHostDirectory(env);
  const deps: AppDeps = {
    config, docker: disconnectedDocker, updates, compose, history, inventory, scanner, auth, getClientAddress: cloudflarePeerAddress, store, logger, clock: systemClock, version: pkg.version, hosts,
    upgradeWebSocket,
  };
  deps.selectHost = hostDepsSelector(deps, hosts);
  // Webhooks reach the hosts: ?host= names one, without it every online host with a match. The
  // jobs are kept in a Durable Object, so any isolate answers GET /api/v1/webhooks/jobs/:id.
  const jobState = durableState(env, 'webhook-jobs');
  deps.webhookJobs = hostWebhookJobs(env, deps, deps.selectHost, {
    hostJobs: new AtomicJobStore(jobState, systemClock),
    fanoutJobs: new AtomicJobStore<FanoutRecord>(jobState, systemClock, 'webhook:fanout:'),
  });
  const app = createApp(deps);
  return { app, challenges, deps };
}

let built: ReturnType<typeof build> | undefined;

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    // The agents' link: outside /api (the agent authenticates with its key, in the protocol).
    const agent = agentConnect(request, env);
    if (agent) return agent;
    built ??= build(env);
    const { app, challenges } = built;
    const res = app.fetch(hostParamToHeader(request), env, ctx);
    // Learned registry challenges are saved in the background: let those writes finish.
    if (challenges) ctx.waitUntil(Promise.resolve(res).then(() => challenges.flush(), () => challenges.flush()));
    return res;
  },

  /** The Cron Trigger (wrangler.toml [triggers]): each online host's due scan or auto-update, through its agent. */
  scheduled(controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): void {
    built ??= build(env);
    const { deps } = built;
    // Registry checks run on the agents: nothing of the Worker's own to flush afterwards.
    ctx.waitUntil(runScheduledTick({ env, base: deps, selectHost: deps.selectHost!, tick: controller.scheduledTime, logger: deps.logger }));
  },
};
