#!/usr/bin/env bash
# Deploys ragedge: the edge Worker with wrangler, the origin on the VPS over ssh, blue-green.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: deploy/deploy.sh [--dry-run] [--maintenance] edge|origin|full
Runs from any directory; as the non-root deploy user on the server (over ssh).

  edge    builds the chat site (node web/build.mjs; npm ci first on a fresh clone), then
          wrangler deploy (the Worker and the site), from the repository.
  origin  on the VPS, blue-green (two compose services, origin-blue and origin-green):
            1. git push, take the server's deploy lock (run/deploy.lock: one deploy at a time),
               back up the database (scripts/backup.sh): a failed backup stops the deploy
               before anything on the server has changed;
            2. git pull --ff-only, tag the image :previous, build the new one (the serving
               color keeps serving);
            3. start the other color beside the serving one and poll its health (bounded);
            4. point nginx at it (nginx/rendered/upstream.conf, then a reload: nginx's old
               workers finish the requests they hold, new ones go to the new color);
            5. drain: wait (bounded) until the old color has no open chat streams, then stop
               it; a stream still open gets an SSE `shutting_down` event with `retry:` and the
               widget asks again, now of the new color.
          No maintenance page at all, unless a new migration says it needs one (a line
          `-- deploy: maintenance` in it) or --maintenance is given: then maintenance goes on
          (nginx flag file and the edge KV flag), the old color stops first, the new one starts
          and migrates, and maintenance goes off after its health passes.
          If the new color never becomes healthy it is stopped and the old one keeps serving
          (exit 1). With maintenance on, the :previous image is started again; if that is not
          healthy either, maintenance STAYS ON and the script exits 2.
  full    origin, then edge.
  Every failure is also sent as an alert (ALERT_COMMAND / ALERT_WEBHOOK_URL).

Settings (environment, or KEY=VALUE lines in deploy/deploy.env, which is not in git):
  DEPLOY_HOST         ssh destination, e.g. deploy@203.0.113.10          [required for origin]
  DEPLOY_DIR          checkout on the server                          [default /opt/ragedge]
  DEPLOY_BRANCH       branch to push and pull                         [default main]
  DEPLOY_GIT_REMOTE   local remote to push to                         [default origin]
  DEPLOY_COMPOSE      compose command on the server [default docker compose -f docker-compose.prod.yml]
  DEPLOY_IMAGE        the origin image, as named in the compose file  [default ragedge-origin]
  DEPLOY_BLUE_PORT / DEPLOY_GREEN_PORT   loopback ports of the colors [default 8001 / 8002]
  DEPLOY_HEALTH_PATH  checked on the server with curl                [default /api/v1/health]
  DEPLOY_HEALTH_TRIES / DEPLOY_HEALTH_INTERVAL   bounded wait       [default 40 tries, 3 s apart]
  DEPLOY_DRAIN_SECONDS  longest wait for the old color's streams     [default 60]
  DEPLOY_SWITCH_SETTLE_SECONDS  wait after the reload before draining [default 3]
  DEPLOY_NGINX_RELOAD   reload command on the server [default $DEPLOY_COMPOSE exec -T nginx nginx -s reload]
  DEPLOY_MAINTENANCE_FLAG  the nginx flag file on the server [default $DEPLOY_DIR/run/maintenance.on]
  ALERT_COMMAND / ALERT_WEBHOOK_URL / ALERT_WEBHOOK_FORMAT   where failures are reported
  SSH / GIT / WRANGLER / DOCKER / NPM   commands (DOCKER runs on the server)
                      [default "ssh -o BatchMode=yes" / git / "npx wrangler" / docker / npm]
TXT
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/alert.sh
. "$ROOT/scripts/lib/alert.sh"
dry_run=0
force_maintenance=0
mode=""
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --dry-run) dry_run=1 ;;
    --maintenance) force_maintenance=1 ;;
    edge|origin|full) [ -z "$mode" ] || { echo "deploy.sh: one mode only" >&2; exit 2; }; mode="$arg" ;;
    *) echo "deploy.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$mode" ] || { usage >&2; exit 2; }

env_file="${DEPLOY_ENV_FILE:-$ROOT/deploy/deploy.env}"
if [ -f "$env_file" ]; then
  for key in DEPLOY_HOST DEPLOY_DIR DEPLOY_BRANCH DEPLOY_GIT_REMOTE DEPLOY_COMPOSE DEPLOY_IMAGE \
    DEPLOY_BLUE_PORT DEPLOY_GREEN_PORT DEPLOY_HEALTH_PATH DEPLOY_HEALTH_TRIES \
    DEPLOY_HEALTH_INTERVAL DEPLOY_DRAIN_SECONDS DEPLOY_SWITCH_SETTLE_SECONDS DEPLOY_NGINX_RELOAD DEPLOY_MAINTENANCE_FLAG \
    ALERT_COMMAND ALERT_WEBHOOK_URL ALERT_WEBHOOK_FORMAT; do
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
blue_port="${DEPLOY_BLUE_PORT:-8001}"
green_port="${DEPLOY_GREEN_PORT:-8002}"
health_path="${DEPLOY_HEALTH_PATH:-/api/v1/health}"
tries="${DEPLOY_HEALTH_TRIES:-40}"
interval="${DEPLOY_HEALTH_INTERVAL:-3}"
drain="${DEPLOY_DRAIN_SECONDS:-60}"
settle="${DEPLOY_SWITCH_SETTLE_SECONDS:-3}"
reload="${DEPLOY_NGINX_RELOAD:-$compose exec -T nginx nginx -s reload}"
flag="${DEPLOY_MAINTENANCE_FLAG:-$dir/run/maintenance.on}"
docker_cmd="${DOCKER:-docker}"
read -r -a ssh <<<"${SSH:-ssh -o BatchMode=yes}"
read -r -a git <<<"${GIT:-git}"
read -r -a wrangler <<<"${WRANGLER:-npx wrangler}"
read -r -a npm <<<"${NPM:-npm}"

[[ "$tries" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "deploy.sh: DEPLOY_HEALTH_TRIES must be 1..9999" >&2; exit 2; }
[[ "$interval" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "deploy.sh: DEPLOY_HEALTH_INTERVAL must be seconds" >&2; exit 2; }
[[ "$drain" =~ ^[0-9]{1,4}$ ]] || { echo "deploy.sh: DEPLOY_DRAIN_SECONDS must be 0..9999" >&2; exit 2; }
[[ "$settle" =~ ^[0-9]{1,3}$ ]] || { echo "deploy.sh: DEPLOY_SWITCH_SETTLE_SECONDS must be 0..999" >&2; exit 2; }
for port in "$blue_port" "$green_port"; do
  [[ "$port" =~ ^[0-9]{1,5}$ ]] || { echo "deploy.sh: ports must be numbers" >&2; exit 2; }
done
[[ "$health_path" =~ ^/[A-Za-z0-9/._-]*$ ]] || { echo "deploy.sh: bad DEPLOY_HEALTH_PATH" >&2; exit 2; }

log() { printf '[deploy %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
run() {
  if [ "$dry_run" = 1 ]; then printf 'would run: %s\n' "$*"; return 0; fi
  "$@"
}
q() { printf '%q' "$1"; }
# Every server-side step is one ssh call, run from the checkout, so it can be read in the log.
remote() { run "${ssh[@]}" "$host" "cd $(q "$dir") && $1"; }

# Any failure, wherever it happens, reaches a person: deploys run unattended from CI too.
# shellcheck disable=SC2317,SC2329 # called by the EXIT trap
on_exit() {
  local status=$?
  [ -z "${release_lock:-}" ] || remote "$release_lock" >/dev/null 2>&1 || true
  if [ "$status" != 0 ] && [ "$dry_run" = 0 ]; then
    send_alert "ragedge deploy ($mode to ${host:-edge}) FAILED, exit $status: ${last_error:-see the deploy log}" ||
      log "(no alert channel configured: set ALERT_WEBHOOK_URL or ALERT_COMMAND in deploy/deploy.env)"
  fi
}
trap on_exit EXIT
fail() { last_error="$2"; log "$2"; exit "$1"; }

# wrangler finds wrangler.toml (and so the FLAGS binding) in its working directory.
wrangler_here() { (cd "$ROOT" && run "${wrangler[@]}" "$@"); }
edge_flag() {
  if [ "$1" = on ]; then
    wrangler_here kv key put maintenance 1 --binding FLAGS --remote
  else
    wrangler_here kv key delete maintenance --binding FLAGS --remote
  fi
}

maintenance_on() {
  remote "mkdir -p $(q "$(dirname "$flag")") && touch $(q "$flag")"
  # nginx alone already guards the origin; the edge flag only spares the round trip.
  edge_flag on || log "warning: could not set the edge maintenance flag; nginx's flag is on"
  log "maintenance: ON"
}

maintenance_off() {
  local ok=0
  remote "rm -f $(q "$flag")" || ok=1
  edge_flag off || { log "could not clear the edge flag: run 'cd $ROOT && ${wrangler[*]} kv key delete maintenance --binding FLAGS --remote'"; ok=1; }
  [ "$ok" = 0 ] && log "maintenance: OFF"
  return "$ok"
}

port_of() { if [ "$1" = blue ]; then echo "$blue_port"; else echo "$green_port"; fi; }

wait_healthy() {
  local url i status
  url="http://127.0.0.1:$(port_of "$1")$health_path"
  for ((i = 1; i <= tries; i++)); do
    status="$(remote "curl -s -o /dev/null -m 5 -w '%{http_code}' $(q "$url")" || true)"
    if [ "$status" = 200 ]; then
      log "health of $1: 200 after $i check(s)"
      return 0
    fi
    log "health of $1: ${status:-no answer} ($i/$tries)"
    [ "$dry_run" = 1 ] && return 0
    sleep "$interval"
  done
  return 1
}

# Open chat streams of a color, from its /metrics (admin token from .env, passed to curl on
# stdin so it never shows in the process list); empty when it cannot tell.
open_streams() {
  local url
  url="http://127.0.0.1:$(port_of "$1")/metrics"
  remote "t=\$(grep -m1 '^ADMIN_TOKEN=' .env | cut -d= -f2-); printf 'header = \"Authorization: Bearer %s\"\n' \"\$t\" |
    curl -s -m 5 -K - $(q "$url") | awk '/^ragedge_sse_streams_active /{print int(\$2)}'" 2>/dev/null || true
}

drain_and_stop() {
  local old=$1 i streams=""
  # `nginx -s reload` returns once it has signalled: the old workers stop taking connections a
  # moment later. Until then a new request may still reach the old color.
  [ "$dry_run" = 1 ] || sleep "$settle"
  for ((i = 0; i < drain; i++)); do
    streams="$(open_streams "$old")"
    [ "$streams" = 0 ] && break
    [ "$dry_run" = 1 ] && break
    sleep 1
  done
  log "draining $old: ${streams:-unknown} open stream(s) after ${i} s; stopping it (open streams are told to reconnect)"
  remote "$compose stop origin-$old"
}

switch_nginx() {
  local port
  port="$(port_of "$1")"
  remote "bash nginx/render.sh --out nginx/rendered --set-upstream 127.0.0.1:$port && $reload"
}

# Whether the commits being deployed add a migration that asks for maintenance mode.
needs_maintenance() {
  local from=$1 to=$2
  [ -n "$from" ] || return 1
  [ -n "$(remote "git diff --name-only --diff-filter=AM $(q "$from") $(q "$to") -- origin/src/db/migrations |
    xargs -r grep -l '^-- deploy: maintenance' 2>/dev/null || true")" ]
}

deploy_edge() {
  log "edge: building the chat site"
  if [ ! -d "$ROOT/node_modules" ]; then (cd "$ROOT" && run "${npm[@]}" ci --no-audit --no-fund) || fail 1 "FAILED: npm ci"; fi
  (cd "$ROOT" && run node web/build.mjs --no-results) || fail 1 "FAILED: the chat site did not build"
  log "edge: wrangler deploy"
  wrangler_here deploy || fail 1 "FAILED: wrangler deploy"
}

deploy_origin() {
  [ -n "$host" ] || { echo "deploy.sh: set DEPLOY_HOST (or deploy/deploy.env)" >&2; exit 2; }
  log "origin: pushing $branch to $git_remote"
  run "${git[@]}" -C "$ROOT" push "$git_remote" "$branch" || fail 1 "FAILED: git push"

  # One deploy at a time: mkdir is atomic. Released on every exit (the EXIT trap).
  local lock
  lock="$(dirname "$flag")/deploy.lock"
  if ! remote "mkdir -p $(q "$(dirname "$lock")") && mkdir $(q "$lock")"; then
    fail 1 "FAILED: cannot take $lock on the server: another deploy holds it, or the deploy user cannot write $(dirname "$lock") (if no deploy is running: ssh $host rmdir $lock)"
  fi
  release_lock="rmdir $(q "$lock")"

  log "origin: backing up the database"
  remote "bash scripts/backup.sh --no-offsite" ||
    fail 1 "FAILED: the backup did not complete. Nothing on the server was changed; fix the backup first."

  log "origin: pulling and building (the serving origin keeps serving)"
  local from to active next maintenance=0
  from="$(remote "git rev-parse HEAD" || true)"
  remote "git pull --ff-only origin $(q "$branch")" || fail 1 "FAILED: git pull on the server"
  to="$(remote "git rev-parse HEAD" || true)"
  active="$(remote "cat run/active-color 2>/dev/null || true")"
  case "$active" in blue) next=green ;; green) next=blue ;; *) active=""; next=blue ;; esac
  local has_previous=0
  if remote "$docker_cmd image inspect $image:latest >/dev/null 2>&1"; then
    remote "$docker_cmd tag $image:latest $image:previous"
    has_previous=1
  fi
  remote "$compose build origin-blue" ||
    fail 1 "FAILED: the image did not build. The serving origin is untouched; nothing else changed."

  if [ "$force_maintenance" = 1 ] || [ -z "$active" ] || needs_maintenance "$from" "$to"; then maintenance=1; fi
  if [ "$maintenance" = 1 ]; then
    if [ -z "$active" ]; then log "origin: with maintenance (first deploy)"; else
      log "origin: with maintenance (a migration or --maintenance asks for it)"; fi
    maintenance_on
    [ -z "$active" ] || remote "$compose stop origin-$active"
  else
    log "origin: blue-green, $next beside ${active}"
  fi
  remote "$compose up -d --no-build origin-$next"
  if wait_healthy "$next"; then
    switch_nginx "$next" || {
      [ -z "$active" ] || switch_nginx "$active" || true
      remote "$compose stop origin-$next" || true
      fail 1 "FAILED: nginx did not take the new upstream; ${active:-nothing} keeps serving"
    }
    remote "echo $next > run/active-color"
    if [ "$maintenance" = 1 ]; then
      maintenance_off || exit 1
    elif [ -n "$active" ]; then
      drain_and_stop "$active"
    fi
    log "origin: deployed ($next serving)"
    return 0
  fi

  log "the new origin ($next) did not become healthy in $tries checks; its last log lines:"
  remote "$compose logs --tail 40 origin-$next" >&2 || true
  remote "$compose stop origin-$next" || true
  if [ "$maintenance" = 0 ]; then
    fail 1 "ROLLED BACK: the new version was NOT deployed; $active never stopped serving."
  fi
  if [ "$has_previous" = 0 ] || [ -z "$active" ]; then
    fail 2 "ROLLBACK IMPOSSIBLE: no previous origin (first deploy). Maintenance stays ON. Look at: ssh $host 'cd $dir && $compose logs origin-$next'"
  fi
  log "rolling back to $image:previous ($active)"
  if remote "$docker_cmd tag $image:previous $image:latest && $compose up -d --no-build origin-$active" && wait_healthy "$active"; then
    maintenance_off || true
    fail 1 "ROLLED BACK: the previous origin is serving again; the new version was NOT deployed. The database backup taken before this deploy is the newest file in the server's backup dir."
  fi
  fail 2 "ROLLBACK FAILED: the previous image is not healthy either. Maintenance stays ON. Look at: ssh $host 'cd $dir && $compose ps && $compose logs --tail 100 origin-$active'"
}

case "$mode" in
  edge) deploy_edge ;;
  origin) deploy_origin ;;
  full) deploy_origin; deploy_edge ;;
esac
log "done: $mode"
