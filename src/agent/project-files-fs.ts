import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, realpath, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { COMPOSE_FILE_NAMES, type ProjectFiles, type ProjectFolder } from '../core/compose/project-files.js';
import { assertProjectName, PROJECT_NAME } from '../core/compose/project-name.js';
import { AppError, ErrorCode } from '../core/errors.js';

/** A compose file larger than this is not read (uploads are limited far below it). */
const MAX_READ_BYTES = 1024 * 1024;

const lstatOrNull = (p: string): Promise<Stats | null> =>
  lstat(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });

/** Points between a check and the use that follows it, where a test can change the disk (races). */
export type RacePoint = 'folder-checked' | 'file-checked' | 'before-rename';

const under = (root: string, path: string): boolean => path.startsWith(root + sep);

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Where an open file or folder really is (Linux: /proc/self/fd/N names the opened inode, so a
 * path swapped after the open changes nothing); null where /proc is not mounted.
 */
async function openedPath(handle: FileHandle): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return null;
  }
}

/**
 * The projects under APP_PATH on this machine's disk. Every path is resolved (realpath) and
 * must stay inside APP_PATH; a project folder must be a real folder, never a symlink, so
 * nothing outside APP_PATH is ever read, written or removed through a project name. A compose
 * file must resolve to a regular file inside APP_PATH (a FIFO or device is never opened).
 * Checks are repeated on what was actually opened, so a folder swapped for a symlink between
 * a check and its use is caught.
 */
export class FsProjectFiles implements ProjectFiles {
  /** `race`: called between a check and its use (tests change the disk there). */
  constructor(private readonly appPath: string, private readonly race: (point: RacePoint) => void | Promise<void> = () => undefined) {}

  private async root(): Promise<string> {
    try {
      return await realpath(this.appPath);
    } catch {
      throw new AppError(ErrorCode.BadRequest, `APP_PATH ${this.appPath} does not exist: create it or correct compose.appPath`);
    }
  }

  private refuse(name: string, why: string): AppError {
    return new AppError(ErrorCode.BadRequest, `project ${name} refused: ${why}; Watch Docker only manages real folders inside APP_PATH`);
  }

  /** APP_PATH/name, checked: null when absent, refused when it is a symlink or resolves elsewhere. */
  private async folder(name: string): Promise<{ root: string; path: string; exists: boolean }> {
    assertProjectName(name);
    const root = await this.root();
    const path = join(root, name);
    const st = await lstatOrNull(path);
    if (!st) return { root, path, exists: false };
    if (st.isSymbolicLink()) throw this.refuse(name, 'its folder is a symbolic link');
    if (!st.isDirectory()) throw this.refuse(name, `${path} is not a folder`);
    if ((await realpath(path)) !== path) throw this.refuse(name, 'its folder resolves outside APP_PATH');
    return { root, path, exists: true };
  }

  /**
   * The first compose file present in a project folder. A symlink, FIFO … counts (so the project
   * shows, as an error); find() and read() check what it really is before compose or we open it.
   */
  private async composeFile(path: string): Promise<string | null> {
    for (const f of COMPOSE_FILE_NAMES) {
      const st = await lstatOrNull(join(path, f));
      if (st && !st.isDirectory()) return join(path, f);
    }
    return null;
  }

  async list(): Promise<ProjectFolder[]> {
    const root = await this.root();
    const out: ProjectFolder[] = [];
    for (const e of await readdir(root, { withFileTypes: true })) {
      // Dirent types come from lstat: a symlinked folder is not a directory here.
      if (!e.isDirectory() || !PROJECT_NAME.test(e.name)) continue;
      const file = await this.composeFile(join(root, e.name));
      if (file) out.push({ name: e.name, folder: join(root, e.name), file });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The compose file's real path, checked: inside APP_PATH, a regular file, not too large. This
   * path (never the link) is what compose gets with -f, so it reads what was checked.
   */
  private async target(name: string, root: string, file: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw this.refuse(name, 'its compose file is a symbolic link to nothing');
      throw err;
    }
    if (!under(root, real)) throw this.refuse(name, 'its compose file is a symbolic link pointing outside APP_PATH');
    const st = await stat(real);
    if (!st.isFile()) throw this.refuse(name, `its compose file is ${kindOf(st)}, not a regular file`);
    if (st.size > MAX_READ_BYTES) throw this.tooLarge(name, st.size);
    return real;
  }

  private tooLarge(name: string, size: number): AppError {
    return new AppError(ErrorCode.BadRequest, `compose file of ${name} is too large (${Math.ceil(size / 1024)} KiB, at most ${MAX_READ_BYTES / 1024} KiB)`);
  }

  async find(name: string): Promise<ProjectFolder | null> {
    const f = await this.folder(name);
    const file = f.exists ? await this.composeFile(f.path) : null;
    return file ? { name, folder: f.path, file: await this.target(name, f.root, file) } : null;
  }

  async exists(name: string): Promise<boolean> {
    assertProjectName(name);
    return (await lstatOrNull(join(await this.root(), name))) !== null;
  }

  async folderOf(name: string): Promise<string> {
    return (await this.folder(name)).path;
  }

  async read(name: string): Promise<{ folder: ProjectFolder; yaml: string }> {
    const f = await this.folder(name);
    const file = f.exists ? await this.composeFile(f.path) : null;
    if (!file) throw new AppError(ErrorCode.NotFound, `no compose project ${name} under APP_PATH`);
    await this.race('folder-checked');
    const real = await this.target(name, f.root, file);
    await this.race('file-checked');
    // O_NOFOLLOW: the last component must not have become a link; O_NONBLOCK: a FIFO swapped
    // in never blocks the open (it is refused below, as not a regular file).
    let handle: FileHandle;
    try {
      handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw this.refuse(name, 'its compose file was replaced by a symbolic link');
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw this.refuse(name, `its compose file is ${kindOf(st)}, not a regular file`);
      if (st.size > MAX_READ_BYTES) throw this.tooLarge(name, st.size);
      // A folder on the way swapped for a symlink after the checks: what was opened tells.
      const opened = await openedPath(handle);
      if (opened !== null && !under(f.root, opened)) throw this.refuse(name, 'its compose file resolves outside APP_PATH');
      return { folder: { name, folder: f.path, file: real }, yaml: await handle.readFile('utf8') };
    } finally {
      await handle.close();
    }
  }

  /** Opens the project folder itself (never through a link) and checks it is still APP_PATH/name. */
  private async openFolder(name: string, path: string): Promise<{ dir: FileHandle; base: string }> {
    let dir: FileHandle;
    try {
      dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'ENOTDIR') throw this.refuse(name, 'its folder was replaced by a symbolic link');
      throw err;
    }
    const opened = await openedPath(dir);
    if (opened !== null && opened !== path) {
      await dir.close();
      throw this.refuse(name, 'its folder resolves outside APP_PATH');
    }
    // Paths through /proc/self/fd/N stay on the opened folder even if its name is swapped later.
    return { dir, base: opened === null ? path : `/proc/self/fd/${dir.fd}` };
  }

  async write(name: string, yaml: string): Promise<ProjectFolder> {
    const f = await this.folder(name);
    if (!f.exists) await mkdir(f.path, { mode: 0o755 });
    await this.race('folder-checked');
    const { dir, base } = await this.openFolder(name, f.path);
    try {
      const fileName = basename((await this.composeFile(base)) ?? COMPOSE_FILE_NAMES[0]);
      const tmpName = `.watch-docker-${randomBytes(6).toString('hex')}.tmp`;
      // 'wx' never follows or reuses an existing path; rename replaces the file (or a link) itself.
      const handle = await open(join(base, tmpName), 'wx', 0o644);
      try {
        await handle.writeFile(yaml, 'utf8');
        await handle.sync();
        await handle.close();
        await this.race('before-rename');
        // The folder must still be APP_PATH/name (not moved away, not replaced by a link).
        const now = await openedPath(dir);
        const st = await lstatOrNull(f.path);
        if ((now !== null && now !== f.path) || !st || st.isSymbolicLink() || (await realpath(f.path)) !== f.path) {
          throw this.refuse(name, 'its folder was moved or replaced while the file was written');
        }
        await rename(join(base, tmpName), join(base, fileName));
      } catch (err) {
        await handle.close().catch(() => undefined);
        await unlink(join(base, tmpName)).catch(() => undefined);
        throw err;
      }
      return { name, folder: f.path, file: join(f.path, fileName) };
    } finally {
      await dir.close();
    }
  }

  async remove(name: string): Promise<void> {
    const f = await this.folder(name);
    if (!f.exists) throw new AppError(ErrorCode.NotFound, `no project folder ${name} under APP_PATH`);
    // rm removes symlinks inside the folder as links; it never descends through them.
    await rm(f.path, { recursive: true });
  }
}
