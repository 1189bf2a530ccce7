import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/core/registry/errors.js';
import { assertAllowedRegistry, checkRealm, isForbiddenHostname, isLoopbackHostname, registryBaseUrl } from '../../src/core/registry/security.js';

describe('http only for loopback and registry.insecure', () => {
  it.each([
    ['127.0.0.1:5000', [], 'http://127.0.0.1:5000'],
    ['127.1.2.3:5000', [], 'http://127.1.2.3:5000'],
    ['localhost:5000', [], 'http://localhost:5000'],
    ['localhost', [], 'http://localhost'],
    ['[::1]:5000', [], 'http://[::1]:5000'],
    ['registry-1.docker.io', [], 'https://registry-1.docker.io'],
    ['ghcr.io', [], 'https://ghcr.io'],
    ['10.0.0.5:5000', [], 'https://10.0.0.5:5000'],
    ['128.0.0.1:5000', [], 'https://128.0.0.1:5000'],
    ['localhost.evil.test', [], 'https://localhost.evil.test'],
    ['10.0.0.5:5000', ['10.0.0.5:5000'], 'http://10.0.0.5:5000'],
    ['10.0.0.5:5000', ['10.0.0.5'], 'http://10.0.0.5:5000'],
    ['reg.lan:5000', ['http://reg.lan:5000/'], 'http://reg.lan:5000'],
    ['reg.lan:5001', ['reg.lan:5000'], 'https://reg.lan:5001'],
  ] as [string, string[], string][])('%s (insecure %j) → %s', (host, insecure, want) => {
    expect(registryBaseUrl(host, insecure)).toBe(want);
  });

  it.each([
    ['localhost', true], ['127.0.0.1', true], ['127.255.0.9', true], ['[::1]', true],
    ['[::ffff:7f00:1]', true], ['10.0.0.1', false], ['[::2]', false], ['127.0.0.1.nip.io', false],
  ])('loopback(%s) = %s', (h, want) => {
    expect(isLoopbackHostname(h)).toBe(want);
  });
});

describe('realm safety', () => {
  it.each([
    ['https realm elsewhere: credentials go', 'https://auth.docker.io/token', 'registry-1.docker.io', true],
    ['http realm on the registry host (other port): credentials go', 'http://127.0.0.1:5003/token', '127.0.0.1:5002', true],
    ['http realm on another host: anonymous only', 'http://auth.test/token', 'reg.test', false],
    ['http realm on another loopback address: anonymous only', 'http://127.0.0.2:5003/token', '127.0.0.1:5002', false],
  ])('%s', (_name, realm, apiHost, sendCredentials) => {
    expect(checkRealm(realm, apiHost, 'r').sendCredentials).toBe(sendCredentials);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'link-local or cloud metadata'],
    ['https://169.254.1.1/token', 'link-local or cloud metadata'],
    ['http://metadata.google.internal/token', 'link-local or cloud metadata'],
    ['http://[fd00:ec2::254]/token', 'link-local or cloud metadata'],
    ['http://[fe80::1]/token', 'link-local or cloud metadata'],
    ['http://[febf::1]/token', 'link-local or cloud metadata'],
    ['http://2852039166/token', 'link-local or cloud metadata'],
    ['http://[::ffff:169.254.169.254]/token', 'link-local or cloud metadata'],
    ['ftp://auth.test/token', 'unsupported scheme'],
    ['not a url', 'not a URL'],
    ['https://user:pw@auth.test/token', 'embedded credentials'],
  ])('refuses %s', (realm, why) => {
    let err: unknown;
    try {
      checkRealm(realm, 'reg.test', 'reg.test');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).kind).toBe('invalid');
    expect((err as Error).message).toContain(why);
    expect((err as Error).message).not.toContain('pw');
  });

  it.each([['169.254.169.254', true], ['169.254.0.1', true], ['[fe80::1]', true], ['metadata.google.internal.', true], ['169.255.0.1', false], ['[fec0::1]', false], ['example.com', false]])(
    'forbidden(%s) = %s',
    (h, want) => {
      expect(isForbiddenHostname(h)).toBe(want);
    },
  );

  it('refuses a registry on a metadata address', () => {
    expect(() => assertAllowedRegistry('169.254.169.254', '169.254.169.254')).toThrow(/refusing to contact registry 169\.254\.169\.254/);
    expect(() => assertAllowedRegistry('ghcr.io', 'ghcr.io')).not.toThrow();
  });
});
