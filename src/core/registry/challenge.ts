/**
 * Parsing of `WWW-Authenticate` (RFC 7235) as registries send it:
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"
 *   Basic realm="Registry Realm"
 * A header may hold several challenges ("Basic realm=x, Bearer realm=y").
 */

export interface BearerChallenge {
  scheme: 'bearer';
  realm: string;
  service: string | undefined;
  scope: string | undefined;
  /** e.g. "insufficient_scope", "invalid_token". */
  error: string | undefined;
}

export interface BasicChallenge {
  scheme: 'basic';
  realm: string | undefined;
}

export type Challenge = BearerChallenge | BasicChallenge;

interface RawChallenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

function parseRaw(header: string): RawChallenge[] {
  const out: RawChallenge[] = [];
  let s = header.trim();
  let current: RawChallenge | null = null;
  while (s.length > 0) {
    s = s.replace(/^[\s,]+/, '');
    const name = TOKEN.exec(s)?.[0];
    if (!name) break;
    s = s.slice(name.length);
    const afterWs = s.replace(/^\s+/, '');
    // "name=" is a parameter of the current challenge; "name" followed by anything else starts one.
    if (current && afterWs.startsWith('=') && !afterWs.startsWith('==')) {
      s = afterWs.slice(1).replace(/^\s+/, '');
      let value = '';
      if (s.startsWith('"')) {
        let i = 1;
        for (; i < s.length && s[i] !== '"'; i++) value += s[i] === '\\' && i + 1 < s.length ? s[++i] : s[i];
        s = s.slice(i + 1);
      } else {
        value = /^[^\s,]*/.exec(s)?.[0] ?? '';
        s = s.slice(value.length);
      }
      current.params[name.toLowerCase()] = value;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    s = afterWs;
    // token68 form ("Negotiate abc=="): skip it, registries never send it.
    const t68 = /^[A-Za-z0-9._~+/-]+=*(?=\s*(,|$))/.exec(s);
    if (t68 && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=[^=]/.test(s)) s = s.slice(t68[0].length);
  }
  return out;
}

/**
 * The challenges a registry offers, Bearer ones first (the stronger scheme when both are sent).
 * Schemes other than Basic and Bearer, and Bearer without a realm, are left out.
 */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  for (const raw of parseRaw(header)) {
    if (raw.scheme === 'bearer' && raw.params.realm) {
      out.push({ scheme: 'bearer', realm: raw.params.realm, service: raw.params.service, scope: raw.params.scope, error: raw.params.error });
    } else if (raw.scheme === 'basic') {
      out.push({ scheme: 'basic', realm: raw.params.realm });
    }
  }
  return out.sort((a, b) => (a.scheme === b.scheme ? 0 : a.scheme === 'bearer' ? -1 : 1));
}

/** The challenge to answer: the first Bearer, else Basic, else null. */
export function parseChallenge(header: string | null | undefined): Challenge | null {
  return parseChallenges(header)[0] ?? null;
}

/** Two challenges that lead to the same credentials/token (used to tell a changed challenge). */
export function sameChallenge(a: Challenge | null | undefined, b: Challenge | null | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.scheme === 'basic' || b.scheme === 'basic') return a.scheme === b.scheme;
  return a.realm === b.realm && a.service === b.service;
}

/**
 * A registry's challenge as remembered across restarts (the Store key `registry:challenges`):
 * only the public parameters every anonymous client is sent, never credentials or tokens.
 */
export type KnownChallenge = { scheme: 'none' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

/** Per registry API host ("ghcr.io", "127.0.0.1:5000"). */
export type KnownChallenges = Record<string, KnownChallenge>;

/** The form to remember; undefined for a realm that is not a plain http(s) URL (e.g. one with user:password@). */
export function toKnownChallenge(c: Challenge | 'none'): KnownChallenge | undefined {
  if (c === 'none') return { scheme: 'none' };
  if (c.scheme === 'basic') return { scheme: 'basic' };
  let url: URL;
  try {
    url = new URL(c.realm);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined;
  return c.service === undefined ? { scheme: 'bearer', realm: c.realm } : { scheme: 'bearer', realm: c.realm, service: c.service };
}

/** Reads one remembered entry (from a store: anything); undefined when it is not a valid one. */
export function fromKnownChallenge(v: unknown): Challenge | 'none' | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.scheme === 'none') return 'none';
  if (o.scheme === 'basic') return { scheme: 'basic', realm: undefined };
  if (o.scheme !== 'bearer' || typeof o.realm !== 'string' || !o.realm) return undefined;
  if (o.service !== undefined && typeof o.service !== 'string') return undefined;
  const c: BearerChallenge = { scheme: 'bearer', realm: o.realm, service: o.service, scope: undefined, error: undefined };
  return toKnownChallenge(c) ? c : undefined;
}
