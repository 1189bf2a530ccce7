import { readdirSync, readFileSync } from 'node:fs';

/**
 * How many processes on this machine have all of `words` among their arguments (read from
 * /proc), e.g. `docker compose … logs` of one project: the CLI and its compose plugin.
 */
export function countProcesses(...words: string[]): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (words.every((w) => args.includes(w))) n++;
    } catch {
      // the process ended while we looked
    }
  }
  return n;
}

/** `docker compose … logs` processes of one project. */
export const composeLogProcesses = (project: string): number => countProcesses('compose', 'logs', project);
