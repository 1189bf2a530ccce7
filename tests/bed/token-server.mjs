#!/usr/bin/env node
// A small Docker registry token server (the Docker Hub / ghcr.io "Bearer" flow) for the
// test bed. Plain Node, node: built-ins only.
//
//   GET  /token?service=S&scope=repository:NAME:pull[,push][&scope=...]   (optional Basic auth)
//   POST /token   (OAuth2 form: grant_type=password, username, password, service, scope)
//   GET  /stats          -> JSON request counters (benchmarks count token round trips)
//   POST /stats/reset    -> zero the counters
//   GET  /healthz        -> 200 "ok"
//
// Policy: anonymous -> pull only on any repository; the configured user -> pull, push,
// delete ("*") on any repository and registry:catalog:*. Bad credentials -> 401, also for
// a request without scope (what `docker login` sends).
//
// Configuration (environment):
//   WD_TOKEN_LISTEN   host:port to listen on                (127.0.0.1:5003)
//   WD_TOKEN_KEY      PEM private key (RSA -> RS256)        (/tmp/wd/token/key.pem)
//   WD_TOKEN_CERT     PEM certificate of that key           (/tmp/wd/token/cert.pem)
//   WD_TOKEN_ISSUER   "iss" claim, matches registry auth.token.issuer   (wd-token-issuer)
//   WD_TOKEN_SERVICE  "aud" claim, matches registry auth.token.service  (wd-registry)
//   WD_TOKEN_USER / WD_TOKEN_PASS   the one account                     (wdtoken / required)
//   WD_TOKEN_TTL      token lifetime in seconds                         (300)
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';

const env = process.env;
const [host, portStr] = (env.WD_TOKEN_LISTEN || '127.0.0.1:5003').split(/:(?=[0-9]+$)/);
const port = Number(portStr);
const keyPem = fs.readFileSync(env.WD_TOKEN_KEY || '/tmp/wd/token/key.pem', 'utf8');
const certPem = fs.readFileSync(env.WD_TOKEN_CERT || '/tmp/wd/token/cert.pem', 'utf8');
const issuer = env.WD_TOKEN_ISSUER || 'wd-token-issuer';
const service = env.WD_TOKEN_SERVICE || 'wd-registry';
const user = env.WD_TOKEN_USER || 'wdtoken';
const pass = env.WD_TOKEN_PASS;
const ttl = Number(env.WD_TOKEN_TTL || 300);
if (!pass) {
  console.error('token-server: WD_TOKEN_PASS is required');
  process.exit(2);
}
if (!host.startsWith('127.') && host !== 'localhost' && host !== '::1') {
  console.error(`token-server: refusing to listen on non-loopback address ${host}`);
  process.exit(2);
}

const privateKey = crypto.createPrivateKey(keyPem);
if (privateKey.asymmetricKeyType !== 'rsa') {
  console.error('token-server: only RSA keys (RS256) are supported');
  process.exit(2);
}
// x5c: STANDARD base64 (not base64url) of the DER certificate.
const x5c = [new crypto.X509Certificate(certPem).raw.toString('base64')];

const b64url = (buf) => Buffer.from(buf).toString('base64url');
function signJwt(claims) {
  const header = { typ: 'JWT', alg: 'RS256', x5c };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), privateKey);
  return `${input}.${b64url(sig)}`;
}

// ---- counters ---------------------------------------------------------------------
function freshStats() {
  return {
    since: new Date().toISOString(),
    requests: 0, // every HTTP request except /stats*, /healthz
    tokens: 0, // tokens issued
    tokenGet: 0,
    tokenPost: 0,
    anonymous: 0, // token requests without credentials
    authenticated: 0, // token requests with valid credentials
    denied: 0, // 401 answers (bad credentials)
    badRequest: 0,
    scopes: {}, // "repository:NAME:ACTIONS" as asked -> count
  };
}
let stats = freshStats();

// ---- scopes -----------------------------------------------------------------------
// "repository:NAME:pull,push" — NAME may contain ':' only in theory (a port); the
// actions are after the last ':'. A scope value may hold several space-separated scopes.
function parseScopes(values) {
  const out = [];
  for (const v of values) {
    for (const s of v.split(' ').filter(Boolean)) {
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      if (first < 0 || last === first) throw new Error(`bad scope "${s}"`);
      out.push({
        type: s.slice(0, first),
        name: s.slice(first + 1, last),
        actions: s.slice(last + 1).split(',').filter(Boolean),
        raw: s,
      });
    }
  }
  return out;
}

function grant(scopes, authed) {
  const merged = new Map();
  for (const sc of scopes) {
    let allowed;
    if (sc.type === 'repository') allowed = authed ? ['pull', 'push', 'delete', '*'] : ['pull'];
    else if (sc.type === 'registry' && sc.name === 'catalog') allowed = authed ? ['*'] : [];
    else allowed = [];
    const key = `${sc.type}\u0000${sc.name}`;
    const entry = merged.get(key) || { type: sc.type, name: sc.name, actions: [] };
    for (const a of sc.actions) {
      if (allowed.includes(a) && !entry.actions.includes(a)) entry.actions.push(a);
    }
    merged.set(key, entry);
  }
  // Like Docker Hub: entries with nothing granted stay, with an empty action list.
  return [...merged.values()];
}

function checkBasic(header) {
  // returns null (no credentials), true (valid), false (invalid)
  if (!header) return null;
  const m = /^Basic\s+(.+)$/i.exec(header);
  if (!m) return false;
  const dec = Buffer.from(m[1], 'base64').toString('utf8');
  const i = dec.indexOf(':');
  if (i < 0) return false;
  return safeEq(dec.slice(0, i), user) && safeEq(dec.slice(i + 1), pass);
}
function safeEq(a, b) {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

function send(res, code, body, headers = {}) {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'Content-Length': Buffer.byteLength(data),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(data);
}
function unauthorized(res, why) {
  stats.denied++;
  send(
    res,
    401,
    { errors: [{ code: 'UNAUTHORIZED', message: why }], details: why },
    { 'WWW-Authenticate': 'Basic realm="wd-token-server"' },
  );
}

function issue(res, { svc, scopeValues, creds, oauth, account }) {
  if (svc && svc !== service) {
    stats.badRequest++;
    return send(res, 400, { errors: [{ code: 'INVALID_REQUEST', message: `unknown service "${svc}"` }] });
  }
  let scopes;
  try {
    scopes = parseScopes(scopeValues);
  } catch (e) {
    stats.badRequest++;
    return send(res, 400, { errors: [{ code: 'INVALID_REQUEST', message: e.message }] });
  }
  for (const sc of scopes) stats.scopes[sc.raw] = (stats.scopes[sc.raw] || 0) + 1;
  if (creds === false) return unauthorized(res, 'invalid username or password');
  const authed = creds === true;
  if (authed) stats.authenticated++;
  else stats.anonymous++;

  const now = Math.floor(Date.now() / 1000);
  const access = grant(scopes, authed);
  const claims = {
    iss: issuer,
    sub: authed ? user : '',
    aud: svc || service,
    exp: now + ttl,
    nbf: now - 10,
    iat: now,
    jti: crypto.randomBytes(16).toString('hex'),
    access,
  };
  const token = signJwt(claims);
  stats.tokens++;
  const body = { token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() };
  if (oauth) body.scope = scopeValues.join(' ');
  console.log(
    `${new Date().toISOString()} token ${oauth ? 'POST' : 'GET'} ${authed ? user : 'anonymous'}` +
      `${account && account !== user ? ` (account=${account})` : ''} ` +
      `${access.map((a) => `${a.type}:${a.name}:${a.actions.join(',') || '-'}`).join(' ') || '(no scope)'}`,
  );
  return send(res, 200, body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, `http://${req.headers.host || 'localhost'}`);
  const path = url.pathname;
  if (path === '/healthz') return send(res, 200, 'ok');
  if (path === '/stats' && req.method === 'GET') return send(res, 200, stats);
  if (path === '/stats/reset' && req.method === 'POST') {
    stats = freshStats();
    return send(res, 200, stats);
  }
  stats.requests++;
  if (path !== '/token') return send(res, 404, { errors: [{ code: 'NOT_FOUND', message: path }] });

  if (req.method === 'GET') {
    stats.tokenGet++;
    const q = url.searchParams;
    return issue(res, {
      svc: q.get('service'),
      scopeValues: q.getAll('scope'),
      creds: checkBasic(req.headers.authorization),
      oauth: false,
      account: q.get('account'),
    });
  }
  if (req.method === 'POST') {
    stats.tokenPost++;
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      raw += c;
      if (raw.length > 65536) req.destroy();
    });
    req.on('end', () => {
      const f = new URLSearchParams(raw);
      const grantType = f.get('grant_type');
      if (grantType !== 'password') {
        // No refresh tokens are ever handed out.
        stats.badRequest++;
        return send(res, 400, { error: 'unsupported_grant_type' });
      }
      const creds = safeEq(f.get('username') || '', user) && safeEq(f.get('password') || '', pass);
      return issue(res, {
        svc: f.get('service'),
        scopeValues: f.getAll('scope'),
        creds,
        oauth: true,
        account: f.get('username'),
      });
    });
    return undefined;
  }
  return send(res, 405, { errors: [{ code: 'UNSUPPORTED', message: req.method }] }, { Allow: 'GET, POST' });
});

server.keepAliveTimeout = 5000;
server.listen(port, host, () => {
  console.log(`${new Date().toISOString()} token server on http://${host}:${port} issuer=${issuer} service=${service}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
