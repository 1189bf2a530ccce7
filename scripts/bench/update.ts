/**
 * npm run bench:update [-- --rounds 5 --target 1.3 --settle 500 --poll 50]
 *
 * How long a host-network HTTP service is unreachable while the Updater replaces its container,
 * against `docker restart` of the same container in the same run, on the real test bed
 * (tests/bed, must be up; Engine WD_DOCKER_HOST, registry WD_REG_PLAIN).
 *
 * The service: busybox httpd on 127.0.0.1:<free port>, in a container on the host network, from
 * an image built FROM wd-busybox:latest. Its main process is a small shell that forwards SIGTERM:
 *   sh -c 'trap "kill $pid; wait $pid; exit 0" TERM; httpd -f -p 127.0.0.1:PORT -h /www & pid=$!; wait $pid'
 * (httpd as PID 1 ignores SIGTERM, so every stop would wait out the 10 s stop timeout and both
 * measurements would be that timeout). The stop is otherwise the container's real one: SIGTERM,
 * the default stop timeout, no STOPSIGNAL trick.
 *
 * Two images, "v1" and "v2" (different /www/index.html), are pushed in turn under ONE tag of
 * the plain registry; before each update the other one is pushed and pre-pulled, so the pull is
 * outside the measured window (the Updater's own pull then finds the image already there).
 *
 * The probe (update-probe.ts) GETs http://127.0.0.1:PORT/ every 10 ms (200 ms time-out) from
 * this process. The window runs from the first failed request to the first answer after it.
 * Rounds alternate which of update / restart goes first. Reports medians, min/max, the ratio
 * median(update window) / median(restart window) with PASS/FAIL against --target, and where the
 * update's time goes (the Updater's onStep hook). Exits 1 when a target fails, 2 when the
 * benchmark itself could not run. Removes everything it created, also on failure.
 */
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { silentLogger } from '../../src/core/ports.js';
import type { UpdateStep } from '../../src/core/updater/journal.js';
import { stopTimeoutOf } from '../../src/core/updater/recreate-plan.js';
import { Updater } from '../../src/core/updater/updater.js';
import { bed } from '../../tests/helpers/bed.js';
import { docker, dockerQuiet } from '../../tests/helpers/docker-cli.js';
import { pushImage } from '../../tests/helpers/images.js';
import { RegistryPusher } from '../../tests/helpers/registry-push.js';
import { BuiltImages, deleteManifests, formatMs, log, median, newRunId, now, parseFlags, runMain, stopOnSignal } from './common.js';
import { HttpProbe, outage, trailingSuccesses, type Outage } from './update-probe.js';

// ---- options ----------------------------------------------------------------------------

const HELP = `usage: npm run bench:update -- [--rounds R] [--target X] [--settle MS] [--poll MS]
  --rounds   update + restart measurements each (median)     (default 5)
  --target   max ratio median(update) / median(restart)       (default 1.3)
  --settle   the Updater's settleMs                            (default 500)
  --poll     the Updater's pollMs                              (default 50)`;

const { flags, int, atLeastOne } = parseFlags(HELP, {
  rounds: '5',
  target: '1.3',
  settle: '500',
  poll: '50',
});
const ROUNDS = int('rounds', flags.rounds, 1, 20);
const SETTLE_MS = int('settle', flags.settle, 0, 10_000);
const POLL_MS = int('poll', flags.poll, 10, 1_000);
const TARGET = atLeastOne('target', flags.target);
const PROBE = { intervalMs: 10, timeoutMs: 200, maxSamples: 3_000, maxMs: 30_000 };
/** Steady answers wanted before an action, and how long to keep watching after the window closes. */
const STEADY_BEFORE = 5;
const WATCH_AFTER_MS = 300;

// ---- small helpers ----------------------------------------------------------------------

const ms = (x: number | undefined) => formatMs(x, 0);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

// ---- the run's resources, and cleaning them up ------------------------------------------

const B = bed();
const host = B.dockerHost;
const runId = newRunId();
const repoPath = `wdt/bench-update-${runId}`;
const repo = `${B.regPlain}/${repoPath}`;
/** The one tag both versions are pushed under; the container runs from it. */
const ref = `${repo}:live`;
const name = `wdt-bench-update-${runId}`;

const images = new BuiltImages(host);
const digests = new Set<string>();
let containerMade = false;
const probes = new Set<HttpProbe>();

const stop = stopOnSignal(async () => {
  for (const p of probes) await p.stop();
  if (containerMade) {
    // The container under its name, and an old one a failed update may have left parked.
    const all = (await docker(host, ['ps', '-a', '--format', '{{.Names}}']).catch(() => '')).split('\n');
    const ours = all.filter((n) => n === name || n.startsWith(`${name}-wd-old-`));
    if (ours.length) await dockerQuiet(host, ['rm', '-f', ...ours]);
  }
  await images.remove();
  await deleteManifests(new RegistryPusher(B.regPlain), [...digests].map((digest) => ({ repo: repoPath, digest })));
}, 20_000);
const { checkStop } = stop;

// ---- images -----------------------------------------------------------------------------

interface Version {
  label: 'v1' | 'v2';
  id: string;
  body: string;
}

async function buildVersion(label: 'v1' | 'v2', port: number): Promise<Version> {
  const body = `bench-update ${label} ${runId}`;
  const serve = `trap 'kill $pid; wait $pid; exit 0' TERM; httpd -f -p 127.0.0.1:${port} -h /www & pid=$!; wait $pid`;
  const dockerfile = [
    `FROM ${B.baseImage}`,
    `LABEL wdt.bench="update-${runId}"`,
    `RUN mkdir -p /www && echo ${JSON.stringify(body)} > /www/index.html`,
    `CMD ${JSON.stringify(['sh', '-c', serve])}`,
  ].join('\n');
  const id = await images.build(`${repo}:${label}`, dockerfile);
  return { label, id, body };
}

/** Points the registry's tag at `v` (and records its manifest digest for the clean-up). */
async function publish(v: Version): Promise<void> {
  await docker(host, ['tag', v.id, ref]);
  await pushImage(host, ref);
  const repoDigests = JSON.parse(await docker(host, ['image', 'inspect', '--format', '{{json .RepoDigests}}', v.id])) as string[] | null;
  for (const rd of repoDigests ?? []) if (rd.startsWith(`${repo}@`)) digests.add(rd.slice(repo.length + 1));
}

// ---- one measurement --------------------------------------------------------------------

interface Measured {
  kind: 'update' | 'restart';
  round: number;
  out: Outage;
  /** From the action's call to its return. */
  actionMs: number;
  /** performance.now() when the action was called. */
  t0: number;
  /** performance.now() when each update step was entered (onStep). */
  steps: Array<{ step: UpdateStep; t: number }>;
  tDone: number;
}

let stepLog: Array<{ step: UpdateStep; t: number }> = [];

async function measure(kind: Measured['kind'], round: number, url: string, expectBody: string, action: () => Promise<void>): Promise<Measured> {
  const probe = new HttpProbe(url, PROBE);
  probes.add(probe);
  probe.start();
  try {
    if (!(await probe.waitFor((s) => trailingSuccesses(s) >= STEADY_BEFORE, 5_000))) {
      throw new Error(`before the ${kind}: ${url} did not answer ${STEADY_BEFORE} times in a row (last: ${probe.samples.at(-1)?.detail ?? 'no request'})`);
    }
    stepLog = [];
    const t0 = now();
    await action();
    const tDone = now();
    const closed = await probe.waitFor((s) => {
      const o = outage(s, t0);
      return !!o && (s.at(-1)?.t ?? 0) - o.end >= WATCH_AFTER_MS;
    }, 10_000);
    const samples = await probe.stop();
    const out = outage(samples, t0);
    if (!out || !closed) {
      const failed = samples.some((s) => s.t >= t0 && !s.ok);
      throw new Error(`${kind} in round ${round}: ${failed ? `${url} did not answer again within 10 s (last: ${samples.at(-1)?.detail})` : `the probe never saw ${url} fail (${samples.length} requests): the window is below its resolution`}`);
    }
    if (out.bodyAfter !== expectBody) throw new Error(`${kind} in round ${round}: after the window ${url} answered ${JSON.stringify(out.bodyAfter)}, expected ${JSON.stringify(expectBody)}`);
    return { kind, round, out, actionMs: tDone - t0, t0, steps: stepLog, tDone };
  } finally {
    await probe.stop();
    probes.delete(probe);
  }
}

/** Milliseconds from entering step `a` to entering the step after it (or the end). */
function stepMs(m: Measured, a: UpdateStep): number | undefined {
  const i = m.steps.findIndex((s) => s.step === a);
  if (i < 0) return undefined;
  const next = m.steps[i + 1]?.t ?? m.tDone;
  return next - (m.steps[i] as { t: number }).t;
}
const stepAt = (m: Measured, a: UpdateStep) => m.steps.find((s) => s.step === a)?.t;

// ---- the run ----------------------------------------------------------------------------

async function main(): Promise<number> {
  const port = new DockerodePort(host);
  const info = await port.info();
  const httpPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}/`;
  log(`engine ${info.version} (API ${info.apiVersion}) at ${host}; service ${url}; ${ROUNDS} rounds`);

  const v1 = await buildVersion('v1', httpPort);
  const v2 = await buildVersion('v2', httpPort);
  checkStop();
  await publish(v1);
  await docker(host, ['run', '-d', '--name', name, '--network', 'host', ref]);
  containerMade = true;
  let current = v1;

  const updater = new Updater({
    docker: port,
    store: createStorage({ driver: memoryDriver() }),
    logger: silentLogger,
    onStep: (step) => {
      stepLog.push({ step, t: now() });
    },
  });

  const results: Measured[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const order: Array<Measured['kind']> = r % 2 ? ['update', 'restart'] : ['restart', 'update'];
    for (const kind of order) {
      checkStop();
      if (kind === 'update') {
        const next = current === v1 ? v2 : v1;
        // The pull stays outside the window: push the other version, then pull it here.
        await publish(next);
        for await (const _ of port.pullImage(ref)) void _;
        const pulled = await port.inspectImageRaw(ref);
        if (pulled?.Id !== next.id) throw new Error(`after pushing and pulling ${ref}, the engine has ${pulled?.Id}, expected ${next.label} ${next.id}`);
        const m = await measure('update', r, url, next.body, async () => {
          const res = await updater.update(name, { settleMs: SETTLE_MS, pollMs: POLL_MS });
          if (res.outcome !== 'updated') throw new Error(`update in round ${r}: outcome ${res.outcome}, expected updated`);
          if (res.warnings.length) log(`update in round ${r}: warnings: ${res.warnings.join('; ')}`);
        });
        current = next;
        results.push(m);
      } else {
        const c = await port.inspectContainerRaw(name);
        if (!c) throw new Error(`no container ${name}`);
        const t = stopTimeoutOf(c);
        results.push(await measure('restart', r, url, current.body, async () => void (await docker(host, ['restart', '-t', String(t), name]))));
      }
      const m = results.at(-1) as Measured;
      log(`round ${r} ${m.kind.padEnd(7)} window ${ms(m.out.windowMs)} (${m.out.failures} failed requests: ${m.out.firstError} .. ${m.out.lastError}), call ${ms(m.actionMs)}`);
    }
  }
  return report(results, info, httpPort);
}

function report(results: Measured[], info: { version: string; apiVersion: string }, httpPort: number): number {
  const upd = results.filter((m) => m.kind === 'update');
  const rst = results.filter((m) => m.kind === 'restart');
  const w = (k: string, v: string) => console.log(`  ${k.padEnd(46)} ${v}`);
  const stats = (xs: number[]) => `median ${ms(median(xs))}  min ${ms(Math.min(...xs))}  max ${ms(Math.max(...xs))}  (n=${xs.length})`;

  console.log('');
  console.log(`bench:update — engine ${info.version} (API ${info.apiVersion}), host network, busybox httpd on 127.0.0.1:${httpPort}`);
  console.log(`  probe: GET every ${PROBE.intervalMs} ms, ${PROBE.timeoutMs} ms time-out; Updater settleMs ${SETTLE_MS}, pollMs ${POLL_MS}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('');
  console.log('Per round (window = first failed GET → first answer after it)');
  const col = (x: string) => x.padStart(9);
  console.log(`  ${'round'.padEnd(6)}${'kind'.padEnd(8)}${col('window')}${'fails'.padStart(6)} ${['stop', 'rename', 'create', 'start', 'up+'].map(col).join('')}  call`);
  for (const m of results) {
    const up = m.kind === 'update' ? m.out.end - (stepAt(m, 'health') ?? NaN) : NaN;
    const cells = (m.kind === 'update' ? [stepMs(m, 'stop'), stepMs(m, 'rename'), stepMs(m, 'create'), stepMs(m, 'start'), up].map(ms) : ['', '', '', '', '']).map(col).join('');
    console.log(`  ${String(m.round).padEnd(6)}${m.kind.padEnd(8)}${col(ms(m.out.windowMs))}${String(m.out.failures).padStart(6)} ${cells}  ${ms(m.actionMs)}${m.out.laterFailures ? `  (${m.out.laterFailures} failures after the window)` : ''}`);
  }
  console.log('  (update columns: time in each Updater step, from onStep to the next step; up+ = first answer after the start call returned)');

  const uw = upd.map((m) => m.out.windowMs);
  const rw = rst.map((m) => m.out.windowMs);
  const ratio = median(uw) / median(rw);
  console.log('');
  console.log('Summary');
  w('update window', stats(uw));
  w('docker restart window', stats(rw));
  w('ratio median(update) / median(restart)', `${ratio.toFixed(2)}`);
  w('update call (pull .. cleanup)', stats(upd.map((m) => m.actionMs)));
  w('docker restart call', stats(rst.map((m) => m.actionMs)));

  // Where the update's window goes: the steps between the first failure and the first answer.
  const part = (f: (m: Measured) => number | undefined) => median(upd.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x)));
  const stopToDown = part((m) => m.out.start - (stepAt(m, 'stop') ?? NaN));
  const downToStopped = part((m) => (stepAt(m, 'rename') ?? NaN) - m.out.start);
  const renameMs = part((m) => stepMs(m, 'rename'));
  const createMs = part((m) => ((stepAt(m, 'start') ?? NaN) - (stepAt(m, 'create') ?? NaN)));
  const startMs = part((m) => stepMs(m, 'start'));
  const upAfter = part((m) => m.out.end - (stepAt(m, 'health') ?? NaN));
  console.log('');
  console.log('Inside the update window (medians)');
  w('stop call → first failed GET', `${ms(stopToDown)}  (before the window: SIGTERM reaching httpd)`);
  w('first failed GET → stop returned', ms(downToStopped));
  w('rename (park the old container)', ms(renameMs));
  w('create (+connect) the new container', ms(createMs));
  w('start call', ms(startMs));
  w('start returned → first answer', ms(upAfter));
  w('update window − rename − create', `${ms(median(uw) - renameMs - createMs)}  (what stop→start alone would leave; restart: ${ms(median(rw))})`);

  const stopSlow = upd.some((m) => (stepMs(m, 'stop') ?? 0) > 5_000);
  const flaps = results.filter((m) => m.out.laterFailures > 0).length;
  const targets = [
    { name: 'median(update) / median(restart)', goal: `<= ${TARGET}`, value: `${ratio.toFixed(2)} (${ms(median(uw))} / ${ms(median(rw))})`, ok: ratio <= TARGET },
    { name: 'stops are prompt (SIGTERM handled)', goal: '< 5 s', value: `max ${ms(Math.max(...upd.map((m) => stepMs(m, 'stop') ?? 0)))}`, ok: !stopSlow },
    { name: 'one window per action (no flapping)', goal: '0', value: String(flaps), ok: flaps === 0 },
  ];
  console.log('');
  console.log('Targets');
  for (const t of targets) console.log(`  ${t.ok ? 'PASS' : 'FAIL'}  ${t.name.padEnd(40)} goal ${t.goal.padEnd(8)} got ${t.value}`);
  if (ratio > TARGET) {
    console.log('');
    console.log(`  The update's window holds rename + create (${ms(renameMs + createMs)}) on top of what a restart does (stop, start).`);
    console.log('  Creating the new container before stopping the old one would leave only stop → start in the window.');
  }
  return targets.every((t) => t.ok) ? 0 : 1;
}

const started = now();
const code = await runMain(main, stop, { ms: 180_000, message: 'taking more than 3 minutes: giving up' });
log(`done in ${((now() - started) / 1000).toFixed(1)} s`);
process.exit(code);
