import { describe, expect, it } from 'vitest';
import { dockerOptionsFor, resolveDockerHost } from '../../src/agent/docker/engine-address.js';

describe('Docker engine address', () => {
  it.each([
    ['unix:///var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['tcp://127.0.0.1:2375', { host: '127.0.0.1', port: 2375, protocol: 'http' }],
    ['tcp://docker.lan', { host: 'docker.lan', port: 2375, protocol: 'http' }],
    ['https://docker.lan:2376', { host: 'docker.lan', port: 2376, protocol: 'https' }],
  ])('%s', (host, options) => expect(dockerOptionsFor(host)).toEqual(options));

  it('refuses other schemes', () => expect(() => dockerOptionsFor('ssh://x')).toThrow('unsupported Docker host "ssh://x"'));

  it('takes docker.host, then DOCKER_HOST, then the local socket', () => {
    expect(resolveDockerHost('tcp://a:1', { DOCKER_HOST: 'unix:///b' })).toBe('tcp://a:1');
    expect(resolveDockerHost('', { DOCKER_HOST: 'unix:///b' })).toBe('unix:///b');
    expect(resolveDockerHost('', {})).toBe('unix:///var/run/docker.sock');
  });
});
