import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsProjectFiles } from '../../src/agent/project-files-fs.js';
import { AppError } from '../../src/core/errors.js';

let root: string;
let outside: string;
let files: FsProjectFiles;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wdc-files-'));
  outside = mkdtempSync(join(tmpdir(), 'wdc-files-out-'));
  writeFileSync(join(outside, 'sentinel'), 'keep me');
  writeFileSync(join(outside, 'compose.yaml'), 'services: {}\n');
  files = new FsProjectFiles(root);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const code = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof AppError ? `${e.code} ${e.message}` : String(e)));

describe('the APP_PATH adapter (real files in a temp folder)', () => {
  it('lists direct subfolders with a compose file, in compose\'s order of preference, and nothing else', async () => {
    for (const [dir, names] of [['a', ['docker-compose.yml', 'compose.yaml']], ['b', ['docker-compose.yaml', 'compose.yml']], ['c', ['docker-compose.yml']], ['empty', []], ['Upper', ['compose.yaml']], ['.hidden', ['compose.yaml']]] as const) {
      mkdirSync(join(root, dir));
      for (const n of names) writeFileSync(join(root, dir, n), 'services: {}\n');
    }
    symlinkSync(outside, join(root, 'link'));
    writeFileSync(join(root, 'plain-file'), 'x');
    expect((await files.list()).map((p) => [p.name, p.file.slice(root.length + 1)])).toEqual([
      ['a', 'a/compose.yaml'], ['b', 'b/compose.yml'], ['c', 'c/docker-compose.yml'],
    ]);
  });

  it('writes atomically (no temp file left), creating the folder, and reads it back', async () => {
    const saved = await files.write('web', 'services: {}\n');
    expect(saved).toEqual({ name: 'web', folder: join(root, 'web'), file: join(root, 'web', 'compose.yaml') });
    await files.write('web', 'services:\n  a: {image: x}\n');
    expect(readdirSync(join(root, 'web'))).toEqual(['compose.yaml']);
    expect((await files.read('web')).yaml).toBe('services:\n  a: {image: x}\n');
  });

  it('keeps the compose file name a project already uses', async () => {
    mkdirSync(join(root, 'old'));
    writeFileSync(join(root, 'old', 'docker-compose.yml'), 'services: {}\n');
    expect((await files.write('old', 'services: {x: {image: y}}\n')).file).toBe(join(root, 'old', 'docker-compose.yml'));
    expect(existsSync(join(root, 'old', 'compose.yaml'))).toBe(false);
  });

  it('refuses a symlinked project folder for every operation and touches nothing outside', async () => {
    symlinkSync(outside, join(root, 'evil'));
    // One at a time: promises started together and awaited one by one leave later rejections unhandled.
    for (const op of [() => files.read('evil'), () => files.find('evil'), () => files.write('evil', 'services: {}\n'), () => files.remove('evil'), () => files.folderOf('evil')]) {
      expect(await code(op())).toBe('40000 project evil refused: its folder is a symbolic link; Watch Docker only manages real folders inside APP_PATH');
    }
    expect(readFileSync(join(outside, 'sentinel'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(outside, 'compose.yaml'), 'utf8')).toBe('services: {}\n');
  });

  it('refuses to read a compose file that links outside, but a link inside APP_PATH is fine', async () => {
    mkdirSync(join(root, 'leak'));
    symlinkSync(join(outside, 'compose.yaml'), join(root, 'leak', 'compose.yaml'));
    expect(await code(files.read('leak'))).toMatch(/^40000 .*symbolic link pointing outside APP_PATH/);
    await files.write('real', 'services: {a: {image: b}}\n');
    mkdirSync(join(root, 'alias'));
    symlinkSync(join(root, 'real', 'compose.yaml'), join(root, 'alias', 'compose.yaml'));
    expect((await files.read('alias')).yaml).toBe('services: {a: {image: b}}\n');
  });

  it('remove deletes the folder and the links in it, never what they point at', async () => {
    await files.write('gone', 'services: {}\n');
    symlinkSync(outside, join(root, 'gone', 'data'));
    symlinkSync(join(outside, 'sentinel'), join(root, 'gone', 'sentinel-link'));
    await files.remove('gone');
    expect(existsSync(join(root, 'gone'))).toBe(false);
    expect(readdirSync(outside).sort()).toEqual(['compose.yaml', 'sentinel']);
    expect(await code(files.remove('gone'))).toBe('40400 no project folder gone under APP_PATH');
  });

  it('checks the name itself before touching the disk, and says when APP_PATH is missing', async () => {
    expect(await code(files.read('../x'))).toMatch(/^40000 invalid project name "..\/x"/);
    expect(await code(files.remove('..'))).toMatch(/^40000 invalid project name/);
    expect(await code(new FsProjectFiles(join(root, 'nope')).list())).toBe(`40000 APP_PATH ${join(root, 'nope')} does not exist: create it or correct compose.appPath`);
  });
});
