#!/usr/bin/env bash
# Installs what the real test bed needs on a fresh Debian 12 machine (run as root).
#   - Debian 12: Engine 20.10 (docker.io), containerd, runc, tini, CNCF distribution
#     (docker-registry), htpasswd, busybox-static, skopeo, oathtool, openssl, ...
#   - Debian 13: Engine 26.1 unpacked into /opt/docker26 (never installed as a package),
#     Compose v2 and buildx copied into /usr/libexec/docker/cli-plugins/.
# No system dockerd/containerd/registry is ever started: services are masked and
# policy-rc.d forbids starting them during the install. Idempotent; fast when done.
set -euo pipefail

WD=${WD_ROOT:-/tmp/wd}
LOG_DIR=$WD/logs
mkdir -p "$LOG_DIR" "$WD/install"
LOG=$LOG_DIR/install.log
: >"$LOG"
say() { printf '[install] %s\n' "$*"; printf '[install %s] %s\n' "$(date +%T)" "$*" >>"$LOG"; }
die() { say "ERROR: $*"; say "see $LOG"; exit 1; }
run() { "$@" >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "failed: $*"; }; }

[ "$(id -u)" = 0 ] || die "must run as root"
export DEBIAN_FRONTEND=noninteractive

PKGS=(docker.io containerd runc tini docker-registry apache2-utils busybox-static skopeo
      oathtool openssl debootstrap curl ca-certificates jq redis-server chromium
      fonts-wqy-microhei   # a CJK font, so the web UI's Chinese screenshots show text
      systemd)             # systemd-analyze verify checks deploy/watch-docker-agent.service
PLUGIN_DIR=/usr/libexec/docker/cli-plugins
D26=/opt/docker26
T13=$WD/install/t13
SERVICES=(docker.service docker.socket containerd.service docker-registry.service)

have_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# --- keep any system docker/containerd/registry service from running --------------
mask_services() {
  if have_systemd; then
    for s in "${SERVICES[@]}"; do
      systemctl stop "$s" >>"$LOG" 2>&1 || true
      systemctl mask "$s" >>"$LOG" 2>&1 || true
    done
    say "systemd: stopped and masked ${SERVICES[*]}"
  else
    say "no systemd running (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo '?')): nothing to mask"
    # Belt and braces for sysvinit-style starts: disable the init scripts if present.
    for s in docker docker-registry containerd; do
      [ -x /etc/init.d/$s ] && update-rc.d "$s" disable >>"$LOG" 2>&1 || true
    done
  fi
}

# --- Debian 12 packages -------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done

if [ ${#missing[@]} -eq 0 ]; then
  say "Debian 12 packages already installed"
else
  say "apt-get update"
  run apt-get update -q
  avail=()
  for p in "${missing[@]}"; do
    if apt-cache show "$p" >/dev/null 2>&1; then avail+=("$p"); else say "WARNING: package '$p' does not exist here, skipped"; fi
  done
  if [ ${#avail[@]} -gt 0 ]; then
    # policy-rc.d 'exit 101' keeps invoke-rc.d from starting dockerd/registry during install.
    # An existing policy-rc.d is saved and put back afterwards.
    had_policy=0
    [ -e /usr/sbin/policy-rc.d ] && { cp -a /usr/sbin/policy-rc.d "$WD/install/policy-rc.d.saved"; had_policy=1; }
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    # With systemd, mask first so deb-systemd-invoke cannot start them either.
    if have_systemd; then for s in "${SERVICES[@]}"; do systemctl mask "$s" >>"$LOG" 2>&1 || true; done; fi
    say "apt-get install ${avail[*]}"
    rc=0
    apt-get install -y -q --no-install-recommends "${avail[@]}" >>"$LOG" 2>&1 || rc=$?
    if [ $had_policy = 1 ]; then cp -a "$WD/install/policy-rc.d.saved" /usr/sbin/policy-rc.d; else rm -f /usr/sbin/policy-rc.d; fi
    [ $rc = 0 ] || { tail -n 30 "$LOG" >&2; die "apt-get install failed"; }
  fi
fi
mask_services

# A system dockerd must not be running (it would create docker0 on 172.17/16).
if pgrep -x dockerd >/dev/null 2>&1; then
  for pid in $(pgrep -x dockerd); do
    if ! tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- '--bridge=none'; then
      say "WARNING: a dockerd without --bridge=none is running (pid $pid); stopping it"
      kill "$pid" 2>/dev/null || true
    fi
  done
fi
if ip link show docker0 >/dev/null 2>&1; then
  say "WARNING: docker0 exists; removing it"
  ip link delete docker0 >>"$LOG" 2>&1 || true
fi

# --- Debian 13 (trixie): Engine 26.1, Compose v2, buildx ------------------------------
need26=1
if [ -x $D26/usr/sbin/dockerd ] && $D26/usr/sbin/dockerd --version 2>/dev/null | grep -q 'version 26\.1'; then need26=0; fi
need_compose=1; [ -x $PLUGIN_DIR/docker-compose ] && need_compose=0
need_buildx=1;  [ -x $PLUGIN_DIR/docker-buildx ] && need_buildx=0

if [ $need26 = 0 ] && [ $need_compose = 0 ] && [ $need_buildx = 0 ]; then
  say "Engine 26.1, compose and buildx already present"
else
  mkdir -p "$T13/lists/partial" "$T13/cache/archives/partial"
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$T13/sources.list"
  o=(-o Dir::Etc::SourceList="$T13/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$T13/lists" -o Dir::Cache="$T13/cache")
  say "fetching trixie package lists ($mirror)"
  run apt-get "${o[@]}" update -q
  want=(); [ $need26 = 1 ] && want+=(docker.io); [ $need_compose = 1 ] && want+=(docker-compose)
  [ $need_buildx = 1 ] && want+=(docker-buildx)
  say "downloading trixie ${want[*]}"
  rm -f "$T13"/*.deb
  (cd "$T13" && apt-get "${o[@]}" download "${want[@]}") >>"$LOG" 2>&1 || die "apt-get download ${want[*]} failed"
  if [ $need26 = 1 ]; then
    rm -rf "$D26"; mkdir -p "$D26"
    dpkg -x "$T13"/docker.io_*.deb "$D26"
    say "Engine: $($D26/usr/sbin/dockerd --version)"
  fi
  mkdir -p "$PLUGIN_DIR"
  for pkg in docker-compose docker-buildx; do
    deb=$(ls "$T13"/${pkg}_*.deb 2>/dev/null | head -n1 || true)
    [ -n "$deb" ] || continue
    x=$T13/x-$pkg; rm -rf "$x"; mkdir -p "$x"; dpkg -x "$deb" "$x"
    install -m 755 "$x/usr/libexec/docker/cli-plugins/$pkg" "$PLUGIN_DIR/$pkg"
    rm -rf "$x"
    say "installed $PLUGIN_DIR/$pkg"
  done
  rm -f "$T13"/*.deb
fi

# --- the CLI: /usr/local/bin/docker (28.x) must stay first in PATH ---------------------
cli=$(command -v docker || true)
if [ "$cli" != /usr/local/bin/docker ]; then
  say "WARNING: 'docker' resolves to '${cli:-nothing}', expected /usr/local/bin/docker (28.x); the bed scripts put /usr/local/bin first in PATH"
fi
say "versions: CLI $(docker --version 2>/dev/null | awk '{print $3}' | tr -d ,), \
e20 $(/usr/sbin/dockerd --version 2>/dev/null | awk '{print $3}' | tr -d ,), \
e26 $($D26/usr/sbin/dockerd --version 2>/dev/null | awk '{print $3}' | tr -d ,), \
compose $($PLUGIN_DIR/docker-compose version --short 2>/dev/null || echo '?'), \
registry $(docker-registry --version 2>/dev/null | awk '{print $3}')"
say "done"
