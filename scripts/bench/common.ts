/**
 * What the benchmarks (scan.ts, update.ts) share: the command line, small helpers, the run id,
 * stopping on a signal with a clean-up that runs once, the watchdog, and the images a run builds.
 */
import { parseArgs } from 'node:util';
import { docker, dockerQuiet } from '../../tests/helpers/docker-cli.js';
import type { RegistryPusher } from '../../tests/helpers/registry-push.js';

// ---- the command line -------------------------------------------------------------------

/**
 * Parses the command line: string flags with their `defaults`, plus -h/--help, which prints
 * `help` and exits 0 (an unknown flag throws, as parseArgs does). `int` reads a whole-number
 * flag within [min, max]; `atLeastOne` a number >= 1. Both exit 2 on a bad value.
 */
export function parseFlags<K extends string>(help: string, defaults: Record<K, string>) {
  const options: Record<string, { type: 'string'; default: string } | { type: 'boolean'; short: string; default: boolean }> = {};
  for (const [k, v] of Object.entries<string>(defaults)) options[k] = { type: 'string', default: v };
  options.help = { type: 'boolean', short: 'h', default: false };
  const { values } = parseArgs({ options });
  const flags = values as Record<K, string>;
  if (values.help) {
    console.log(help);
    process.exit(0);
  }
  const int = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      console.error(`bench: --${name} ${raw}: expected a whole number from ${min} to ${max}\n${help}`);
      process.exit(2);
    }
    return n;
  };
  const atLeastOne = (name: string, raw: string): number => {
    const x = Number(raw);
    if (!(x >= 1)) {
      console.error(`bench: --${name} ${raw}: expected a number >= 1`);
      process.exit(2);
    }
    return x;
  };
  return { flags, int, atLeastOne };
}

// ---- small helpers ----------------------------------------------------------------------

/** The benchmarks' clock: performance.now(), in milliseconds. */
export const now = (): number => performance.now();

/** The median of `xs` (the mean of the middle two for an even count). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** `x` as "<x> ms" with `digits` decimals; '-' for undefined. */
export const formatMs = (x: number | undefined, digits: number): string => (x === undefined ? '-' : `${x.toFixed(digits)} ms`);

/** A progress line on stderr, as "bench: <msg>". */
export const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

/** A fresh id for the names a run creates: 5 characters of the time, 3 random ones. */
export const newRunId = (): string => `${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;

// ---- stopping, cleaning up, the watchdog ------------------------------------------------

/** A run's stop state and its once-only clean-up; see stopOnSignal. */
export interface Stopper {
  /** The signal that asked the run to stop, if one did. */
  readonly stopping: string | undefined;
  /** Throws "stopped by <signal>" once a signal has asked the run to stop. */
  checkStop(): void;
  /** Logs "cleaning up" and runs the clean-up, once: later calls get the first call's promise. */
  cleanup(): Promise<void>;
}

/**
 * Installs SIGINT, SIGTERM and SIGHUP handlers. A signal stops the run at its next checkStop();
 * runMain's `finally` then cleans up what exists by then (so nothing still being created
 * escapes). A second signal, or `forceAfterMs`, cleans up at once and exits 130.
 */
export function stopOnSignal(clean: () => Promise<void>, forceAfterMs: number): Stopper {
  let cleaning: Promise<void> | undefined;
  const s = {
    stopping: undefined as string | undefined,
    checkStop() {
      if (s.stopping) throw new Error(`stopped by ${s.stopping}`);
    },
    cleanup(): Promise<void> {
      cleaning ??= (async () => {
        log('cleaning up');
        await clean();
      })();
      return cleaning;
    },
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      const force = () => void s.cleanup().finally(() => process.exit(130));
      if (s.stopping) return force();
      s.stopping = sig;
      log(`${sig}: stopping after the current step, then cleaning up`);
      setTimeout(force, forceAfterMs).unref();
    });
  }
  return s;
}

/**
 * Runs `main` under a watchdog (after `watchdog.ms`: logs `watchdog.message`, cleans up, exits 2),
 * then always cleans up. Resolves to the exit code: 130 after a signal, 2 when `main` threw
 * (logged as "failed: ..."), otherwise what `main` returned.
 */
export async function runMain(main: () => Promise<number>, stop: Stopper, watchdog: { ms: number; message: string }): Promise<number> {
  let code = 2;
  const timer = setTimeout(() => {
    log(watchdog.message);
    void stop.cleanup().finally(() => process.exit(2));
  }, watchdog.ms);
  timer.unref();
  try {
    code = await main();
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    code = 2;
  } finally {
    await stop.cleanup();
  }
  return stop.stopping ? 130 : code;
}

// ---- what a run leaves behind -----------------------------------------------------------

/** The images a run builds on one engine, by ID, so that the clean-up can remove them. */
export class BuiltImages {
  readonly ids = new Set<string>();
  constructor(private readonly host: string) {}

  /** `docker build` of `dockerfile` (from stdin, no network) tagged `tag`; records and returns the image ID. */
  async build(tag: string, dockerfile: string, env?: Record<string, string>): Promise<string> {
    await docker(this.host, ['build', '--network', 'none', '--force-rm', '-q', '-t', tag, '-'], { input: dockerfile, env });
    const id = await docker(this.host, ['image', 'inspect', '--format', '{{.Id}}', tag]);
    this.ids.add(id);
    return id;
  }

  /** Removes every recorded image (`rmi -f`); never throws. */
  async remove(): Promise<void> {
    if (this.ids.size) await dockerQuiet(this.host, ['rmi', '-f', ...this.ids]);
  }
}

/** Deletes pushed manifests one after the other; a failure is logged, not thrown. */
export async function deleteManifests(pusher: RegistryPusher, manifests: Iterable<{ repo: string; digest: string }>): Promise<void> {
  for (const { repo, digest } of manifests) await pusher.delete(repo, digest).catch((err: unknown) => log(`could not delete ${repo}@${digest}: ${(err as Error).message}`));
}
