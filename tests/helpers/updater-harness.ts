/**
 * Runs one update in a process of its own, so a test can SIGKILL it mid-way:
 *
 *   npx tsx tests/helpers/updater-harness.ts HOST STORE_DIR CONTAINER PAUSE_AT SETTLE_MS
 *
 * Prints "step <name>" as each step begins (after its journal entry is written); at PAUSE_AT
 * (a step name, or "none") it prints "paused <name>" and waits forever. The journal lives in
 * the secure fs store at STORE_DIR, where the test's reconcile finds it.
 */
import { createStorage } from 'unstorage';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { secureFsDriver } from '../../src/agent/fs-store-driver.js';
import { describeError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/ports.js';
import { Updater } from '../../src/core/updater/updater.js';

const [host = '', storeDir = '', container = '', pauseAt = 'none', settle = '5000'] = process.argv.slice(2);
const say = (line: string) => process.stdout.write(`${line}\n`);

const updater = new Updater({
  docker: new DockerodePort(host),
  store: createStorage({ driver: secureFsDriver({ base: storeDir }) }),
  logger: silentLogger,
  onStep: async (step) => {
    say(`step ${step}`);
    if (step === pauseAt) {
      say(`paused ${step}`);
      setInterval(() => undefined, 60_000);
      await new Promise<never>(() => undefined);
    }
  },
});

updater.update(container, { settleMs: Number(settle), pollMs: 200 }).then(
  (r) => {
    say(`done ${r.outcome}`);
    process.exit(0);
  },
  (err: unknown) => {
    say(`error ${describeError(err)}`);
    process.exit(1);
  },
);
