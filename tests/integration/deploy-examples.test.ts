import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bed } from '../helpers/bed.js';
import { docker } from '../helpers/docker-cli.js';
import { LAUNCHER } from '../helpers/cli-process.js';

/**
 * The ready-to-use examples in deploy/: the agent's compose file as the real `docker compose`
 * (v2) reads it, and the systemd unit as `systemd-analyze verify` checks it (with ExecStart
 * pointing at this checkout's launcher: the unit names /opt/watch-docker).
 */

const run = promisify(execFile);
const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wd-deploy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('deploy examples', () => {
  it('agent.compose.yaml: the agent command, the socket, the data volume, the agent variables', async () => {
    const file = join(DEPLOY, 'agent.compose.yaml');
    const env = { AGENT_HOST: 'web-1', DOCKER_GID: '998', AGENT_JOIN_TOKEN: 'wdj_first-start-only' };
    const cfg = JSON.parse(await docker(bed().dockerHost, ['compose', '-f', file, 'config', '--format', 'json'], { env })) as {
      services: Record<string, { image: string; command: string[]; environment: Record<string, string>; group_add: string[]; volumes: Array<{ type: string; source: string; target: string }>; restart: string }>;
      volumes: Record<string, unknown>;
    };
    const agent = cfg.services.agent!;
    expect(agent.image).toBe('watch-docker');
    expect(agent.command).toEqual(['agent']);
    expect(agent.restart).toBe('unless-stopped');
    expect(agent.environment).toEqual({ AGENT_URL: 'wss://watch.example.com', AGENT_HOST: 'web-1', AGENT_JOIN_TOKEN: 'wdj_first-start-only', APP_PATH: '/opt/stacks', IS_OPEN_DOCKER_SHELL: 'false' });
    expect(agent.group_add).toEqual(['998']);
    expect(agent.volumes.map((v) => [v.type, v.source, v.target])).toEqual([
      ['bind', '/var/run/docker.sock', '/var/run/docker.sock'],
      ['volume', 'watch-docker-agent-data', '/data'],
      ['bind', '/opt/stacks', '/opt/stacks'],
    ]);
    expect(Object.keys(cfg.volumes)).toEqual(['watch-docker-agent-data']);
    // Later starts: no join token in the environment.
    const later = JSON.parse(await docker(bed().dockerHost, ['compose', '-f', file, 'config', '--format', 'json'], { env: { AGENT_HOST: 'web-1', DOCKER_GID: '998', AGENT_JOIN_TOKEN: '' } })) as typeof cfg;
    expect(later.services.agent!.environment.AGENT_JOIN_TOKEN).toBe('');
    // Without the host's name it refuses to start, saying what to set.
    await expect(docker(bed().dockerHost, ['compose', '-f', file, 'config'], { env: { AGENT_HOST: '', DOCKER_GID: '998' } })).rejects.toThrow(/set AGENT_HOST/);
  });

  it('watch-docker-agent.service: systemd-analyze verify accepts it; it runs the launcher\'s agent', async () => {
    const unit = readFileSync(join(DEPLOY, 'watch-docker-agent.service'), 'utf8');
    expect(unit).toContain('ExecStart=/opt/watch-docker/bin/watch-docker agent\n');
    expect(unit).toMatch(/^Environment=WATCH_STORE_DATA_DIR=\/var\/lib\/watch-docker$/m);
    expect(unit).toMatch(/^StateDirectoryMode=0700$/m);
    const local = join(dir, 'watch-docker-agent.service');
    writeFileSync(local, unit.replace('ExecStart=/opt/watch-docker/bin/watch-docker', `ExecStart=${LAUNCHER}`));
    const { stdout, stderr } = await run('systemd-analyze', ['verify', local]);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });
});
