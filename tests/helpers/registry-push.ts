import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * Pushes exact, hand-made content to a test-bed registry through the Registry API (blob
 * uploads, manifest and index PUTs, manifest DELETE), independent of the client under test.
 * Used to build multi-platform tags: single-platform images for any platform, then an index
 * naming them (children must already be in the same repository).
 */

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

const ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

export const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface PushAuth {
  username: string;
  password: string;
}

export interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
}

export interface PushedImage extends Pushed {
  /** The config digest: the image ID Docker would show. */
  configDigest: string;
  platform: { os: string; architecture: string; variant?: string };
}

export class RegistryPusher {
  private token: string | undefined;

  /** `host` like "127.0.0.1:5000"; credentials for Basic or the token server (push scope). */
  constructor(private readonly host: string, private readonly auth?: PushAuth) {}

  private basic(): string | undefined {
    return this.auth ? `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}` : undefined;
  }

  /** One request, answering a 401 once (Basic, or a Bearer token with pull,push,delete). */
  private async call(method: string, pathOrUrl: string, repo: string, init: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `http://${this.host}${pathOrUrl}`;
    const send = (authorization: string | undefined) =>
      fetch(url, { method, headers: { ...init.headers, ...(authorization ? { Authorization: authorization } : {}) }, ...(init.body ? { body: init.body } : {}) });
    let res = await send(this.token ? `Bearer ${this.token}` : this.basic());
    if (res.status !== 401) return res;
    const www = res.headers.get('www-authenticate') ?? '';
    await res.body?.cancel();
    if (/^Basic/i.test(www)) return send(this.basic());
    const realm = /realm="([^"]+)"/.exec(www)?.[1];
    const service = /service="([^"]+)"/.exec(www)?.[1];
    if (!realm) throw new Error(`push: ${url} answered 401 without a usable challenge`);
    const tokenUrl = new URL(realm);
    if (service) tokenUrl.searchParams.set('service', service);
    tokenUrl.searchParams.set('scope', `repository:${repo}:pull,push,delete`);
    const basic = this.basic();
    const t = await fetch(tokenUrl, basic ? { headers: { Authorization: basic } } : {});
    if (!t.ok) throw new Error(`push: token request answered ${t.status}`);
    this.token = ((await t.json()) as { token: string }).token;
    res = await send(`Bearer ${this.token}`);
    return res;
  }

  private async expect(res: Response, ok: number[], what: string): Promise<Response> {
    if (!ok.includes(res.status)) throw new Error(`push: ${what} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return res;
  }

  /** Monolithic blob upload (POST, then PUT with the bytes and the digest). */
  async blob(repo: string, bytes: Uint8Array): Promise<Pushed> {
    const digest = sha256(bytes);
    this.token = undefined;
    const head = await this.call('HEAD', `/v2/${repo}/blobs/${digest}`, repo);
    await head.body?.cancel();
    if (head.status === 200) return { digest, size: bytes.byteLength, mediaType: '' };
    const start = await this.expect(await this.call('POST', `/v2/${repo}/blobs/uploads/`, repo), [202], `upload start in ${repo}`);
    await start.body?.cancel();
    const location = new URL(start.headers.get('location') ?? '', `http://${this.host}`);
    location.searchParams.set('digest', digest);
    const put = await this.call('PUT', location.toString(), repo, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) }, body: bytes });
    await (await this.expect(put, [201], `blob upload ${digest}`)).body?.cancel();
    return { digest, size: bytes.byteLength, mediaType: '' };
  }

  /** PUTs a manifest or index (exact bytes) under a tag or its digest. */
  async manifest(repo: string, reference: string | undefined, body: object, mediaType: string): Promise<Pushed> {
    const bytes = new TextEncoder().encode(JSON.stringify(body, null, 3));
    const digest = sha256(bytes);
    const res = await this.call('PUT', `/v2/${repo}/manifests/${reference ?? digest}`, repo, { headers: { 'Content-Type': mediaType }, body: bytes });
    await (await this.expect(res, [201], `manifest PUT ${repo}:${reference ?? digest}`)).body?.cancel();
    const said = res.headers.get('docker-content-digest');
    if (said !== digest) throw new Error(`push: registry says ${said} for a manifest whose bytes hash to ${digest}`);
    return { digest, size: bytes.byteLength, mediaType };
  }

  /**
   * A single-platform image with a unique config (salt), pushed by digest and, optionally,
   * under a tag. OCI or Docker media types.
   */
  async image(repo: string, opts: { platform: PushedImage['platform']; salt: string; tag?: string; format?: 'oci' | 'docker' }): Promise<PushedImage> {
    const oci = (opts.format ?? 'oci') === 'oci';
    // A real (empty) tar, gzipped: two zero blocks.
    const layerTar = new Uint8Array(1024);
    const layer = gzipSync(layerTar);
    const config = {
      architecture: opts.platform.architecture,
      os: opts.platform.os,
      ...(opts.platform.variant ? { variant: opts.platform.variant } : {}),
      created: '2025-01-01T00:00:00Z',
      config: { Cmd: ['sh'], Labels: { 'wd.test.salt': opts.salt } },
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
      history: [{ created: '2025-01-01T00:00:00Z', created_by: 'registry-push helper' }],
    };
    const configBytes = new TextEncoder().encode(JSON.stringify(config));
    const l = await this.blob(repo, layer);
    const c = await this.blob(repo, configBytes);
    const mediaType = oci ? MT.ociManifest : MT.dockerManifest;
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: oci ? MT.ociConfig : MT.dockerConfig, digest: c.digest, size: c.size },
      layers: [{ mediaType: oci ? MT.ociLayer : MT.dockerLayer, digest: l.digest, size: l.size }],
    };
    const pushed = await this.manifest(repo, opts.tag, manifest, mediaType);
    return { ...pushed, configDigest: c.digest, platform: opts.platform };
  }

  /** An OCI index or Docker manifest list naming manifests already in `repo`. */
  async index(
    repo: string,
    tag: string,
    children: (Pushed & { platform: PushedImage['platform']; annotations?: Record<string, string> })[],
    format: 'oci' | 'docker' = 'oci',
  ): Promise<Pushed> {
    const mediaType = format === 'oci' ? MT.ociIndex : MT.dockerList;
    const body = {
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: c.platform, ...(c.annotations ? { annotations: c.annotations } : {}) })),
    };
    return this.manifest(repo, tag, body, mediaType);
  }

  /** What a tag or digest resolves to (digest, size, media type), read independently. */
  async describe(repo: string, reference: string): Promise<Pushed> {
    const res = await this.expect(await this.call('GET', `/v2/${repo}/manifests/${reference}`, repo, { headers: { Accept: ACCEPT } }), [200], `GET ${repo}:${reference}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { digest: sha256(bytes), size: bytes.byteLength, mediaType: res.headers.get('content-type') ?? '' };
  }

  /** Deletes a manifest by digest (the registry then forgets every tag pointing at it). */
  async delete(repo: string, digest: string): Promise<void> {
    const res = await this.call('DELETE', `/v2/${repo}/manifests/${digest}`, repo);
    await (await this.expect(res, [202], `DELETE ${repo}@${digest}`)).body?.cancel();
  }
}
