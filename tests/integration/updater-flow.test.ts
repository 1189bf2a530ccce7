import { afterAll, describe, expect, it } from 'vitest';
import { createStorage } from 'unstorage';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/ports.js';
import { Updater } from '../../src/core/updater/updater.js';
import { docker } from '../helpers/docker-cli.js';
import { BedScratch, updaterEngines } from '../helpers/updater-bed.js';

/*
 * The update flow on the real engines: rollbacks (a process that exits at once, a failing
 * healthcheck), a successful update (image env follows the new image, the user's is kept,
 * anonymous volume data survives) and a failed pull that leaves the container untouched.
 */

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe.concurrent('the updater on the real engines', () => {
  for (const { host, label } of updaterEngines()) {
    describe(label, () => {
      const scratch = new BedScratch(host);
      const port = new DockerodePort(host);
      afterAll(() => scratch.cleanup());
      /** Each test its own store, so one test's open journal never shows in another's checks. */
      const fresh = () => {
        const store = createStorage();
        return { store, updater: new Updater({ docker: port, store, logger: silentLogger }) };
      };

      /** A running container on `<repo>:latest` = v1; then v2 is pushed under the same tag. */
      async function containerWithUpdate(prefix: string, v1: string[], v2: string[], runArgs: string[] = []) {
        const ref = `${scratch.repo(prefix)}:latest`;
        const name = scratch.name(prefix);
        await scratch.publish(ref, v1, { keepTag: true });
        const id = await docker(host, ['run', '-d', '--name', name, '--network', 'none', ...runArgs, ref]);
        await scratch.publish(ref, v2);
        return { ref, name, id };
      }

      async function expectOldBack(store: ReturnType<typeof createStorage>, name: string, id: string) {
        const back = await port.inspectContainerRaw(name);
        expect(back?.Id).toBe(id);
        expect(back?.State.Running).toBe(true);
        const names = (await docker(host, ['ps', '-a', '--format', '{{.Names}}'])).split('\n');
        expect(names.filter((n) => n.startsWith(name))).toEqual([name]);
        expect(await store.getKeys('journal')).toEqual([]);
      }

      it('rolls back when the new image\'s process exits at once, with its last log lines', async () => {
        const { store, updater } = fresh();
        const { name, id } = await containerWithUpdate('exits', [], ['CMD ["sh", "-c", "echo wd-first-line; echo wd-fatal-config-missing >&2; exit 3"]']);
        const err = await failure(updater.update(name, { settleMs: 3_000, pollMs: 200 }));
        expect(err.code).toBe(ErrorCode.UpdateFailed);
        expect(err.message).toMatch(/exit code 3/);
        expect(err.message).toContain('wd-fatal-config-missing');
        expect(err.data).toMatchObject({ step: 'health', rolledBack: true, logs: expect.stringContaining('wd-first-line') });
        await expectOldBack(store, name, id);
      });

      it('rolls back when the new image\'s healthcheck fails', async () => {
        const { store, updater } = fresh();
        const { name, id } = await containerWithUpdate('unhealthy', [], ['HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD echo wd-probe-failed && false']);
        const err = await failure(updater.update(name, { pollMs: 200, healthTimeoutMs: 30_000 }));
        expect(err.message).toMatch(/unhealthy/);
        expect(err.message).toContain('wd-probe-failed');
        await expectOldBack(store, name, id);
      });

      it('updates: image env follows the new image, the user\'s env is kept, anonymous volume data survives', async () => {
        const { store, updater } = fresh();
        const { name, id } = await containerWithUpdate('success', ['ENV MODE=v1 SHARED=img', 'VOLUME /data'], ['ENV MODE=v2 SHARED=img2 ADDED=yes', 'VOLUME /data'], [
          '-e', 'USER_VAR=kept', '-e', 'SHARED=user', '-v', '/scratch',
        ]);
        await docker(host, ['exec', name, 'sh', '-c', 'echo in-data > /data/f; echo in-scratch > /scratch/f']);
        const result = await updater.update(name, { settleMs: 1_000, pollMs: 200 });
        expect(result.outcome).toBe('updated');
        const now = await port.inspectContainerRaw(name);
        expect(now?.Id).toBe(result.containerId);
        expect(now?.Id).not.toBe(id);
        expect(now?.State.Running).toBe(true);
        expect(now?.Config.Env).toEqual(expect.arrayContaining(['MODE=v2', 'ADDED=yes', 'USER_VAR=kept', 'SHARED=user']));
        expect(now?.Config.Env).not.toContain('MODE=v1');
        expect(await docker(host, ['exec', name, 'cat', '/data/f', '/scratch/f'])).toBe('in-data\nin-scratch');
        expect(await port.inspectContainerRaw(id)).toBeNull();
      });

      it('leaves the container untouched when the pull fails (tag missing in the registry)', async () => {
        const { store, updater } = fresh();
        const { ref, name, id } = await containerWithUpdate('nopull', [], []);
        const missing = ref.replace(/:latest$/, ':wd-missing');
        const err = await failure(updater.update(name, { image: missing }));
        expect(err.data).toMatchObject({ step: 'pull', rolledBack: false });
        expect(err.message).toMatch(/not found|manifest unknown/);
        await expectOldBack(store, name, id);
      });
    });
  }
});
