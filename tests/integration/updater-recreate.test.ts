import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodePort } from '../../src/agent/docker/dockerode-port.js';
import { silentLogger } from '../../src/core/ports.js';
import { compareApiVersions } from '../../src/core/updater/network-config.js';
import { Updater } from '../../src/core/updater/updater.js';
import { createStorage } from 'unstorage';
import { uniqueName } from '../helpers/bed.js';
import { docker } from '../helpers/docker-cli.js';
import { BedScratch, engineCreate, imageConfig, inspectJson, updaterEngines } from '../helpers/updater-bed.js';
import { anonymousVolumeNames, unexpectedDifferences } from '../helpers/updater-inspect-diff.js';

/*
 * The recreation matrix: containers that use every setting the updater must keep, on both
 * engines; each is updated to a new image and its `docker inspect` compared with the old one
 * field by field (tests/helpers/updater-inspect-diff.ts holds the allow-list).
 */

const V1 = ['ENV IMG_ONLY=v1 SHARED=img-v1', 'LABEL img.label=v1 img.only=v1', 'VOLUME /data', 'EXPOSE 8080', 'WORKDIR /img-wd'];
const V2 = ['ENV IMG_ONLY=v2 SHARED=img-v2', 'LABEL img.label=v2 img.only=v2', 'VOLUME /data', 'EXPOSE 8080', 'WORKDIR /img-wd2'];
const TRAP = `trap 'exit 0' TERM INT; sleep 3600 & wait`;

type Inspect = Record<string, unknown>;

// Both engines at once: each has its own containers, networks and repositories.
describe.concurrent('the recreation matrix', () => {
  for (const { host, label, block } of updaterEngines()) {
    describe(`recreation matrix on ${label}`, () => {
      const scratch = new BedScratch(host);
      const port = new DockerodePort(host);
      const updater = new Updater({ docker: port, store: createStorage(), logger: silentLogger });
      const bindDir = mkdtempSync(join(tmpdir(), 'wdt-bind-'));
      const repo = scratch.repo('recreate');
      const ref = `${repo}:latest`;
      const names: Record<string, string> = {};
      const before: Record<string, Inspect> = {};
      let oldImage: Inspect;
      let newImage: Inspect;
      let api = '';

      beforeAll(async () => {
        api = (await port.info()).apiVersion;
        const [netA, netB] = [await scratch.network(block, { ipv6: true }), await scratch.network(block + 1)];
        await scratch.publish(ref, V1, { keepTag: true });
        oldImage = await imageConfig(host, ref);
        for (const k of ['full', 'mac', 'host', 'none', 'owner', 'shared', 'autorm', 'stopped']) names[k] = scratch.name(k);
        const vol = uniqueName('vol');
        scratch.volume(vol);
        const full = names.full ?? '';
        const modern = compareApiVersions(api, '1.44') >= 0;
        await docker(host, [
          'create', '--name', full, '--network', netA, '--ip', `10.213.${block}.10`, '--ip6', `fd00:213:${block}::10`, '--network-alias', 'alpha', '--network-alias', 'beta',
          ...(modern ? ['--mac-address', `02:42:0a:d5:${block.toString(16)}:99`] : []),
          '-p', `127.0.0.1:${39000 + block}:8080`, '-v', `${vol}:/named`, '-v', `${bindDir}:/bind:ro`, '-v', '/anon', '--mount', 'type=volume,dst=/mnt-anon', '--tmpfs', '/tmpfs:size=1m',
          '-e', 'USER_VAR=mine', '-e', 'SHARED=user', '--label', 'user.label=x', '--label', 'img.label=user-override',
          '--restart', 'unless-stopped', '--log-driver', 'json-file', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=2',
          '--hostname', 'custom-host', '--domainname', 'example.test', '--add-host', `db.example:10.213.${block}.99`,
          '--dns', `10.213.${block}.53`, '--dns-search', 'example.test', '--dns-option', 'ndots:2',
          '--device', '/dev/null:/dev/wdnull', '--ulimit', 'nofile=1024:2048', '--cap-add', 'NET_ADMIN', '--cap-drop', 'MKNOD',
          '--security-opt', 'no-new-privileges', '--sysctl', 'net.ipv4.ip_unprivileged_port_start=1024', '--shm-size', '16m',
          '--memory', '64m', '--cpus', '0.5', '--init', '--user', '1000', '--workdir', '/wd-user',
          '--health-cmd', 'true', '--health-interval', '1s', '--health-timeout', '2s', '--health-retries', '2',
          '--stop-signal', 'SIGINT', '--stop-timeout', '3', ref, 'sh', '-c', TRAP,
        ]);
        await docker(host, ['network', 'connect', '--ip', `10.213.${block + 1}.10`, '--alias', 'gamma', netB, full]);
        // A user-set MAC: Config.MacAddress below API 1.44, the endpoint's MacAddress from 1.44.
        const mac = `02:42:0a:d5:${(block + 1).toString(16)}:77`;
        await engineCreate(host, api, names.mac ?? '', {
          Image: ref, ...(modern ? {} : { MacAddress: mac }), HostConfig: { NetworkMode: netB },
          NetworkingConfig: { EndpointsConfig: { [netB]: { Aliases: ['macalias'], ...(modern ? { MacAddress: mac } : {}) } } },
        });
        await docker(host, ['create', '--name', names.host ?? '', '--network', 'host', '--entrypoint', 'sh', ref, '-c', TRAP]);
        // (Engine 20.10 cannot start privileged containers on this kernel: its runc lacks the newer caps.)
        await docker(host, ['create', '--name', names.none ?? '', '--network', 'none', ...(modern ? ['--privileged'] : []), '--user', '0', ref]);
        await docker(host, ['create', '--name', names.owner ?? '', '--network', 'none', ref]);
        await docker(host, ['create', '--name', names.shared ?? '', '--network', `container:${names.owner}`, ref]);
        await docker(host, ['create', '--name', names.autorm ?? '', '--rm', '--network', 'none', '-v', '/anon2', ref]);
        await docker(host, ['create', '--name', names.stopped ?? '', '--network', 'none', ref]);
        for (const k of ['full', 'mac', 'host', 'none', 'owner', 'shared', 'autorm']) await docker(host, ['start', names[k] ?? '']);
        await docker(host, ['stop', '-t', '1', names.stopped ?? '']).catch(() => undefined);
        // Data in every kind of volume, read back after the update.
        await docker(host, ['exec', '-u', '0', full, 'sh', '-c', 'for d in /data /anon /mnt-anon /named; do echo kept-$d > $d/f; done']);
        await docker(host, ['exec', names.autorm ?? '', 'sh', '-c', 'echo kept > /anon2/f']);
        for (const [k, n] of Object.entries(names)) {
          before[k] = (await inspectJson(host, n)) as Inspect;
          for (const v of anonymousVolumeNames(before[k] ?? {})) scratch.volume(v);
        }
        // The new version: same tag, pushed; the local tag is dropped so the update must pull it.
        await scratch.publish(ref, V2, { keepTag: true });
        newImage = await imageConfig(host, ref);
        await docker(host, ['rmi', ref]);
      });
      afterAll(async () => {
        await scratch.cleanup();
        rmSync(bindDir, { recursive: true, force: true });
      });

      const update = async (k: string): Promise<{ old: Inspect; now: Inspect }> => {
        const result = await updater.update(names[k] ?? '', { settleMs: 1_000, pollMs: 200 });
        expect(result.outcome).toBe('updated');
        const now = (await inspectJson(host, names[k] ?? '')) as Inspect;
        expect(now.Id).toBe(result.containerId);
        const leftovers = (await docker(host, ['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((n) => n.startsWith(`${names[k]}-wd-old-`));
        expect(leftovers).toEqual([]);
        return { old: before[k] ?? {}, now };
      };
      const faithful = (old: Inspect, now: Inspect) => expect(unexpectedDifferences(old, now, { oldImage, newImage })).toEqual([]);

      it('keeps every setting of a container that uses them all, and its volumes\' data', async () => {
        const { old, now } = await update('full');
        faithful(old, now);
        const cfg = now.Config as { Env: string[]; Labels: Record<string, string>; WorkingDir: string; User: string; Hostname: string };
        expect(cfg.Env).toEqual(expect.arrayContaining(['USER_VAR=mine', 'SHARED=user', 'IMG_ONLY=v2']));
        expect(cfg.Labels).toMatchObject({ 'user.label': 'x', 'img.label': 'user-override', 'img.only': 'v2' });
        expect(cfg).toMatchObject({ WorkingDir: '/wd-user', User: '1000', Hostname: 'custom-host' });
        const nets = (now.NetworkSettings as { Networks: Record<string, { IPAddress: string; GlobalIPv6Address: string; Aliases: string[] | null }> }).Networks;
        expect(Object.values(nets).map((n) => n.IPAddress).sort()).toEqual([`10.213.${block}.10`, `10.213.${block + 1}.10`]);
        expect(Object.values(nets).some((n) => n.GlobalIPv6Address === `fd00:213:${block}::10`)).toBe(true);
        expect(Object.values(nets).flatMap((n) => n.Aliases ?? [])).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma']));
        expect((now.State as { Running: boolean }).Running).toBe(true);
        const files = await docker(host, ['exec', names.full ?? '', 'sh', '-c', 'cat /data/f /anon/f /mnt-anon/f /named/f']);
        expect(files.split('\n')).toEqual(['kept-/data', 'kept-/anon', 'kept-/mnt-anon', 'kept-/named']);
      });

      it('keeps a MAC address the user set, and follows the new image where the user set nothing', async () => {
        const { old, now } = await update('mac');
        faithful(old, now);
        expect((now.Config as { MacAddress?: string; WorkingDir: string }).WorkingDir).toBe('/img-wd2');
        const nets = Object.values((now.NetworkSettings as { Networks: Record<string, { MacAddress: string }> }).Networks);
        expect(nets[0]?.MacAddress).toBe(`02:42:0a:d5:${(block + 1).toString(16)}:77`);
      });

      it('keeps the host network mode and a user entrypoint', async () => {
        const { old, now } = await update('host');
        faithful(old, now);
        expect((now.Config as { Entrypoint: string[] }).Entrypoint).toEqual(['sh']);
      });

      it('keeps network mode none and privileged (where the engine can)', async () => {
        const { old, now } = await update('none');
        faithful(old, now);
        expect((now.HostConfig as { Privileged: boolean }).Privileged).toBe(compareApiVersions(api, '1.44') >= 0);
      });

      it('keeps network mode container:<id>', async () => {
        const { old, now } = await update('shared');
        faithful(old, now);
        expect((now.HostConfig as { NetworkMode: string }).NetworkMode).toBe(`container:${(before.owner?.Id as string | undefined) ?? ''}`);
      });

      it('replaces an auto-remove container, keeping its anonymous volume', async () => {
        const { old, now } = await update('autorm');
        faithful(old, now);
        expect(await docker(host, ['exec', names.autorm ?? '', 'cat', '/anon2/f'])).toBe('kept');
      });

      it('replaces a stopped container and leaves it stopped', async () => {
        const { old, now } = await update('stopped');
        faithful(old, now);
        expect((now.State as { Running: boolean }).Running).toBe(false);
      });
    });
  }
});
