#!/usr/bin/env bash
# Proves src/core and src/handlers are portable:
#  1. they type-check without Node's types (tsconfig.core.json);
#  2. no file there imports node:*, dockerode, node-pty, pino or cloudflare:* (a direct check,
#     since a type-only import would pass the type-check);
#  3. the Worker entry bundles for the Workers runtime without nodejs_compat. wrangler only
#     warns about a node:* import and still exits 0, so its output is checked too.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.core.json --noEmit
npx tsc -p tsconfig.worker.json --noEmit
leaks=$(grep -rnE "from ['\"](node:|dockerode|node-pty|@lydell/node-pty|pino|cloudflare:)|import\(['\"](node:|dockerode|node-pty|pino|cloudflare:)|require\(" src/core src/handlers || true)
if [ -n "$leaks" ]; then echo "portable code imports a runtime-only module:"; echo "$leaks"; exit 1; fi
# wrangler.toml's [assets] directory (the web UI) must exist for the dry run.
[ -f dist/web/index.html ] || npm run --silent build:web
out=$(WRANGLER_SEND_METRICS=false npx wrangler deploy --dry-run --outdir .wrangler/dry-run 2>&1) || { echo "$out"; exit 1; }
if grep -qE "nodejs_compat|Could not resolve|built into node" <<<"$out"; then echo "$out"; echo "the Worker bundle pulls in a Node built-in"; exit 1; fi
echo "portable: core and handlers type-check without Node; the Worker bundles ($(grep -o 'Total Upload.*' <<<"$out"))"
