import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, unlink } from 'node:fs/promises';
import { join, sep } from 'node:path';
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

/**
 * The projects under APP_PATH on this machine's disk. Every path is resolved (realpath) and
 * must stay inside APP_PATH; a project folder must be a real folder, never a symlink, so
 * nothing outside APP_PATH is ever read, written or removed through a project name.
 */
export class FsProjectFiles implements ProjectFiles {
  constructor(private readonly appPath: string) {}

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

  /** The first compose file present in a project folder (a symlink counts; reading it checks where it leads). */
  private async composeFile(path: string): Promise<string | null> {
    for (const f of COMPOSE_FILE_NAMES) {
      const st = await lstatOrNull(join(path, f));
      if (st && (st.isFile() || st.isSymbolicLink())) return join(path, f);
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

  async find(name: string): Promise<ProjectFolder | null> {
    const f = await this.folder(name);
    const file = f.exists ? await this.composeFile(f.path) : null;
    return file ? { name, folder: f.path, file } : null;
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
    const real = await realpath(file);
    if (!real.startsWith(f.root + sep)) throw this.refuse(name, 'its compose file is a symbolic link pointing outside APP_PATH');
    // O_NOFOLLOW: the resolved path must not have become a symlink in the meantime.
    const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw this.refuse(name, 'its compose file is not a regular file');
      if (st.size > MAX_READ_BYTES) throw new AppError(ErrorCode.BadRequest, `compose file of ${name} is too large to show (${Math.ceil(st.size / 1024)} KiB)`);
      return { folder: { name, folder: f.path, file }, yaml: await handle.readFile('utf8') };
    } finally {
      await handle.close();
    }
  }

  async write(name: string, yaml: string): Promise<ProjectFolder> {
    const f = await this.folder(name);
    if (!f.exists) await mkdir(f.path, { mode: 0o755 });
    const file = (await this.composeFile(f.path)) ?? join(f.path, COMPOSE_FILE_NAMES[0]);
    const tmp = join(f.path, `.watch-docker-${randomBytes(6).toString('hex')}.tmp`);
    // 'wx' never follows or reuses an existing path; rename replaces the file (or a link) itself.
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(yaml, 'utf8');
      await handle.sync();
      await handle.close();
      await rename(tmp, file);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return { name, folder: f.path, file };
  }

  async remove(name: string): Promise<void> {
    const f = await this.folder(name);
    if (!f.exists) throw new AppError(ErrorCode.NotFound, `no project folder ${name} under APP_PATH`);
    // rm removes symlinks inside the folder as links; it never descends through them.
    await rm(f.path, { recursive: true });
  }
}
