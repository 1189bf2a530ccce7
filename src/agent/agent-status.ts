/**
 * The agent's status file: what `watch-docker health` (the image's HEALTHCHECK, a systemd
 * watchdog script, a person) reads to tell whether the agent runs and is linked to its
 * control plane. The agent rewrites it every few seconds (atomically: temporary file +
 * rename) with its link state and since when that state holds; a file that is not
 * refreshed means the agent no longer runs.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AgentState } from './agent-link.js';

export interface AgentStatus {
  host: string;
  state: AgentState;
  /** When the link entered this state (ISO 8601). */
  since: string;
  /** When the agent last wrote this file (ISO 8601). */
  updatedAt: string;
  pid: number;
  version: string;
}

/** How often the agent rewrites its status file. */
export const STATUS_INTERVAL_MS = 10_000;
/** A status older than this means the agent stopped (three missed rewrites). */
export const STATUS_MAX_AGE_MS = 3 * STATUS_INTERVAL_MS;

/** `<data dir>/agent-<host>.status.json`, beside the agent's key. */
export const agentStatusPath = (dataDir: string, host: string): string => join(dataDir, `agent-${host}.status.json`);

/**
 * Writes the status file now, within a second of a state change, and every `intervalMs`
 * otherwise, until stop().
 */
export class AgentStatusFile {
  private timer: ReturnType<typeof setInterval> | null = null;
  private last: AgentState | null = null;
  private since = new Date();
  private writtenAt = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly meta: { host: string; version: string },
    private readonly state: () => AgentState,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly intervalMs = STATUS_INTERVAL_MS,
  ) {}

  start(): void {
    this.writing = mkdir(dirname(this.path), { recursive: true }).then(() => undefined, this.onError);
    void this.write();
    this.timer = setInterval(() => {
      if (this.state() !== this.last || Date.now() - this.writtenAt >= this.intervalMs) void this.write();
    }, Math.min(1000, this.intervalMs));
    this.timer.unref();
  }

  write(): Promise<void> {
    const state = this.state();
    if (state !== this.last) {
      this.last = state;
      this.since = new Date();
    }
    this.writtenAt = Date.now();
    const status: AgentStatus = { host: this.meta.host, state, since: this.since.toISOString(), updatedAt: new Date(this.writtenAt).toISOString(), pid: process.pid, version: this.meta.version };
    const tmp = `${this.path}.${process.pid}.tmp`;
    // One write at a time, in order; a failed write (disk full, read-only) is reported and retried at the next rewrite.
    this.writing = this.writing.then(() => writeFile(tmp, `${JSON.stringify(status)}\n`, { mode: 0o644 }).then(() => rename(tmp, this.path))).catch(this.onError);
    return this.writing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.write();
  }
}

export interface AgentHealth {
  healthy: boolean;
  message: string;
}

/** Healthy when the status was refreshed within maxAgeMs and the link is online. */
export async function checkAgentHealth(path: string, now = Date.now(), maxAgeMs = STATUS_MAX_AGE_MS): Promise<AgentHealth> {
  let status: AgentStatus;
  try {
    status = JSON.parse(await readFile(path, 'utf8')) as AgentStatus;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { healthy: false, message: code === 'ENOENT' ? `no agent status at ${path} (the agent has not started, or runs with another data directory or host)` : `cannot read the agent status at ${path}: ${code ?? 'not JSON'}` };
  }
  const age = now - Date.parse(status.updatedAt);
  const name = `agent ${status.host}`;
  if (!(age <= maxAgeMs)) return { healthy: false, message: `${name}: no status for ${Math.round(age / 1000)} s (last: ${status.state}); the agent is not running` };
  if (status.state !== 'online') return { healthy: false, message: `${name}: ${status.state} since ${status.since}, not linked to the control plane` };
  return { healthy: true, message: `${name}: online since ${status.since}` };
}
