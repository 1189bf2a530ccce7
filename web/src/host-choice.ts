/** The split deployment's host choice: pure logic, no DOM (unit-tested in tests/unit/web-hosts.test.ts). */

/** A host of the split deployment, as GET /api/hosts lists it. */
export interface HostInfo {
  name: string;
  online: boolean;
  enrolled?: boolean;
  agentVersion: string | null;
  lastSeen: string | null;
  createdAt?: string;
  containers?: { total: number; running: number } | null;
}

/** Sign-in, 2FA and the host list itself are not about one host. */
export const hostScoped = (path: string): boolean => !/^\/api\/(v1\/auth\/|v1\/2fa\/|hosts(\/|\?|$))/.test(path);

/** Parses GET /api/hosts ({hosts, total}); anything else is "no hosts". */
export function parseHosts(data: unknown): HostInfo[] | null {
  const list = (data as { hosts?: unknown } | null)?.hosts;
  if (!Array.isArray(list)) return null;
  return list
    .filter((h): h is Record<string, unknown> => !!h && typeof (h as { name?: unknown }).name === 'string')
    .map((h) => ({
      name: h.name as string,
      online: h.online === true,
      enrolled: h.enrolled === true,
      agentVersion: typeof h.agentVersion === 'string' ? h.agentVersion : null,
      lastSeen: typeof h.lastSeen === 'string' ? h.lastSeen : null,
      ...(typeof h.createdAt === 'string' ? { createdAt: h.createdAt } : {}),
      containers: (h.containers as HostInfo['containers']) ?? null,
    }));
}

/** The host to use: the remembered one while it exists, else the first online host, else the first. */
export function pickHost(list: HostInfo[], remembered: string | null): string | null {
  if (remembered && list.some((h) => h.name === remembered)) return remembered;
  return (list.find((h) => h.online) ?? list[0])?.name ?? null;
}
