import type { ContainerView } from './core/container-view.js';
import type { ScanReport } from './core/scanner.js';

/** The result of `watch-docker scan --once`: a table for people, or JSON for scripts. */
export function printScan(views: ContainerView[], report: ScanReport, json: boolean): string {
  if (json) {
    return `${JSON.stringify({ containers: views, total: views.length, counts: report.counts, startedAt: report.startedAt, durationMs: report.durationMs }, null, 2)}\n`;
  }
  const rows = views.map((v) => [v.name, v.status, v.image, v.skipReason ?? v.message ?? (v.status === 'UpdateAvailable' ? `${v.currentDigest ?? '?'} → ${v.remoteDigest ?? '?'}` : '')]);
  const header = ['NAME', 'STATUS', 'IMAGE', 'DETAIL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const { UpToDate, UpdateAvailable, Skipped, Error } = report.counts;
  return [line(header), ...rows.map(line), '', `${views.length} containers: ${UpToDate} up to date, ${UpdateAvailable} with updates, ${Skipped} skipped, ${Error} failed (${report.durationMs} ms)`, ''].join('\n');
}
