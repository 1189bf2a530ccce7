import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsProjectFiles, type RacePoint } from '../../src/agent/project-files-fs.js';
import { AppError } from '../../src/core/errors.js';

let root: string;
let outside: string;
let files: FsProjectFiles;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'wdcf-files-')));
  outside = realpathSync(mkdtempSync(join(tmpdir(), 'wdcf-files-out-')));
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
    // find() gives what compose runs (start, pull, update): refused the same way.
    expect(await code(files.find('leak'))).toMatch(/^40000 .*symbolic link pointing outside APP_PATH/);
    await files.write('real', 'services: {a: {image: b}}\n');
    mkdirSync(join(root, 'alias'));
    symlinkSync(join(root, 'real', 'compose.yaml'), join(root, 'alias', 'compose.yaml'));
    expect((await files.read('alias')).yaml).toBe('services: {a: {image: b}}\n');
    // compose gets the checked real path, never the link.
    expect(await files.find('alias')).toEqual({ name: 'alias', folder: join(root, 'alias'), file: join(root, 'real', 'compose.yaml') });
    mkdirSync(join(root, 'dangling'));
    symlinkSync(join(root, 'nothing-here'), join(root, 'dangling', 'compose.yaml'));
    expect(await code(files.find('dangling'))).toMatch(/^40000 project dangling refused: its compose file is a symbolic link to nothing/);
  });

  it('a FIFO as the compose file (itself or behind a link) is listed but refused at once, never opened', async () => {
    mkdirSync(join(root, 'pipe'));
    execFileSync('mkfifo', [join(root, 'pipe', 'pipe')]);
    symlinkSync('pipe', join(root, 'pipe', 'compose.yaml'));
    mkdirSync(join(root, 'fifo'));
    execFileSync('mkfifo', [join(root, 'fifo', 'compose.yaml')]);
    expect((await files.list()).map((p) => p.name)).toEqual(['fifo', 'pipe']);
    for (const n of ['pipe', 'fifo']) {
      for (const op of [() => files.read(n), () => files.find(n)]) {
        expect(await code(op())).toBe(`40000 project ${n} refused: its compose file is a named pipe, not a regular file; Watch Docker only manages real folders inside APP_PATH`);
      }
    }
  });

  it('a compose file larger than 1 MiB is refused before compose or we read it', async () => {
    mkdirSync(join(root, 'big'));
    writeFileSync(join(root, 'big', 'compose.yaml'), `#${'x'.repeat(1024 * 1024 + 10)}\n`);
    expect(await code(files.find('big'))).toBe('40000 compose file of big is too large (1025 KiB, at most 1024 KiB)');
    expect(await code(files.read('big'))).toBe('40000 compose file of big is too large (1025 KiB, at most 1024 KiB)');
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

describe('the APP_PATH adapter when the disk changes between a check and its use (real temp folders)', () => {
  /** An adapter that runs `change` once, at `point`. */
  const racing = (point: RacePoint, change: () => void) => {
    let done = false;
    return new FsProjectFiles(root, (p) => {
      if (p !== point || done) return;
      done = true;
      change();
    });
  };
  /** Project folder `name` is moved to `to` and a symlink to `target` takes its place. */
  const swap = (name: string, target: string, to = join(root, `${name}-was`)) => {
    renameSync(join(root, name), to);
    symlinkSync(target, join(root, name));
  };

  it('read: a folder swapped for a link to outside after the checks is caught on the opened file', async () => {
    await files.write('x', 'services: {inside: {image: a}}\n');
    const r = racing('file-checked', () => swap('x', outside));
    expect(await code(r.read('x'))).toBe('40000 project x refused: its compose file resolves outside APP_PATH; Watch Docker only manages real folders inside APP_PATH');
  });

  it('read: a compose file replaced by a FIFO after the checks is refused without blocking', async () => {
    await files.write('x', 'services: {}\n');
    const r = racing('file-checked', () => {
      unlinkSync(join(root, 'x', 'compose.yaml'));
      execFileSync('mkfifo', [join(root, 'x', 'compose.yaml')]);
    });
    expect(await code(r.read('x'))).toMatch(/^40000 project x refused: its compose file is a named pipe, not a regular file/);
  });

  it('write: a folder swapped for a link to outside after the check writes nothing outside', async () => {
    await files.write('x', 'services: {}\n');
    const r = racing('folder-checked', () => swap('x', outside));
    expect(await code(r.write('x', 'services: {evil: {image: e}}\n'))).toBe('40000 project x refused: its folder was replaced by a symbolic link; Watch Docker only manages real folders inside APP_PATH');
    expect(readdirSync(outside).sort()).toEqual(['compose.yaml', 'sentinel']);
    expect(readFileSync(join(outside, 'compose.yaml'), 'utf8')).toBe('services: {}\n');
  });

  it('write: a folder moved outside before the rename keeps its file, and no temp file is left', async () => {
    await files.write('x', 'services: {}\n');
    const moved = join(outside, 'moved');
    const r = racing('before-rename', () => swap('x', moved, moved));
    expect(await code(r.write('x', 'services: {evil: {image: e}}\n'))).toBe('40000 project x refused: its folder was moved or replaced while the file was written; Watch Docker only manages real folders inside APP_PATH');
    expect(readdirSync(moved)).toEqual(['compose.yaml']);
    expect(readFileSync(join(moved, 'compose.yaml'), 'utf8')).toBe('services: {}\n');
  });
});
