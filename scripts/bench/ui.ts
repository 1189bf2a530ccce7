/**
 * bench:ui — does the containers page stay smooth with 500 containers?
 *
 * Real parts only: N containers created (not started; --network none, busybox `sleep`) on the
 * bed's engine, the built server (dist/cli.js serving dist/web) beside it, Debian's Chromium.
 * Every figure is a ratio against a lower bound measured in the same run, on the same page:
 *
 * - load: navigation until the first page of rows is on screen, the search matching all N of
 *   the run's containers against the search matching only 50 of them (the same API answer: the
 *   page always fetches every container; only what it renders differs);
 * - filter: one keystroke's worth of search change until the next frame is painted, from no
 *   match to all N, against from no match to 50;
 * - page: "next page" (50 other rows) against the 50-row render measured just before it;
 * - scroll: the 95th percentile of frame intervals while the page scrolls top to bottom
 *   (desktop 1280 px and phone 390 px), against the same page idle (median of 3 rounds);
 * - long tasks (> 50 ms, PerformanceObserver) during each phase.
 *
 * Prints PASS/FAIL per target; exits 1 when one fails. Needs `npm run build` and the bed.
 */
import { mapLimit } from '../../src/core/concurrency.js';
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../../tests/helpers/browser.js';
import { bed } from '../../tests/helpers/bed.js';
import { loginAt, startCli, waitForPort, type CliRun } from '../../tests/helpers/cli-process.js';
import { log, median, newRunId, parseFlags, runMain, stopOnSignal } from './common.js';

const HELP = `npm run bench:ui -- [--containers N] [--reps R]
  --containers  containers to create on the bed's engine (default 500)
  --reps        repetitions of each timed step; medians are compared (default 7)`;

const { flags, int } = parseFlags(HELP, { containers: '500', reps: '7' });
const N = int('containers', flags.containers, 100, 2000);
const REPS = int('reps', flags.reps, 3, 50);
const SMALL = 50;
const PASSWORD = 'bench ui password 7d2a';

const host = bed().dockerHost;
const engine = new Docker({ socketPath: host.replace(/^unix:\/\//, '') });
const run = `wdbui-${newRunId()}`;
const label = 'wdbench-ui.run';
// The first SMALL containers are "<run>-a-NNN", the rest "<run>-b-NNN": "<run>-a-" finds SMALL, "<run>-" all N.
const nameOf = (i: number) => `${run}-${i < SMALL ? 'a' : 'b'}-${String(i).padStart(4, '0')}`;

let server: CliRun | null = null;
let browser: Browser | null = null;
const dataDir = mkdtempSync(join(tmpdir(), 'wdbui-'));

async function removeContainers(): Promise<void> {
  const list = await engine.listContainers({ all: true, filters: { label: [`${label}=${run}`] } }).catch(() => []);
  await mapLimit(list, 4, (c) => engine.getContainer(c.Id).remove({ force: true }).catch(() => undefined));
  if (list.length) log(`removed ${list.length} containers`);
}

const stop = stopOnSignal(async () => {
  await browser?.close();
  if (server && server.child.exitCode === null) server.child.kill('SIGTERM');
  await removeContainers();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

// ---- in the page ----------------------------------------------------------------------------

/** Installed before any page script: collects long tasks; __rowsAt resolves to the time the row count first reaches `want`. */
const INIT = `
window.__longTasks = [];
window.__reloads = [];
try { new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push({ at: e.startTime, ms: e.duration }); }).observe({ type: 'longtask', buffered: true }); } catch {}
try { new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name.includes('/api/containers?all=true')) window.__reloads.push(e.responseEnd); }).observe({ type: 'resource', buffered: true }); } catch {}
window.__rowsAt = new Promise((resolve) => {
  (function watch() {
    const want = Number(sessionStorage.getItem('wdbench.want') || 0);
    if (want && document.querySelectorAll('tbody tr').length >= want) return resolve(performance.now());
    requestAnimationFrame(watch);
  })();
});
`;

/** Sets the search box as typing would, then waits for the frame after the render; returns ms and the rows shown. */
async function timeSearch(page: Page, q: string): Promise<{ ms: number; rows: number }> {
  return page.evaluate(`(async () => {
    const box = document.querySelector('input[type=search]');
    const t0 = performance.now();
    box.value = ${JSON.stringify(q)};
    box.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return { ms: performance.now() - t0, rows: document.querySelectorAll('tbody tr').length };
  })()`);
}

/** Clicks "next page" and waits for the frame after the render. */
async function timeNextPage(page: Page): Promise<{ ms: number; rows: number; first: string }> {
  return page.evaluate(`(async () => {
    const next = document.querySelector('nav.pager button:last-of-type');
    const t0 = performance.now();
    next.click();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return { ms: performance.now() - t0, rows: document.querySelectorAll('tbody tr').length, first: document.querySelector('tbody tr')?.dataset.name ?? '' };
  })()`);
}

/** Frame intervals (ms) over `frames` animation frames, scrolling the page top to bottom when `scroll`. */
async function frameIntervals(page: Page, frames: number, scroll: boolean): Promise<{ intervals: number[]; longTasks: number; scrolled: number }> {
  return page.evaluate(`(async () => {
    window.scrollTo(0, 0);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const lt0 = window.__longTasks.length;
    const max = document.documentElement.scrollHeight - innerHeight;
    const out = [];
    let last = performance.now();
    for (let i = 1; i <= ${frames}; i++) {
      if (${scroll}) window.scrollTo(0, Math.round((max * i) / ${frames}));
      await new Promise((r) => requestAnimationFrame(r));
      const t = performance.now();
      out.push(t - last);
      last = t;
    }
    return { intervals: out, longTasks: window.__longTasks.length - lt0, scrolled: scrollY };
  })()`);
}

const longTasks = async (page: Page): Promise<{ at: number; ms: number }[]> => page.evaluate('window.__longTasks');
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

// ---- the run --------------------------------------------------------------------------------

interface Row {
  what: string;
  value: string;
  lower: string;
  ratio: number;
  target: number;
}

async function main(): Promise<number> {
  const load0 = loadavg()[0] ?? 0;
  log(`creating ${N} containers (${run}-*) on ${host}`);
  const t0 = performance.now();
  await mapLimit(
    Array.from({ length: N }, (_, i) => i),
    4,
    async (i) => {
      stop.checkStop();
      await engine.createContainer({ name: nameOf(i), Image: bed().baseImage, Cmd: ['sleep', '3600'], Labels: { [label]: run }, HostConfig: { NetworkMode: 'none' } });
    },
  );
  log(`created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  server = startCli([], {
    DOCKER_HOST: host,
    WATCH_SERVER_ADDR: '127.0.0.1:0',
    WATCH_STORE_DATA_DIR: dataDir,
    WATCH_AUTH_PASSWORD_ITERATIONS: '100000',
    USER_PASSWORD: PASSWORD,
    WATCH_SCAN_INITIAL_SCAN_ON_START: 'false',
    WATCH_POLICY_ONLY_LABELS: `${label}=${run}`,
  });
  const base = `http://localhost:${await waitForPort(server, 20_000)}`;
  const token = await loginAt(base, 'admin', PASSWORD);
  const apiMs: number[] = [];
  let total = 0;
  for (let i = 0; i < REPS; i++) {
    const a = performance.now();
    const r = (await (await fetch(`${base}/api/containers?all=true`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: { containers: unknown[] } };
    apiMs.push(performance.now() - a);
    total = r.data.containers.length;
  }
  log(`GET /api/containers?all=true: ${total} containers on the engine, median ${median(apiMs).toFixed(0)} ms`);

  browser = await launchChromium();
  const page = await browser.context.newPage();
  page.setDefaultTimeout(60_000);
  await page.addInitScript(`localStorage.setItem('wd.lang', 'en'); localStorage.setItem('wd.token', ${JSON.stringify(token)});`);
  await page.addInitScript(INIT);
  await page.setViewportSize({ width: 1280, height: 800 });

  // Load: the first page of rows on screen, from navigation start.
  const load = { all: [] as number[], small: [] as number[] };
  await page.goto(`${base}/`);
  await page.evaluate(`sessionStorage.setItem('wdbench.want', '${SMALL}')`);
  for (let i = 0; i < REPS; i++) {
    // (alternating which goes first, so neither side always follows the other)
    for (const which of i % 2 ? (['all', 'small'] as const) : (['small', 'all'] as const)) {
      stop.checkStop();
      await page.goto(`${base}/?q=${encodeURIComponent(which === 'all' ? `${run}-` : `${run}-a-`)}`);
      load[which].push((await page.evaluate('window.__rowsAt')) as number);
      const shown = await page.locator('tbody tr').count();
      if (shown !== SMALL) throw new Error(`load (${which}): ${shown} rows on screen, expected ${SMALL}`);
    }
  }
  const countText = (await page.locator('p.muted[aria-live]').textContent()) ?? '';
  if (!countText.startsWith(`${N} `)) throw new Error(`the page says "${countText}", expected ${N} shown`);

  // Filter: from no match to SMALL, and from no match to all N (the first page of them).
  const filter = { all: [] as number[], small: [] as number[] };
  const lt0 = (await longTasks(page)).length;
  for (let i = 0; i < REPS; i++) {
    for (const which of ['small', 'all'] as const) {
      await timeSearch(page, `${run}-nothing`);
      const r = await timeSearch(page, which === 'all' ? `${run}-` : `${run}-a-`);
      if (r.rows !== SMALL) throw new Error(`filter (${which}): ${r.rows} rows, expected ${SMALL}`);
      filter[which].push(r.ms);
    }
  }
  const filterLong = (await longTasks(page)).slice(lt0);

  // Pages: a flip (page 1 → 2 of the N) against the 50-row render just before it, in pairs;
  // then every page once, checking it starts where it should.
  const flip = { next: [] as number[], small: [] as number[] };
  for (let i = 0; i < REPS; i++) {
    await timeSearch(page, `${run}-nothing`);
    flip.small.push((await timeSearch(page, `${run}-a-`)).ms);
    await timeSearch(page, `${run}-`);
    const r = await timeNextPage(page);
    if (r.first !== nameOf(SMALL) || r.rows !== SMALL) throw new Error(`page 2 starts with ${r.first} (${r.rows} rows), expected ${nameOf(SMALL)}`);
    flip.next.push(r.ms);
  }
  const pages = Math.ceil(N / SMALL);
  for (let p = 3; p <= pages; p++) {
    const r = await timeNextPage(page);
    if (r.first !== nameOf((p - 1) * SMALL)) throw new Error(`page ${p} starts with ${r.first}, expected ${nameOf((p - 1) * SMALL)}`);
  }

  // Scroll: a page of N at desktop and phone width (the phone shows one card per row: a long
  // page), top to bottom in 120 frames, three times, each after 120 idle frames of the same page.
  // Reloads the event stream caused meanwhile (other containers on the engine changing) are counted.
  let reloads = 0;
  page.on('request', (r) => void (r.url().includes('/api/containers?all=true') && reloads++));
  const scroll: Record<string, { idle: number[]; moving: number[]; worst: number; longTasks: number; height: number; reloads: number }> = {};
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    await timeSearch(page, `${run}-`);
    const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
    const s = (scroll[width] = { idle: [] as number[], moving: [] as number[], worst: 0, longTasks: 0, height, reloads: 0 });
    const r0 = reloads;
    for (let round = 0; round < 3; round++) {
      const idle = await frameIntervals(page, 120, false);
      const moving = await frameIntervals(page, 120, true);
      if (moving.scrolled < height - 900) throw new Error(`scrolled to ${moving.scrolled} of ${height} px`);
      s.idle.push(pct(idle.intervals, 95));
      s.moving.push(pct(moving.intervals, 95));
      s.worst = Math.max(s.worst, ...moving.intervals);
      s.longTasks += moving.longTasks;
    }
    s.reloads = reloads - r0;
  }

  // ---- the report ----
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const rows: Row[] = [
    { what: `load: navigation → first page on screen, ${N} matching vs ${SMALL}`, value: ms(median(load.all)), lower: ms(median(load.small)), ratio: median(load.all) / median(load.small), target: 1.5 },
    { what: `filter: keystroke → painted, none → ${N} vs none → ${SMALL}`, value: ms(median(filter.all)), lower: ms(median(filter.small)), ratio: median(filter.all) / median(filter.small), target: 1.5 },
    { what: `next page (${SMALL} other rows) vs none → ${SMALL}, in pairs`, value: ms(median(flip.next)), lower: ms(median(flip.small)), ratio: median(flip.next) / median(flip.small), target: 1.5 },
  ];
  for (const [width, s] of Object.entries(scroll)) {
    rows.push({ what: `scroll ${width} px (${s.height} px page): p95 frame interval vs idle, median of 3`, value: ms(median(s.moving)), lower: ms(median(s.idle)), ratio: median(s.moving) / median(s.idle), target: 1.5 });
  }
  let failed = 0;
  console.log(`\nbench:ui — ${N} containers of this run (${total} on the engine), ${REPS} repetitions, medians`);
  console.log(`GET /api/containers?all=true (${total} containers): median ${ms(median(apiMs))}`);
  for (const r of rows) {
    const ok = r.ratio <= r.target;
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${r.what}: ${r.value} vs ${r.lower} = ${r.ratio.toFixed(2)}× (target ≤ ${r.target})`);
  }
  // Which long tasks came with a list reload (the response arrived up to 1 s before they started)?
  const all = await longTasks(page);
  const reloadEnds = (await page.evaluate('window.__reloads')) as number[];
  const withReload = all.filter((t) => reloadEnds.some((end) => t.at >= end - 50 && t.at <= end + 1000)).length;
  const scrollLong = Object.values(scroll).reduce((n, s) => n + s.longTasks, 0);
  const maxLong = Math.max(0, ...filterLong.map((x) => x.ms));
  console.log(`${scrollLong === 0 ? 'PASS' : 'FAIL'}  long tasks while scrolling: ${scrollLong} (target 0)`);
  if (scrollLong) failed++;
  console.log(`info  long tasks while filtering (${REPS * 4} changes): ${filterLong.length}${filterLong.length ? `, longest ${ms(maxLong)}` : ''}`);
  console.log(`info  worst frame while scrolling: ${Object.entries(scroll).map(([w, s]) => `${w} px ${ms(s.worst)}`).join(', ')}; list reloads from the event stream meanwhile: ${Object.values(scroll).reduce((n, s) => n + s.reloads, 0)}`);
  console.log(`info  long tasks on this page since it loaded: ${all.length}, ${withReload} of them within 1 s after a list reload arrived`);
  const load1 = loadavg()[0] ?? 0;
  console.log(`info  machine load average (1 min) at the start and the end: ${load0.toFixed(2)}, ${load1.toFixed(2)} on ${cpus().length} CPUs`);
  if (Math.max(load0, load1) > 2 * cpus().length) console.log('warn  the machine was overloaded during the run: frame times and long tasks then measure the machine as much as the page; run again on a quiet machine before reading a FAIL');
  return failed ? 1 : 0;
}

process.exitCode = await runMain(main, stop, { ms: 15 * 60_000, message: 'watchdog: the run took over 15 minutes' });
