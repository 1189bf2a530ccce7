import { describe, expect, it } from 'vitest';
import { formatIp, inRange, parseIp, parseIpRange, resolveClientAddress } from '../../src/core/auth/client-address.js';
import { timingSafeEqual } from '../../src/core/auth/encoding.js';
import { DEFAULT_PASSWORD_ITERATIONS, generatePassword, hashPassword, verifyPassword } from '../../src/core/auth/password.js';
import { findRecoveryCode, newRecoveryCodes } from '../../src/core/auth/recovery-codes.js';
import { authSettings } from '../../src/core/auth/settings.js';
import { loadConfig } from '../../src/core/config/load.js';

describe('password hashing', () => {
  it('PBKDF2-SHA256 with 600,000 rounds by default (OWASP 2023), salted', async () => {
    expect(DEFAULT_PASSWORD_ITERATIONS).toBeGreaterThanOrEqual(600_000);
    const a = await hashPassword('s3cret-pass', 100_000);
    const b = await hashPassword('s3cret-pass', 100_000);
    expect(a).toMatchObject({ alg: 'pbkdf2-sha256', iterations: 100_000 });
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(await verifyPassword('s3cret-pass', a)).toBe(true);
    expect(await verifyPassword('s3cret-pasS', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });
  it('the settings default to it and refuse fewer than 100,000 rounds', () => {
    const config = loadConfig({ env: {}, readSecretFile: () => '' });
    expect(authSettings(config).passwordIterations).toBe(DEFAULT_PASSWORD_ITERATIONS);
    expect(() => authSettings({ ...config, auth: { ...config.auth, passwordIterations: 1000 } as typeof config.auth })).toThrow(/at least 100000/);
    expect(() => authSettings({ ...config, auth: { ...config.auth, jwtSecret: 'short' } as typeof config.auth })).toThrow(/32 bytes/);
  });
  it('generated passwords are long and different', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(generatePassword()).not.toBe(a);
  });
  it('timingSafeEqual compares every byte', () => {
    expect(timingSafeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(timingSafeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
  });
});

describe('recovery codes', () => {
  it('ten distinct codes, stored as hashes, found regardless of case and dashes', async () => {
    const { codes, hashes } = await newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(hashes.join()).not.toContain(codes[0]?.replace(/-/g, ''));
    expect(await findRecoveryCode(codes[2]?.toLowerCase().replace(/-/g, '') ?? '', hashes)).toBe(2);
    expect(await findRecoveryCode('AAAA-AAAA-AAAA-AAAA', hashes)).toBe(-1);
  });
});

describe('client address', () => {
  const trusted = ['10.0.0.0/8', '::1', 'fd00::/8'].map((s) => parseIpRange(s)).filter((r) => r !== null);

  it('parses and formats IPv4 and IPv6 (mapped IPv4 counts as IPv4)', () => {
    expect(formatIp(parseIp('::ffff:10.1.2.3') ?? new Uint8Array())).toBe('10.1.2.3');
    expect(formatIp(parseIp('2001:DB8:0:0:0:0:0:1') ?? new Uint8Array())).toBe('2001:db8::1');
    expect(formatIp(parseIp('[::1]') ?? new Uint8Array())).toBe('::1');
    expect(parseIp('1.2.3.256')).toBeNull();
    expect(parseIp('1::2::3')).toBeNull();
    expect(parseIpRange('10.0.0.0/33')).toBeNull();
    expect(inRange(parseIp('10.200.1.1') ?? new Uint8Array(), parseIpRange('10.0.0.0/8') ?? { bytes: new Uint8Array(), prefix: 0 })).toBe(true);
    expect(inRange(parseIp('11.0.0.1') ?? new Uint8Array(), parseIpRange('10.0.0.0/8') ?? { bytes: new Uint8Array(), prefix: 0 })).toBe(false);
  });

  it('believes X-Forwarded-For only from trusted proxies, read from the right', () => {
    expect(resolveClientAddress('203.0.113.9', '198.51.100.1', trusted)).toBe('203.0.113.9');
    expect(resolveClientAddress('10.0.0.5', '198.51.100.1', trusted)).toBe('198.51.100.1');
    // The client wrote the left part; the trusted proxy appended the real address on the right.
    expect(resolveClientAddress('10.0.0.5', '1.1.1.1, 198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(resolveClientAddress('10.0.0.5', '198.51.100.1, 10.0.0.4', trusted)).toBe('198.51.100.1');
    expect(resolveClientAddress('::1', 'garbage', trusted)).toBe('::1');
    expect(resolveClientAddress(undefined, '198.51.100.1', trusted)).toBe('unknown');
  });
});
