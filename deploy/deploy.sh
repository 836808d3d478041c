#!/usr/bin/env bash
# Deploys ragedge: the edge Worker with wrangler, the origin on the VPS over ssh.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: deploy/deploy.sh [--dry-run] edge|origin|full

  edge    wrangler deploy (the Worker and the chat site).
  origin  on the VPS, in this order:
            1. git push, take the server's deploy lock (run/deploy.lock: one deploy at a time),
               back up the database (scripts/backup.sh): a failed backup stops the deploy
               before anything on the server has changed;
            2. git pull --ff-only, tag the running image :previous, build the new image
               (the old container keeps serving while it builds);
            3. maintenance on: the nginx flag file and the edge KV flag;
            4. docker compose up -d origin (it migrates, then serves);
            5. poll the health check (bounded) until it answers 200;
            6. maintenance off, only now.
          If health never passes: the :previous image is put back and started, health is polled
          again, maintenance goes off and the script exits 1 saying so. If the rollback does
          not become healthy either, maintenance STAYS ON (readers see the styled 503, not
          errors) and the script exits 2 with the commands to look at.
  full    origin, then edge.

Settings (environment, or KEY=VALUE lines in deploy/deploy.env, which is not in git):
  DEPLOY_HOST         ssh destination, e.g. deploy@203.0.113.10          [required for origin]
  DEPLOY_DIR          checkout on the server                          [default /opt/ragedge]
  DEPLOY_BRANCH       branch to push and pull                         [default main]
  DEPLOY_GIT_REMOTE   local remote to push to                         [default origin]
  DEPLOY_COMPOSE      compose command on the server [default docker compose -f docker-compose.prod.yml]
  DEPLOY_IMAGE        the origin image, as named in the compose file  [default ragedge-origin]
  DEPLOY_HEALTH_URL   checked on the server with curl   [default http://127.0.0.1:8000/api/v1/health]
  DEPLOY_HEALTH_TRIES / DEPLOY_HEALTH_INTERVAL   bounded wait       [default 40 tries, 3 s apart]
  DEPLOY_MAINTENANCE_FLAG  the nginx flag file on the server [default $DEPLOY_DIR/run/maintenance.on]
  SSH / GIT / WRANGLER / DOCKER   commands (DOCKER runs on the server)
                      [default "ssh -o BatchMode=yes" / git / "npx wrangler" / docker]
TXT
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dry_run=0
mode=""
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --dry-run) dry_run=1 ;;
    edge|origin|full) [ -z "$mode" ] || { echo "deploy.sh: one mode only" >&2; exit 2; }; mode="$arg" ;;
    *) echo "deploy.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$mode" ] || { usage >&2; exit 2; }

env_file="${DEPLOY_ENV_FILE:-$ROOT/deploy/deploy.env}"
if [ -f "$env_file" ]; then
  for key in DEPLOY_HOST DEPLOY_DIR DEPLOY_BRANCH DEPLOY_GIT_REMOTE DEPLOY_COMPOSE DEPLOY_IMAGE \
    DEPLOY_HEALTH_URL DEPLOY_HEALTH_TRIES DEPLOY_HEALTH_INTERVAL DEPLOY_MAINTENANCE_FLAG; do
    [ -z "${!key:-}" ] || continue
    line="$(grep -E "^${key}=" "$env_file" | tail -n 1 || true)"
    [ -z "$line" ] || export "$key=${line#*=}"
  done
fi

host="${DEPLOY_HOST:-}"
dir="${DEPLOY_DIR:-/opt/ragedge}"
branch="${DEPLOY_BRANCH:-main}"
git_remote="${DEPLOY_GIT_REMOTE:-origin}"
compose="${DEPLOY_COMPOSE:-docker compose -f docker-compose.prod.yml}"
image="${DEPLOY_IMAGE:-ragedge-origin}"
health_url="${DEPLOY_HEALTH_URL:-http://127.0.0.1:8000/api/v1/health}"
tries="${DEPLOY_HEALTH_TRIES:-40}"
interval="${DEPLOY_HEALTH_INTERVAL:-3}"
flag="${DEPLOY_MAINTENANCE_FLAG:-$dir/run/maintenance.on}"
docker_cmd="${DOCKER:-docker}"
read -r -a ssh <<<"${SSH:-ssh -o BatchMode=yes}"
read -r -a git <<<"${GIT:-git}"
read -r -a wrangler <<<"${WRANGLER:-npx wrangler}"

[[ "$tries" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "deploy.sh: DEPLOY_HEALTH_TRIES must be 1..9999" >&2; exit 2; }
[[ "$interval" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "deploy.sh: DEPLOY_HEALTH_INTERVAL must be seconds" >&2; exit 2; }

log() { printf '[deploy %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
run() {
  if [ "$dry_run" = 1 ]; then printf 'would run: %s\n' "$*"; return 0; fi
  "$@"
}
# Every server-side step is one ssh call, run from the checkout, so it can be read in the log.
remote() { run "${ssh[@]}" "$host" "cd $(printf '%q' "$dir") && $1"; }

edge_flag() {
  if [ "$1" = on ]; then
    run "${wrangler[@]}" kv key put maintenance 1 --binding FLAGS --remote
  else
    run "${wrangler[@]}" kv key delete maintenance --binding FLAGS --remote
  fi
}

maintenance_on() {
  remote "mkdir -p $(printf '%q' "$(dirname "$flag")") && touch $(printf '%q' "$flag")"
  # nginx alone already guards the origin; the edge flag only spares the round trip.
  edge_flag on || log "warning: could not set the edge maintenance flag; nginx's flag is on"
  log "maintenance: ON"
}

maintenance_off() {
  local ok=0
  remote "rm -f $(printf '%q' "$flag")" || ok=1
  edge_flag off || { log "could not clear the edge flag: run '${wrangler[*]} kv key delete maintenance --binding FLAGS --remote'"; ok=1; }
  [ "$ok" = 0 ] && log "maintenance: OFF"
  return "$ok"
}

wait_healthy() {
  local i status
  for ((i = 1; i <= tries; i++)); do
    status="$(remote "curl -s -o /dev/null -m 5 -w '%{http_code}' $(printf '%q' "$health_url")" || true)"
    if [ "$status" = 200 ]; then
      log "health: 200 after $i check(s)"
      return 0
    fi
    log "health: ${status:-no answer} ($i/$tries)"
    [ "$dry_run" = 1 ] && return 0
    sleep "$interval"
  done
  return 1
}

deploy_edge() {
  log "edge: wrangler deploy"
  (cd "$ROOT" && run "${wrangler[@]}" deploy)
}

deploy_origin() {
  [ -n "$host" ] || { echo "deploy.sh: set DEPLOY_HOST (or deploy/deploy.env)" >&2; exit 2; }
  log "origin: pushing $branch to $git_remote"
  run "${git[@]}" -C "$ROOT" push "$git_remote" "$branch"

  # One deploy at a time: mkdir is atomic. Released on every exit, including a failed rollback.
  local lock
  lock="$(dirname "$flag")/deploy.lock"
  if ! remote "mkdir -p $(printf '%q' "$(dirname "$lock")") && mkdir $(printf '%q' "$lock")"; then
    log "FAILED: another deploy holds $lock on the server (if none is running: ssh $host rmdir $lock)"
    exit 1
  fi
  # shellcheck disable=SC2064 # expand now: the lock path is fixed for this run
  trap "remote $(printf '%q' "rmdir $(printf '%q' "$lock")") >/dev/null 2>&1 || true" EXIT

  log "origin: backing up the database"
  if ! remote "bash scripts/backup.sh --no-offsite"; then
    log "FAILED: the backup did not complete. Nothing on the server was changed; fix the backup first."
    exit 1
  fi

  log "origin: pulling and building (the running origin keeps serving)"
  remote "git pull --ff-only origin $(printf '%q' "$branch")"
  local has_previous=0
  if remote "$docker_cmd image inspect $image:latest >/dev/null 2>&1"; then
    remote "$docker_cmd tag $image:latest $image:previous"
    has_previous=1
  fi
  if ! remote "$compose build origin"; then
    log "FAILED: the image did not build. The old origin is still serving; nothing else changed."
    exit 1
  fi

  maintenance_on
  remote "$compose up -d --no-build origin"
  if wait_healthy; then
    maintenance_off || exit 1
    log "origin: deployed"
    return 0
  fi

  log "the new origin did not become healthy in $tries checks; its last log lines:"
  remote "$compose logs --tail 40 origin" >&2 || true
  if [ "$has_previous" = 0 ]; then
    log "ROLLBACK IMPOSSIBLE: there was no previous image (first deploy). Maintenance stays ON."
    log "Look at: ssh $host 'cd $dir && $compose logs origin'"
    exit 2
  fi
  log "rolling back to $image:previous"
  if remote "$docker_cmd tag $image:previous $image:latest && $compose up -d --no-build origin" && wait_healthy; then
    maintenance_off || true
    log "ROLLED BACK: the previous origin is serving again; the new version was NOT deployed."
    log "The database backup taken before this deploy is the newest file in the server's backup dir."
    exit 1
  fi
  log "ROLLBACK FAILED: the previous image is not healthy either. Maintenance stays ON."
  log "Look at: ssh $host 'cd $dir && $compose ps && $compose logs --tail 100 origin'"
  exit 2
}

case "$mode" in
  edge) deploy_edge ;;
  origin) deploy_origin ;;
  full) deploy_origin; deploy_edge ;;
esac
log "done: $mode"
