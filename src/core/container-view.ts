import type { ContainerInfo, ContainerStatus } from './inventory.js';
import type { ScanReport } from './scanner.js';

/** The design's container status model (§3.1) on top of what discovery found. */
export interface ContainerView extends ContainerInfo {
  remoteDigest?: string;
  status: ContainerStatus;
  skipped: boolean;
  skipReason?: string;
  message?: string;
  errorKind?: string;
  lastCheckedAt?: string;
}

/**
 * Joins discovery with the last scan. A result applies only while the container still runs the
 * image that was checked; otherwise the container shows NotChecked, never a stale claim.
 */
export function containerViews(infos: ContainerInfo[], report: ScanReport | null): ContainerView[] {
  return infos.map((info) => {
    const r = report?.results[info.id];
    if (!r || r.imageId !== info.imageId) return { ...info, status: 'NotChecked', skipped: false };
    const { containerId: _id, imageId: _img, ...check } = r;
    return { ...info, ...check };
  });
}
