import { describe, expect, it } from 'vitest';
import type { DockerEvent, DockerLifecyclePort, DockerPort, DockerStreamPort, PullEvent } from '../../src/core/docker/port.js';
import { AppError, ErrorCode } from '../../src/core/errors.js';

export interface PortFixture {
  port: DockerPort;
  running: { id: string; name: string; imageId: string; image: string };
  stopped: { id: string; name: string };
  image: { id: string; tag: string };
}

/** Plain JSON in, plain JSON out: what the remote agent will carry over a WebSocket. */
function expectJson(value: unknown): void {
  expect(JSON.parse(JSON.stringify(value))).toEqual(value);
}

/**
 * One suite for every DockerPort implementation (dockerode on each engine, the in-memory fake,
 * later the remote agent port), in the manner of unstorage's testDriver.
 */
export function describeDockerPort(name: string, fixture: () => PortFixture): void {
  describe(`DockerPort contract: ${name}`, () => {
    it('pings and reports the negotiated API version', async () => {
      const { port } = fixture();
      await expect(port.ping()).resolves.toBeUndefined();
      const info = await port.info();
      expect(info.apiVersion).toMatch(/^1\.\d+$/);
      expectJson(info);
    });

    it('lists running containers, and stopped ones only when asked', async () => {
      const { port, running, stopped } = fixture();
      const some = await port.listContainers({ all: false });
      const all = await port.listContainers({ all: true });
      expect(some.map((c) => c.id)).toContain(running.id);
      expect(some.map((c) => c.id)).not.toContain(stopped.id);
      expect(all.map((c) => c.id)).toEqual(expect.arrayContaining([running.id, stopped.id]));
      const c = some.find((x) => x.id === running.id);
      expect(c).toMatchObject({ name: running.name, imageId: running.imageId, state: 'running' });
      expect(typeof c?.created).toBe('number');
      expectJson(all);
    });

    it('inspects a container by id and by name; an unknown one is null', async () => {
      const { port, running } = fixture();
      const byId = await port.inspectContainer(running.id);
      expect(byId).toMatchObject({ id: running.id, name: running.name, image: running.image, imageId: running.imageId, running: true, restarting: false });
      expect(await port.inspectContainer(running.name)).toEqual(byId);
      expect(await port.inspectContainer('wd-no-such-container')).toBeNull();
      expectJson(byId);
    });

    it('lists and inspects images; an unknown one is null', async () => {
      const { port, image } = fixture();
      const list = await port.listImages();
      const listed = list.find((i) => i.id === image.id);
      expect(listed?.repoTags).toContain(image.tag);
      expect(listed?.repoTags).not.toContain('<none>:<none>');
      const byId = await port.inspectImage(image.id);
      expect(byId?.platform.os).toBe('linux');
      expect(byId?.platform.architecture).toMatch(/^(amd64|arm64|arm|386|ppc64le|s390x|riscv64)$/);
      expect(await port.inspectImage(image.tag)).toEqual(byId);
      expect(await port.inspectImage('wd-no-such-image:never')).toBeNull();
      expectJson(list);
      expectJson(byId);
    });
  });
}

export interface LifecycleFixture {
  port: DockerPort & DockerLifecyclePort;
  /** A local image whose default command keeps running (e.g. `sleep`). */
  image: string;
  /** A reference a pull can fetch. */
  pullable: string;
  /** A reference in the same registry that does not exist. */
  missing: string;
  /** Two user-defined networks, or null where the implementation has none. */
  networks: [string, string] | null;
  /** An image no container uses, made for this suite to remove. */
  disposableImage: () => Promise<string>;
  /** A container name unique to this run. */
  name: (prefix: string) => string;
}

async function expectNotFound(p: Promise<unknown>): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(ErrorCode.NotFound);
  expect((err as AppError).data).toMatchObject({ engineStatus: 404 });
}

/** The calls the updater makes, against every implementation (plain JSON in and out). */
export function describeDockerLifecycle(name: string, fixture: () => LifecycleFixture): void {
  describe(`DockerPort lifecycle contract: ${name}`, () => {
    it('creates, starts, logs, stops, renames and removes a container', async () => {
      const { port, image, name: unique } = fixture();
      const n = unique('life');
      const { id, warnings } = await port.createContainer(n, {
        Image: image, Env: ['WD_FOO=bar'], Cmd: ['sh', '-c', 'echo hello-out; echo hello-err >&2; exec sleep 3600'], Labels: { 'wd.test': 'yes' },
        HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
      });
      try {
        expect(id).toMatch(/^[a-f0-9]{64}$/);
        expect(Array.isArray(warnings)).toBe(true);
        const created = await port.inspectContainerRaw(n);
        expect(created).toMatchObject({ Id: id, Name: `/${n}`, State: { Status: 'created', Running: false }, Config: { Image: image, Labels: expect.objectContaining({ 'wd.test': 'yes' }) } });
        expect(created?.Config.Env).toContain('WD_FOO=bar');
        expectJson(created);
        await port.startContainer(id);
        await port.startContainer(id); // already running: fine
        expect((await port.inspectContainerRaw(id))?.State).toMatchObject({ Running: true, Status: 'running' });
        let logs = '';
        for (let i = 0; i < 50 && !logs.includes('hello-err'); i++) {
          logs = await port.containerLogs(id, { tail: 10 });
          if (!logs.includes('hello-err')) await new Promise((r) => setTimeout(r, 100));
        }
        expect(logs).toContain('hello-out\n');
        expect(logs).toContain('hello-err\n');
        expect(logs).not.toMatch(/[\u0000-\u0008]/); // demultiplexed: no frame headers
        expect((await port.containerLogs(id, { tail: 1 })).trim().split('\n')).toHaveLength(1);
        await port.stopContainer(id, { timeoutSeconds: 1 });
        await port.stopContainer(id, { timeoutSeconds: 1 }); // already stopped: fine
        expect((await port.inspectContainerRaw(id))?.State.Running).toBe(false);
        await port.renameContainer(id, `${n}-renamed`);
        expect((await port.inspectContainerRaw(`${n}-renamed`))?.Id).toBe(id);
        expect(await port.inspectContainerRaw(n)).toBeNull();
      } finally {
        await port.removeContainer(id, { force: true });
      }
      expect(await port.inspectContainerRaw(id)).toBeNull();
      await expectNotFound(port.removeContainer(id));
      await expectNotFound(port.startContainer(id));
    });

    it('refuses a second container with the same name', async () => {
      const { port, image, name: unique } = fixture();
      const n = unique('dup');
      const { id } = await port.createContainer(n, { Image: image, HostConfig: { NetworkMode: 'none' } });
      try {
        const err = await port.createContainer(n, { Image: image, HostConfig: { NetworkMode: 'none' } }).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).data).toMatchObject({ engineStatus: 409 });
        expect((err as AppError).message).toContain(n);
      } finally {
        await port.removeContainer(id, { force: true });
      }
    });

    it('pulls with progress as plain JSON; a missing tag is an error; inspects image Config', async () => {
      const { port, pullable, missing, image } = fixture();
      const events: PullEvent[] = [];
      for await (const ev of port.pullImage(pullable)) events.push(ev);
      expect(events.at(-1)?.status).toMatch(/^Status: /);
      expectJson(events);
      const err = await (async () => {
        for await (const _ of port.pullImage(missing)) void _;
      })().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).message).toContain(missing.split(':')[0] ?? missing);
      const img = await port.inspectImageRaw(image);
      expect(img?.Id).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(Array.isArray(img?.Config?.Cmd)).toBe(true);
      expectJson(img);
      expect(await port.inspectImageRaw('wd-no-such-image:never')).toBeNull();
    });

    it('connects a created container to a second network before start', async () => {
      const { port, image, networks, name: unique } = fixture();
      if (!networks) return;
      const n = unique('net');
      const { id } = await port.createContainer(n, {
        Image: image, HostConfig: { NetworkMode: networks[0] }, NetworkingConfig: { EndpointsConfig: { [networks[0]]: { Aliases: ['first'] } } },
      });
      try {
        await port.connectNetwork(networks[1], id, { Aliases: ['second'] });
        const c = await port.inspectContainerRaw(id);
        expect(Object.keys(c?.NetworkSettings.Networks ?? {}).sort()).toEqual([...networks].sort());
        expect(c?.NetworkSettings.Networks?.[networks[1]]?.Aliases).toContain('second');
        // (A missing network is only noticed at start for a created container: not checked here.)
        await expectNotFound(port.connectNetwork(networks[1], `${n}-missing`));
      } finally {
        await port.removeContainer(id, { force: true });
      }
    });

    it('removes an image; an unknown one is not found', async () => {
      const { port, disposableImage } = fixture();
      const ref = await disposableImage();
      await port.removeImage(ref);
      expect(await port.inspectImageRaw(ref)).toBeNull();
      await expectNotFound(port.removeImage(ref));
    });
  });
}

export interface StreamsFixture {
  port: DockerPort & DockerLifecyclePort & DockerStreamPort;
  /** A local image with busybox's sh. */
  image: string;
  name: (prefix: string) => string;
  /** How many engine streams the port has open (dockerode: sockets; the fake: its subscribers). */
  openStreams: () => number;
}

async function collect<T>(it: AsyncIterable<T>, stop: (items: T[]) => boolean = () => false): Promise<T[]> {
  const items: T[] = [];
  for await (const x of it) {
    items.push(x);
    if (stop(items)) break;
  }
  return items;
}

async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Live streams as AsyncIterables of plain data; stopping the iteration releases the engine stream. */
export function describeDockerStreams(name: string, fixture: () => StreamsFixture): void {
  describe(`DockerPort streams contract: ${name}`, () => {
    it('streams a container\'s logs line by line, stdout and stderr apart, tail and timestamps', async () => {
      const { port, image, name: unique } = fixture();
      const n = unique('logs');
      const { id } = await port.createContainer(n, { Image: image, Cmd: ['sh', '-c', 'echo hello-out; echo hello-err >&2; echo third-line; exec sleep 3600'], HostConfig: { NetworkMode: 'none' } });
      try {
        await port.startContainer(id);
        await eventually(async () => (await port.containerLogs(id, { tail: 10 })).includes('third-line'), 'the output');
        const lines = await collect(port.streamLogs(id, {}));
        // The engine copies stdout and stderr apart: their order between each other is not kept.
        expect(lines).toHaveLength(3);
        expect(lines).toEqual(expect.arrayContaining([{ stream: 'stdout', text: 'hello-out' }, { stream: 'stderr', text: 'hello-err' }, { stream: 'stdout', text: 'third-line' }]));
        expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['hello-out', 'third-line']);
        expectJson(lines);
        const last = await collect(port.streamLogs(id, { tail: 1 }));
        expect(last).toHaveLength(1);
        expect(lines).toContainEqual(last[0]);
        const stamped = await collect(port.streamLogs(id, { tail: 1, timestamps: true }));
        expect(stamped[0]?.text).toBe(last[0]?.text);
        expect(Number.isNaN(Date.parse(stamped[0]?.ts ?? ''))).toBe(false);
      } finally {
        await port.removeContainer(id, { force: true });
      }
      const err = await collect(port.streamLogs('wd-no-such-container', {})).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe(ErrorCode.NotFound);
    });

    it('takes a TTY container\'s output as it comes: all stdout, lines without carriage returns', async () => {
      const { port, image, name: unique } = fixture();
      const n = unique('tty');
      const { id } = await port.createContainer(n, { Image: image, Tty: true, Cmd: ['sh', '-c', 'echo tty-out; echo tty-err >&2; exec sleep 3600'], HostConfig: { NetworkMode: 'none' } });
      try {
        await port.startContainer(id);
        await eventually(async () => (await port.containerLogs(id, { tail: 10 })).includes('tty-err'), 'the output');
        expect(await collect(port.streamLogs(id, {}))).toEqual([{ stream: 'stdout', text: 'tty-out' }, { stream: 'stdout', text: 'tty-err' }]);
      } finally {
        await port.removeContainer(id, { force: true });
      }
    });

    it('follows logs until the consumer stops, and then releases the engine stream at once', async () => {
      const { port, image, name: unique, openStreams } = fixture();
      const n = unique('follow');
      const { id } = await port.createContainer(n, { Image: image, Cmd: ['sh', '-c', 'echo ready; exec sleep 3600'], HostConfig: { NetworkMode: 'none' } });
      try {
        await port.startContainer(id);
        const before = openStreams();
        const it = port.streamLogs(id, { follow: true })[Symbol.asyncIterator]();
        expect(await it.next()).toEqual({ done: false, value: { stream: 'stdout', text: 'ready' } });
        expect(openStreams()).toBe(before + 1);
        const waiting = it.next(); // nothing more will come: the consumer leaves while this waits
        await it.return?.();
        expect(await waiting).toMatchObject({ done: true });
        await eventually(() => openStreams() === before, 'the engine stream to be released');
        // A followed stream also ends by itself when the container stops.
        const following = collect(port.streamLogs(id, { follow: true, tail: 0 }));
        await eventually(() => openStreams() === before + 1, 'the second stream');
        await port.stopContainer(id, { timeoutSeconds: 0 });
        await expect(following).resolves.toEqual([]);
      } finally {
        await port.removeContainer(id, { force: true });
      }
    });

    it('reports container events as plain data, and releases the event stream when the consumer stops', async () => {
      const { port, image, name: unique, openStreams } = fixture();
      const before = openStreams();
      const n = unique('events');
      const it = port.events({ types: ['container'] })[Symbol.asyncIterator]();
      const seen: DockerEvent[] = [];
      let id = '';
      const reading = (async () => {
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          if (r.value.name === n || (id && r.value.id === id)) seen.push(r.value);
          if (seen.some((e) => e.action === 'destroy')) return;
        }
      })();
      await eventually(() => openStreams() === before + 1, 'the event stream to open');
      ({ id } = await port.createContainer(n, { Image: image, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } }));
      await port.startContainer(id);
      await port.stopContainer(id, { timeoutSeconds: 0 });
      await port.removeContainer(id);
      await reading;
      const actions = seen.map((e) => e.action);
      for (const a of ['create', 'start', 'die', 'destroy']) expect(actions).toContain(a);
      expect(seen[0]).toMatchObject({ type: 'container', id, name: n });
      expect(Number.isNaN(Date.parse(seen[0]?.time ?? ''))).toBe(false);
      expectJson(seen);
      const waiting = it.next();
      await it.return?.();
      expect(await waiting).toMatchObject({ done: true });
      await eventually(() => openStreams() === before, 'the event stream to be released');
    });
  });
}
