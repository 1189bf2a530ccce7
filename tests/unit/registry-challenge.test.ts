import { describe, expect, it } from 'vitest';
import { parseChallenge, parseChallenges, sameChallenge } from '../../src/core/registry/challenge.js';

describe('WWW-Authenticate parsing', () => {
  const cases: [string, string | null, unknown][] = [
    [
      'Docker Hub',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      { scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull', error: undefined },
    ],
    [
      'ghcr.io with spaces after commas',
      'Bearer realm="https://ghcr.io/token", service="ghcr.io", scope="repository:o/r:pull"',
      { scheme: 'bearer', realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:o/r:pull', error: undefined },
    ],
    ['scheme in lower case, unquoted values', 'bearer realm=https://r.test/token,service=r.test', { scheme: 'bearer', realm: 'https://r.test/token', service: 'r.test', scope: undefined, error: undefined }],
    [
      'several scopes in one quoted value and an error',
      'Bearer realm="https://a/t",scope="repository:a:pull repository:b:pull",error="insufficient_scope"',
      { scheme: 'bearer', realm: 'https://a/t', service: undefined, scope: 'repository:a:pull repository:b:pull', error: 'insufficient_scope' },
    ],
    ['escaped quote inside a value', 'Bearer realm="https://a/t",service="say \\"hi\\""', { scheme: 'bearer', realm: 'https://a/t', service: 'say "hi"', scope: undefined, error: undefined }],
    ['Basic (distribution htpasswd)', 'Basic realm="Registry Realm"', { scheme: 'basic', realm: 'Registry Realm' }],
    ['Basic without parameters', 'Basic', { scheme: 'basic', realm: undefined }],
    ['Bearer preferred when both are offered', 'Basic realm="x", Bearer realm="https://a/t",service="s"', { scheme: 'bearer', realm: 'https://a/t', service: 's', scope: undefined, error: undefined }],
    ['Bearer without realm is unusable', 'Bearer service="s"', null],
    ['unknown schemes are ignored', 'Negotiate abc==, Digest realm="x", nonce="y"', null],
    ['empty header', '', null],
    ['no header', null, null],
  ];
  it.each(cases)('%s', (_name, header, want) => {
    expect(parseChallenge(header)).toEqual(want);
  });

  it('lists every challenge it can answer', () => {
    expect(parseChallenges('Negotiate abc==, Basic realm="b", Bearer realm="https://a/t"').map((c) => c.scheme)).toEqual(['bearer', 'basic']);
  });

  it('tells a changed challenge from the same one', () => {
    const a = parseChallenge('Bearer realm="https://a/t",service="s",scope="repository:x:pull"');
    const b = parseChallenge('Bearer realm="https://a/t",service="s",scope="repository:y:pull"');
    const c = parseChallenge('Bearer realm="https://b/t",service="s"');
    expect(sameChallenge(a, b)).toBe(true);
    expect(sameChallenge(a, c)).toBe(false);
    expect(sameChallenge(a, parseChallenge('Basic realm="x"'))).toBe(false);
  });
});
