/**
 * `watch-docker health`: exit 0 when this installation is healthy, 1 otherwise, with one line
 * saying why. The Docker image's HEALTHCHECK runs it, for both of the image's commands:
 *  - agent (AGENT_HOST set): the agent's status file in the data directory is fresh and its
 *    link to the control plane is online (src/agent/agent-status.ts);
 *  - server: GET /healthz on the configured listen address answers 200 (an unspecified or
 *    any-address host means 127.0.0.1).
 */
import type { LoadedConfig } from './core/config/load.js';
import { HOST_NAME } from './core/agent-link/protocol.js';
import { isTimeout, networkReason } from './core/registry/errors.js';
import { agentStatusPath, checkAgentHealth, type AgentHealth } from './agent/agent-status.js';

export async function checkHealth(config: LoadedConfig, env: Record<string, string | undefined>): Promise<AgentHealth> {
  const host = env.AGENT_HOST;
  if (host) {
    if (!HOST_NAME.test(host)) return { healthy: false, message: `AGENT_HOST ${JSON.stringify(host)} is not a host name` };
    return checkAgentHealth(agentStatusPath(config.store.dataDir, host));
  }
  const { host: listenHost, port } = config.derived.listen;
  let h = !listenHost || listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
  if (h.includes(':')) h = `[${h}]`;
  const url = `http://${h}:${port}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    await res.body?.cancel();
    return res.status === 200 ? { healthy: true, message: `server: ${url} answered 200` } : { healthy: false, message: `server: ${url} answered ${res.status}` };
  } catch (err) {
    return { healthy: false, message: `server: ${url} did not answer (${isTimeout(err) ? 'no answer within 4 s' : networkReason(err)})` };
  }
}
