import { describe, expect, it } from 'vitest';
import { formatImageRef, parseImageRef, repoDigestsFor } from '../../src/core/image-ref.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef normalises as Docker does', () => {
  it.each([
    ['nginx', 'docker.io', 'registry-1.docker.io', 'library/nginx', 'latest', undefined],
    ['nginx:1.25', 'docker.io', 'registry-1.docker.io', 'library/nginx', '1.25', undefined],
    ['library/nginx', 'docker.io', 'registry-1.docker.io', 'library/nginx', 'latest', undefined],
    ['docker.io/nginx', 'docker.io', 'registry-1.docker.io', 'library/nginx', 'latest', undefined],
    ['index.docker.io/library/nginx:stable', 'docker.io', 'registry-1.docker.io', 'library/nginx', 'stable', undefined],
    ['bitnami/redis:7', 'docker.io', 'registry-1.docker.io', 'bitnami/redis', '7', undefined],
    ['ghcr.io/owner/repo:main', 'ghcr.io', 'ghcr.io', 'owner/repo', 'main', undefined],
    ['localhost/app', 'localhost', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/team/app:v1', 'localhost:5000', 'localhost:5000', 'team/app', 'v1', undefined],
    ['127.0.0.1:5000/wd/busybox', '127.0.0.1:5000', '127.0.0.1:5000', 'wd/busybox', 'latest', undefined],
    ['[::1]:5000/app:1', '[::1]:5000', '[::1]:5000', 'app', '1', undefined],
    [`nginx@${D}`, 'docker.io', 'registry-1.docker.io', 'library/nginx', undefined, D],
    [`nginx:1.25@${D}`, 'docker.io', 'registry-1.docker.io', 'library/nginx', '1.25', D],
    [`reg.example.com:443/a/b/c:x@${D}`, 'reg.example.com:443', 'reg.example.com:443', 'a/b/c', 'x', D],
    ['my-app_x/sub__y:tag_1.0-rc', 'docker.io', 'registry-1.docker.io', 'my-app_x/sub__y', 'tag_1.0-rc', undefined],
    ['Registry/app', 'Registry', 'Registry', 'app', 'latest', undefined],
  ] as const)('%s', (input, registry, apiHost, repository, tag, digest) => {
    expect(parseImageRef(input)).toEqual({ registry, apiHost, repository, tag, digest });
  });

  it.each([
    ['', 'it is empty'],
    ['Nginx', 'repository names must be lower case'],
    ['ghcr.io/Owner/repo', 'repository names must be lower case'],
    ['nginx:', 'is not a valid tag'],
    ['nginx:-bad', 'is not a valid tag'],
    ['nginx@sha256:abc', 'is not a digest like sha256'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'a sha256 digest has 64 lower-case'],
    ['nginx@md5', 'is not a digest'],
    [' nginx', 'leading or trailing spaces'],
    [`sha256:${'f'.repeat(64)}`, 'that is an image ID'],
    ['f'.repeat(64), 'that is an image ID'],
    ['a//b', 'is not a valid repository path'],
    ['-a/b', 'is not a valid repository path'],
    [':tag', 'no repository name'],
    ['http://ghcr.io/x', 'not a valid'],
    [`a/${'b'.repeat(260)}`, 'longer than 255'],
  ])('refuses %j (%s)', (input, why) => {
    expect(() => parseImageRef(input)).toThrow(why);
  });

  it('formats the normalised form', () => {
    expect(formatImageRef(parseImageRef('nginx'))).toBe('docker.io/library/nginx:latest');
    expect(formatImageRef(parseImageRef(`ghcr.io/o/r@${D}`))).toBe(`ghcr.io/o/r@${D}`);
  });

  it('finds repo digests by repository membership, whatever their order or spelling', () => {
    const other = `sha256:${'b'.repeat(64)}`;
    const digests = [`127.0.0.1:5000/x@${other}`, `nginx@${D}`, `docker.io/library/nginx@${other}`];
    expect(repoDigestsFor(parseImageRef('nginx:1.25'), digests)).toEqual([D, other]);
    expect(repoDigestsFor(parseImageRef('127.0.0.1:5000/x'), digests)).toEqual([other]);
    expect(repoDigestsFor(parseImageRef('ghcr.io/x'), digests)).toEqual([]);
  });
});
