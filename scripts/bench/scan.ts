/**
 * npm run bench:scan [-- --repos 12 --containers 36 --concurrency 3 --delay 40 --repeat 5]
 *
 * A scan benchmark on the real test bed (tests/bed, must be up): M repositories with one image
 * each in the token-auth registry, reached through a delay proxy on 127.0.0.1 (a fixed delay per
 * request stands in for network latency; its token server gets the same delay, as a remote
 * registry's token realm has), N containers spread over them. It measures, in one
 * run: our cold scan (fresh checker and client, as a restarted server has them: the registry's
 * auth challenge and the last scan's references loaded from a store an earlier scan filled;
 * median of --repeat), the truly
 * first contact (empty challenge store, so a GET /v2/ probe; diagnostic), a second scan within cacheTTL, the
 * lower bound (one token round trip + ceil(M / concurrency) HEAD round trips, both measured
 * here), skopeo reading the same references with the same parallelism, and a scan after one
 * repository got a new image. Prints a report with PASS/FAIL per target; exits 1 when a target
 * fails, 2 when the benchmark itself could not run. Cleans up everything it created.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage } from 'unstorage';
import memoryDriver from 'unstorage/drivers/memory';
import type { Store } from '../../src/core/ports.js';
import { CHALLENGES_KEY } from '../../src/core/registry/challenge-memory.js';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { mapLimit } from '../../src/core/concurrency.js';
import { loadConfig, type LoadedConfig } from '../../src/core/config/load.js';
import type { ImageRef } from '../../src/core/image-ref.js';
import { Inventory } from '../../src/core/inventory.js';
import { silentLogger, systemClock } from '../../src/core/ports.js';
import { MANIFEST_ACCEPT } from '../../src/core/registry/manifest.js';
import type { RegistryStats } from '../../src/core/registry/transport.js';
import { Scanner, type ContainerCheck, type ImageChecker, type ScanReport } from '../../src/core/scanner.js';
import { createUpdateChecker } from '../../src/core/update-check.js';
import { bed } from '../../tests/helpers/bed.js';
import { docker, dockerQuiet } from '../../tests/helpers/docker-cli.js';
import { RegistryPusher } from '../../tests/helpers/registry-push.js';
import { BuiltImages, deleteManifests, formatMs, log, median, newRunId, now, parseFlags, runMain, stopOnSignal } from './common.js';
import { spawnDelayProxy, type ProxyCounts, type ProxyProcess } from './delay-proxy.js';

// ---- options ----------------------------------------------------------------------------

const HELP = `usage: npm run bench:scan -- [--repos M] [--containers N] [--concurrency C] [--delay MS] [--repeat R]
  --repos        repositories, one image each            (default 12)
  --containers   containers spread over them             (default 36)
  --concurrency  scan.concurrency and skopeo parallelism (default 3)
  --delay        delay the proxy adds per request, ms    (default 40)
  --repeat       cold scans / skopeo rounds (median)     (default 5)
  --target       max ratio ours / lower bound            (default 1.25)`;

const { flags, int, atLeastOne } = parseFlags(HELP, {
  repos: '12',
  containers: '36',
  concurrency: '3',
  delay: '40',
  repeat: '5',
  target: '1.25',
});
const M = int('repos', flags.repos, 1, 100);
const N = int('containers', flags.containers, M, 400);
const C = int('concurrency', flags.concurrency, 1, 64);
const DELAY = int('delay', flags.delay, 0, 5000);
const REPEAT = int('repeat', flags.repeat, 1, 50);
const TARGET_RATIO = atLeastOne('target', flags.target);
const RTT_SAMPLES = 5;

// ---- small helpers ----------------------------------------------------------------------

const ms = (x: number) => formatMs(x, 1);
const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function runFile(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, encoding: 'buffer', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.toString().trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

interface TokenServerStats {
  requests: number;
  scopes: Record<string, number>;
}

/** Times the scanner's phases without changing what the checker does. */
class TimedChecker implements ImageChecker {
  prepareStart: number | undefined;
  prepareEnd: number | undefined;
  lastCheckEnd: number | undefined;
  checkDurations: number[] = [];
  constructor(private readonly inner: ImageChecker) {}
  async prepare(refs: ImageRef[]): Promise<void> {
    this.prepareStart ??= now();
    try {
      await this.inner.prepare(refs);
    } finally {
      this.prepareEnd = now();
    }
  }
  async check(...args: Parameters<ImageChecker['check']>): ReturnType<ImageChecker['check']> {
    const start = now();
    try {
      return await this.inner.check(...args);
    } finally {
      this.lastCheckEnd = now();
      this.checkDurations.push(this.lastCheckEnd - start);
    }
  }
  reset(): void {
    this.prepareStart = this.prepareEnd = this.lastCheckEnd = undefined;
    this.checkDurations = [];
  }
}

interface Bound {
  token5: number[];
  head5: number[];
  tokenRtt: number;
  headRtt: number;
  /** GET /v2/ through the proxy: the probe a cold client needs to learn the challenge. */
  pingRtt: number;
  /** C HEADs sent at once, as one round of the scan sends them (diagnostic). */
  parallelRtt: number;
  lowerBound: number;
}

interface ScanSample {
  wallMs: number;
  /** Docker side: from the scan's start to the checker's first prepare (the container and image lists; the inspects overlap the registry phase). */
  inventoryMs: number;
  /** prepare (probe + batched token) to the last check's end. */
  registryMs: number;
  prepareMs: number;
  /** Median duration of one check() (a HEAD when nothing changed) inside the scan. */
  checkMedianMs: number;
  proxy: ProxyCounts;
  /** Requests the token server saw (global counter: other users of the bed would show here). */
  tokenServer: number;
  /** Token grants for this run's repositories only (one per scope per token request). */
  tokenScopes: number;
  client: RegistryStats;
  report: ScanReport;
  /** This run's containers only, by status. */
  counts: ScanReport['counts'] & { missing: number };
  results: ContainerCheck[];
}

const clientTotal = (s: RegistryStats) => s.ping + s.token + s.head + s.get;
const diffStats = (a: RegistryStats, b: RegistryStats): RegistryStats => ({
  ping: a.ping - b.ping,
  token: a.token - b.token,
  head: a.head - b.head,
  get: a.get - b.get,
  retries: a.retries - b.retries,
  rateLimited: a.rateLimited - b.rateLimited,
});

// ---- the run ----------------------------------------------------------------------------

const B = (() => {
  try {
    return bed();
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return process.exit(2);
  }
})();
const host = B.dockerHost;
const runId = newRunId();
const selector = `wdt.bench=${runId}`;
const repoName = (i: number) => `wdt/bench-${runId}-${i}`;

// What to clean up.
const containers: string[] = [];
/** IDs of this run's containers: the scan also lists (and skips) everything else on the engine. */
const mine = new Set<string>();
const images = new BuiltImages(host);
const pushed: { repo: string; digest: string }[] = [];
const tmpDirs: string[] = [];
let proxy: ProxyProcess | undefined;

// A signal stops the run at its next step; a second signal, or 30 s, cleans up at once.
const stop = stopOnSignal(async () => {
  if (containers.length) await dockerQuiet(host, ['rm', '-f', ...containers]);
  await images.remove();
  // Manifests in the registry (directly, not through the proxy); blobs stay until a GC.
  await deleteManifests(new RegistryPusher(B.regToken, { username: B.regTokenUser, password: B.regTokenPass }), pushed);
  await proxy?.close();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
}, 30_000);
const { checkStop } = stop;

async function tokenStats(): Promise<TokenServerStats> {
  const res = await fetch(`${B.tokenServer}/stats`);
  if (!res.ok) throw new Error(`token server /stats answered ${res.status}`);
  return (await res.json()) as TokenServerStats;
}
const ourScopes = (s: TokenServerStats) => Object.entries(s.scopes).reduce((n, [k, v]) => (k.startsWith(`repository:wdt/bench-${runId}-`) ? n + v : n), 0);

function benchConfig(): LoadedConfig {
  return loadConfig({
    env: { WATCH_POLICY_ONLY_LABELS: selector, WATCH_SCAN_CONCURRENCY: String(C), WATCH_SCAN_CACHE_TTL: '5m' },
    readSecretFile: () => '',
  });
}

async function buildImage(ref: string, salt: string): Promise<string> {
  checkStop();
  const dockerfile = [`FROM ${B.baseImage}`, `LABEL wdt.bench=${JSON.stringify(runId)} wdt.bench.salt=${JSON.stringify(salt)}`, 'CMD ["sleep", "3600"]'].join('\n');
  // The classic builder: a LABEL-only build takes ~0.5 s there, BuildKit ~1.5 s.
  return images.build(ref, dockerfile, { DOCKER_BUILDKIT: '0' });
}

async function pushImage(ref: string, repo: string, dockerConfig: string): Promise<string> {
  checkStop();
  await docker(host, ['push', '-q', ref], { env: { DOCKER_CONFIG: dockerConfig } });
  const digests = JSON.parse(await docker(host, ['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])) as string[];
  const digest = digests.find((d) => d.startsWith(`${proxy?.host}/${repo}@`))?.split('@')[1];
  if (!digest) throw new Error(`after the push, ${ref} has no RepoDigest for ${proxy?.host}/${repo}: ${JSON.stringify(digests)}`);
  pushed.push({ repo, digest });
  return digest;
}

function ownResults(report: ScanReport): Pick<ScanSample, 'counts' | 'results'> {
  const results = Object.values(report.results).filter((c) => mine.has(c.containerId));
  const counts = { UpToDate: 0, UpdateAvailable: 0, Skipped: 0, Error: 0, missing: mine.size - results.length };
  for (const c of results) counts[c.status]++;
  return { counts, results };
}

async function scanSample(scanner: Scanner, timed: TimedChecker, client: { stats: RegistryStats }): Promise<ScanSample> {
  checkStop();
  const p = proxy as ProxyProcess;
  const t0 = await tokenStats();
  const c0 = { ...client.stats };
  await p.reset();
  timed.reset();
  const start = now();
  const report = await scanner.scan();
  const end = now();
  const counts = await p.counts();
  const t1 = await tokenStats();
  const prepareStart = timed.prepareStart ?? end;
  return {
    wallMs: end - start,
    inventoryMs: prepareStart - start,
    registryMs: (timed.lastCheckEnd ?? timed.prepareEnd ?? prepareStart) - prepareStart,
    prepareMs: (timed.prepareEnd ?? prepareStart) - prepareStart,
    checkMedianMs: timed.checkDurations.length ? median(timed.checkDurations) : 0,
    proxy: counts,
    tokenServer: t1.requests - t0.requests,
    tokenScopes: ourScopes(t1) - ourScopes(t0),
    client: diffStats(client.stats, c0),
    report,
    ...ownResults(report),
  };
}

/**
 * A fresh checker, client and inventory (a process that has just started), over one engine
 * connection. Client and scanner use `store` as the server uses its Store: one an earlier run
 * filled (a restart: the registries' auth challenges and the references the last scan checked,
 * whose token the scan then warms while the engine lists containers), or an empty one (first contact).
 */
function freshScanner(port: DockerodePort, store: Store) {
  const config = benchConfig();
  // The checker's and client's clock; the bench moves it forward to expire caches and tokens.
  const clock = { offset: 0, now: () => Date.now() + clock.offset };
  const { checker, client, challenges } = createUpdateChecker(config, { clock, challengeStore: store });
  const timed = new TimedChecker(checker);
  const scanner = new Scanner({ inventory: new Inventory(port), checker: timed, store, logger: silentLogger, clock: systemClock, config });
  return { scanner, timed, client, clock, challenges };
}

interface Target {
  name: string;
  goal: string;
  value: string;
  ok: boolean;
}

async function main(): Promise<number> {
  const t0 = now();
  const loadBefore = loadavg()[0] as number;
  await docker(host, ['version', '--format', '{{.Server.Version}}']);
  await runFile('skopeo', ['--version'], process.env);
  const [regHost, regPort] = B.regToken.split(':');
  proxy = await spawnDelayProxy({ host: regHost as string, port: Number(regPort) }, B.tokenServer);
  const P = proxy;
  const refOf = (i: number) => `${P.host}/${repoName(i)}:latest`;
  log(`run ${runId}: proxy ${P.host} -> ${B.regToken}; M=${M} repositories, N=${N} containers, concurrency ${C}, delay ${DELAY} ms`);

  // ---- set-up (no delay) ----
  const dockerConfig = mkdtempSync(join(tmpdir(), 'wd-bench-cfg-'));
  tmpDirs.push(dockerConfig);
  await docker(host, ['login', P.host, '-u', B.regTokenUser, '--password-stdin'], { input: B.regTokenPass, env: { DOCKER_CONFIG: dockerConfig } });
  const repos = Array.from({ length: M }, (_, i) => i);
  const step = (what: string, since: number) => log(`${what} in ${((now() - since) / 1000).toFixed(1)} s`);
  let t = now();
  await mapLimit(repos, 4, (i) => buildImage(refOf(i), `${runId}-${i}-a`));
  step(`built ${M} images`, t);
  t = now();
  const digests = await mapLimit(repos, 4, (i) => pushImage(refOf(i), repoName(i), dockerConfig));
  step(`pushed ${M} images through the proxy`, t);
  t = now();
  const names = Array.from({ length: N }, (_, j) => `wdt-bench-${runId}-c${j}`);
  await mapLimit(names, 8, async (name, j) => {
    checkStop();
    containers.push(name);
    mine.add(await docker(host, ['run', '-d', '--network', 'none', '--name', name, '--label', selector, refOf(j % M), 'sleep', '3600']));
  });
  step(`started ${N} containers`, t);
  const setupMs = now() - t0;

  // ---- round trips: measured in this run, right before each cold scan (same load) ----
  await P.setDelay(DELAY);
  const probe = await fetch(`http://${P.host}/v2/`);
  await probe.body?.cancel();
  const www = probe.headers.get('www-authenticate') ?? '';
  const realm = /realm="([^"]+)"/.exec(www)?.[1];
  const service = /service="([^"]+)"/.exec(www)?.[1];
  if (probe.status !== 401 || !realm) throw new Error(`expected a Bearer challenge from ${P.host}/v2/, got ${probe.status} ${www}`);
  // The same token request our client sends in prepare(): every repository in one request.
  const tokenUrl = new URL(realm);
  if (service) tokenUrl.searchParams.set('service', service);
  for (const i of repos) tokenUrl.searchParams.append('scope', `repository:${repoName(i)}:pull`);
  const tokenOnce = async () => {
    const s = now();
    const res = await fetch(tokenUrl, { headers: { Accept: 'application/json' } });
    const body = (await res.json()) as { token?: string };
    if (!res.ok || !body.token) throw new Error(`token request answered ${res.status}`);
    return { ms: now() - s, token: body.token };
  };
  const headOnce = async (i: number, token: string) => {
    const s = now();
    const res = await fetch(`http://${P.host}/v2/${repoName(i)}/manifests/latest`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT, Authorization: `Bearer ${token}` } });
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`HEAD ${repoName(i)}:latest answered ${res.status}`);
    return now() - s;
  };
  const pingOnce = async () => {
    const s = now();
    const res = await fetch(`http://${P.host}/v2/`);
    await res.body?.cancel();
    return now() - s;
  };
  const rounds = Math.ceil(M / C);
  const measureBound = async (): Promise<Bound> => {
    const { token } = await tokenOnce(); // warms the connections too
    await headOnce(0, token);
    const token5: number[] = [];
    const head5: number[] = [];
    const ping5: number[] = [];
    for (let k = 0; k < RTT_SAMPLES; k++) token5.push((await tokenOnce()).ms);
    for (let k = 0; k < RTT_SAMPLES; k++) head5.push(await headOnce(k % M, token));
    for (let k = 0; k < RTT_SAMPLES; k++) ping5.push(await pingOnce());
    const par5: number[] = [];
    for (let k = 0; k < RTT_SAMPLES; k++) {
      const s = now();
      await Promise.all(Array.from({ length: Math.min(C, M) }, (_, j) => headOnce((k * C + j) % M, token)));
      par5.push(now() - s);
    }
    const tokenRtt = median(token5);
    const headRtt = median(head5);
    return { token5, head5, tokenRtt, headRtt, pingRtt: median(ping5), parallelRtt: median(par5), lowerBound: tokenRtt + rounds * headRtt };
  };

  // ---- (1) cold scans, (2) a second scan within cacheTTL, (1b) the next periodic scan ----
  const port = new DockerodePort(host);
  await port.listContainers({ all: false }); // API version negotiated once, as a running app has it
  // A previous run (the server before its restart) learned the registry's challenge and kept it.
  const remembered = createStorage({ driver: memoryDriver() });
  const filler = freshScanner(port, remembered);
  await filler.scanner.scan();
  await filler.challenges?.flush();
  const kept = await remembered.getItem<Record<string, unknown>>(CHALLENGES_KEY);
  if (!kept?.[P.host]) throw new Error(`the set-up scan kept no auth challenge for ${P.host}: ${JSON.stringify(kept)}`);
  log(`remembered challenges: ${JSON.stringify(kept)}`);
  const cold: ScanSample[] = [];
  const firstContact: ScanSample[] = [];
  const bounds: Bound[] = [];
  let warm: ScanSample | undefined;
  let periodic: ScanSample | undefined;
  for (let r = 0; r < REPEAT; r++) {
    bounds.push(await measureBound());
    const s = freshScanner(port, remembered);
    cold.push(await scanSample(s.scanner, s.timed, s.client));
    // Diagnostic: the truly first contact, with nothing remembered (a GET /v2/ probe first).
    const f = freshScanner(port, createStorage({ driver: memoryDriver() }));
    firstContact.push(await scanSample(f.scanner, f.timed, f.client));
    if (r === REPEAT - 1) {
      warm = await scanSample(s.scanner, s.timed, s.client);
      // Past cacheTTL and the token's lifetime, with a fresh inventory: a cold start whose client
      // already knows the registry's auth challenge (no GET /v2/ probe), nothing else cached.
      s.clock.offset += benchConfig().derived.cacheTtlMs + 1000;
      const config = benchConfig();
      const known = new Scanner({ inventory: new Inventory(port), checker: s.timed, store: createStorage({ driver: memoryDriver() }), logger: silentLogger, clock: systemClock, config });
      periodic = await scanSample(known, s.timed, s.client);
    }
  }
  const second = warm as ScanSample;
  const next = periodic as ScanSample;

  // ---- (4) skopeo, same references, same parallelism ----
  const skopeoHome = mkdtempSync(join(tmpdir(), 'wd-bench-skopeo-'));
  tmpDirs.push(skopeoHome);
  writeFileSync(join(skopeoHome, 'auth.json'), '{"auths":{}}\n');
  writeFileSync(join(skopeoHome, 'config.json'), '{"auths":{}}\n');
  const skopeoEnv = { ...process.env, DOCKER_CONFIG: skopeoHome, REGISTRY_AUTH_FILE: join(skopeoHome, 'auth.json'), HOME: skopeoHome };
  const skopeo: { wallMs: number; proxy: ProxyCounts; tokenServer: number; tokenScopes: number }[] = [];
  for (let r = 0; r < REPEAT; r++) {
    checkStop();
    const a = await tokenStats();
    await P.reset();
    const s = now();
    const outs = await mapLimit(repos, C, (i) => runFile('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${refOf(i)}`], skopeoEnv));
    const wallMs = now() - s;
    const counts = await P.counts();
    const b = await tokenStats();
    outs.forEach((out, i) => {
      if (sha256(out) !== digests[i]) throw new Error(`skopeo read ${repoName(i)} as ${sha256(out)}, expected ${digests[i]}`);
    });
    skopeo.push({ wallMs, proxy: counts, tokenServer: b.requests - a.requests, tokenScopes: ourScopes(b) - ourScopes(a) });
  }

  // ---- (5) one repository gets a new image ----
  await P.setDelay(0);
  await buildImage(refOf(0), `${runId}-0-b`);
  const newDigest = await pushImage(refOf(0), repoName(0), dockerConfig);
  await P.setDelay(DELAY);
  const u = freshScanner(port, remembered);
  const updated = await scanSample(u.scanner, u.timed, u.client);
  const loadAfter = loadavg()[0] as number;

  // ---- report ----
  const allUpToDate = (s: ScanSample) => s.counts.UpToDate === N && s.counts.UpdateAvailable === 0 && s.counts.Error === 0 && s.counts.Skipped === 0 && s.counts.missing === 0;
  const errorsOf = (s: ScanSample) => [...new Set(s.results.filter((c) => c.status !== 'UpToDate').map((c) => `${c.status}: ${c.message ?? c.skipReason ?? ''}`))].slice(0, 3).join('; ');
  const med = (f: (s: ScanSample) => number) => median(cold.map(f));
  const oursMs = med((s) => s.wallMs);
  const ratios = cold.map((s, r) => s.wallMs / (bounds[r] as Bound).lowerBound);
  const ratio = median(ratios);
  const lbMs = median(bounds.map((b) => b.lowerBound));
  const coldFloorRatios = cold.map((s, r) => s.wallMs / ((bounds[r] as Bound).lowerBound + (bounds[r] as Bound).pingRtt));
  const lastBound = bounds[bounds.length - 1] as Bound;
  const skopeoMs = median(skopeo.map((s) => s.wallMs));
  const headsPerRef = cold.map((s) => s.proxy.headManifest / M);
  const coldGets = cold.reduce((n, s) => n + s.proxy.getManifest, 0);
  const warmRequests = second.proxy.total + second.tokenScopes + clientTotal(second.client);
  const changedRepo = repoName(0);
  const getsBy = Object.entries(updated.proxy.byRepo).filter(([, v]) => v.get > 0);
  const onRepo0 = Math.ceil(N / M); // containers j with j % M === 0
  const updatedOk =
    updated.counts.UpdateAvailable === onRepo0 &&
    updated.counts.UpToDate === N - onRepo0 &&
    updated.counts.Error === 0 &&
    updated.counts.missing === 0 &&
    updated.results.every((c) => c.status !== 'UpdateAvailable' || c.remoteDigest === newDigest) &&
    getsBy.length === 1 &&
    getsBy[0]?.[0] === changedRepo &&
    getsBy[0]?.[1].get === 1;

  const w = (label: string, value: string) => console.log(`  ${label.padEnd(46)} ${value}`);
  const list = (xs: number[]) => `[${xs.map((x) => x.toFixed(1)).join(', ')}]`;
  const countsLine = (c: ProxyCounts) => `HEAD ${c.headManifest}, GET manifest ${c.getManifest}, GET /v2/ ${c.ping}, blobs ${c.blob}, other ${c.other}`;
  const clientLine = (s: RegistryStats) => `ping ${s.ping}, token ${s.token}, head ${s.head}, get ${s.get}, retries ${s.retries}, rateLimited ${s.rateLimited}`;
  const phases = (s: ScanSample) => `until prepare ${ms(s.inventoryMs)}, prepare ${ms(s.prepareMs)}, checks ${ms(s.registryMs - s.prepareMs)} (median check ${ms(s.checkMedianMs)})`;

  console.log('');
  console.log(`Watch Docker scan benchmark — run ${runId}`);
  console.log(`  engine ${host}; registry ${B.regToken} (token auth, realm ${realm}) behind delay proxy ${P.host}`);
  console.log(`  M=${M} repositories, N=${N} containers, concurrency ${C}, delay ${DELAY} ms/request, ${REPEAT} repeats; set-up ${(setupMs / 1000).toFixed(1)} s`);
  console.log(`  load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} CPUs${loadBefore > cpus().length ? '  (BUSY MACHINE: timings are noisy)' : ''}`);
  console.log('');
  console.log(`(3) Lower bound = token + ceil(${M}/${C})=${rounds} x HEAD; round trips measured before each cold scan (median of ${RTT_SAMPLES})`);
  bounds.forEach((b, r) => w(`#${r + 1} token ${ms(b.tokenRtt)}, HEAD ${ms(b.headRtt)}`, `lower bound ${ms(b.lowerBound)}   (GET /v2/ ${ms(b.pingRtt)}; ${C} HEADs at once ${ms(b.parallelRtt)})`));
  w('last samples: token / HEAD', `${list(lastBound.token5)} / ${list(lastBound.head5)}`);
  w('median lower bound', ms(lbMs));
  console.log('');
  console.log(`(1) Cold scans (fresh checker, client and inventory each; auth challenge loaded from the store a set-up scan filled)`);
  cold.forEach((s, r) => w(`#${r + 1} wall ${ms(s.wallMs)}  ratio ${(ratios[r] as number).toFixed(2)}`, phases(s)));
  w('median wall', ms(oursMs));
  const last = cold[cold.length - 1] as ScanSample;
  w('requests via proxy (each run)', cold.every((s) => countsLine(s.proxy) === countsLine(last.proxy)) ? countsLine(last.proxy) : cold.map((s) => countsLine(s.proxy)).join(' | '));
  w('token server (each run)', `${cold.map((s) => s.tokenServer).join(', ')} request(s); scope grants for this run's repositories ${cold.map((s) => s.tokenScopes).join(', ')}`);
  w('client.stats (last run)', clientLine(last.client));
  console.log('');
  console.log('(1c) Truly first contact: fresh checker and client with an empty challenge store (diagnostic; run right after each cold scan)');
  firstContact.forEach((s, r) => w(`#${r + 1} wall ${ms(s.wallMs)}  ratio ${(s.wallMs / (bounds[r] as Bound).lowerBound).toFixed(2)}`, phases(s)));
  w('median wall', `${ms(median(firstContact.map((s) => s.wallMs)))}  ratio ${median(firstContact.map((s, r) => s.wallMs / (bounds[r] as Bound).lowerBound)).toFixed(2)}; vs (lower bound + GET /v2/) ${median(firstContact.map((s, r) => s.wallMs / ((bounds[r] as Bound).lowerBound + (bounds[r] as Bound).pingRtt))).toFixed(2)}`);
  w('client.stats (last run)', clientLine((firstContact[firstContact.length - 1] as ScanSample).client));
  console.log('');
  console.log('(2) Second scan, same checker, within cacheTTL');
  w('wall', `${ms(second.wallMs)} (inventory ${ms(second.inventoryMs)})`);
  w('requests via proxy', countsLine(second.proxy));
  w('token server', `${second.tokenServer} request(s) (global counter); ${second.tokenScopes} for this run's repositories`);
  w('client.stats', clientLine(second.client));
  console.log('');
  console.log('(1b) Cold start that knows the auth challenge: same client, clock past cacheTTL and token lifetime, fresh inventory (diagnostic)');
  w('wall', `${ms(next.wallMs)}  ratio ${(next.wallMs / lastBound.lowerBound).toFixed(2)}  (${phases(next)})`);
  w('requests via proxy', countsLine(next.proxy));
  w('client.stats', clientLine(next.client));
  console.log('');
  console.log(`(4) skopeo inspect --raw, ${M} references, ${C} at a time (${REPEAT} rounds)`);
  w('wall per round', list(skopeo.map((s) => s.wallMs)));
  w('median wall', ms(skopeoMs));
  const sk = skopeo[skopeo.length - 1] as (typeof skopeo)[number];
  w('requests via proxy (last round)', countsLine(sk.proxy));
  w('token server (last round)', `${sk.tokenServer} request(s)`);
  console.log('');
  console.log(`(5) After a new image was pushed to ${changedRepo} (fresh checker)`);
  w('wall', ms(updated.wallMs));
  w('statuses', `${updated.counts.UpdateAvailable} UpdateAvailable (expected ${onRepo0}), ${updated.counts.UpToDate} UpToDate, ${updated.counts.Error} Error`);
  w('requests via proxy', countsLine(updated.proxy));
  w('manifest GETs by repository', getsBy.map(([k, v]) => `${k}: ${v.get}`).join(', ') || 'none');
  console.log('');
  console.log('Ratios');
  w('ours / lower bound (median of per-run ratios)', `${ratio.toFixed(2)}  [${ratios.map((x) => x.toFixed(2)).join(', ')}]`);
  w('median wall / median lower bound', `${(oursMs / lbMs).toFixed(2)}  (${ms(oursMs)} / ${ms(lbMs)})`);
  w('ours / (lower bound + GET /v2/ probe)', `${median(coldFloorRatios).toFixed(2)}  (diagnostic: as if the challenge had to be learned)`);
  w('first contact / lower bound', `${median(firstContact.map((s, r) => s.wallMs / (bounds[r] as Bound).lowerBound)).toFixed(2)}  (diagnostic: nothing remembered, GET /v2/ first)`);
  w(`ours / (token + ${rounds} x round of ${C} parallel HEADs)`, `${median(cold.map((s, r) => s.wallMs / ((bounds[r] as Bound).tokenRtt + rounds * (bounds[r] as Bound).parallelRtt))).toFixed(2)}  (diagnostic: the registry's cost of ${C} HEADs at once)`);
  w('registry phase / lower bound', `${median(cold.map((s, r) => s.registryMs / (bounds[r] as Bound).lowerBound)).toFixed(2)}  (diagnostic: without the Docker inventory)`);
  w('ours / skopeo', `${(oursMs / skopeoMs).toFixed(2)}  (${ms(oursMs)} / ${ms(skopeoMs)}; skopeo is ${(skopeoMs / oursMs).toFixed(1)}x slower)`);
  console.log('');

  const targets: Target[] = [
    { name: 'cold scans find every container up to date', goal: `${N} UpToDate`, value: cold.map((s) => `${s.counts.UpToDate}`).join(', '), ok: cold.every(allUpToDate) },
    { name: 'ours / lower bound', goal: `<= ${TARGET_RATIO}`, value: ratio.toFixed(2), ok: ratio <= TARGET_RATIO },
    { name: 'GET /v2/ probes in a cold scan (remembered)', goal: '0', value: cold.map((s) => `${s.client.ping}`).join(', '), ok: cold.every((s) => s.client.ping === 0) },
    { name: 'HEADs per unique reference (cold)', goal: '1', value: headsPerRef.map((x) => x.toFixed(2)).join(', '), ok: headsPerRef.every((x) => x === 1) },
    { name: 'manifest GETs when nothing changed', goal: '0', value: String(coldGets), ok: coldGets === 0 },
    { name: 'requests in the second scan', goal: '0', value: `${warmRequests} (proxy ${second.proxy.total}, token ${second.tokenScopes}, client ${clientTotal(second.client)})`, ok: warmRequests === 0 },
    { name: 'after one push: only that reference GETs', goal: `${onRepo0} UpdateAvailable, 1 GET of ${changedRepo}`, value: `${updated.counts.UpdateAvailable}; ${getsBy.map(([k, v]) => `${k}=${v.get}`).join(' ') || 'none'}`, ok: updatedOk },
  ];
  console.log('Targets');
  for (const t of targets) console.log(`  ${t.ok ? 'PASS' : 'FAIL'}  ${t.name.padEnd(42)} goal ${t.goal.padEnd(38)} got ${t.value}`);
  const odd = cold.find((s) => !allUpToDate(s));
  if (odd) console.log(`  a cold scan saw: ${errorsOf(odd)}${odd.counts.missing ? `; ${odd.counts.missing} of this run's containers missing from the report` : ''}`);
  if (updated.counts.Error > 0) console.log(`  the scan after the push saw: ${errorsOf(updated)}`);
  const mismatch = cold.find((s) => s.tokenServer !== s.client.token);
  if (mismatch) console.log(`  note: the token server counted ${mismatch.tokenServer} request(s) during a cold scan whose client sent ${mismatch.client.token}: someone else was using the bed's token server (the targets count only this run's scopes)`);
  return targets.every((t) => t.ok) ? 0 : 1;
}

process.exit(await runMain(main, stop, { ms: 300_000, message: 'taking more than 5 minutes: giving up' }));
