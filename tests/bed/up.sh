#!/usr/bin/env bash
# Starts the real test bed and writes /tmp/wd/bed.env (KEY=value lines) for the tests.
#
#   Engine 26.1  unix:///tmp/wd/e26/docker.sock   (/opt/docker26/usr/sbin/dockerd)
#   Engine 20.10 unix:///tmp/wd/e20/docker.sock   (Debian 12 /usr/sbin/dockerd)
#   registry     127.0.0.1:5000  no auth, notifications -> http://127.0.0.1:5010/registry-events
#   registry     127.0.0.1:5001  basic auth (htpasswd, bcrypt)
#   registry     127.0.0.1:5002  token auth, token server tests/bed/token-server.mjs on 127.0.0.1:5003
#   image        wd-busybox:latest in both engines, pushed as 127.0.0.1:500X/wd/busybox:latest
#
# Fallback (no docker-registry binary, e.g. Docker Desktop): uses the engine that already
# answers, runs the registries as registry:2 containers with --network host.
# Idempotent: whatever already runs and answers is left alone.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WD=/tmp/wd
LOGS=$WD/logs
RUN=$WD/run
mkdir -p "$LOGS" "$RUN"
export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export DOCKER_CONFIG=$WD/docker-config
mkdir -p "$DOCKER_CONFIG"; chmod 700 "$DOCKER_CONFIG"
# The bed's docker CLI calls must never pick up a developer's DOCKER_CONTEXT.
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
ORIG_DOCKER_HOST=${DOCKER_HOST:-}
unset DOCKER_HOST

T0=$(date +%s.%N)
LOG=$LOGS/up.log
say() { printf '[up] %s\n' "$*"; printf '[up %s] %s\n' "$(date +%T)" "$*" >>"$LOG"; }
die() { say "ERROR: $*"; exit 1; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

REPO=wd/busybox
IMAGE=wd-busybox:latest
REG_PLAIN=127.0.0.1:5000
REG_BASIC=127.0.0.1:5001
REG_TOKEN=127.0.0.1:5002
TOKEN_LISTEN=127.0.0.1:5003
TOKEN_URL=http://$TOKEN_LISTEN
TOKEN_ISSUER=wd-token-issuer
TOKEN_SERVICE=wd-registry
BASIC_USER=wduser
TOKEN_USER=wdtoken
ACCEPT='application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'

# ---- secrets: generated once per bed (kept until down.sh --purge) --------------------
SECRETS=$WD/secrets.env
if [ ! -s "$SECRETS" ]; then
  umask 077
  {
    echo "BASIC_PASS=$(openssl rand -hex 12)"
    echo "TOKEN_PASS=$(openssl rand -hex 12)"
    echo "HTTP_SECRET=$(openssl rand -hex 16)"
  } >"$SECRETS.tmp"
  mv "$SECRETS.tmp" "$SECRETS"
  umask 022
fi
# shellcheck disable=SC1090
. "$SECRETS"

# ---- helpers ------------------------------------------------------------------------
# alive PIDFILE: the process exists and is not a zombie (daemons are reparented to PID 1)
alive() {
  [ -s "$1" ] || return 1
  local pid st; pid=$(cat "$1")
  st=$( { sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1; } 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" || true; }
ping_sock() { curl -sf --max-time 2 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }

# wait_for DESCRIPTION LOGFILE COMMAND...: poll for up to 30 s, then show the log tail and fail
wait_for() {
  local what=$1 log=$2; shift 2
  local i
  for i in $(seq 1 150); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  say "$what not ready after 30 s; last lines of $log:"
  tail -n 40 "$log" >&2 || true
  die "$what did not start"
}

# start_bg NAME LOGFILE COMMAND...: start a daemon in its own session, pid in $RUN/NAME.pid
start_bg() {
  local name=$1 log=$2; shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

# ---- mode -----------------------------------------------------------------------------
MODE=native
if ! command -v docker-registry >/dev/null 2>&1; then
  if DOCKER_HOST=$ORIG_DOCKER_HOST docker version >/dev/null 2>&1; then
    MODE=fallback
  else
    die "docker-registry is not installed and no Docker engine answers: run tests/bed/install.sh (as root) first"
  fi
fi
echo "$MODE" >"$RUN/mode"
say "mode: $MODE"

# ---- token key + certificate ------------------------------------------------------------
mkdir -p "$WD/token"
if [ ! -s "$WD/token/key.pem" ] || [ ! -s "$WD/token/cert.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$TOKEN_ISSUER" \
    -keyout "$WD/token/key.pem" -out "$WD/token/cert.pem" >>"$LOGS/openssl.log" 2>&1
  chmod 644 "$WD/token/key.pem"   # registry:2 containers (fallback) read the cert dir as non-root
  say "generated token signing key + certificate"
fi

# ---- engines (native) -------------------------------------------------------------------
NETFLAGS=(--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false)
ENGINES=()
WD_DOCKER_HOST=; WD_DOCKER_HOST_20=; WD_API_26=; WD_API_20=

engine_start() { # NAME DOCKERD EXTRA_PATH
  local name=$1 bin=$2 xpath=$3 dir=$WD/$1
  local sock=$dir/docker.sock
  if ping_sock "$sock"; then say "engine $name already up"; return 0; fi
  if alive "$dir/pid"; then say "engine $name starting (pid $(cat "$dir/pid"))"; return 0; fi
  # Left over from an engine that was killed (e.g. the session ended): shims, container
  # processes (cgroup parent wd-NAME) and mounts. Without this the new dockerd waits ~10 s.
  local p cmd pids cg m
  for p in /proc/[0-9]*; do
    cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null || true)
    case $cmd in
      *containerd-shim*"-address $dir/"*|*"containerd --config $dir/"*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
    esac
  done
  for cg in /sys/fs/cgroup/*/wd-$name /sys/fs/cgroup/wd-$name; do
    [ -d "$cg" ] || continue
    pids=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || { say "engine $name: killing leftover container processes"; kill -KILL $pids 2>/dev/null || true; }
  done
  for m in $(awk -v p="$dir/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  mkdir -p "$dir/data" "$dir/exec"
  echo '{}' >"$dir/daemon.json"      # never read /etc/docker/daemon.json
  rm -f "$sock"
  # dockerd starts its own managed containerd (state under exec-root/containerd) as long as
  # no system containerd socket exists at /run/containerd/containerd.sock.
  start_bg "dockerd-$name" "$LOGS/dockerd-$name.log" env PATH="$xpath:$PATH" "$bin" \
    --config-file "$dir/daemon.json" \
    --host "unix://$sock" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/pid" \
    "${NETFLAGS[@]}" --cgroup-parent "wd-$name" --shutdown-timeout 3 \
    --containerd-namespace "wd-$name" --containerd-plugins-namespace "wd-$name-plugins"
  say "engine $name starting: $("$bin" --version)"
}

if [ "$MODE" = native ]; then
  if [ -e /run/containerd/containerd.sock ]; then
    say "WARNING: /run/containerd/containerd.sock exists: both engines will share that system containerd (separate namespaces)"
  fi
  [ -x /opt/docker26/usr/sbin/dockerd ] || die "/opt/docker26/usr/sbin/dockerd missing: run tests/bed/install.sh"
  engine_start e26 /opt/docker26/usr/sbin/dockerd /opt/docker26/usr/sbin:/opt/docker26/usr/bin
  if [ -x /usr/sbin/dockerd ]; then
    engine_start e20 /usr/sbin/dockerd /usr/sbin:/usr/bin
  else
    say "WARNING: /usr/sbin/dockerd (Engine 20.10) missing: only Engine 26.1 runs"
  fi
fi

# ---- registries ----------------------------------------------------------------------------
# One config for both modes: in fallback the bed dirs are bind-mounted at the same paths.
reg_config() { # NAME PORT AUTH
  local name=$1 port=$2 auth=$3 dir=$WD/reg-$1
  mkdir -p "$dir/data"
  {
    cat <<EOF
version: 0.1
log:
  level: info
  formatter: text
  fields:
    instance: wd-reg-$name
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $HTTP_SECRET
EOF
    case $auth in
      basic) cat <<EOF
auth:
  htpasswd:
    realm: wd-basic-registry
    path: $dir/htpasswd
EOF
      ;;
      token) cat <<EOF
auth:
  token:
    realm: $TOKEN_URL/token
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $WD/token/cert.pem
EOF
      ;;
    esac
    if [ "$name" = plain ]; then cat <<EOF
notifications:
  endpoints:
    - name: watchdocker
      url: http://127.0.0.1:5010/registry-events
      timeout: 2s
      threshold: 3
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
EOF
    fi
  } >"$dir/config.yml.new"
  if cmp -s "$dir/config.yml.new" "$dir/config.yml"; then rm -f "$dir/config.yml.new"; return 1; fi
  mv "$dir/config.yml.new" "$dir/config.yml"
  return 0   # changed
}

reg_healthy() { # NAME PORT: answers with the expected status
  local code
  case $1 in
    plain) code=$(http_code "http://127.0.0.1:$2/v2/"); [ "$code" = 200 ] ;;
    basic) code=$(http_code -u "$BASIC_USER:$BASIC_PASS" "http://127.0.0.1:$2/v2/"); [ "$code" = 200 ] ;;
    token) code=$(http_code "http://127.0.0.1:$2/v2/"); [ "$code" = 401 ] ;;
  esac
}

reg_stop() { # NAME
  if [ "$MODE" = fallback ]; then docker rm -f "wd-reg-$1" >/dev/null 2>&1 || true; return; fi
  local pf=$RUN/reg-$1.pid
  if alive "$pf"; then kill "$(cat "$pf")" 2>/dev/null || true; sleep 0.3; fi
  rm -f "$pf"
}

reg_start() { # NAME PORT AUTH
  local name=$1 port=$2 auth=$3 dir=$WD/reg-$1 changed=0
  reg_config "$name" "$port" "$auth" && changed=1
  if [ "$auth" = basic ] && ! { [ -s "$dir/htpasswd" ] && htpasswd -vb "$dir/htpasswd" "$BASIC_USER" "$BASIC_PASS" >/dev/null 2>&1; }; then
    htpasswd -Bbc "$dir/htpasswd" "$BASIC_USER" "$BASIC_PASS" >>"$LOGS/htpasswd.log" 2>&1
    changed=1
  fi
  local running=0
  if [ "$MODE" = fallback ]; then
    [ "$(docker inspect -f '{{.State.Running}}' "wd-reg-$name" 2>/dev/null || true)" = true ] && running=1
  else
    alive "$RUN/reg-$name.pid" && running=1
  fi
  if [ $running = 1 ] && [ $changed = 0 ] && reg_healthy "$name" "$port"; then
    say "registry $name ($port) already up"; return 0
  fi
  [ $running = 1 ] && { say "registry $name: restarting (config changed or unhealthy)"; reg_stop "$name"; }
  if [ "$(http_code "http://127.0.0.1:$port/")" != 000 ]; then
    die "127.0.0.1:$port is already taken by another process"
  fi
  if [ "$MODE" = fallback ]; then
    docker rm -f "wd-reg-$name" >/dev/null 2>&1 || true
    docker run -d --name "wd-reg-$name" --network host --restart unless-stopped \
      -v "$dir:$dir" -v "$WD/token:$WD/token:ro" registry:2 "$dir/config.yml" >>"$LOG" 2>&1 \
      || die "could not start registry:2 container wd-reg-$name"
    ( docker logs -f "wd-reg-$name" >>"$LOGS/registry-$name.log" 2>&1 & )
  else
    start_bg "reg-$name" "$LOGS/registry-$name.log" docker-registry serve "$dir/config.yml"
  fi
  say "registry $name starting on 127.0.0.1:$port"
}

reg_start plain 5000 none
reg_start basic 5001 basic
reg_start token 5002 token

# ---- token server ------------------------------------------------------------------------
token_healthy() {
  [ "$(http_code -u "$TOKEN_USER:$TOKEN_PASS" "$TOKEN_URL/token?service=$TOKEN_SERVICE")" = 200 ]
}
if alive "$RUN/token-server.pid" && token_healthy; then
  say "token server already up"
else
  if alive "$RUN/token-server.pid"; then kill "$(cat "$RUN/token-server.pid")" 2>/dev/null || true; sleep 0.3; fi
  [ "$(http_code "$TOKEN_URL/")" = 000 ] || die "$TOKEN_LISTEN is already taken by another process"
  start_bg token-server "$LOGS/token-server.log" env \
    WD_TOKEN_LISTEN=$TOKEN_LISTEN WD_TOKEN_KEY="$WD/token/key.pem" WD_TOKEN_CERT="$WD/token/cert.pem" \
    WD_TOKEN_ISSUER=$TOKEN_ISSUER WD_TOKEN_SERVICE=$TOKEN_SERVICE \
    WD_TOKEN_USER=$TOKEN_USER WD_TOKEN_PASS="$TOKEN_PASS" \
    node "$HERE/token-server.mjs"
  say "token server starting on $TOKEN_URL"
fi

# ---- wait for everything ---------------------------------------------------------------------
if [ "$MODE" = native ]; then
  wait_for "engine e26" "$LOGS/dockerd-e26.log" ping_sock "$WD/e26/docker.sock"
  WD_DOCKER_HOST=unix://$WD/e26/docker.sock
  ENGINES+=("$WD_DOCKER_HOST")
  if [ -x /usr/sbin/dockerd ]; then
    wait_for "engine e20" "$LOGS/dockerd-e20.log" ping_sock "$WD/e20/docker.sock"
    WD_DOCKER_HOST_20=unix://$WD/e20/docker.sock
    ENGINES+=("$WD_DOCKER_HOST_20")
  fi
else
  WD_DOCKER_HOST=$ORIG_DOCKER_HOST
  if [ -z "$WD_DOCKER_HOST" ]; then
    WD_DOCKER_HOST=$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || echo unix:///var/run/docker.sock)
  fi
  ENGINES+=("$WD_DOCKER_HOST")
fi
api_of() { DOCKER_HOST=$1 docker version --format '{{.Server.APIVersion}}'; }
WD_API_26=$(api_of "$WD_DOCKER_HOST")
[ -n "$WD_DOCKER_HOST_20" ] && WD_API_20=$(api_of "$WD_DOCKER_HOST_20")
say "engines up: ${ENGINES[*]} (API ${WD_API_26}${WD_API_20:+, $WD_API_20})"

wait_for "registry plain" "$LOGS/registry-plain.log" reg_healthy plain 5000
wait_for "registry basic" "$LOGS/registry-basic.log" reg_healthy basic 5001
wait_for "registry token" "$LOGS/registry-token.log" reg_healthy token 5002
wait_for "token server" "$LOGS/token-server.log" token_healthy
say "registries + token server up ($(elapsed) s)"

export DOCKER_HOST=$WD_DOCKER_HOST

# ---- base image: FROM scratch + static busybox ------------------------------------------------
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE present in $DOCKER_HOST"
else
  ctx=$WD/build/wd-busybox
  rm -rf "$ctx"; mkdir -p "$ctx"
  bb=
  for c in /bin/busybox /usr/bin/busybox; do
    # static = ldd refuses it ("not a dynamic executable")
    if [ -x "$c" ] && ! ldd "$c" >/dev/null 2>&1; then bb=$c; break; fi
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ctx/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$ctx/group"
  if [ -n "$bb" ]; then
    cp "$bb" "$ctx/busybox"
    from_lines='FROM scratch
COPY busybox /bin/busybox'
  elif [ "$MODE" = fallback ]; then
    # Docker Desktop etc.: no static Linux busybox on the host; take it from the busybox image.
    from_lines='FROM busybox:1.36-musl AS bb
FROM scratch
COPY --from=bb /bin/busybox /bin/busybox'
  else
    die "no static busybox found (install busybox-static)"
  fi
  cat >"$ctx/Dockerfile" <<EOF
$from_lines
RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", "/tmp", "/etc", "/root", "/var/www"]
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY passwd group /etc/
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="wd-busybox" org.opencontainers.image.description="Watch Docker test bed base image"
CMD ["sh"]
EOF
  docker build --network none -t "$IMAGE" "$ctx" >>"$LOGS/build.log" 2>&1 \
    || { tail -n 30 "$LOGS/build.log" >&2; die "building $IMAGE failed"; }
  say "built $IMAGE in $DOCKER_HOST"
fi
if [ -n "$WD_DOCKER_HOST_20" ] && ! DOCKER_HOST=$WD_DOCKER_HOST_20 docker image inspect "$IMAGE" >/dev/null 2>&1; then
  # Same image ID in both engines.
  docker save "$IMAGE" | DOCKER_HOST=$WD_DOCKER_HOST_20 docker load >>"$LOGS/build.log" 2>&1 \
    || die "loading $IMAGE into Engine 20.10 failed"
  say "loaded $IMAGE into $WD_DOCKER_HOST_20"
fi

# ---- logins (stored in $DOCKER_CONFIG/config.json only) ----------------------------------------
login() { # REG USER PASS
  local want have
  want=$(printf '%s:%s' "$2" "$3" | base64 -w0)
  have=$(jq -r --arg r "$1" '.auths[$r].auth // empty' "$DOCKER_CONFIG/config.json" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then return 0; fi
  printf '%s' "$3" | docker login "$1" -u "$2" --password-stdin >>"$LOG" 2>&1 || die "docker login $1 failed"
  say "logged in to $1 as $2"
}
login "$REG_BASIC" "$BASIC_USER" "$BASIC_PASS"
login "$REG_TOKEN" "$TOKEN_USER" "$TOKEN_PASS"

# ---- push the base image to the three registries ------------------------------------------------
remote_digest() { # REG -> digest of wd/busybox:latest or empty
  local reg=$1 auth=()
  case $reg in
    "$REG_BASIC") auth=(-u "$BASIC_USER:$BASIC_PASS") ;;
    "$REG_TOKEN")
      local tok
      tok=$(curl -sf --max-time 3 "$TOKEN_URL/token?service=$TOKEN_SERVICE&scope=repository:$REPO:pull" | jq -r .token) || return 0
      auth=(-H "Authorization: Bearer $tok") ;;
  esac
  curl -sfI --max-time 3 "${auth[@]}" -H "Accept: $ACCEPT" "http://$reg/v2/$REPO/manifests/latest" 2>/dev/null \
    | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}' | tr -d '\r' || true
}
repo_digests=$(docker image inspect -f '{{join .RepoDigests " "}}' "$IMAGE")
for reg in "$REG_PLAIN" "$REG_BASIC" "$REG_TOKEN"; do
  d=$(remote_digest "$reg")
  if [ -n "$d" ] && [[ " $repo_digests " == *" $reg/$REPO@$d "* ]]; then
    say "$reg/$REPO:latest up to date ($d)"
    continue
  fi
  docker tag "$IMAGE" "$reg/$REPO:latest"
  docker push "$reg/$REPO:latest" >>"$LOGS/push.log" 2>&1 \
    || { tail -n 20 "$LOGS/push.log" >&2; die "docker push $reg/$REPO:latest failed"; }
  say "pushed $reg/$REPO:latest ($(remote_digest "$reg"))"
done

# ---- compose --------------------------------------------------------------------------------
WD_COMPOSE=0
if docker compose version >/dev/null 2>&1 && docker compose ls >/dev/null 2>&1; then WD_COMPOSE=1; fi

# ---- bed.env -----------------------------------------------------------------------------------
cat >"$WD/bed.env.tmp" <<EOF
WD_DOCKER_HOST=$WD_DOCKER_HOST
WD_DOCKER_HOST_20=$WD_DOCKER_HOST_20
WD_API_26=$WD_API_26
WD_API_20=$WD_API_20
WD_REG_PLAIN=$REG_PLAIN
WD_REG_BASIC=$REG_BASIC
WD_REG_BASIC_USER=$BASIC_USER
WD_REG_BASIC_PASS=$BASIC_PASS
WD_REG_TOKEN=$REG_TOKEN
WD_TOKEN_SERVER=$TOKEN_URL
WD_REG_TOKEN_USER=$TOKEN_USER
WD_REG_TOKEN_PASS=$TOKEN_PASS
WD_DOCKER_CONFIG=$DOCKER_CONFIG
WD_BASE_IMAGE=$IMAGE
WD_COMPOSE=$WD_COMPOSE
WD_ENGINES=${ENGINES[*]}
EOF
mv "$WD/bed.env.tmp" "$WD/bed.env"
say "wrote $WD/bed.env; bed up in $(elapsed) s"
