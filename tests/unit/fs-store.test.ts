import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage } from 'unstorage';
import { describe, expect, it } from 'vitest';
import { secureFsDriver } from '../../src/agent/fs-store-driver.js';

describe('secure fs store', () => {
  it('stores JSON values in 0600 files under 0700 directories', async () => {
    const base = join(mkdtempSync(join(tmpdir(), 'wd-store-')), 'data');
    const store = createStorage({ driver: secureFsDriver({ base }) });
    await store.setItem('journal:abc', { step: 'renamed', at: 1 });
    await store.setItem('top', 'x');
    expect(await store.getItem('journal:abc')).toEqual({ step: 'renamed', at: 1 });
    expect(statSync(join(base, 'journal', 'abc')).mode & 0o777).toBe(0o600);
    expect(statSync(join(base, 'top')).mode & 0o777).toBe(0o600);
    expect(statSync(join(base, 'journal')).mode & 0o777).toBe(0o700);
    expect((await store.getKeys()).sort()).toEqual(['journal:abc', 'top']);
    expect(await store.getKeys('journal')).toEqual(['journal:abc']);
    // No temp files are left behind by the atomic writes.
    expect(readdirSync(join(base, 'journal'))).toEqual(['abc']);
    await store.removeItem('journal:abc');
    expect(await store.getItem('journal:abc')).toBeNull();
  });

  it('refuses keys that would leave the data directory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'wd-store-'));
    // unstorage already normalises keys; the driver does not rely on that.
    const driver = secureFsDriver({ base });
    await expect(driver.setItem?.('..:..:etc:passwd', 'x', {})).rejects.toThrow('invalid store key');
    await expect(driver.getItem('a:..:..:x', {})).rejects.toThrow('invalid store key');
  });
});
