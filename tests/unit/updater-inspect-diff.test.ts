import { describe, expect, it } from 'vitest';
import { unexpectedDifferences } from '../helpers/updater-inspect-diff.js';

/* The comparator the recreation matrix relies on must let through only the allow-listed differences. */

const OLD_ID = 'aaaaaaaaaaaa'.padEnd(64, '1');
const NEW_ID = 'bbbbbbbbbbbb'.padEnd(64, '2');
const oldImage = { Env: ['PATH=/bin', 'V=1'], Labels: { v: '1' }, Cmd: ['run'], WorkingDir: '/a', Volumes: { '/data': {} } };
const newImage = { Env: ['PATH=/bin', 'V=2'], Labels: { v: '2' }, Cmd: ['run', '2'], WorkingDir: '/b', Volumes: { '/data': {} } };

function inspect(id: string, image: typeof oldImage, over: { anonSource?: boolean } = {}) {
  const short = id.slice(0, 12);
  return {
    Id: id, Created: id, Image: `sha256:${id}`, State: { Status: 'running', Pid: id.length }, HostsPath: `/x/${id}/hosts`,
    Name: '/web',
    Config: { Hostname: short, Env: [...image.Env, 'USER=me'], Labels: { ...image.Labels, mine: 'x' }, Cmd: image.Cmd, WorkingDir: image.WorkingDir, Volumes: image.Volumes, Image: 'reg/web' },
    HostConfig: { NetworkMode: 'net', Memory: 1, Binds: ['named:/named'], Mounts: over.anonSource ? [{ Type: 'volume', Source: 'anon1', Target: '/data' }] : null },
    Mounts: [
      { Type: 'volume', Name: 'named', Destination: '/named', Mode: 'z' },
      { Type: 'volume', Name: 'anon1', Destination: '/data', Mode: over.anonSource ? 'z' : '' },
    ],
    NetworkSettings: {
      SandboxID: id, Ports: {},
      Networks: { net: { Aliases: ['web', short], DNSNames: ['web', short], IPAMConfig: null, IPAddress: `10.0.0.${id.length}`, EndpointID: id, NetworkID: 'n', MacAddress: `02:${id.slice(0, 2)}` } },
    },
  };
}

describe('the inspect comparator of the recreation matrix', () => {
  const old = inspect(OLD_ID, oldImage);
  const now = inspect(NEW_ID, newImage, { anonSource: true });

  it('accepts identity, runtime state, what the new image changes and the re-attached anonymous volume', () => {
    expect(unexpectedDifferences(old, now, { oldImage, newImage })).toEqual([]);
  });

  it('catches a lost user setting, alias, label or limit', () => {
    const lost = structuredClone(now);
    lost.Config.Env = lost.Config.Env.filter((e) => e !== 'USER=me');
    lost.Config.Labels = { v: '2' } as typeof lost.Config.Labels;
    lost.HostConfig.Memory = 0;
    lost.NetworkSettings.Networks.net.Aliases = [NEW_ID.slice(0, 12)];
    expect(unexpectedDifferences(old, lost, { oldImage, newImage })).toEqual([
      'Config.Env.0: "USER=me" → undefined',
      'Config.Labels.mine: "x" → undefined',
      'HostConfig.Memory: 1 → 0',
      'NetworkSettings.Networks.net.Aliases.0: "web" → undefined',
    ]);
  });

  it('catches an old image value carried over instead of the new one', () => {
    const stale = structuredClone(now);
    stale.Config.Env = [...newImage.Env, 'V=1', 'USER=me'];
    stale.Config.WorkingDir = '/a';
    expect(unexpectedDifferences(old, stale, { oldImage, newImage })).toEqual(['Config.Env.1: undefined → "V=1"', 'Config.WorkingDir: "<from the image>" → "/a"']);
  });

  it('catches a new, empty volume in place of the old anonymous one', () => {
    const fresh = structuredClone(now);
    fresh.Mounts[1] = { Type: 'volume', Name: 'anon-new', Destination: '/data', Mode: '' };
    expect(unexpectedDifferences(old, fresh, { oldImage, newImage })).toContain('Mounts.0.Name: "anon1" → "anon-new"');
  });
});
