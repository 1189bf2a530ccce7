import { serve, type ServerType } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { loadConfig } from '../../src/core/config/load.js';
import type { Logger } from '../../src/core/ports.js';
import { createUpdateChecker } from '../../src/core/update-check.js';
import { hmacHex } from '../../src/core/webhook/signature.js';
import { bed, uniqueName } from '../helpers/bed.js';
import { docker, dockerQuiet } from '../helpers/docker-cli.js';
import { buildImage, pushImage } from '../helpers/images.js';
import { testApp } from '../helpers/test-app.js';

/**
 * Webhooks on the real bed. The end-to-end case uses the bed's registry :5000, whose
 * notifications go to http://127.0.0.1:5010/registry-events with no credentials (its config
 * is fixed): a small forwarding listener on :5010 stands in for a reverse proxy, signs each
 * envelope with webhook.secret (X-Signature-256 over "<timestamp>.<body>") and forwards it,
 * byte for byte and with the registry's Content-Type, to the app's real HTTP server.
 */
const host = bed().dockerHost;
const run = uniqueName('whk');
const selector = `wdt.whk=${run}`;
const SECRET = `whsec-${run}-${Math.random().toString(36).slice(2)}`;
const env = { WATCH_POLICY_ONLY_LABELS: selector, WATCH_UPDATE_SETTLE_TIME: '1s', WATCH_WEBHOOK_SECRET: SECRET };
const repoToken = `${bed().regPlain}/wdt/${run}-tok`;
const repoE2e = `${bed().regPlain}/wdt/${run}-e2e`;
const names = { tok: `${run}-tok`, e2e: `${run}-e2e` };

const lines: string[] = [];
function captureLogger(bindings: Record<string, unknown> = {}): Logger {
  const write = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    lines.push(JSON.stringify({ level, ...bindings, ...obj, msg }, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)));
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (b) => captureLogger({ ...bindings, ...b }) };
}

interface Job { id: string; status: string; matched: { name: string }[]; results: { name: string; result: string; newImageId?: string; trigger: { kind: string; by?: string } }[]; skipped: unknown[] }
const imageOf = (name: string) => docker(host, ['inspect', '--format', '{{.Image}}', name]);

async function waitJob(fetchJob: () => Promise<Job>, timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await fetchJob();
    if (job.status === 'done') return job;
    if (Date.now() > deadline) throw new Error(`job ${job.id} not done: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('webhooks on the real bed', () => {
  const config = loadConfig({ env, readSecretFile: () => '' });
  const t = testApp(new DockerodePort(host), { env, logger: captureLogger(), checker: createUpdateChecker(config).checker });
  let machineToken = '';
  let server: ServerType | undefined;
  let forwarder: Server | undefined;

  beforeAll(async () => {
    for (const [repo, name] of [[repoToken, names.tok], [repoE2e, names.e2e]] as const) {
      await buildImage(host, `${repo}:latest`);
      await pushImage(host, `${repo}:latest`);
      await docker(host, ['run', '-d', '--network', 'none', '--stop-timeout', '1', '--name', name, '--label', selector, `${repo}:latest`]);
    }
  });

  afterAll(async () => {
    forwarder?.close();
    server?.close();
    const ids = await docker(host, ['ps', '-aq', '--filter', `label=${selector}`]).catch(() => '');
    for (const id of ids.split('\n').filter(Boolean)) await dockerQuiet(host, ['rm', '-f', id]);
    await dockerQuiet(host, ['rmi', '-f', `${repoToken}:latest`, `${repoE2e}:latest`]);
  });

  it('a CI job with a machine token updates the container to the image it just pushed', async () => {
    const created = await t.request('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `ci-${run}`, scope: { images: [repoToken, repoE2e] } }) });
    expect(created.status).toBe(201);
    machineToken = ((await created.json()) as { data: { token: string } }).data.token;
    const before = await imageOf(names.tok);
    const newId = await buildImage(host, `${repoToken}:latest`);
    await pushImage(host, `${repoToken}:latest`);
    expect(newId).not.toBe(before);

    const auth = { authorization: `Bearer ${machineToken}` };
    expect((await t.app.request('/api/containers', { headers: auth })).status).toBe(401);
    const res = await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ images: [`${repoToken}:latest`] }) });
    expect(res.status).toBe(202);
    const { jobId, matched } = ((await res.json()) as { data: { jobId: string; matched: string[] } }).data;
    expect(matched).toEqual([names.tok]);
    const job = await waitJob(async () => ((await (await t.app.request(`/api/v1/webhooks/jobs/${jobId}`, { headers: auth })).json()) as { data: Job }).data);
    expect(job.results).toEqual([expect.objectContaining({ name: names.tok, result: 'updated', newImageId: newId, trigger: { kind: 'webhook', by: `token:ci-${run}` } })]);
    expect(await imageOf(names.tok)).toBe(newId);
    // Another repository is outside the token's scope.
    const other = await t.app.request('/api/v1/webhooks/update', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ images: [`${bed().regPlain}/wd/busybox:latest`] }) });
    expect(other.status).toBe(403);
    // The token's container is done with: its later push notifications must not touch the next test.
    await dockerQuiet(host, ['rm', '-f', names.tok]);
  });

  it("end to end: the registry's own push notification updates the container", async () => {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    });
    const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const answers: { status: number; data: { jobId?: string | null; matched?: string[] } }[] = [];
    let envelopes = 0;
    forwarder = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        envelopes++;
        const body = Buffer.concat(chunks).toString('utf8');
        const ts = String(Math.floor(Date.now() / 1000));
        void hmacHex(SECRET, `${ts}.${body}`)
          .then((sig) =>
            fetch(`${appUrl}/api/v1/webhooks/update`, {
              method: 'POST', body,
              headers: { 'content-type': req.headers['content-type'] ?? 'application/json', 'x-webhook-timestamp': ts, 'x-signature-256': `sha256=${sig}` },
            }),
          )
          .then(async (r) => answers.push({ status: r.status, data: ((await r.json()) as { data: { jobId?: string | null; matched?: string[] } }).data }))
          .catch((err: unknown) => answers.push({ status: 0, data: { jobId: String(err) } }))
          .finally(() => {
            // Always 200 to the registry, or it would send the envelope again forever.
            res.writeHead(200).end();
          });
      });
    });
    await new Promise<void>((resolve, reject) => {
      forwarder?.once('error', reject);
      forwarder?.listen(5010, '127.0.0.1', () => resolve());
    });

    // The backlog drains first: it holds the first push of our repository, whose job pulls
    // e2e:latest from the registry. Building before that job is done would race with its pull,
    // which re-tags e2e:latest to the old image, so that our push would send the old image again.
    const getJob = async (id: string) => ((await (await t.request(`/api/v1/webhooks/jobs/${id}`)).json()) as { data: Job }).data;
    const jobsForUs = () => [...new Set(answers.filter((a) => a.status === 202 && a.data.matched?.includes(names.e2e)).map((a) => a.data.jobId ?? ''))];
    const backlogDeadline = Date.now() + 60_000;
    while (jobsForUs().length === 0) {
      if (Date.now() > backlogDeadline) throw new Error(`the backlog never brought our first push after ${envelopes} envelopes: ${JSON.stringify(answers.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const backlog = await Promise.all(jobsForUs().map((id) => waitJob(() => getJob(id))));
    expect(backlog.flatMap((j) => j.results).filter((r) => r.name === names.e2e).map((r) => r.result)).not.toContain('updated');

    const before = await imageOf(names.e2e);
    const newId = await buildImage(host, `${repoE2e}:latest`);
    await pushImage(host, `${repoE2e}:latest`);
    expect(newId).not.toBe(before);

    // Our new push's envelope then yields a job that updates the container.
    const deadline = Date.now() + 90_000;
    let updated: Job | undefined;
    while (!updated) {
      for (const id of jobsForUs()) {
        const job = await getJob(id);
        if (job.results.some((r) => r.name === names.e2e && r.result === 'updated')) updated = await waitJob(() => getJob(id));
      }
      if (Date.now() > deadline) throw new Error(`no update for our push after ${envelopes} envelopes: ${JSON.stringify(answers.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(answers.every((a) => a.status === 200 || a.status === 202)).toBe(true);
    const ours = updated.results.filter((r) => r.name === names.e2e);
    expect(ours.filter((r) => r.result === 'updated')).toEqual([expect.objectContaining({ newImageId: newId, trigger: { kind: 'webhook', by: 'hmac' } })]);
    // A notification that arrives while the job runs is coalesced into it as one more pass.
    expect(ours.every((r) => r.result === 'updated' || r.result === 'unchanged')).toBe(true);
    expect(await imageOf(names.e2e)).toBe(newId);

    // No secret in the logs: not the shared secret, not the machine token.
    const log = lines.join('\n');
    expect(log).toContain('webhook');
    expect(log).not.toContain(SECRET);
    expect(machineToken).toMatch(/^wdm_/);
    expect(log).not.toContain(machineToken);
    expect(log).not.toContain(machineToken.slice(4));
  }, 150_000);
});
