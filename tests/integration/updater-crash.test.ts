import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage } from 'unstorage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { secureFsDriver } from '../../src/agent/fs-store-driver.js';
import { silentLogger } from '../../src/core/ports.js';
import { reconcile } from '../../src/core/updater/reconcile.js';
import { docker } from '../helpers/docker-cli.js';
import { BedScratch, updaterEngines } from '../helpers/updater-bed.js';

/*
 * Crash safety on the real engines: the updater runs in a child process that is SIGKILLed at a
 * step; reconcile (as at the next start) must leave exactly one container under the original
 * name, running, and nothing of the half-made update behind.
 */

const HARNESS = join(import.meta.dirname, '../helpers/updater-harness.ts');

/**
 * Runs the harness until `until` appears on its stdout (plus `graceMs`), then SIGKILLs it. The
 * harness is this one node process (tsx as a loader): through `npx tsx` the kill would reach
 * npx only, and the updater would go on in an orphaned grandchild, racing with reconcile.
 */
function runAndKill(args: string[], until: string, graceMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HARNESS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the harness never printed "${until}": ${out}${err}`));
    }, 45_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(until)) {
        clearTimeout(timer);
        setTimeout(() => child.kill('SIGKILL'), graceMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(out) : reject(new Error(`the harness ended by itself: ${out}${err}`))));
  });
}

const CASES = [
  { label: 'after the rename', until: 'paused create', pauseAt: 'create', expect: 'restored-old' },
  { label: 'after the create', until: 'paused start', pauseAt: 'start', expect: 'restored-old' },
  { label: 'after the start', until: 'paused health', pauseAt: 'health', expect: 'restored-old' },
  { label: 'during the health wait', until: 'step health', pauseAt: 'none', graceMs: 1_500, expect: 'restored-old' },
  { label: 'after the health wait passed', until: 'paused cleanup', pauseAt: 'cleanup', settleMs: 500, expect: 'kept-new' },
] as const;

// Both engines at once: each has its own containers, networks and repositories.
describe.concurrent('crash safety', () => {
  for (const { host, label } of updaterEngines()) {
    describe(`crash safety on ${label}`, () => {
      const scratch = new BedScratch(host);
      const port = new DockerodePort(host);
      const ref = `${scratch.repo('crash')}:latest`;
      const names = CASES.map((c) => scratch.name(`crash-${c.pauseAt}`));
      const ids: string[] = [];
      let newImageId = '';

      beforeAll(async () => {
        await scratch.publish(ref, ['VOLUME /data'], { keepTag: true });
        for (const n of names) ids.push(await docker(host, ['run', '-d', '--name', n, '--network', 'none', ref]));
        newImageId = await scratch.publish(ref, ['VOLUME /data', 'ENV V=2']);
      });
      afterAll(() => scratch.cleanup());

      CASES.forEach((c, i) => {
        it(`killed ${c.label}: reconcile leaves one container named as before, running`, async () => {
          const name = names[i] ?? '';
          const storeDir = mkdtempSync(join(tmpdir(), 'wdt-journal-'));
          try {
            const settle = 'settleMs' in c ? c.settleMs : 30_000;
            await runAndKill([host, storeDir, name, c.pauseAt, String(settle)], c.until, 'graceMs' in c ? c.graceMs : 0);
            const store = createStorage({ driver: secureFsDriver({ base: storeDir }) });
            expect(await store.getKeys('journal')).toEqual([`journal:${ids[i]}`]);
            const [outcome, ...more] = await reconcile(store, port, silentLogger);
            expect(more).toEqual([]);
            // The error (if any) is part of the comparison, so a failed settle says why.
            expect({ container: outcome?.container, result: outcome?.result, error: outcome?.error }).toEqual({ container: name, result: c.expect, error: undefined });

            const holders = (await docker(host, ['ps', '-a', '--format', '{{.ID}} {{.Names}} {{.State}}'])).split('\n').filter((l) => l.split(' ')[1]?.startsWith(name));
            expect(holders).toHaveLength(1);
            const [shortId, holderName, state] = (holders[0] ?? '').split(' ');
            expect(holderName).toBe(name);
            expect(state).toBe('running');
            const holder = await port.inspectContainerRaw(name);
            if (c.expect === 'restored-old') {
              expect(holder?.Id).toBe(ids[i]);
              const fromNewImage = await docker(host, ['ps', '-a', '--filter', `ancestor=${newImageId}`, '--format', '{{.Names}}']);
              expect(fromNewImage.split('\n').filter((n) => n.startsWith(name))).toEqual([]);
            } else {
              expect(holder?.Image).toBe(newImageId);
              expect(holder?.Id.startsWith(shortId ?? '-')).toBe(true);
            }
            expect(await store.getKeys('journal')).toEqual([]);
          } finally {
            rmSync(storeDir, { recursive: true, force: true });
          }
        });
      });
    });
  }
});
