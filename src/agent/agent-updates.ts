/**
 * The agent's host-run updates: the core Updater on the local Docker port, its journal and the
 * unreported outcomes in a 0600 file store of the agent's own (AGENT_DATA_DIR, default beside
 * the key file), and the link operations that serve them.
 */
import { createStorage } from 'unstorage';
import { HostUpdateRunner } from '../core/agent-link/host-updates.js';
import type { Logger } from '../core/ports.js';
import { Updater, type UpdaterDocker } from '../core/updater/updater.js';
import type { UpdateOptions } from '../core/updater/update-options.js';
import type { CallTable } from './agent-services.js';
import { secureFsDriver } from './fs-store-driver.js';

/** Settles what an earlier run left (reconcile), then answers the update operations. */
export async function hostUpdateHandlers(opts: { docker: UpdaterDocker; dataDir: string; logger: Logger }): Promise<{ calls: CallTable; runner: HostUpdateRunner; idle: () => Promise<void> }> {
  const store = createStorage({ driver: secureFsDriver({ base: opts.dataDir }) });
  const logger = opts.logger;
  const updater = new Updater({ docker: opts.docker, store, logger });
  const runner = new HostUpdateRunner({ updater, docker: opts.docker, store, logger });
  await runner.start();
  const calls: CallTable = {
    // Arguments arrive validated by the protocol's schemas (ops.ts).
    updateContainer: (x) => runner.update(x[0] as string, x[1] as UpdateOptions, x[2] as string),
    updateOutcomes: () => runner.outcomes(),
    updateAck: (x) => runner.ack(x[0] as string[]),
  };
  const idle = async () => {
    if (runner.busy > 0) logger.info({ component: 'agent', action: 'shutdown', updates: runner.busy }, 'waiting for the running updates to finish');
    await runner.idle();
  };
  return { calls, runner, idle };
}
