#!/usr/bin/env bash
# The origin container's entry point: migrate, then become the server (one process, PID 1's
# signals go straight to node), with a V8 heap sized from the container's memory limit.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: docker-start.sh

Runs the database migrations, then execs the origin. The V8 heap limit is NODE_MAX_OLD_SPACE_MB
when set, else HEAP_SHARE_PCT (default 50) percent of the cgroup memory limit, else 768 MB. The
rest of the limit is left to what lives outside the V8 heap: the ONNX runtime and its models,
buffers, and the native side of pg.
TXT
}
case "${1:-}" in -h|--help) usage; exit 0 ;; esac

cd "$(dirname "${BASH_SOURCE[0]}")"

heap_mb() {
  if [ -n "${NODE_MAX_OLD_SPACE_MB:-}" ]; then
    echo "$NODE_MAX_OLD_SPACE_MB"
    return
  fi
  local limit=""
  if [ -r /sys/fs/cgroup/memory.max ]; then
    limit="$(cat /sys/fs/cgroup/memory.max)"
  elif [ -r /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
    limit="$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  fi
  # "max" or a huge number (cgroup v1's "no limit") means no limit was set.
  if [[ "$limit" =~ ^[0-9]+$ ]] && [ "$limit" -lt $((64 * 1024 * 1024 * 1024)) ]; then
    echo $((limit * ${HEAP_SHARE_PCT:-50} / 100 / 1024 / 1024))
  else
    echo 768
  fi
}

heap="$(heap_mb)"
if ! [[ "$heap" =~ ^[0-9]+$ ]] || [ "$heap" -lt 128 ]; then
  echo "docker-start: bad heap size '$heap'" >&2
  exit 78
fi

echo "docker-start: migrating" >&2
node origin/tools/cli/main.js migrate
echo "docker-start: starting the origin with --max-old-space-size=$heap" >&2
exec node --max-old-space-size="$heap" origin/src/main.js
