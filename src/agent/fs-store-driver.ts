import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { defineDriver } from 'unstorage';

/**
 * An unstorage driver for files under one directory, written for state that must not leak or
 * tear: every file is created 0600 (directories 0700), and every write is atomic (a temp file,
 * then rename), so a crash never leaves half a journal entry. unstorage's own fs driver does
 * neither, which is why this one exists.
 */
export const secureFsDriver = defineDriver((opts: { base: string }) => {
  const base = resolve(opts.base);
  const pathOf = (key: string): string => {
    const parts = key.split(':').filter(Boolean);
    if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || p.includes('/') || p.includes('\\') || p.includes('\0'))) {
      throw new Error(`invalid store key ${JSON.stringify(key)}`);
    }
    const full = join(base, ...parts);
    if (!full.startsWith(base + sep)) throw new Error(`invalid store key ${JSON.stringify(key)}`);
    return full;
  };
  const notFound = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
  let seq = 0;

  async function walk(dir: string, prefix: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (notFound(err)) return [];
      throw err;
    }
    const keys: string[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.tmp-')) continue;
      const key = prefix ? `${prefix}:${e.name}` : e.name;
      if (e.isDirectory()) keys.push(...(await walk(join(dir, e.name), key)));
      else if (e.isFile()) keys.push(key);
    }
    return keys;
  }

  return {
    name: 'secure-fs',
    options: opts,
    async hasItem(key) {
      return (await this.getItem(key)) !== null;
    },
    async getItem(key) {
      try {
        return await readFile(pathOf(key), 'utf8');
      } catch (err) {
        if (notFound(err)) return null;
        throw err;
      }
    },
    async setItem(key, value) {
      const file = pathOf(key);
      const dir = resolve(file, '..');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `.tmp-${process.pid}-${++seq}`);
      await writeFile(tmp, value, { mode: 0o600 });
      await rename(tmp, file);
    },
    async removeItem(key) {
      await rm(pathOf(key), { force: true });
    },
    async getKeys(base) {
      const prefix = (base ?? '').split(':').filter(Boolean).join(':');
      const dir = prefix ? pathOf(prefix) : opts.base;
      return walk(dir, prefix);
    },
    async clear(base) {
      const prefix = (base ?? '').split(':').filter(Boolean).join(':');
      if (prefix) await rm(pathOf(prefix), { recursive: true, force: true });
      else for (const key of await walk(opts.base, '')) await rm(pathOf(key), { force: true });
    },
  };
});
