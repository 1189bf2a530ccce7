import { lazyIterable } from '../channel.js';
import { mapLimit } from '../concurrency.js';
import type { DockerLifecyclePort, DockerPort } from '../docker/port.js';
import { AppError, ErrorCode, describeError } from '../errors.js';
import type { Logger } from '../ports.js';
import type { Scanner } from '../scanner.js';
import { ActionRunner, type ActionResult } from './action-runner.js';
import { composeContainer, summariseModel, type ComposeContainer, type ServiceDecl } from './model.js';
import type { ComposeLogLine, ComposePort, ComposeProjectRef } from './port.js';
import type { ProjectFiles, ProjectFolder } from './project-files.js';
import { assertProjectName, assertServiceName } from './project-name.js';
import type { ProjectLocks } from './project-locks.js';
import { buildProjects, type ComposeProject, type ManagedSource } from './projects.js';
import type { ProgressEvent } from './progress.js';
import { checkComposeUpload } from './upload.js';

export type { ComposeProject } from './projects.js';
export type { ActionResult } from './action-runner.js';

export interface ComposeServiceDeps {
  compose: ComposePort;
  /** The projects under APP_PATH; null when APP_PATH is not set (only running projects are listed). */
  files: ProjectFiles | null;
  docker: Pick<DockerPort, 'listContainers' | 'inspectImage'> & Pick<DockerLifecyclePort, 'inspectContainerRaw'>;
  scanner: Pick<Scanner, 'last'>;
  logger: Logger;
  /** The per-project lock, shared with UpdateService (a compose container's update holds its project). */
  locks: ProjectLocks;
}

export interface LogOptions {
  services?: string[];
  tail?: number;
  follow?: boolean;
}

const LABEL = 'com.docker.compose.project';
const PARALLEL = 4;

/** Commands that act on the project's containers by name only, never reading its compose file. */
const byName = (name: string): ComposeProjectRef => ({ name, workingDir: '', files: [] });
const refOf = (p: ProjectFolder): ComposeProjectRef => ({ name: p.name, workingDir: p.folder, files: [p.file] });

/**
 * Compose projects: the folders under APP_PATH merged with what the engine runs, and the
 * actions on them through the real `docker compose`. One action at a time per project.
 */
export class ComposeService {
  private readonly runner: ActionRunner;
  /** Resolved models by project, reused while the compose file's text is unchanged. */
  private readonly models = new Map<string, { yaml: string; services?: Record<string, ServiceDecl>; error?: string }>();

  constructor(private readonly deps: ComposeServiceDeps) {
    this.runner = new ActionRunner(deps.compose, deps.locks);
  }

  private get files(): ProjectFiles {
    const f = this.deps.files;
    if (!f) throw new AppError(ErrorCode.BadRequest, 'APP_PATH is not set: set compose.appPath (APP_PATH) to the folder that holds your compose projects');
    return f;
  }

  /** Every project: APP_PATH folders, `docker compose ls` and compose-labelled containers. */
  async list(): Promise<ComposeProject[]> {
    const [folders, ls, containers, report] = await Promise.all([
      this.deps.files ? this.deps.files.list() : Promise.resolve([]),
      Promise.resolve().then(() => this.deps.compose.ls()).catch((err: unknown) => {
        this.deps.logger.warn({ component: 'compose', action: 'ls', err: describeError(err) }, 'docker compose ls failed; projects come from container labels only');
        return [];
      }),
      this.containers(),
      this.deps.scanner.last(),
    ]);
    const managed = await mapLimit(folders, PARALLEL, (f) => this.source(f));
    return buildProjects({ managed, ls, containers, verdicts: report?.results ?? {} });
  }

  async get(name: string): Promise<ComposeProject> {
    assertProjectName(name);
    const found = (await this.list()).find((p) => p.name === name);
    if (!found) throw new AppError(ErrorCode.NotFound, `no compose project ${name}`);
    return found;
  }

  /** The compose file of a project under APP_PATH. */
  async file(name: string): Promise<{ name: string; file: string; yaml: string }> {
    assertProjectName(name);
    const { folder, yaml } = await this.files.read(name);
    return { name, file: folder.file, yaml };
  }

  /** `up -d`; a project known only to the engine is started with `docker compose start`. */
  start(name: string): Promise<ActionResult> {
    return this.act(name, 'start', async (ctx) => {
      const m = await this.locate(name);
      await ctx.exec(m ? refOf(m) : byName(name), m ? { op: 'up' } : { op: 'start' });
    });
  }

  stop(name: string): Promise<ActionResult> {
    return this.act(name, 'stop', async (ctx) => {
      await this.locate(name, true);
      await ctx.exec(byName(name), { op: 'stop' });
    });
  }

  restart(name: string): Promise<ActionResult> {
    return this.act(name, 'restart', async (ctx) => {
      await this.locate(name, true);
      await ctx.exec(byName(name), { op: 'restart' });
    });
  }

  pull(name: string): Promise<ActionResult> {
    return this.act(name, 'pull', async (ctx) => {
      await ctx.exec(refOf(await this.managed(name, 'pull')), { op: 'pull' });
    });
  }

  /**
   * Pulls, then recreates (`up -d --no-deps`) only the running services whose container runs
   * another image than the one their tag names now. Stopped services stay stopped.
   */
  async update(name: string): Promise<ActionResult & { services: string[] }> {
    assertProjectName(name);
    const r = await this.runner.run(name, 'update', async (ctx) => {
      const m = await this.managed(name, 'update');
      const decls = (await this.source(m, true)).services;
      if (!decls) throw new AppError(ErrorCode.BadRequest, `project ${name}: its compose file does not resolve`);
      await ctx.exec(refOf(m), { op: 'pull' });
      const containers = await this.containers(name);
      const changed: string[] = [];
      for (const [svc, decl] of Object.entries(decls)) {
        const running = containers.filter((c) => c.service === svc && c.state === 'running');
        if (!decl.image || running.length === 0) continue;
        const now = await this.deps.docker.inspectImage(decl.image);
        if (now && running.some((c) => c.imageId !== now.id)) changed.push(svc);
      }
      if (changed.length === 0) ctx.note('no running service has a new image');
      else await ctx.exec(refOf(m), { op: 'up', services: changed, noDeps: true });
      return changed;
    });
    return { name: r.name, action: r.action, ok: r.ok, output: r.output, services: r.value };
  }

  /** `down` (volumes kept unless removeVolumes), then the folder removed only with removeFiles. */
  delete(name: string, opts: { removeFiles?: boolean; removeVolumes?: boolean } = {}): Promise<ActionResult> {
    return this.act(name, 'delete', async (ctx) => {
      const m = await this.locate(name, true);
      if (opts.removeFiles && !m) throw new AppError(ErrorCode.BadRequest, `project ${name} is not under APP_PATH: there are no files to remove`);
      await ctx.exec(byName(name), { op: 'down', ...(opts.removeVolumes ? { removeVolumes: true } : {}) });
      if (opts.removeFiles) {
        await this.files.remove(name);
        this.models.delete(name);
        ctx.note(`removed ${m?.folder ?? name}`);
      }
    });
  }

  /** Saves a new project's compose file under APP_PATH after `docker compose config` accepted it. */
  async create(input: { name: string; yaml: string; overwrite?: boolean }): Promise<ComposeProject> {
    const { name, yaml } = input;
    assertProjectName(name);
    const files = this.files;
    const parsed = checkComposeUpload(yaml);
    await this.runner.run(name, 'create', async (ctx) => {
      if (!input.overwrite) {
        if (await files.exists(name)) throw new AppError(ErrorCode.Conflict, `project ${name} already exists under APP_PATH; pass overwrite: true to replace its compose file`);
        const elsewhere = (await this.containers(name))[0];
        if (elsewhere) throw new AppError(ErrorCode.Conflict, `a compose project named ${name} already runs${elsewhere.workingDir ? ` from ${elsewhere.workingDir}` : ''}; choose another name`);
      }
      const checked = await this.deps.compose.config({ draft: { name, projectDir: await files.folderOf(name), yaml } });
      if (!checked.ok) throw new AppError(ErrorCode.BadRequest, `compose file is invalid: ${checked.error}`);
      if (!parsed.ok) throw new AppError(ErrorCode.BadRequest, `compose file is invalid YAML: ${parsed.parseError}`);
      const saved = await files.write(name, yaml);
      this.models.delete(name);
      ctx.note(`saved ${saved.file}`);
    });
    return this.get(name);
  }

  /** A project's logs, line by line; stopping the iteration kills `docker compose logs`. */
  logs(name: string, opts: LogOptions = {}): AsyncIterable<ComposeLogLine> {
    assertProjectName(name);
    for (const s of opts.services ?? []) assertServiceName(s);
    return lazyIterable(async () => {
      await this.checkLogs(name);
      return this.deps.compose.logs(byName(name), opts);
    });
  }

  /**
   * Before a logs stream: the project exists and has these services (404 naming them if not).
   * Light: the engine's container list and this project's folder only, no compose ls and no
   * other project; compose config runs only for a service not seen on a container and not cached.
   */
  async checkLogs(name: string, services: string[] = []): Promise<void> {
    assertProjectName(name);
    for (const s of services) assertServiceName(s);
    const [m, listed] = await Promise.all([
      // A project whose file is refused still has logs: they are read by project name only.
      this.deps.files ? this.deps.files.find(name).catch(() => null) : Promise.resolve(null),
      this.deps.docker.listContainers({ all: true }),
    ]);
    const own = listed.filter((c) => c.labels[LABEL] === name && c.labels['com.docker.compose.oneoff'] !== 'True');
    if (!m && own.length === 0) throw new AppError(ErrorCode.NotFound, `no compose project ${name}`);
    const known = new Set(own.map((c) => c.labels['com.docker.compose.service'] ?? ''));
    let unknown = services.filter((s) => !known.has(s));
    if (unknown.length > 0 && m) {
      const declared = (this.models.get(name)?.services ?? (await this.source(m)).services) ?? {};
      unknown = unknown.filter((s) => !(s in declared));
    }
    if (unknown.length > 0) throw new AppError(ErrorCode.NotFound, `project ${name} has no service ${unknown.join(', ')}`, { name, services: unknown });
  }

  /** The running action's lines so far, then every action's events live, until the consumer stops. */
  progress(name: string): AsyncIterable<ProgressEvent> {
    assertProjectName(name);
    return this.runner.bus.subscribe(name);
  }

  private async act(name: string, action: string, steps: Parameters<ActionRunner['run']>[2]): Promise<ActionResult> {
    assertProjectName(name);
    const { value: _, ...result } = await this.runner.run(name, action, steps);
    return result;
  }

  /**
   * The project's folder under APP_PATH, or null when only the engine knows it; 404 when neither
   * does. `byName`: for actions that read no compose file (stop, restart, down), a refused compose
   * file (a link out of APP_PATH, a FIFO …) does not block them; its folder is still the project's.
   */
  private async locate(name: string, byName = false): Promise<ProjectFolder | null> {
    let m: ProjectFolder | null = null;
    try {
      m = this.deps.files ? await this.deps.files.find(name) : null;
    } catch (err) {
      if (!byName || !(err instanceof AppError) || err.code !== ErrorCode.BadRequest || !this.deps.files) throw err;
      // folderOf refuses a symlinked folder itself: only a real folder of APP_PATH gets here.
      m = { name, folder: await this.deps.files.folderOf(name), file: '' };
    }
    if (m) return m;
    if ((await this.containers(name)).length > 0) return null;
    throw new AppError(ErrorCode.NotFound, `no compose project ${name}`);
  }

  private async managed(name: string, action: string): Promise<ProjectFolder> {
    const m = await this.locate(name);
    if (!m) throw new AppError(ErrorCode.BadRequest, `project ${name} is not under APP_PATH: ${action} needs its compose file; run it where the project lives`);
    return m;
  }

  /** The folder with its resolved services, or compose's reason why it does not resolve. */
  private async source(f: ProjectFolder, fresh = false): Promise<ManagedSource> {
    try {
      // read() checks the file (a regular file inside APP_PATH); compose gets its checked real path.
      const { yaml, folder } = await this.files.read(f.name);
      let cached = this.models.get(f.name);
      if (fresh || !cached || cached.yaml !== yaml) {
        const r = await this.deps.compose.config({ project: refOf(folder) });
        cached = r.ok ? { yaml, services: summariseModel(r.model) } : { yaml, error: `compose file is invalid: ${r.error}` };
        this.models.set(f.name, cached);
      }
      return { ...f, ...(cached.services ? { services: cached.services } : {}), ...(cached.error ? { error: cached.error } : {}) };
    } catch (err) {
      return { ...f, error: describeError(err) };
    }
  }

  /** Compose containers on the engine (one project's, when named), one-off runs left out. */
  private async containers(project?: string): Promise<ComposeContainer[]> {
    const listed = (await this.deps.docker.listContainers({ all: true })).filter((c) => (project ? c.labels[LABEL] === project : c.labels[LABEL] !== undefined));
    const inspected = await mapLimit(listed, 8, (c) => this.deps.docker.inspectContainerRaw(c.id).catch(() => null));
    return inspected.flatMap((c) => {
      const v = c ? composeContainer(c) : null;
      return v ? [v] : [];
    });
  }
}
