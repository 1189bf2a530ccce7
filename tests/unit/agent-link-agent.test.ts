import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentUrl, loadOrCreateKey, localHandlers } from '../../src/agent/agent-link.js';
import { signChallenge, verifySignature } from '../../src/core/agent-link/enrolment.js';
import { signedChallenge } from '../../src/core/agent-link/protocol.js';
import { silentLogger } from '../../src/core/ports.js';
import { MemoryDocker } from '../helpers/memory-docker.js';

const dir = mkdtempSync(join(tmpdir(), 'wde-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent URL', () => {
  it('accepts wss:// anywhere and ws:// only to this machine', () => {
    expect(agentUrl('wss://cp.example.com', 'web-1').toString()).toBe('wss://cp.example.com/agent/connect?host=web-1');
    expect(agentUrl('https://cp.example.com/', 'web-1').protocol).toBe('wss:');
    expect(agentUrl('ws://127.0.0.1:8787', 'a').toString()).toBe('ws://127.0.0.1:8787/agent/connect?host=a');
    expect(agentUrl('ws://127.9.8.7:1', 'a').host).toBe('127.9.8.7:1');
    expect(agentUrl('ws://localhost:1', 'a').hostname).toBe('localhost');
    expect(agentUrl('ws://[::1]:1', 'a').hostname).toBe('[::1]');
    expect(() => agentUrl('ws://10.0.0.5:8787', 'a')).toThrow(/plain ws:\/\/ is allowed only to localhost or 127.0.0.0\/8/);
    expect(() => agentUrl('ws://127.0.0.1.evil.com', 'a')).toThrow(/only to localhost/);
    expect(() => agentUrl('http://cp.example.com', 'a')).toThrow(/expected wss:\/\//);
    expect(() => agentUrl('not a url', 'a')).toThrow(/is not a URL/);
  });
});

describe('agent key file', () => {
  it('is made once with mode 0600 and then reused; its key signs challenges the control plane verifies', async () => {
    const path = join(dir, 'sub', 'agent.key');
    const key = await loadOrCreateKey(path, silentLogger);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateKey(path, silentLogger);
    expect(again.publicKey).toBe(key.publicKey);
    const sig = await signChallenge(again, 'web-1', 'nonce-1');
    expect(await verifySignature(key.publicKey, sig, signedChallenge('web-1', 'nonce-1'))).toBe(true);
    expect(await verifySignature(key.publicKey, sig, signedChallenge('web-1', 'nonce-2'))).toBe(false);
    expect(await verifySignature(key.publicKey, sig, signedChallenge('web-2', 'nonce-1'))).toBe(false);
  });

  it('refuses a file that is not an agent key instead of replacing it', async () => {
    const path = join(dir, 'garbage.key');
    writeFileSync(path, '{"hello":1}', { mode: 0o600 });
    await expect(loadOrCreateKey(path, silentLogger)).rejects.toThrow(/cannot use the key file .*not an agent key file/);
    expect(readFileSync(path, 'utf8')).toBe('{"hello":1}');
  });
});

describe('agent operations', () => {
  it('serves the Docker calls with the local port', async () => {
    const docker = new MemoryDocker();
    const handlers = localHandlers(docker, { prepare: async () => {}, check: async () => ({ status: 'UpToDate', remoteDigest: 'sha256:a' }) });
    expect(await handlers.call('listContainers', [{ all: true }])).toEqual(await docker.listContainers({ all: true }));
    expect(await handlers.call('registryCheck', [{ registry: 'r', apiHost: 'r', repository: 'x', tag: '1' }, { id: 'i', repoDigests: [], platform: { os: 'linux', architecture: 'amd64' } }])).toEqual({ status: 'UpToDate', remoteDigest: 'sha256:a' });
  });
});
