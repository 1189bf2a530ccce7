import { request } from 'node:http';
import { bed, uniqueName } from './bed.js';
import { docker, dockerQuiet } from './docker-cli.js';
import { pushImage } from './images.js';

/** A main process that stops at once on SIGTERM (a bare `sleep` as PID 1 ignores it: 10 s stops). */
export const QUICK_STOP_CMD = `CMD ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

/** Builds FROM the bed's busybox: `lines` then, unless they set one, QUICK_STOP_CMD. Returns the image ID. */
export async function buildTestImage(host: string, ref: string, lines: string[]): Promise<string> {
  const dockerfile = [
    `FROM ${bed().baseImage}`,
    `RUN echo ${JSON.stringify(`${ref}-${Date.now()}-${Math.random()}`)} > /salt`,
    ...lines,
    ...(lines.some((l) => l.startsWith('CMD')) ? [] : [QUICK_STOP_CMD]),
  ].join('\n');
  await docker(host, ['build', '--network', 'none', '--force-rm', '-q', '-t', ref, '-'], { input: dockerfile });
  return docker(host, ['image', 'inspect', '--format', '{{.Id}}', ref]);
}

/*
 * Test-bed helpers for the updater's integration tests: networks on reserved subnets, "new
 * versions" of an image pushed under the same tag, and one place that cleans up everything a
 * test made, even when it failed.
 */

/** The engines to run on, each with its own block of subnets (10.213.<block+i>.0/24). */
export function updaterEngines(): Array<{ host: string; label: string; block: number }> {
  return bed().engines.map((host, i) => ({ host, label: host.includes('e20') ? 'engine 20.10' : host.includes('e26') ? 'engine 26.1' : host, block: 200 + i * 20 }));
}

/** Everything a test makes on one engine, removed by `cleanup()` in reverse order. */
export class BedScratch {
  private readonly containers = new Set<string>();
  private readonly networks: string[] = [];
  private readonly images = new Set<string>();
  private readonly volumes = new Set<string>();

  constructor(readonly host: string) {}

  name(prefix: string): string {
    const n = uniqueName(prefix);
    this.containers.add(n);
    return n;
  }

  /** Also removes whatever a crashed update left under `<name>-wd-old-*`. */
  container(nameOrId: string): void {
    this.containers.add(nameOrId);
  }

  image(ref: string): void {
    this.images.add(ref);
  }

  volume(name: string): void {
    this.volumes.add(name);
  }

  /** An internal network (no traffic ever goes there): `subnet` is the third octet of 10.213.X.0/24. */
  async network(subnet: number, opts: { ipv6?: boolean } = {}): Promise<string> {
    const n = uniqueName(`net${subnet}`);
    const v6 = opts.ipv6 ? ['--ipv6', '--subnet', `fd00:213:${subnet}::/64`] : [];
    await docker(this.host, ['network', 'create', '--internal', '--subnet', `10.213.${subnet}.0/24`, ...v6, n]);
    this.networks.push(n);
    return n;
  }

  /** A repository of its own on the plain registry. */
  repo(prefix: string): string {
    return `${bed().regPlain}/wdt/${uniqueName(prefix)}`;
  }

  /**
   * Builds `ref` FROM the bed's busybox with `lines`, pushes it, and drops the local tag (the
   * image stays under its ID), so that an update has to pull it for real. Returns the image ID.
   */
  async publish(ref: string, lines: string[], opts: { keepTag?: boolean } = {}): Promise<string> {
    const id = await buildTestImage(this.host, ref, lines);
    this.images.add(id);
    await pushImage(this.host, ref);
    if (!opts.keepTag) await docker(this.host, ['rmi', ref]);
    return id;
  }

  async cleanup(): Promise<void> {
    const all = (await docker(this.host, ['ps', '-a', '--format', '{{.Names}}']).catch(() => '')).split('\n');
    for (const c of this.containers) {
      for (const n of all.filter((x) => x === c || x.startsWith(`${c}-wd-old-`))) {
        // Anonymous volumes (64 hex names) go too; re-attached by name they no longer go with -v.
        const vols = await docker(this.host, ['inspect', '--format', '{{range .Mounts}}{{.Name}} {{end}}', n]).catch(() => '');
        for (const v of vols.split(' ')) if (/^[a-f0-9]{64}$/.test(v)) this.volumes.add(v);
        await dockerQuiet(this.host, ['rm', '-f', '-v', n]);
      }
    }
    for (const n of this.networks.reverse()) await dockerQuiet(this.host, ['network', 'rm', n]);
    for (const i of this.images) await dockerQuiet(this.host, ['rmi', '-f', i]);
    for (const v of this.volumes) await dockerQuiet(this.host, ['volume', 'rm', '-f', v]);
  }
}

/** `docker inspect` of one container as parsed JSON (the CLI's view, independent of our adapter). */
export async function inspectJson(host: string, nameOrId: string): Promise<Record<string, unknown>> {
  const out = JSON.parse(await docker(host, ['inspect', '--type', 'container', nameOrId])) as Array<Record<string, unknown>>;
  const first = out[0];
  if (!first) throw new Error(`no container ${nameOrId}`);
  return first;
}

/** `docker image inspect .Config` as parsed JSON. */
export async function imageConfig(host: string, ref: string): Promise<Record<string, unknown>> {
  return JSON.parse(await docker(host, ['image', 'inspect', '--format', '{{json .Config}}', ref])) as Record<string, unknown>;
}

/**
 * Creates a container through the Engine API directly (not through our adapter): for what the
 * CLI cannot ask of an old engine, e.g. a MAC address on API 1.41 (Config.MacAddress).
 */
export function engineCreate(host: string, apiVersion: string, name: string, body: unknown): Promise<string> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: host.replace(/^unix:\/\//, ''), method: 'POST', path: `/v${apiVersion}/containers/create?name=${encodeURIComponent(name)}`, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 201 ? resolve((JSON.parse(text) as { Id: string }).Id) : reject(new Error(`create ${name}: ${res.statusCode} ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
