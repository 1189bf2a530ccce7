import { Cron } from 'croner';

/**
 * Checks a cron expression: 5 fields (minute precision) or 6 (with seconds first), as croner
 * reads them. Returns an error text, or null when it is valid.
 */
export function cronError(expr: string): string | null {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    return `expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got ${fields.length}`;
  }
  try {
    new Cron(expr, { paused: true }).stop();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : 'invalid cron expression';
  }
}
