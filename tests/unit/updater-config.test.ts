import { describe, expect, it } from 'vitest';
import type { ContainerInspect, ImageConfig } from '../../src/core/docker/port.js';
import { userCommand, userConfig, userEnv, userHealthcheck, userLabels } from '../../src/core/updater/config-diff.js';
import { anonymousVolumes, createLinks, recreateHostConfig } from '../../src/core/updater/host-config.js';
import { compareApiVersions, planNetworks, userAliases } from '../../src/core/updater/network-config.js';
import { parkedName, planRecreate, stopTimeoutOf } from '../../src/core/updater/recreate-plan.js';

const ID = 'abcdef0123456789'.padEnd(64, '0');
const S = 1_000_000_000;

const image: ImageConfig = {
  Env: ['PATH=/usr/bin:/bin', 'APP_MODE=prod', 'SHARED=image'],
  Cmd: ['serve'],
  Entrypoint: ['/entry.sh'],
  Labels: { 'org.opencontainers.image.version': '1.0', team: 'core' },
  User: 'app',
  WorkingDir: '/app',
  Volumes: { '/data': {} },
  ExposedPorts: { '8080/tcp': {} },
  Healthcheck: { Test: ['CMD', 'check'], Interval: 30 * S, Retries: 3 },
  StopSignal: 'SIGTERM',
};

function container(over: Partial<ContainerInspect> = {}): ContainerInspect {
  return {
    Id: ID, Name: '/web', Created: '2026-01-01T00:00:00Z', Image: 'sha256:old',
    State: { Status: 'running', Running: true, Restarting: false },
    Config: {
      Hostname: ID.slice(0, 12), Image: 'reg/web:latest', Env: [...(image.Env ?? []), 'USER_VAR=1'], Cmd: ['serve'], Entrypoint: ['/entry.sh'],
      Labels: { ...image.Labels, 'user.label': 'x' }, User: 'app', WorkingDir: '/app', Volumes: { '/data': {} }, ExposedPorts: { '8080/tcp': {} },
      Healthcheck: image.Healthcheck ?? null, StopSignal: 'SIGTERM', OnBuild: null, Tty: false,
    },
    HostConfig: { NetworkMode: 'appnet', RestartPolicy: { Name: 'always' }, Memory: 64 << 20, MaskedPaths: ['/proc/kcore'], ReadonlyPaths: ['/proc/sys'] },
    NetworkSettings: { Networks: { appnet: { Aliases: ['web', ID.slice(0, 12)], IPAMConfig: { IPv4Address: '10.1.0.5' }, IPAddress: '10.1.0.5', MacAddress: '02:42:0a:01:00:05', NetworkID: 'n1' } } },
    Mounts: [{ Type: 'volume', Name: 'anon1', Source: '/var/lib/docker/volumes/anon1/_data', Destination: '/data', RW: true, Mode: '' }],
    ...over,
  };
}

describe('config diff: what the user set, apart from what the old image supplied', () => {
  it('keeps user env, drops env that only came from the old image', () => {
    expect(userEnv(['PATH=/usr/bin:/bin', 'APP_MODE=prod', 'SHARED=mine', 'USER_VAR=1'], image.Env)).toEqual(['SHARED=mine', 'USER_VAR=1']);
    expect(userEnv(null, image.Env)).toEqual([]);
    expect(userEnv(['A=1'], null)).toEqual(['A=1']);
  });

  it('keeps labels the user added or changed', () => {
    expect(userLabels({ team: 'core', 'org.opencontainers.image.version': '1.0', 'user.label': 'x' }, image.Labels)).toEqual({ 'user.label': 'x' });
    expect(userLabels({ team: 'ops' }, image.Labels)).toEqual({ team: 'ops' });
    expect(userLabels(null, image.Labels)).toEqual({});
  });

  it('takes cmd and entrypoint from the new image unless the user set them', () => {
    expect(userCommand({ Entrypoint: ['/entry.sh'], Cmd: ['serve'] }, image)).toEqual({});
    expect(userCommand({ Entrypoint: ['/entry.sh'], Cmd: ['serve', '--debug'] }, image)).toEqual({ Cmd: ['serve', '--debug'] });
    // A user entrypoint carries its cmd, even one equal to the image's (the engine would drop it).
    expect(userCommand({ Entrypoint: ['sh'], Cmd: ['serve'] }, image)).toEqual({ Entrypoint: ['sh'], Cmd: ['serve'] });
    expect(userCommand({ Entrypoint: ['sh'], Cmd: null }, image)).toEqual({ Entrypoint: ['sh'], Cmd: null });
    // `--entrypoint ""` over an image entrypoint.
    expect(userCommand({ Entrypoint: null, Cmd: ['x'] }, image)).toEqual({ Entrypoint: [''], Cmd: ['x'] });
  });

  it('keeps only the healthcheck fields the user changed', () => {
    expect(userHealthcheck(image.Healthcheck, image.Healthcheck)).toBeUndefined();
    expect(userHealthcheck({ ...image.Healthcheck, Interval: 5 * S }, image.Healthcheck)).toEqual({ Interval: 5 * S });
    expect(userHealthcheck({ Test: ['NONE'] }, image.Healthcheck)).toEqual({ Test: ['NONE'] });
    expect(userHealthcheck({ Test: ['CMD', 'x'], Retries: 1 }, null)).toEqual({ Test: ['CMD', 'x'], Retries: 1 });
    expect(userHealthcheck(null, image.Healthcheck)).toBeUndefined();
  });

  it('builds the create Config: user settings kept, image defaults left to the new image', () => {
    const cfg = userConfig(container().Config, image, { image: 'reg/web:latest', containerId: ID, networkMode: 'appnet', publishedPorts: [] });
    expect(cfg).toEqual({ Image: 'reg/web:latest', Env: ['USER_VAR=1'], Labels: { 'user.label': 'x' }, Tty: false });
  });

  it('keeps user-set user, workdir, stop signal, hostname, volumes and published ports', () => {
    const c = container().Config;
    const cfg = userConfig({ ...c, User: '1000', WorkingDir: '/w', StopSignal: 'SIGINT', Hostname: 'myhost', Volumes: { '/data': {}, '/extra': {} }, StopTimeout: 3 }, image, {
      image: 'reg/web:2', containerId: ID, networkMode: 'appnet', publishedPorts: ['9090/tcp'],
    });
    expect(cfg).toMatchObject({ User: '1000', WorkingDir: '/w', StopSignal: 'SIGINT', Hostname: 'myhost', StopTimeout: 3, Volumes: { '/extra': {} }, ExposedPorts: { '9090/tcp': {} } });
  });

  it('drops the hostname on a shared network stack, and exposed ports on container:X', () => {
    const c = { ...container().Config, Hostname: 'myhost', ExposedPorts: { '1/tcp': {} } };
    const onHost = userConfig(c, image, { image: 'i', containerId: ID, networkMode: 'host', publishedPorts: [] });
    expect(onHost.Hostname).toBeUndefined();
    expect(onHost.ExposedPorts).toEqual({ '1/tcp': {} });
    const shared = userConfig(c, image, { image: 'i', containerId: ID, networkMode: 'container:abc', publishedPorts: [] });
    expect(shared.Hostname).toBeUndefined();
    expect(shared.ExposedPorts).toBeUndefined();
  });
});

describe('host config', () => {
  it('copies the host config whole, minus paths the engine derives', () => {
    const hc = recreateHostConfig(container({ Mounts: [] }));
    expect(hc).toEqual({ NetworkMode: 'appnet', RestartPolicy: { Name: 'always' }, Memory: 64 << 20 });
  });

  it('re-attaches anonymous volumes by name, never creating new empty ones', () => {
    const c = container({
      HostConfig: { NetworkMode: 'none', Binds: ['named:/named', '/srv:/bind:ro'], Mounts: [{ Type: 'volume', Target: '/m' }, { Type: 'tmpfs', Target: '/t' }] },
      Mounts: [
        { Type: 'volume', Name: 'named', Source: '/v/named', Destination: '/named', RW: true },
        { Type: 'bind', Source: '/srv', Destination: '/bind', RW: false },
        { Type: 'volume', Name: 'anonM', Source: '/v/anonM', Destination: '/m', RW: true },
        { Type: 'volume', Name: 'anon1', Source: '/v/anon1', Destination: '/data', RW: true },
        { Type: 'volume', Name: 'anon2', Source: '/v/anon2', Destination: '/ro', RW: false, Driver: 'nfs' },
      ],
    });
    expect(anonymousVolumes(c).map((m) => m.Name)).toEqual(['anonM', 'anon1', 'anon2']);
    const hc = recreateHostConfig(c);
    expect(hc.Binds).toEqual(['named:/named', '/srv:/bind:ro']);
    expect(hc.Mounts).toEqual([
      { Type: 'volume', Target: '/m', Source: 'anonM' },
      { Type: 'tmpfs', Target: '/t' },
      { Type: 'volume', Source: 'anon1', Target: '/data', ReadOnly: false },
      { Type: 'volume', Source: 'anon2', Target: '/ro', ReadOnly: true, VolumeOptions: { DriverConfig: { Name: 'nfs' } } },
    ]);
  });

  it('rewrites legacy links to the create form', () => {
    expect(createLinks(['/db:/web/database', '/cache:/web/cache'])).toEqual(['db:database', 'cache:cache']);
  });
});

describe('networks', () => {
  it('compares API versions numerically', () => {
    expect(compareApiVersions('1.41', '1.44')).toBe(-1);
    expect(compareApiVersions('1.45', '1.44')).toBe(1);
    expect(compareApiVersions('1.100', '1.44')).toBe(1);
    expect(compareApiVersions('1.44', '1.44')).toBe(0);
  });

  it('drops the aliases the engine added (short ID; hostname for 1.44 clients)', () => {
    expect(userAliases(['web', 'abcdef012345', 'web'], ['abcdef012345'])).toEqual(['web']);
    expect(userAliases(null, ['x'])).toEqual([]);
  });

  const twoNets = (mac: string) =>
    container({
      Config: { ...container().Config, MacAddress: mac },
      HostConfig: { NetworkMode: 'front' },
      NetworkSettings: {
        Networks: {
          front: { Aliases: ['web', ID.slice(0, 12)], IPAMConfig: { IPv4Address: '10.1.0.5', IPv6Address: 'fd00::5', LinkLocalIPs: [] }, MacAddress: '02:42:aa:aa:aa:aa', IPAddress: '10.1.0.5', NetworkID: 'n1' },
          back: { Aliases: [ID.slice(0, 12)], IPAMConfig: null, MacAddress: '02:42:0a:02:00:07', IPAddress: '10.2.0.7', DriverOpts: { a: 'b' }, Links: ['db:db'] },
        },
      },
    });

  it('API >= 1.44: every network at create, the user MAC on the primary endpoint', () => {
    const plan = planNetworks(twoNets('02:42:aa:aa:aa:aa'), '1.45');
    expect(plan).toEqual({
      endpoints: {
        front: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.1.0.5', IPv6Address: 'fd00::5' }, MacAddress: '02:42:aa:aa:aa:aa' },
        back: { DriverOpts: { a: 'b' }, Links: ['db:db'] },
      },
      connect: [],
      configMac: undefined,
    });
  });

  it('API < 1.44: the primary network at create, the others connected; the MAC in Config', () => {
    const plan = planNetworks(twoNets('02:42:aa:aa:aa:aa'), '1.41');
    expect(Object.keys(plan.endpoints ?? {})).toEqual(['front']);
    expect(plan.endpoints?.front?.MacAddress).toBeUndefined();
    expect(plan.connect).toEqual([{ network: 'back', endpoint: { DriverOpts: { a: 'b' }, Links: ['db:db'] } }]);
    expect(plan.configMac).toBe('02:42:aa:aa:aa:aa');
  });

  it('never copies a MAC the engine generated', () => {
    const plan = planNetworks(twoNets(''), '1.45');
    expect(Object.values(plan.endpoints ?? {}).some((e) => 'MacAddress' in e)).toBe(false);
    expect(planNetworks(twoNets(''), '1.41').configMac).toBeUndefined();
  });

  it('has no endpoints for host, none and container:X', () => {
    for (const mode of ['host', 'none', 'container:abc']) {
      const c = container({ HostConfig: { NetworkMode: mode }, NetworkSettings: { Networks: mode === 'host' ? { host: {} } : {} } });
      expect(planNetworks(c, '1.45')).toEqual({ endpoints: undefined, connect: [], configMac: undefined });
    }
  });
});

describe('the recreate plan', () => {
  it('puts Config, HostConfig and NetworkingConfig together under the original name', () => {
    const plan = planRecreate(container(), image, { image: 'reg/web:latest', apiVersion: '1.45' });
    expect(plan.name).toBe('web');
    expect(plan.body).toMatchObject({
      Image: 'reg/web:latest', Env: ['USER_VAR=1'],
      HostConfig: { NetworkMode: 'appnet', RestartPolicy: { Name: 'always' }, Mounts: [{ Type: 'volume', Source: 'anon1', Target: '/data' }] },
      NetworkingConfig: { EndpointsConfig: { appnet: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.1.0.5' } } } },
    });
    expect(plan.body.Hostname).toBeUndefined();
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('keeps everything when the old image is gone (nothing can be told apart)', () => {
    const plan = planRecreate(container(), null, { image: 'reg/web:latest', apiVersion: '1.45' });
    expect(plan.body.Env).toEqual(container().Config.Env);
    expect(plan.body.Cmd).toEqual(['serve']);
  });

  it('names the parked container and reads the stop timeout', () => {
    expect(parkedName('web', ID)).toBe('web-wd-old-abcdef012345');
    expect(stopTimeoutOf(container())).toBe(10);
    expect(stopTimeoutOf({ Config: { StopTimeout: 3 } })).toBe(3);
  });
});
