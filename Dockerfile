# Watch Docker: an HTTP server that lists the containers of a Docker host and keeps them
# up to date.
#
#   docker build -t watch-docker .
#   docker run -d --name watch-docker -p 8080:8080 \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v watch-docker-data:/data \
#     watch-docker
#
# The same image runs an agent of the split deployment (README, "Running an agent"):
#   docker run -d --name watch-docker-agent --restart unless-stopped \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v watch-docker-agent-data:/data -e AGENT_URL=wss://… -e AGENT_HOST=web-1 \
#     -e AGENT_JOIN_TOKEN=wdj_… watch-docker agent
#
# Compose projects: also `-v /opt/stacks:/opt/stacks -e APP_PATH=/opt/stacks` (the same path
# inside and outside, so that relative bind mounts in compose files resolve on the host).
# The image carries the docker CLI and the Compose v2 plugin (client only, no daemon).
#
# Docker socket access without root: the server runs as the unprivileged `node` user
# (uid/gid 1000). The host's socket is owned by root and the host's `docker` group, mode
# 0660, and that group's id differs from host to host (and means nothing inside this image).
# `--group-add $(stat -c %g /var/run/docker.sock)` adds the socket's group id to the
# process's supplementary groups, so it can open the socket while staying non-root. With
# Compose: `group_add: ["<that gid>"]`. Whoever can talk to the Docker socket is root on the
# host in all but name: publish this server only with its authentication turned on.
#
# Works with the legacy builder and with BuildKit (no `# syntax=` line, no RUN --mount,
# no heredocs, no COPY --chmod). Optional build args fill the OCI labels, e.g.
#   --build-arg VERSION=$(node -p "require('./package.json').version") --build-arg REVISION=$(git rev-parse HEAD)

# ---- build: compile TypeScript -------------------------------------------------------------
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so that source edits reuse this layer. Only tsc runs here, so no
# package's install script is needed (they would fetch wrangler/workerd/sharp binaries).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web UI (Vite) and its bundle budget check; it lands in dist/web.
COPY web ./web
COPY scripts/check-web-budget.mjs ./scripts/
RUN npm run build

# ---- docker CLI + Compose v2 plugin, from Debian 13 (trixie) packages -----------------------
# Compose management and container shells run `docker compose …` and `docker exec -it …`.
# bookworm's docker.io is 20.10 without Compose v2; trixie's docker-cli (26.1) and
# docker-compose (v2) need only libc6 >= 2.34 (bookworm has 2.36). The packages are fetched
# with a separate, trixie-only apt configuration (the image's own apt state stays untouched;
# signatures checked with the image's Debian keyring) and only the two binaries reach the
# final image: no daemon, no containerd. DEBIAN_MIRROR: another Debian mirror (default: the
# one the base image's apt sources name).
FROM node:22-bookworm-slim AS docker-cli
ARG DEBIAN_MIRROR=""
RUN set -eu; \
    mirror="$DEBIAN_MIRROR"; \
    for f in /etc/apt/sources.list.d/*.sources; do \
      [ -n "$mirror" ] || [ ! -f "$f" ] || mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f"); \
    done; \
    [ -n "$mirror" ] || [ ! -f /etc/apt/sources.list ] || \
      mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list); \
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian; \
    t=/tmp/trixie; mkdir -p $t/lists/partial $t/cache/archives/partial $t/debs /out/usr/local/bin /out/usr/libexec/docker/cli-plugins; \
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >$t/sources.list; \
    o="-o Dir::Etc::SourceList=$t/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$t/lists -o Dir::Cache=$t/cache -o APT::Sandbox::User=root"; \
    apt-get $o update -q; \
    cd $t/debs; apt-get $o download docker-cli docker-compose; \
    dpkg -x docker-cli_*.deb $t/x; dpkg -x docker-compose_*.deb $t/x; \
    install -m 0755 $t/x/usr/bin/docker /out/usr/local/bin/docker; \
    install -m 0755 $t/x/usr/libexec/docker/cli-plugins/docker-compose /out/usr/libexec/docker/cli-plugins/docker-compose; \
    /out/usr/local/bin/docker --version; /out/usr/libexec/docker/cli-plugins/docker-compose version; \
    rm -rf $t

# ---- runtime: production dependencies + compiled JS only -----------------------------------
FROM node:22-bookworm-slim

ARG VERSION=""
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="watch-docker" \
      org.opencontainers.image.description="Keeps the containers on Docker hosts up to date, safely." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

ENV NODE_ENV=production WATCH_SERVER_ADDR=:8080 WATCH_STORE_DATA_DIR=/data

WORKDIR /app
# No runtime dependency needs an install script today: ssh2 (via dockerode) falls back to
# its pure-JS crypto, and its optional native helper cpu-features could not compile here
# anyway (no compiler in the slim image). Skipping scripts keeps npm 10 and npm 11 (which
# may skip them by policy) giving the same result.
# --omit=optional as well: the only optional runtime packages are that native helper and
# its build tools, and without it npm would keep typescript (a devDependency that valibot
# names as an optional peer, so npm counts it as "devOptional"). Should a runtime dependency
# ever need an optional platform binary, drop --omit=optional.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --no-update-notifier \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
# The web shell's PTY (node-pty) has its native binary in an optional per-platform package
# (@lydell/node-pty-linux-x64 …) that --omit=optional leaves out: it comes from the build
# stage, which installed this platform's optional packages.
COPY --from=build /app/node_modules/@lydell/ ./node_modules/@lydell/
COPY --from=build /app/dist ./dist
# The launcher (the entrypoint): `agent` gets its memory flags, other commands Node's defaults.
COPY bin ./bin
# `docker` (client only) and `docker compose`, for compose projects and container shells.
COPY --from=docker-cli /out/ /

# State (store) lives in /data, owned by the runtime user. The code stays root-owned and
# read-only for it.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 8080

# `watch-docker health`, for both commands of the image: with AGENT_HOST set (an agent) it checks
# that the agent's status file in /data is fresh and its link online; otherwise it asks the
# server's /healthz on WATCH_SERVER_ADDR (0.0.0.0, :: or no host mean 127.0.0.1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "dist/cli.js", "health"]

# `docker run … watch-docker` serves; `docker run … watch-docker agent` runs an agent
# (README, "Running an agent"; deploy/agent.compose.yaml).
ENTRYPOINT ["/app/bin/watch-docker"]
CMD ["serve"]
