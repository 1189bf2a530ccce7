#!/usr/bin/env bash
# Stops the test bed started by up.sh: token server, registries, both engines (SIGTERM,
# wait, then SIGKILL), leftover shims/containers of the bed's engines, and unmounts
# anything left under /tmp/wd. `--purge` then removes /tmp/wd entirely.
# Only processes recorded by up.sh (pid files) or tied to /tmp/wd are touched.
set -euo pipefail

WD=/tmp/wd
RUN=$WD/run
PURGE=0
for a in "$@"; do
  case $a in
    --purge) PURGE=1 ;;
    -h|--help) echo "usage: $0 [--purge]"; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done
export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
say() { printf '[down] %s\n' "$*"; [ -d "$WD/logs" ] && printf '[down %s] %s\n' "$(date +%T)" "$*" >>"$WD/logs/down.log" || true; }

if [ ! -d "$WD" ]; then say "nothing to do ($WD does not exist)"; exit 0; fi

# alive = exists and is not a zombie (our daemons are reparented to PID 1, which may reap late)
alive_pid() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  local st
  st=$( { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1; } 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

NAMES=(); PIDS=(); LIMITS=()
add() { # NAME PID TIMEOUT_S
  alive_pid "$2" || return 0
  NAMES+=("$1"); PIDS+=("$2"); LIMITS+=("$3")
}
pidfile() { [ -s "$1" ] && cat "$1" || true; }

MODE=$(cat "$RUN/mode" 2>/dev/null || echo native)
if [ "$MODE" = fallback ]; then
  # the registries are containers of the engine that up.sh used
  h=$(sed -n 's/^WD_DOCKER_HOST=//p' "$WD/bed.env" 2>/dev/null || true)
  [ -n "$h" ] && export DOCKER_HOST=$h
  export DOCKER_CONFIG=$WD/docker-config
fi

# ---- who to stop ------------------------------------------------------------------------------
add "token server" "$(pidfile "$RUN/token-server.pid")" 5
for r in plain basic token; do
  if [ "$MODE" = fallback ]; then
    if docker rm -f "wd-reg-$r" >/dev/null 2>&1; then say "removed container wd-reg-$r"; fi
  fi
  add "registry $r" "$(pidfile "$RUN/reg-$r.pid")" 5
done
# dockerd stops its containers (--shutdown-timeout 3) and its managed containerd itself.
for e in e26 e20; do
  pid=$(pidfile "$WD/$e/pid"); [ -n "$pid" ] || pid=$(pidfile "$RUN/dockerd-$e.pid")
  add "engine $e" "$pid" 20
done

# Kill running containers first: dockerd would give each its own stop timeout (10 s default).
for e in e26 e20; do
  sock=$WD/$e/docker.sock
  [ -S "$sock" ] || continue
  ids=$(curl -sf --max-time 5 --unix-socket "$sock" http://localhost/containers/json | jq -r '.[].Id' 2>/dev/null || true)
  [ -n "$ids" ] || continue
  for id in $ids; do
    curl -sf --max-time 10 -o /dev/null --unix-socket "$sock" -X POST "http://localhost/containers/$id/kill" &
  done
  wait || true
  say "killed $(echo "$ids" | wc -l) running container(s) in $e"
done

# ---- SIGTERM all at once, wait, SIGKILL the rest -------------------------------------------------
for i in "${!PIDS[@]}"; do kill -TERM "${PIDS[$i]}" 2>/dev/null || true; done
start=$(date +%s)
while :; do
  left=0
  for i in "${!PIDS[@]}"; do
    [ -n "${PIDS[$i]}" ] || continue
    if ! alive_pid "${PIDS[$i]}"; then
      say "stopped ${NAMES[$i]} (pid ${PIDS[$i]})"; PIDS[$i]=; continue
    fi
    if [ $(( $(date +%s) - start )) -ge "${LIMITS[$i]}" ]; then
      say "${NAMES[$i]} (pid ${PIDS[$i]}) still running after ${LIMITS[$i]}s: SIGKILL"
      kill -KILL "${PIDS[$i]}" 2>/dev/null || true; PIDS[$i]=; continue
    fi
    left=1
  done
  [ $left = 1 ] || break
  sleep 0.1
done
rm -f "$RUN"/*.pid
# A managed containerd left behind (its dockerd was SIGKILLed).
for e in e26 e20; do
  pid=$(pidfile "$WD/$e/exec/containerd/containerd.pid")
  if alive_pid "$pid"; then say "killing leftover containerd of $e (pid $pid)"; kill -KILL "$pid" 2>/dev/null || true; fi
done

# Shims and container processes that outlived their engine: only those tied to /tmp/wd.
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null || true)
  case $cmd in
    *containerd-shim*"-address $WD/"*|*"containerd --config $WD/"*|*"dockerd --config-file $WD/"*)
      say "killing leftover pid $pid: ${cmd:0:100}"
      kill -KILL "$pid" 2>/dev/null || true ;;
  esac
done
# Container processes live in the bed's cgroups (--cgroup-parent wd-e26 / wd-e20).
for e in e26 e20; do
  for cg in /sys/fs/cgroup/*/wd-$e /sys/fs/cgroup/wd-$e; do
    [ -d "$cg" ] || continue
    pids=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)
    if [ -n "$pids" ]; then
      say "killing leftover container processes of $e: $(echo $pids)"
      kill -KILL $pids 2>/dev/null || true
      sleep 0.2
    fi
    # remove the (now empty) cgroup tree, deepest first
    find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
done

# ---- mounts (overlay, shm, netns, ...) under /tmp/wd -------------------------------------------
mounts=$(awk -v p="$WD/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r || true)
if [ -n "$mounts" ]; then
  n=0
  while read -r m; do
    m=$(printf "%b" "$m")   # /proc/mounts escapes spaces as \040
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "WARNING: could not unmount $m"
    n=$((n + 1))
  done <<<"$mounts"
  say "unmounted $n leftover mount(s)"
fi

rm -f "$WD/bed.env"
if [ "$PURGE" = 1 ]; then
  if awk -v p="$WD/" 'index($2, p) == 1 {f=1} END{exit !f}' /proc/mounts; then
    say "ERROR: mounts remain under $WD; not purging"; exit 1
  fi
  rm -rf "$WD"
  echo "[down] purged $WD"
else
  say "bed stopped (state kept in $WD; --purge removes it)"
fi
