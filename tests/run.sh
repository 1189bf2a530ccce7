#!/usr/bin/env bash
# The whole test suite (README: `npm test`). Sets up the real test bed where it can: on a Debian
# machine as root it installs and starts Docker engines, registries and Compose (tests/bed/);
# elsewhere it uses the Docker engine that already runs. Then: type-checks, the portability
# check, a build, and every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step "installing the test bed (tests/bed/install.sh)"
  bash tests/bed/install.sh
fi
step "starting the test bed (tests/bed/up.sh)"
bash tests/bed/up.sh

step "type-check"
npm run --silent typecheck
step "portability: core and handlers run on Workers"
bash scripts/check-portable.sh
step "build"
npm run --silent build

step "unit and integration tests"
mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile=test-artifacts/vitest.json "$@" || status=$?
# A plain closing line that any CI reads: "N passed, N failed".
node -e 'const r=require("./test-artifacts/vitest.json");console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""))' || true
exit "$status"
