import type { ComposeContainer, ServiceDecl } from './model.js';
import type { ComposeLsEntry } from './port.js';

export type ProjectStatus = 'running' | 'stopped' | 'partial' | 'error';

export interface ComposeServiceView {
  name: string;
  image: string;
  containers: { id: string; name: string; state: string; status: string }[];
  ports: string[];
  networks: string[];
  volumes: string[];
  updateAvailable: boolean;
}

/** A compose project as the API shows it. */
export interface ComposeProject {
  name: string;
  folder: string | null;
  files: string[];
  status: ProjectStatus;
  /** True when the project lives under APP_PATH (its file can be read, edited, pulled, deleted). */
  managed: boolean;
  services: ComposeServiceView[];
  updateAvailable: boolean;
  error?: string;
}

/** A project folder under APP_PATH with its resolved model, or compose's complaint about it. */
export interface ManagedSource {
  name: string;
  folder: string;
  file: string;
  services?: Record<string, ServiceDecl>;
  error?: string;
}

/** The last scan's verdict per container id (scanner.last().results). */
export type ScanVerdicts = Record<string, { status: string; imageId: string } | undefined>;

/** Container states that mean the project is broken, not merely stopped. */
const BROKEN_STATES = new Set(['dead', 'restarting']);

/**
 * The design's project status (§4.2): running when every service has a running container,
 * stopped when none has, partial in between. error wins over all of them: the compose file
 * does not resolve, or a container is dead or crash-looping (state restarting).
 */
export function projectStatus(services: readonly { containers: readonly { name: string; state: string }[] }[], error?: string): { status: ProjectStatus; error?: string } {
  if (error) return { status: 'error', error };
  for (const s of services) {
    const broken = s.containers.find((c) => BROKEN_STATES.has(c.state));
    if (broken) return { status: 'error', error: `container ${broken.name} is ${broken.state}` };
  }
  const up = services.filter((s) => s.containers.some((c) => c.state === 'running')).length;
  if (up === 0) return { status: 'stopped' };
  return { status: up === services.length ? 'running' : 'partial' };
}

function dirOf(path: string): string | null {
  const i = path.lastIndexOf('/');
  return i > 0 ? path.slice(0, i) : i === 0 ? '/' : null;
}

const union = (lists: string[][]): string[] => [...new Set(lists.flat())];

/**
 * Merges the three sources into one list, by project name: the folders under APP_PATH
 * (managed), `docker compose ls`, and the compose labels of the engine's containers, so a
 * project started anywhere else shows up too (managed: false).
 */
export function buildProjects(input: { managed: ManagedSource[]; ls: ComposeLsEntry[]; containers: ComposeContainer[]; verdicts: ScanVerdicts }): ComposeProject[] {
  const byProject = new Map<string, ComposeContainer[]>();
  for (const c of input.containers) byProject.set(c.project, [...(byProject.get(c.project) ?? []), c]);
  const managed = new Map(input.managed.map((m) => [m.name, m]));
  const ls = new Map(input.ls.map((e) => [e.name, e]));
  const names = [...new Set([...managed.keys(), ...byProject.keys(), ...ls.keys()])].sort();

  return names.map((name) => {
    const m = managed.get(name);
    const containers = (byProject.get(name) ?? []).sort((a, b) => a.name.localeCompare(b.name));
    const decls = m?.services;
    const serviceNames = [...new Set([...Object.keys(decls ?? {}), ...containers.map((c) => c.service)])].sort();
    const services = serviceNames.map((svc): ComposeServiceView => {
      const own = containers.filter((c) => c.service === svc);
      const decl = decls?.[svc];
      const from = (k: 'ports' | 'networks' | 'volumes') => (decl ? decl[k] : union(own.map((c) => c[k])));
      return {
        name: svc,
        image: decl?.image ?? own[0]?.image ?? '',
        containers: own.map((c) => ({ id: c.id, name: c.name, state: c.state, status: c.status })),
        ports: from('ports'),
        networks: from('networks'),
        volumes: from('volumes'),
        updateAvailable: own.some((c) => {
          const v = input.verdicts[c.id];
          return v?.status === 'UpdateAvailable' && v.imageId === c.imageId;
        }),
      };
    });
    // Labels can differ between containers (one created by hand, say): take the first that has them.
    const labelledFiles = containers.find((c) => c.configFiles.length > 0)?.configFiles;
    const labelledDir = containers.find((c) => c.workingDir)?.workingDir;
    const files = m ? [m.file] : (labelledFiles ?? ls.get(name)?.configFiles ?? []);
    const folder = m ? m.folder : (labelledDir ?? (files[0] ? dirOf(files[0]) : null));
    const { status, error } = projectStatus(services, m?.error);
    return {
      name, folder, files, status, managed: m !== undefined, services,
      updateAvailable: services.some((s) => s.updateAvailable),
      ...(error ? { error } : {}),
    };
  });
}
