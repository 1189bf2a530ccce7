import type { ContainerInspect } from '../docker/port.js';

/** A service as its compose file declares it (from `docker compose config --format json`). */
export interface ServiceDecl {
  image?: string;
  ports: string[];
  networks: string[];
  volumes: string[];
}

/** A container of a compose project, as the engine reports it. */
export interface ComposeContainer {
  id: string;
  name: string;
  project: string;
  service: string;
  workingDir?: string;
  configFiles: string[];
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
  /** A short description, e.g. "running (healthy)" or "exited (137)". */
  status: string;
  image: string;
  imageId: string;
  ports: string[];
  networks: string[];
  volumes: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** "127.0.0.1:8080->80/tcp", "8080->80/tcp" or "80/tcp", the way `docker ps` shows ports. */
export function formatPort(p: { hostIp?: string; hostPort?: string; target: string; protocol?: string }): string {
  const target = `${p.target}/${p.protocol ?? 'tcp'}`;
  if (!p.hostPort) return target;
  return `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}->${target}`;
}

/**
 * Reduces compose's resolved model to what the project view shows, per service. Nothing else
 * of the model is kept: environment values and other secrets never leave this function.
 */
export function summariseModel(model: Obj): Record<string, ServiceDecl> {
  const services = isObj(model.services) ? model.services : {};
  const topNetworks = isObj(model.networks) ? model.networks : {};
  const topVolumes = isObj(model.volumes) ? model.volumes : {};
  const nameOf = (top: Obj, key: string): string => {
    const def = top[key];
    return (isObj(def) && str(def.name)) || key;
  };
  const out: Record<string, ServiceDecl> = {};
  for (const [name, raw] of Object.entries(services)) {
    const s = isObj(raw) ? raw : {};
    const ports = (Array.isArray(s.ports) ? s.ports : []).filter(isObj).map((p) => {
      const hostIp = str(p.host_ip);
      const hostPort = str(p.published);
      const protocol = str(p.protocol);
      return formatPort({ target: str(p.target) ?? '?', ...(hostIp ? { hostIp } : {}), ...(hostPort ? { hostPort } : {}), ...(protocol ? { protocol } : {}) });
    });
    const mode = str(s.network_mode);
    const networks = mode ? [mode] : isObj(s.networks) ? Object.keys(s.networks).map((k) => nameOf(topNetworks, k)) : [];
    const volumes = (Array.isArray(s.volumes) ? s.volumes : []).filter(isObj).map((m) => {
      const target = str(m.target) ?? '?';
      const ro = m.read_only === true ? ':ro' : '';
      const source = str(m.source);
      if (m.type === 'volume' && source) return `${nameOf(topVolumes, source)}:${target}${ro}`;
      if (source) return `${source}:${target}${ro}`;
      return `${str(m.type) ?? 'volume'}:${target}`;
    });
    const image = str(s.image);
    out[name] = { ...(image ? { image } : {}), ports, networks, volumes };
  }
  return out;
}

function statusText(state: ContainerInspect['State']): string {
  const health = state.Health?.Status;
  if (state.Status === 'running') return health && health !== 'none' ? `running (${health})` : 'running';
  if (state.Status === 'exited' || state.Status === 'restarting') return `${state.Status} (${state.ExitCode ?? '?'})`;
  return state.Status;
}

/** A compose container from the engine's inspect; null for containers of no compose project and one-off runs. */
export function composeContainer(c: ContainerInspect): ComposeContainer | null {
  const labels = c.Config.Labels ?? {};
  const project = labels['com.docker.compose.project'];
  if (!project || labels['com.docker.compose.oneoff'] === 'True') return null;
  const workingDir = labels['com.docker.compose.project.working_dir'];
  const ports: string[] = [];
  const published = c.NetworkSettings.Ports;
  // A stopped container has no published ports: show what it asks for instead.
  const bindings = isObj(published) && Object.keys(published).length > 0 ? published : (c.HostConfig.PortBindings ?? {});
  for (const [key, binds] of Object.entries(bindings)) {
    const [target = key, protocol] = key.split('/');
    const list = Array.isArray(binds) ? binds.filter(isObj) : [];
    if (list.length === 0) ports.push(formatPort({ target, ...(protocol ? { protocol } : {}) }));
    for (const b of list) {
      const hostIp = str(b.HostIp);
      const hostPort = str(b.HostPort);
      ports.push(formatPort({ target, ...(protocol ? { protocol } : {}), ...(hostIp ? { hostIp } : {}), ...(hostPort ? { hostPort } : {}) }));
    }
  }
  const networks = Object.keys(c.NetworkSettings.Networks ?? {});
  const volumes = (c.Mounts ?? []).map((m) => `${m.Type === 'volume' && m.Name ? m.Name : m.Source}:${m.Destination}${m.RW ? '' : ':ro'}`);
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    project,
    service: labels['com.docker.compose.service'] ?? '',
    ...(workingDir ? { workingDir } : {}),
    configFiles: (labels['com.docker.compose.project.config_files'] ?? '').split(',').filter(Boolean),
    state: c.State.Status,
    status: statusText(c.State),
    image: c.Config.Image ?? c.Image,
    imageId: c.Image,
    ports: [...new Set(ports)],
    networks: networks.length > 0 ? networks : c.HostConfig.NetworkMode ? [c.HostConfig.NetworkMode] : [],
    volumes,
  };
}
