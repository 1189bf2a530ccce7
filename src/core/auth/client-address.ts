/**
 * The client's address behind reverse proxies. X-Forwarded-For is believed only when the peer
 * that sent the request is a configured trusted proxy, and then only up to the first hop that
 * is not itself trusted (read from the right: the left part is whatever the client claimed).
 */

/** An address as bytes: 4 for IPv4 (IPv4-mapped IPv6 included), 16 for IPv6. */
export function parseIp(text: string): Uint8Array | null {
  const s = text.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const v4 = parseIpv4(s);
  if (v4) return v4;
  const v6 = parseIpv6(s);
  if (!v6) return null;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return Uint8Array.from(parts, Number);
}

function parseIpv6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split('::').length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    for (const part of half.split(':')) {
      if (part.includes('.')) {
        const v4 = parseIpv4(part);
        if (!v4) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return null;
    }
    return out;
  };
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  if (!h || !t) return null;
  const fill = 8 - h.length - t.length;
  if ((tail === undefined && fill !== 0) || (tail !== undefined && fill < 1)) return null;
  const all = [...h, ...Array<number>(Math.max(fill, 0)).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** A parsed "address[/prefix]" entry of auth.trustedProxies. */
export interface IpRange {
  bytes: Uint8Array;
  prefix: number;
}

export function parseIpRange(text: string): IpRange | null {
  const [addr, bits, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return null;
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const max = bytes.length * 8;
  // A prefix written for the IPv6 form of an IPv4-mapped address counts from the IPv4 part.
  let prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (bytes.length === 4 && addr.includes(':') && prefix > 32) prefix -= 96;
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= max ? { bytes, prefix } : null;
}

export function inRange(ip: Uint8Array, range: IpRange): boolean {
  if (ip.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.prefix; bit += 8) {
    const take = Math.min(8, range.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const i = bit / 8;
    if (((ip[i] ?? 0) & mask) !== ((range.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** Canonical text of an address, so "::ffff:10.0.0.1" and "10.0.0.1" count as one client. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`;
}

/**
 * The address to attribute a request to. `peer` is the socket's remote address (undefined
 * when the runtime does not say); `forwardedFor` the X-Forwarded-For header.
 */
export function resolveClientAddress(peer: string | undefined, forwardedFor: string | undefined, trusted: readonly IpRange[]): string {
  const peerBytes = peer === undefined ? null : parseIp(peer);
  if (!peerBytes) return peer ?? 'unknown';
  const isTrusted = (ip: Uint8Array) => trusted.some((r) => inRange(ip, r));
  let client = peerBytes;
  if (isTrusted(client) && forwardedFor) {
    const hops = forwardedFor.split(',').map((h) => h.trim()).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseIp(hops[i] ?? '');
      if (!hop) break;
      client = hop;
      if (!isTrusted(hop)) break;
    }
  }
  return formatIp(client);
}
