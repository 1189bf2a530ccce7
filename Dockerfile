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
COPY --from=build /app/dist ./dist

# State (store) lives in /data, owned by the runtime user. The code stays root-owned and
# read-only for it.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 8080

# node itself (there is no curl in the slim image). It follows WATCH_SERVER_ADDR, so it keeps
# working when the port is changed through the environment; 0.0.0.0, :: or no host mean
# 127.0.0.1. With the defaults it asks http://127.0.0.1:8080/healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const a=process.env.WATCH_SERVER_ADDR||':8080';const i=a.lastIndexOf(':');let h=a.slice(0,i).replace('[','').replace(']','');if(!h||h==='0.0.0.0'||h==='::')h='127.0.0.1';if(h.includes(':'))h='['+h+']';fetch('http://'+h+':'+(a.slice(i+1)||'8080')+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
