/** Webhooks of the split deployment: the fan-out over the hosts (src/core/webhook/fanout.ts) on the Worker's hosts. */
import { FanoutWebhookJobs, type FanoutRecord } from '../core/webhook/fanout.js';
import type { JobStore } from '../core/webhook/job-store.js';
import { WebhookJobs } from '../core/webhook/jobs.js';
import type { AppDeps } from '../handlers/context.js';
import type { EdgeEnv } from './edge-hosts.js';
import { hostStatuses } from './schedule.js';

export function hostWebhookJobs(env: EdgeEnv, base: AppDeps, selectHost: (name: string) => AppDeps, stores: { hostJobs: JobStore; fanoutJobs: JobStore<FanoutRecord> }): FanoutWebhookJobs {
  const perHost = new Map<string, WebhookJobs>();
  const { config, clock, logger } = base;
  return new FanoutWebhookJobs({
    hosts: async () => (await hostStatuses(env)).map(({ name, status }) => ({ name, online: status.online })),
    jobsFor: (host) => {
      let jobs = perHost.get(host);
      if (!jobs) {
        // The host's deps are looked up at each use: its Docker calls and registry checks go through its agent.
        const deps = () => selectHost(host);
        jobs = new WebhookJobs({
          listContainers: () => deps().inventory.containers({ includeStopped: config.docker.includeStopped }),
          updateOne: (name, trigger) => deps().updates.updateOne(name, trigger),
          forget: (refs) => deps().scanner.forget(refs),
          config, clock, logger: logger.child({ host }), store: stores.hostJobs,
        });
        perHost.set(host, jobs);
      }
      return jobs;
    },
    clock, logger, store: stores.fanoutJobs,
  });
}
