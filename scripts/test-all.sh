#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies and the services the tests need
# (Debian packages, pgvector built from source), starts them on loopback, runs every tier, and
# stops what it started. `npm test` and .ci/run both call this.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: scripts/test-all.sh [--no-install]

Runs lint, type check, unit tests, the integration suite on PostgreSQL + pgvector and again on
the embedded PGlite, the system tier (edge worker in workerd, nginx, Chromium, deploy and backup
scripts) once, then prints a per-tier summary.
  --no-install   skip apt and npm installs (services and node_modules must already be there)
TXT
}

install=1
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --no-install) install=0 ;;
    *) echo "unknown option: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip WRANGLER_SEND_METRICS=false NO_COLOR=1

if [ "$install" = 1 ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  bash scripts/services.sh install
fi
bash scripts/services.sh start
trap 'bash scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
eval "$(bash scripts/services.sh env)"

rm -rf test-output && mkdir -p test-output
status=0
step() {
  local name=$1; shift
  echo "=== $name ==="
  if ! "$@"; then
    echo "=== $name FAILED ==="
    status=1
  fi
}
tier() {
  local name=$1 db=$2 project=$3
  step "$name" env TEST_DB="$db" npx vitest run --project "$project" \
    --reporter=default --reporter=json --outputFile="test-output/$name.json"
}

step lint npx biome check .
step typecheck npm run --silent typecheck
step build-web node web/build.mjs --no-results
tier unit none unit
tier integration-postgres postgres integration
tier integration-pglite pglite integration
tier system postgres system

node scripts/test-summary.mjs test-output
exit "$status"
