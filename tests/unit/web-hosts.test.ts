import { describe, expect, it } from 'vitest';
import { hostScoped, parseHosts, pickHost, type HostInfo } from '../../web/src/host-choice.js';

/** The web UI's host choice (split deployment): which calls name a host, the list, the default. */
describe('web host choice', () => {
  it('sends the host on every host route, not on sign-in, 2FA or the host list itself', () => {
    for (const p of ['/api/containers', '/api/v1/containers', '/api/compose/start', '/api/shell/status', '/api/images', '/api/hostsx', '/api/updates/history'])
      expect(hostScoped(p), p).toBe(true);
    for (const p of ['/api/v1/auth/login', '/api/v1/auth/ws-ticket', '/api/v1/2fa/verify', '/api/hosts', '/api/hosts/web-1', '/api/hosts?x=1'])
      expect(hostScoped(p), p).toBe(false);
  });

  it('parses GET /api/hosts ({hosts, total}) by name; anything else is no list', () => {
    const data = {
      hosts: [
        { name: 'web-1', createdAt: '2026-11-29T12:00:00.000Z', enrolled: true, online: true, agentVersion: '0.1.0', lastSeen: '2026-11-29T12:01:00.000Z', containers: { total: 3, running: 2 } },
        { name: 'web-2', createdAt: '2026-11-29T12:00:00.000Z', enrolled: false, online: false, agentVersion: null, lastSeen: null, containers: null },
        { id: 'no-name' },
      ],
      total: 3,
    };
    expect(parseHosts(data)).toEqual([
      { name: 'web-1', createdAt: '2026-11-29T12:00:00.000Z', enrolled: true, online: true, agentVersion: '0.1.0', lastSeen: '2026-11-29T12:01:00.000Z', containers: { total: 3, running: 2 } },
      { name: 'web-2', createdAt: '2026-11-29T12:00:00.000Z', enrolled: false, online: false, agentVersion: null, lastSeen: null, containers: null },
    ]);
    expect(parseHosts({ hosts: [], total: 0 })).toEqual([]);
    expect(parseHosts([{ name: 'a' }])).toBeNull();
    expect(parseHosts(null)).toBeNull();
  });

  it('keeps the remembered host while it exists, else takes the first online host, else the first', () => {
    const h = (name: string, online: boolean): HostInfo => ({ name, online, agentVersion: null, lastSeen: null });
    const list = [h('a', false), h('b', true), h('c', true)];
    expect(pickHost(list, 'c')).toBe('c');
    expect(pickHost(list, 'a')).toBe('a');
    expect(pickHost(list, 'gone')).toBe('b');
    expect(pickHost(list, null)).toBe('b');
    expect(pickHost([h('x', false), h('y', false)], null)).toBe('x');
    expect(pickHost([], 'a')).toBeNull();
  });
});
