import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { startScanLoop } from './core/scan-loop.js';
import { scheduleCron } from './core/scheduler.js';
import { createApp } from './handlers/app.js';
import { webAssets } from './agent/web-assets.js';
import { WS_MAX_PAYLOAD } from './handlers/ws-stream.js';
import type { NodeRuntime } from './runtime.js';
import { VERSION } from './version.js';

export interface RunningServer {
  port: number;
  /** Stops scanning and accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
}

/** Serves the app over HTTP beside the Docker socket and runs the scan schedule. */
export async function startServer(runtime: NodeRuntime): Promise<RunningServer> {
  const { deps, dockerHost } = runtime;
  const { config, logger, docker, scanner } = deps;
  // Loads or creates the signing key and the password hash now, so a generated password is
  // printed at start-up rather than at the first login.
  await deps.auth.ready();
  const app = createApp(deps);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const { host, port } = config.derived.listen;
  const server: ServerType = await new Promise((resolve, reject) => {
    // WebSocket upgrades go through the app too (auth guard, then deps.upgradeWebSocket).
    // The built web UI (dist/web) answers GETs outside /api; everything else goes to the app.
    const web = webAssets();
    const s = serve({ fetch: async (req, env) => (await web(req)) ?? app.fetch(req, env), port, ...(host ? { hostname: host } : {}), websocket: { server: wss } }, () => resolve(s));
    s.once('error', reject);
  });
  const actual = (server.address() as AddressInfo).port;
  logger.info({ component: 'server', action: 'listen', port: actual, dockerHost, version: VERSION }, `listening on ${host ?? '*'}:${actual}`);
  docker.info().then(
    (info) => logger.info({ component: 'docker', action: 'connect', engine: info.version, apiVersion: info.apiVersion }, 'Docker engine reachable'),
    (err: unknown) => logger.warn({ component: 'docker', action: 'connect', err: String(err) }, 'Docker engine not reachable yet'),
  );
  // Finish or undo updates a crash interrupted before anything else touches containers.
  const outcomes = await runtime.updater.reconcile();
  for (const o of outcomes) logger.warn({ component: 'updater', action: 'reconcile', ...o }, 'repaired an interrupted update');
  const loop = startScanLoop(scanner, { intervalMs: config.derived.scanIntervalMs, initial: config.scan.initialScanOnStart, logger });
  const autoUpdate = config.update.enabled
    ? scheduleCron('auto-update', config.update.autoUpdateCron, { ...(config.update.timezone ? { timezone: config.update.timezone } : {}), logger }, () =>
        deps.updates.runAll({ kind: 'schedule' }),
      )
    : null;

  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        loop.stop();
        autoUpdate?.stop();
        server.close(() => resolve());
        // Open WebSockets (streams, shells) would hold close() open: end them; their PTYs are killed on close.
        for (const ws of wss.clients) ws.terminate();
        // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }).finally(() => runtime.dispose()),
  };
}
