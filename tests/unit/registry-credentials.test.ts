import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDockerConfigAuths, readDockerConfigAuthsSync } from '../../src/agent/docker-config.js';
import { basicAuthorization, credentialsFromDockerConfig, findCredential, normalizeRegistryHost, type RegistryCredential } from '../../src/core/registry/credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('registry host normalisation', () => {
  it.each([
    ['docker.io', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry.hub.docker.com', 'docker.io'],
    ['GHCR.io', 'ghcr.io'],
    ['https://ghcr.io', 'ghcr.io'],
    ['127.0.0.1:5001', '127.0.0.1:5001'],
    ['http://127.0.0.1:5001/', '127.0.0.1:5001'],
    ['registry.example.com:443', 'registry.example.com'],
    ['[::1]:5000', '[::1]:5000'],
  ])('%s → %s', (host, want) => {
    expect(normalizeRegistryHost(host)).toBe(want);
  });
});

describe('credential matching', () => {
  const creds: RegistryCredential[] = [
    { host: 'ghcr.io', username: 'cfg-user', password: 'p1' },
    { host: 'docker.io', username: 'hub-user', password: 'p2' },
    { host: 'https://index.docker.io/v1/', username: 'docker-cli-user', password: 'p3' },
    { host: '127.0.0.1:5001', username: 'local', password: 'p4' },
    { host: 'empty.io', username: '', password: '' },
  ];
  it.each([
    ['ghcr.io', 'cfg-user'],
    ['docker.io', 'hub-user'],
    ['registry-1.docker.io', 'hub-user'],
    ['index.docker.io', 'hub-user'],
    ['127.0.0.1:5001', 'local'],
    ['127.0.0.1:5000', undefined],
    ['127.0.0.1', undefined],
    ['empty.io', undefined],
    ['ghcr.io.evil.test', undefined],
  ])('%s → %s', (registry, user) => {
    expect(findCredential(registry, creds)?.username).toBe(user);
  });

  it('takes the first match, so config registry.auth wins over the Docker CLI config', () => {
    expect(findCredential('docker.io', creds.slice(2))?.username).toBe('docker-cli-user');
  });

  it('builds a UTF-8 Basic header', () => {
    expect(basicAuthorization({ username: 'ü', password: 'p:w' })).toBe(`Basic ${b64('ü:p:w')}`);
  });
});

describe('Docker CLI config.json auths', () => {
  it('reads auth (base64 user:pass, colons in the password) and username/password entries', () => {
    const config = {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:s3:cr:et') },
        'ghcr.io': { username: 'gh', password: 'tok' },
        '127.0.0.1:5001': { auth: b64('wduser:pw'), email: 'x@y' },
        'helper.io': {},
        'idtoken.io': { identitytoken: 'abc' },
        'bad.io': { auth: '!!!not base64' },
        'nocolon.io': { auth: b64('justuser') },
      },
      credsStore: 'desktop',
    };
    expect(credentialsFromDockerConfig(config)).toEqual([
      { host: 'https://index.docker.io/v1/', username: 'hub', password: 's3:cr:et' },
      { host: 'ghcr.io', username: 'gh', password: 'tok' },
      { host: '127.0.0.1:5001', username: 'wduser', password: 'pw' },
    ]);
  });

  it.each([null, 'x', [], {}, { auths: null }, { auths: 'x' }])('gives nothing for %j', (config) => {
    expect(credentialsFromDockerConfig(config)).toEqual([]);
  });
});

describe('reading the Docker CLI config (Node side)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wd-dockercfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads $DOCKER_CONFIG/config.json and names helper-held logins', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('u:p') }, 'quay.io': {} }, credsStore: 'pass', credHelpers: { 'gcr.io': 'gcloud' } }));
    const got = await readDockerConfigAuths({ DOCKER_CONFIG: dir });
    expect(got).toEqual({ path: join(dir, 'config.json'), credentials: [{ host: 'ghcr.io', username: 'u', password: 'p' }], helperHosts: ['gcr.io', 'quay.io'] });
    expect(readDockerConfigAuthsSync({ DOCKER_CONFIG: dir })).toEqual(got);
  });

  it('falls back to ~/.docker/config.json', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wd-home-'));
    const original = process.env.HOME;
    process.env.HOME = home;
    try {
      expect((await readDockerConfigAuths({})).path).toBe(join(home, '.docker', 'config.json'));
    } finally {
      process.env.HOME = original;
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('gives no credentials for a missing file', async () => {
    expect((await readDockerConfigAuths({ DOCKER_CONFIG: join(dir, 'nope') })).credentials).toEqual([]);
  });

  it('names the file, not its content, when it is not JSON', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'wd-dockercfg-bad-'));
    writeFileSync(join(bad, 'config.json'), '{"auths": {"x": {"auth": "c2VjcmV0"}');
    await expect(readDockerConfigAuths({ DOCKER_CONFIG: bad })).rejects.toThrow(`the Docker config ${join(bad, 'config.json')} is not valid JSON: fix or remove it`);
    rmSync(bad, { recursive: true, force: true });
  });
});
