/**
 * The project files port: the compose projects kept under APP_PATH, one direct subfolder each.
 * Every method takes a project name (already checked by assertProjectName) and returns plain
 * data. The Node adapter (src/agent/project-files-fs.ts) resolves every path and refuses
 * anything that leaves APP_PATH, a symlinked folder included.
 */

/** The compose file names compose itself looks for, in its order of preference. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'] as const;

export interface ProjectFolder {
  name: string;
  /** Absolute path of the project folder (APP_PATH/name). */
  folder: string;
  /** Absolute path of its compose file (the first of COMPOSE_FILE_NAMES present). */
  file: string;
}

export interface ProjectFiles {
  /** Every direct subfolder of APP_PATH with a valid project name and a compose file. */
  list(): Promise<ProjectFolder[]>;
  /**
   * The project, or null when APP_PATH has no such folder or it holds no compose file. Its
   * `file` is the compose file's real path, checked to be a regular file inside APP_PATH
   * (refused with 40000 otherwise): what compose is given with -f.
   */
  find(name: string): Promise<ProjectFolder | null>;
  /** True when APP_PATH/name exists at all (even without a compose file). */
  exists(name: string): Promise<boolean>;
  /** The absolute folder a project of this name lives (or would live) in. */
  folderOf(name: string): Promise<string>;
  /** The compose file's text (and its checked real path, as find gives it); NotFound when there is no such project. */
  read(name: string): Promise<{ folder: ProjectFolder; yaml: string }>;
  /** Writes the compose file atomically (temp file + rename), creating the folder if needed. */
  write(name: string, yaml: string): Promise<ProjectFolder>;
  /** Removes the project folder and everything in it (symlinks inside are removed, never followed). */
  remove(name: string): Promise<void>;
}
