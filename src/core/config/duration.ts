const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Parses a Go-style duration ("500ms", "30s", "10m", "1h30m", "1d") into milliseconds.
 * Returns null for anything else, including a bare number.
 */
export function parseDuration(text: string): number | null {
  if (text.length === 0) return null;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART.exec(text); m; m = PART.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    end = PART.lastIndex;
  }
  return end === text.length ? Math.round(total) : null;
}
