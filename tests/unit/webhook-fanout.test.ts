import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load.js';
import type { ContainerInfo } from '../../src/core/inventory.js';
import { silentLogger, systemClock } from '../../src/core/ports.js';
import type { HistoryEntry } from '../../src/core/update-history.js';
import { FanoutWebhookJobs } from '../../src/core/webhook/fanout.js';
import { WebhookJobs } from '../../src/core/webhook/jobs.js';
import { parseImagePattern } from '../../src/core/webhook/targets.js';

const config = loadConfig({ env: {}, readSecretFile: () => '' });
const container = (name: string, image: string): ContainerInfo => ({
  id: `${name}-id`.padEnd(64, '0'), name, image, imageId: 'sha256:'.padEnd(71, '1'), running: true, state: 'running', created: '', labels: {},
  repoTags: [image], repoDigests: [`${image.split(':')[0]}@sha256:${'2'.repeat(64)}`], platform: { os: 'linux', architecture: 'amd64' }, compose: undefined, currentDigest: undefined,
});

/** Hosts "one", "two" and "three" online with their containers, "off" offline. */
function setup() {
  const updated: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const containers: Record<string, ContainerInfo[]> = {
    one: [container('web', '127.0.0.1:5000/wdt/app:latest'), container('db', '127.0.0.1:5000/wdt/db:latest')],
    two: [container('web2', '127.0.0.1:5000/wdt/app:latest')],
    three: [container('other', '127.0.0.1:5000/wdt/other:latest')],
  };
  const perHost = new Map<string, WebhookJobs>();
  const fanout = new FanoutWebhookJobs({
    hosts: async () => [{ name: 'one', online: true }, { name: 'two', online: true }, { name: 'three', online: true }, { name: 'off', online: false }],
    jobsFor: (host) => {
      let j = perHost.get(host);
      if (!j) {
        j = new WebhookJobs({
          listContainers: async () => containers[host] ?? [],
          updateOne: async (name, trigger) => {
            await gate;
            updated.push(`${host}/${name}`);
            return { id: `u-${name}`, trigger, containerId: name, name, image: '', result: 'updated', startedAt: new Date().toISOString(), durationMs: 1 } satisfies HistoryEntry;
          },
          config, clock: systemClock, logger: silentLogger,
        });
        perHost.set(host, j);
      }
      return j;
    },
    clock: systemClock, logger: silentLogger,
  });
  return { fanout, updated, release };
}

const app = { images: [parseImagePattern('127.0.0.1:5000/wdt/app:latest')], containers: [] };
const meta = { by: 'hmac', source: 'own' };

describe('webhook jobs over several hosts', () => {
  it('without a host: every online host whose containers match; the job shows each host\'s part', async () => {
    const { fanout, updated, release } = setup();
    const { job, coalesced, done } = await fanout.trigger(app, meta);
    expect(coalesced).toBe(false);
    expect(job.hosts.map((h) => h.host)).toEqual(['one', 'two']);
    expect(job.matched).toEqual([{ host: 'one', name: 'web', image: '127.0.0.1:5000/wdt/app:latest' }, { host: 'two', name: 'web2', image: '127.0.0.1:5000/wdt/app:latest' }]);
    expect(job.offlineHosts).toEqual(['off']);
    // A second push of the same image while the first job runs joins it.
    await new Promise((r) => setTimeout(r, 5));
    const again = await fanout.trigger(app, meta);
    expect(again).toMatchObject({ coalesced: true, job: { id: job.id, triggers: 2 } });
    release();
    await done;
    await again.done;
    const finished = (await fanout.get(job.id))!;
    expect(finished.status).toBe('done');
    expect(finished.results.map((r) => `${r.host}/${r.name}:${r.result}`).sort()).toEqual(['one/web:updated', 'one/web:updated', 'two/web2:updated', 'two/web2:updated']);
    expect(updated.sort()).toEqual(['one/web', 'one/web', 'two/web2', 'two/web2']);
  });

  it('with a host: that host only; an unknown or offline host is an error at once', async () => {
    const { fanout, updated, release } = setup();
    release();
    const { job, done } = await fanout.trigger(app, meta, { host: 'two' });
    await done;
    expect(await fanout.get(job.id)).toMatchObject({ status: 'done', hosts: [{ host: 'two', status: 'done' }], offlineHosts: [] });
    expect(updated).toEqual(['two/web2']);
    await expect(fanout.trigger(app, meta, { host: 'off' })).rejects.toMatchObject({ code: 50005, message: 'host off is offline: its agent is not connected' });
    await expect(fanout.trigger(app, meta, { host: 'nobody' })).rejects.toMatchObject({ code: 40400 });
    // A named host with nothing matching: a finished job with its (empty) part.
    const none = await fanout.trigger(app, meta, { host: 'three' });
    expect(none.job).toMatchObject({ status: 'done', matched: [], hosts: [{ host: 'three', matched: [] }] });
  });
});
