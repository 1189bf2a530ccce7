import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load.js';
import { parseImageRef } from '../../src/core/image-ref.js';
import { evaluatePolicy, isStrictSemver, matchesSelector, type PolicyConfig } from '../../src/core/policy.js';

const D = `sha256:${'c'.repeat(64)}`;
const defaults = (): PolicyConfig => loadConfig({ env: {}, readSecretFile: () => '' }).policy;
const decide = (image: string, labels: Record<string, string> = {}, opts: { repoDigests?: string[]; policy?: Partial<PolicyConfig> } = {}) =>
  evaluatePolicy(
    { image, labels, ref: (() => { try { return parseImageRef(image); } catch { return null; } })(), repoDigests: opts.repoDigests ?? [`x@${D}`] },
    { ...defaults(), ...opts.policy },
  );

describe('policy engine', () => {
  it.each([
    ['nginx:latest', {}, {}, { action: 'check', forced: false }],
    ['nginx:1.25', {}, {}, { action: 'check', forced: false }],
    ['nginx:1.2.3-alpine', {}, {}, { action: 'check', forced: false }],
    ['nginx:1.2.3', {}, {}, { action: 'skip', reason: 'pinned version tag 1.2.3' }],
    ['nginx:v1.2.3', {}, {}, { action: 'skip', reason: 'pinned version tag v1.2.3' }],
    ['nginx:1.2.3', {}, { policy: { skipSemverPinned: false } }, { action: 'check', forced: false }],
    [`nginx@${D}`, {}, {}, { action: 'skip', reason: 'pinned digest' }],
    [`nginx:1@${D}`, {}, {}, { action: 'skip', reason: 'pinned digest' }],
    [`nginx:1@${D}`, { 'watchdocker.force': 'true' }, {}, { action: 'check', forced: true }],
    ['app:latest', {}, { repoDigests: [] }, { action: 'skip', reason: 'local build (no RepoDigests)' }],
    ['app:latest', {}, { repoDigests: [], policy: { skipLocalBuild: false } }, { action: 'check', forced: false }],
    ['app:latest', { 'watchdocker.force': 'true' }, { repoDigests: [] }, { action: 'check', forced: true }],
    ['nginx:1.2.3', { 'watchdocker.force': 'true' }, {}, { action: 'check', forced: true }],
    ['nginx', { 'watchdocker.skip': 'true' }, {}, { action: 'skip', reason: 'label watchdocker.skip=true' }],
    ['nginx', { 'watchdocker.skip': 'TRUE' }, {}, { action: 'skip', reason: 'label watchdocker.skip=true' }],
    ['nginx', { 'watchdocker.skip': 'false' }, {}, { action: 'check', forced: false }],
    ['nginx', { 'watchdocker.skip': 'true', 'watchdocker.force': 'true' }, {}, { action: 'skip', reason: 'label watchdocker.skip=true' }],
    ['nginx', { 'com.centurylinklabs.watchtower.enable': 'false' }, {}, { action: 'skip', reason: 'label com.centurylinklabs.watchtower.enable=false' }],
    ['nginx', { tier: 'db' }, { policy: { skipLabels: ['tier=db'] } }, { action: 'skip', reason: 'label tier=db' }],
    ['nginx', { tier: 'web' }, { policy: { skipLabels: ['tier=db'] } }, { action: 'check', forced: false }],
    ['nginx', {}, { policy: { onlyLabels: ['watch'] } }, { action: 'skip', reason: 'not selected by policy.onlyLabels (watch)' }],
    ['nginx', { watch: 'yes' }, { policy: { onlyLabels: ['watch'] } }, { action: 'check', forced: false }],
    ['nginx', { watch: 'yes', env: 'prod' }, { policy: { onlyLabels: ['watch'], excludeLabels: ['env=prod'] } }, { action: 'skip', reason: 'excluded by label env=prod' }],
    ['nginx', { watch: 'yes', env: 'dev' }, { policy: { onlyLabels: ['watch'], excludeLabels: ['env=prod'] } }, { action: 'check', forced: false }],
    ['nginx', { 'com.docker.compose.project': 'shop' }, {}, { action: 'check', forced: false, note: 'managed by compose project shop' }],
    [`sha256:${'f'.repeat(64)}`, {}, {}, { action: 'skip', reason: `image reference "sha256:${'f'.repeat(64)}" names no registry tag to check` }],
  ] as const)('%s %j %j → %j', (image, labels, opts, expected) => {
    expect(decide(image, labels, opts as never)).toEqual(expected);
  });

  it.each([['1.2.3', true], ['v1.2.3', true], ['0.0.0', true], ['1.2', false], ['1.2.3-alpine', false], ['01.2.3', false], ['latest', false], ['v1', false], ['1.2.3.4', false]])(
    'isStrictSemver(%j) = %j', (tag, ok) => expect(isStrictSemver(tag)).toBe(ok),
  );

  it('matches label selectors by key or key=value', () => {
    expect(matchesSelector({ a: '1' }, 'a')).toBe(true);
    expect(matchesSelector({ a: '1' }, 'a=1')).toBe(true);
    expect(matchesSelector({ a: '1' }, 'a=2')).toBe(false);
    expect(matchesSelector({ a: '' }, 'a=')).toBe(true);
    expect(matchesSelector({}, 'constructor')).toBe(false);
  });
});
