import type { Context } from 'hono';
import type { HostDirectory } from '../core/agent-link/hosts.js';
import type { UpgradeWebSocket } from 'hono/ws';
import type { Auth } from '../core/auth/auth.js';
import type { LoadedConfig } from '../core/config/load.js';
import type { ComposeService } from '../core/compose/service.js';
import type { FullDockerPort } from '../core/docker/port.js';
import type { Inventory } from '../core/inventory.js';
import type { Clock, Logger, Store } from '../core/ports.js';
import type { Scanner } from '../core/scanner.js';
import type { ShellLimits, ShellSessions } from '../core/shell/sessions.js';
import type { TerminalPort } from '../core/shell/terminal.js';
import type { UpdateHistory } from '../core/update-history.js';
import type { UpdateService } from '../core/update-service.js';
import type { WebhookJobRunner } from '../core/webhook/jobs.js';
import type { JobStore } from '../core/webhook/job-store.js';

/** Everything a handler may use. Handlers keep no state of their own: it all comes from here. */
export interface AppDeps {
  config: LoadedConfig;
  docker: FullDockerPort;
  inventory: Inventory;
  scanner: Scanner;
  updates: UpdateService;
  /** Compose projects under APP_PATH and on the engine (src/core/compose/service.ts). */
  compose: ComposeService;
  history: UpdateHistory;
  auth: Auth;
  /** The peer address of a request, as the runtime knows it (socket on Node, CF-Connecting-IP on Workers). */
  getClientAddress: (c: Context) => string | undefined;
  store: Store;
  logger: Logger;
  clock: Clock;
  version: string;
  /** Webhook-triggered update jobs; createApp makes one (this host's) when the runtime gives none. */
  webhookJobs?: WebhookJobRunner;
  /** Where the jobs createApp makes are kept for lookups; default in memory. */
  webhookJobStore?: JobStore;
  /** Split deployment only: the hosts, and the deps of one host (chosen by the X-Watch-Host header). */
  hosts?: HostDirectory;
  selectHost?: (name: string) => AppDeps;
  /** The runtime's WebSocket upgrade (@hono/node-server or hono/cloudflare-workers); without it WebSocket routes answer 501. */
  upgradeWebSocket?: UpgradeWebSocket;
  /** PTY sessions for the web shell (node-pty on Node); without it the shell routes answer 501. */
  terminal?: TerminalPort;
  /** Web shell timings and limits (design §5.3 defaults); tests pass shorter ones. */
  shellLimits?: Partial<ShellLimits>;
  /** The shell sessions open in this app (made on first use). */
  shellSessions?: ShellSessions;
  /** How often stream routes (events, logs, compose) ping their clients; one left unanswered until the next closes the stream. Default 30 s; tests pass shorter ones. */
  streamPingMs?: number;
}

export interface AppEnv {
  Variables: { deps: AppDeps };
}
