/**
 * npm run bench:edge [-- --rounds 30 --target 2 --rss 60]
 *
 * The split deployment against the Node server, in the same run, on the real test bed
 * (tests/bed must be up; Engine WD_DOCKER_HOST; `npm run build` first):
 *  - the same reads (GET /api/containers?all=true, GET /api/images) direct to the Node server
 *    (built CLI `serve`) and through the Worker (wrangler dev --local, workerd) + an agent
 *    process on the same engine, rounds alternating which goes first; medians and the ratio
 *    median(through Worker + agent) / median(direct), PASS/FAIL against --target;
 *  - the agent process's resident memory (VmRSS) when idle, and its peak while the Worker
 *    scans the host through it (sampled every 20 ms), PASS/FAIL against --rss MB.
 * Exits 1 when a target fails, 2 when the benchmark itself could not run. Removes what it
 * created (processes, temporary directories), also on failure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bed } from '../../tests/helpers/bed.js';
import { loginAt, startCli, waitForPort, type CliRun } from '../../tests/helpers/cli-process.js';
import { startAgent, startWorker, stopAgent, until, type EdgeWorker } from '../../tests/helpers/edge-worker.js';
import { docker, dockerQuiet } from '../../tests/helpers/docker-cli.js';
import { buildImage, pushImage } from '../../tests/helpers/images.js';
import { formatMs, log, median, newRunId, now, parseFlags, runMain, stopOnSignal } from './common.js';

const HELP = `usage: npm run bench:edge -- [--rounds R] [--target X] [--rss MB]
  --rounds   requests per read and path (median)                  (default 30)
  --target   max ratio median(Worker + agent) / median(direct)     (default 2)
  --rss      max agent resident memory, idle and during a scan, MB (default 60)
  --containers  containers it runs (network none) for the reads and the scan (default 10)`;

const { flags, int, atLeastOne } = parseFlags(HELP, { rounds: '30', target: '2', rss: '60', containers: '10' });
const CONTAINERS = int('containers', flags.containers, 1, 100);
const ROUNDS = int('rounds', flags.rounds, 3, 500);
const TARGET = atLeastOne('target', flags.target);
const RSS_MB = int('rss', flags.rss, 10, 4096);
const PASSWORD = 'bench edge password 51';
const HOST = 'bench-edge';

const dir = mkdtempSync(join(tmpdir(), 'wde-bench-'));
const run = `wde-bench-${newRunId()}`;
const image = `${bed().regPlain}/wde/${run}:latest`;
const names: string[] = [];
let server: CliRun | undefined;
let agent: CliRun | undefined;
let worker: EdgeWorker | undefined;

const stop = stopOnSignal(async () => {
  if (agent) await stopAgent(agent);
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await worker?.stop();
  for (const n of names) await dockerQuiet(bed().dockerHost, ['rm', '-f', n]);
  const id = await docker(bed().dockerHost, ['image', 'inspect', '--format', '{{.Id}}', image]).catch(() => '');
  await dockerQuiet(bed().dockerHost, ['rmi', '-f', id || image]);
  rmSync(dir, { recursive: true, force: true });
}, 20_000);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

async function timed(url: string, token: string): Promise<number> {
  const t0 = now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { code: number; msg: string };
  const ms = now() - t0;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.msg}`);
  return ms;
}

async function main(): Promise<number> {
  const dockerHost = bed().dockerHost;
  // Containers of an image in the bed's plain registry: the scan checks them there, from the agent.
  await buildImage(dockerHost, image);
  await pushImage(dockerHost, image);
  for (let i = 0; i < CONTAINERS; i++) {
    names.push(`${run}-${i}`);
    await docker(dockerHost, ['run', '-d', '--network', 'none', '--label', `wde.bench=${run}`, '--name', `${run}-${i}`, image]);
  }
  stop.checkStop();
  server = startCli(['serve'], {
    DOCKER_HOST: dockerHost, WATCH_SERVER_ADDR: '127.0.0.1:0', WATCH_STORE_DATA_DIR: join(dir, 'node'), USER_NAME: 'admin', USER_PASSWORD: PASSWORD,
    WATCH_AUTH_PASSWORD_ITERATIONS: '100000', WATCH_SCAN_INITIAL_SCAN_ON_START: 'false',
  });
  const direct = `http://127.0.0.1:${await waitForPort(server)}`;
  const directToken = await loginAt(direct, 'admin', PASSWORD);
  stop.checkStop();
  log('starting the Worker (wrangler dev --local)');
  worker = await startWorker({ persistDir: join(dir, 'state'), vars: { USER_NAME: 'admin', USER_PASSWORD: PASSWORD } });
  const edgeToken = await loginAt(worker.url, 'admin', PASSWORD);
  const created = await fetch(`${worker.url}/api/hosts`, { method: 'POST', headers: { authorization: `Bearer ${edgeToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: HOST }) });
  const joinToken = ((await created.json()) as { data: { joinToken: string } }).data.joinToken;
  agent = startAgent({ url: worker.url, host: HOST, keyFile: join(dir, 'agent.key'), joinToken, dockerHost, env: { WATCH_LOGGING_LEVEL: 'warn' } });
  await until('the agent online', async () => {
    const res = await fetch(`${worker!.url}/api/hosts`, { headers: { authorization: `Bearer ${edgeToken}` } });
    return ((await res.json()) as { data: { hosts: Array<{ name: string; online: boolean }> } }).data.hosts.find((h) => h.name === HOST && h.online);
  }, 30_000);
  stop.checkStop();

  const reads = ['/api/containers?all=true', '/api/images'];
  let failed = false;
  // Warm both paths (first requests compile code and open connections).
  for (const path of reads) {
    await timed(`${direct}${path}`, directToken);
    await timed(`${worker.url}${path}${path.includes('?') ? '&' : '?'}host=${HOST}`, edgeToken);
  }
  for (const path of reads) {
    const d: number[] = [];
    const e: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      stop.checkStop();
      const viaWorker = `${worker.url}${path}${path.includes('?') ? '&' : '?'}host=${HOST}`;
      if (i % 2 === 0) {
        d.push(await timed(`${direct}${path}`, directToken));
        e.push(await timed(viaWorker, edgeToken));
      } else {
        e.push(await timed(viaWorker, edgeToken));
        d.push(await timed(`${direct}${path}`, directToken));
      }
    }
    const ratio = median(e) / median(d);
    const pass = ratio <= TARGET;
    failed ||= !pass;
    console.log(`GET ${path}: direct ${formatMs(median(d), 1)}, Worker + agent ${formatMs(median(e), 1)} (median of ${ROUNDS}); ratio ${ratio.toFixed(2)} (target <= ${TARGET}) ${pass ? 'PASS' : 'FAIL'}`);
  }

  const pid = agent.child.pid!;
  await new Promise((r) => setTimeout(r, 1000));
  const idle = rssMb(pid);
  let peak = idle;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // the process ended: the scan below fails and says so
    }
  }, 20);
  const scan = await fetch(`${worker.url}/api/scan?host=${HOST}`, { method: 'POST', headers: { authorization: `Bearer ${edgeToken}` }, signal: AbortSignal.timeout(300_000) });
  clearInterval(sampler);
  const scanBody = (await scan.json()) as { msg: string; data?: { total: number } };
  if (scan.status !== 200) throw new Error(`scan through the agent: ${scan.status} ${scanBody.msg}`);
  peak = Math.max(peak, rssMb(pid));
  const idlePass = idle <= RSS_MB;
  const peakPass = peak <= RSS_MB;
  failed ||= !idlePass || !peakPass;
  console.log(`agent RSS idle: ${idle.toFixed(1)} MB (target <= ${RSS_MB}) ${idlePass ? 'PASS' : 'FAIL'}`);
  console.log(`agent RSS peak during a scan of ${scanBody.data?.total ?? '?'} containers: ${peak.toFixed(1)} MB (target <= ${RSS_MB}) ${peakPass ? 'PASS' : 'FAIL'}`);
  return failed ? 1 : 0;
}

process.exitCode = await runMain(main, stop, { ms: 10 * 60_000, message: 'watchdog: the benchmark took more than 10 minutes' });
