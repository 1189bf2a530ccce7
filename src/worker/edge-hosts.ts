/**
 * Worker glue of the split deployment: the host directory on the two Durable Objects, the
 * link transport (RPC to the host's HostLink), and the per-host deps the `host` selector swaps
 * in, so the handlers run unchanged against a remote host.
 */
import type { HostDirectory, HostSummary } from '../core/agent-link/hosts.js';
import { prefixedStore } from '../core/agent-link/hosts.js';
import { JOIN_TOKEN_TTL_MS } from '../core/agent-link/enrolment.js';
import { HOST_NAME, type CallOp, type StreamOp } from '../core/agent-link/protocol.js';
import { RemoteDockerPort, RemoteImageChecker, type LinkTransport } from '../core/agent-link/remote-docker.js';
import { RemoteComposePort, RemoteProjectFiles } from '../core/agent-link/remote-compose.js';
import { RemoteTerminal } from '../core/agent-link/remote-terminal.js';
import { ProjectLocks } from '../core/compose/project-locks.js';
import { ComposeService } from '../core/compose/service.js';
import { AppError, ErrorCode } from '../core/errors.js';
import { Inventory } from '../core/inventory.js';
import { Scanner } from '../core/scanner.js';
import { UpdateService } from '../core/update-service.js';
import { HostHistory, RemoteUpdater, syncUpdateOutcomes } from '../core/agent-link/remote-updater.js';
import type { AppDeps } from '../handlers/context.js';
import { unwrap, type HostLink, type HostRegistry, type RelayOutcome } from './host-link.js';

export interface EdgeEnv {
  HOST_LINK: DurableObjectNamespace<HostLink>;
  HOST_REGISTRY: DurableObjectNamespace<HostRegistry>;
}

export function assertHostName(name: string): void {
  if (!HOST_NAME.test(name)) throw new AppError(ErrorCode.BadRequest, `host "${name.slice(0, 80)}": expected 1-63 lower-case letters, digits or "-" (not at either end)`);
}

/** Requests to one host's agent, through its Durable Object. */
export class DurableObjectTransport implements LinkTransport {
  /** A stub per call: a stub made while serving one request cannot do I/O for another. */
  constructor(private readonly stub: () => DurableObjectStub<HostLink>) {}

  async call(op: CallOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): Promise<unknown> {
    return unwrap((await this.stub().call(op, args, opts)) as RelayOutcome);
  }

  stream(op: StreamOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): AsyncIterable<unknown> {
    if (op === 'pullImage') {
      const stub = this.stub();
      return (async function* () {
        // The object runs the pull with credit against the agent and answers its progress at the end.
        const items = unwrap((await stub.collect(op, args, opts)) as RelayOutcome<unknown[]>);
        yield* items;
      })();
    }
    return relayedStream(this.stub, op, args, opts);
  }
}

/** Items taken from the Durable Object per round trip. */
const BATCH = 64;

/**
 * A live stream of the agent, read from the host's Durable Object in batches. Unlike an async
 * generator, return() takes effect at once, also while a batch is awaited: the object then
 * cancels the stream on the agent.
 */
function relayedStream(stub: () => DurableObjectStub<HostLink>, op: StreamOp, args: unknown[], opts: { timeoutMs: number; idempotencyKey?: string }): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<unknown> {
      let opened: Promise<string> | null = null;
      const buffer: unknown[] = [];
      let ended = false;
      let cancelled = false;
      return {
        async next(): Promise<IteratorResult<unknown>> {
          for (;;) {
            if (cancelled) return { value: undefined, done: true };
            if (buffer.length > 0) return { value: buffer.shift(), done: false };
            if (ended) return { value: undefined, done: true };
            opened ??= stub().streamOpen(op, args, opts).then((o) => unwrap(o as RelayOutcome<{ id: string }>).id);
            const id = await opened;
            const batch = unwrap((await stub().streamNext(id, BATCH)) as RelayOutcome<{ items: unknown[]; done: boolean }>);
            if (cancelled) return { value: undefined, done: true };
            buffer.push(...batch.items);
            if (batch.done) ended = true;
          }
        },
        async return(): Promise<IteratorResult<unknown>> {
          if (!cancelled) {
            cancelled = true;
            buffer.length = 0;
            const id = opened ? await opened.catch(() => null) : null;
            if (id && !ended) await stub().streamCancel(id).catch(() => undefined);
          }
          return { value: undefined, done: true };
        },
      };
    },
  };
}

export class EdgeHostDirectory implements HostDirectory {
  constructor(private readonly env: EdgeEnv) {}

  private registry() {
    return this.env.HOST_REGISTRY.get(this.env.HOST_REGISTRY.idFromName('registry'));
  }

  link(name: string): DurableObjectStub<HostLink> {
    return this.env.HOST_LINK.get(this.env.HOST_LINK.idFromName(name));
  }

  async list(): Promise<HostSummary[]> {
    const names = await this.registry().list();
    return Promise.all(names.map(async (name): Promise<HostSummary> => {
      const link = this.link(name);
      const s = await link.status();
      let containers: HostSummary['containers'] = null;
      if (s.online) {
        const listed = (await link.call('listContainers', [{ all: true }], { timeoutMs: 3000 })) as RelayOutcome;
        if (listed.ok && Array.isArray(listed.result)) {
          const all = listed.result as Array<{ state?: string }>;
          containers = { total: all.length, running: all.filter((c) => c.state === 'running').length };
        }
      }
      return { name, createdAt: s.createdAt ?? '', enrolled: s.enrolled, online: s.online, agentVersion: s.agentVersion, lastSeen: s.lastSeen, containers };
    }));
  }

  async create(name: string, opts: { joinTokenTtlMs?: number } = {}) {
    assertHostName(name);
    const created = unwrap((await this.link(name).create(name, opts.joinTokenTtlMs ?? JOIN_TOKEN_TTL_MS)) as RelayOutcome<{ joinToken: string; expiresAt: string }>);
    await this.registry().add(name);
    return { name, ...created };
  }

  async revoke(name: string): Promise<boolean> {
    assertHostName(name);
    const existed = await this.link(name).revoke();
    const listed = await this.registry().remove(name);
    return existed || listed;
  }

  async exists(name: string): Promise<boolean> {
    return HOST_NAME.test(name) && (await this.link(name).status()).exists;
  }
}

/**
 * The deps of one host: Docker and the registry checks go through its agent; its scan report,
 * scan report and update history live in the shared store under `host:<name>:` (its updates
 * run on the agent, with the journal on the host).
 */
export function hostDepsSelector(base: AppDeps, directory: EdgeHostDirectory): (name: string) => AppDeps {
  const cache = new Map<string, AppDeps>();
  return (name) => {
    assertHostName(name);
    let deps = cache.get(name);
    if (deps) return deps;
    const link = new DurableObjectTransport(() => directory.link(name));
    const docker = new RemoteDockerPort(link);
    const inventory = new Inventory(docker);
    const store = prefixedStore(base.store, `host:${name}`);
    const { config, logger, clock } = base;
    const scanner = new Scanner({ inventory, checker: new RemoteImageChecker(link), store, logger, clock, config });
    // The agent runs each update itself (it finishes or rolls back there if the link drops);
    // what it reports later is taken into the history before the history is read.
    const updater = new RemoteUpdater(link, name);
    const history: HostHistory = new HostHistory(store, () => syncUpdateOutcomes({
      link, history, logger: logger.child({ host: name }),
      onUpdated: async (e) => {
        if (e.newContainerId && e.newImageId) await scanner.recordUpdated(e.newContainerId, e.newImageId, undefined);
      },
    }));
    // Compose and the web shell run on the host too: its agent's APP_PATH and IS_OPEN_DOCKER_SHELL apply.
    const composePort = new RemoteComposePort(link);
    // One lock per project of this host, shared by compose actions and compose container updates.
    const composeLocks = new ProjectLocks();
    const compose = new ComposeService({ compose: composePort, files: new RemoteProjectFiles(link), docker, scanner, logger: logger.child({ component: 'compose', host: name }), locks: composeLocks });
    const terminal = new RemoteTerminal(link);
    const updates = new UpdateService({
      docker, updater, compose: composePort, composeLocks, scanner, history, config, credentials: config.registry.auth, logger, clock,
      updaterOptions: { settleMs: config.derived.settleMs, removeOldImage: config.update.removeOldImage },
    });
    // Fresh per host: the shell's per-user session limit counts the sessions of this host.
    const { shellSessions: _, ...rest } = base;
    deps = { ...rest, docker, inventory, scanner, updates, compose, history, store, terminal };
    if (cache.size >= 1000) cache.delete(cache.keys().next().value as string);
    cache.set(name, deps);
    return deps;
  };
}
