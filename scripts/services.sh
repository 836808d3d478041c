#!/usr/bin/env bash
# scripts/services.sh — install and run the real services the test suite needs
# (PostgreSQL 15 + pgvector, Redis), on loopback only, without Docker.
#
# Why pgvector is built from Debian trixie's *source* package:
#   Debian 12 (bookworm) ships PostgreSQL 15 but no pgvector package, and the
#   only registries reachable here are npm and Debian's mirrors (no PGDG apt
#   repo, no GitHub tarball). Debian 13 (trixie) does package pgvector 0.8.x,
#   and its source builds cleanly against bookworm's postgresql-server-dev-15.
#   So `install` adds a trixie *deb-src* line only (a deb-src entry can never
#   make apt install a trixie binary package), fetches the source with
#   `apt-get source pgvector`, and runs `make && make install` against
#   /usr/lib/postgresql/15/bin/pg_config.
#
# Our own PostgreSQL cluster and Redis are private to this checkout: state lives
# under $SERVICES_DIR (default: <repo>/.services), they listen on 127.0.0.1 on
# non-default ports, and they never touch a system cluster on 5432 / redis on
# 6379 that Debian may have set up.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${SERVICES_DIR:-$REPO/.services}"
PGPORT_TEST="${PGPORT_TEST:-55432}"
REDIS_PORT_TEST="${REDIS_PORT_TEST:-56379}"
REPLICA_PORT_TEST="${REPLICA_PORT_TEST:-55433}"
PG_BIN="/usr/lib/postgresql/15/bin"
PG_CONFIG="$PG_BIN/pg_config"
PG_DB="ragtest"
PG_USER="postgres"
WAIT_SECONDS=30

APT_PACKAGES=(
  postgresql-15 postgresql-server-dev-15 postgresql-client-15
  redis-server nginx shellcheck build-essential dpkg-dev
  pgbouncer  # transaction pooling in front of PostgreSQL (tests run the origin through it)
  ca-certificates curl openssl chromium docker-compose
  bsdutils  # `script`: the first-start test runs the origin on a pseudo-terminal
)
TRIXIE_SRC_LIST="/etc/apt/sources.list.d/trixie-src.list"

usage() {
  cat <<EOF
Usage: scripts/services.sh COMMAND

Commands:
  install   Install Debian packages (PostgreSQL 15, Redis, nginx, shellcheck,
            chromium, build tools) and build pgvector from Debian trixie's
            source package if it is not installed yet. Idempotent. Needs root.
  start     Start a private PostgreSQL 15 cluster (port \$PGPORT_TEST, default
            55432, database '$PG_DB' with the 'vector' extension) and a private
            Redis (port \$REDIS_PORT_TEST, default 56379), both on 127.0.0.1.
            Does nothing for a service that is already running.
  replica   Start a streaming replica of the test PostgreSQL (pg_basebackup from
            it, hot standby on 127.0.0.1:\$REPLICA_PORT_TEST, default 55433), for
            the read-replica tests. Starts the primary first if needed.
  stop      Stop all of them (tolerates them not running).
  status    Show whether each is running; exits 0 only if both are up.
  env       Print export lines for TEST_DATABASE_URL and TEST_REDIS_URL (and
            TEST_REPLICA_URL while the replica runs):
              eval "\$(scripts/services.sh env)"
  -h, --help  Show this help.

Environment:
  SERVICES_DIR     state dir (default: <repo>/.services)
  PGPORT_TEST      PostgreSQL port (default: 55432)
  REDIS_PORT_TEST  Redis port (default: 56379)
  REPLICA_PORT_TEST  replica port (default: 55433)

PostgreSQL refuses to run as root, so the cluster runs as the 'postgres' user.
If 'postgres' cannot reach \$SERVICES_DIR (a parent dir it cannot enter), the
cluster's data dir goes to /tmp/ragedge-services-<uid>-<hash>/pg instead;
'status' prints where it is.
EOF
}

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

database_url() { printf 'postgres://%s@127.0.0.1:%s/%s' "$PG_USER" "$PGPORT_TEST" "$PG_DB"; }
redis_url() { printf 'redis://127.0.0.1:%s' "$REDIS_PORT_TEST"; }

# ---------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------

pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# The Debian mirror the machine already uses (e.g. http://deb.debian.org/debian),
# read from deb822 .sources files or a one-line sources.list.
debian_mirror() {
  local uri
  uri="$(
    {
      grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | sed -E 's/^[[:space:]]*URIs:[[:space:]]*//' | tr ' ' '\n'
      grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -E 's/\[[^]]*\]//' | awk '{print $2}'
    } | grep -E '^https?://[^ ]+/debian/?$' | head -n1 || true
  )"
  printf '%s' "${uri:-http://deb.debian.org/debian}" | sed -E 's#/$##'
}

install_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    pkg_installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "all Debian packages already installed"
    return
  fi
  log "installing: ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

pgvector_installed() {
  [[ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ]] \
    && [[ -f "$("$PG_CONFIG" --pkglibdir)/vector.so" ]]
}

build_pgvector() {
  if pgvector_installed; then
    log "pgvector already installed ($("$PG_CONFIG" --sharedir)/extension/vector.control)"
    return
  fi
  local mirror
  mirror="$(debian_mirror)"
  if ! grep -qs "trixie" "$TRIXIE_SRC_LIST"; then
    log "adding deb-src for trixie main ($mirror) in $TRIXIE_SRC_LIST"
    cat >"$TRIXIE_SRC_LIST" <<EOF
# Added by scripts/services.sh: source packages only (pgvector is built from
# trixie's source package; bookworm has none). deb-src never installs binaries.
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main
EOF
  fi
  # Refresh only this list (the other indexes are left as they are).
  apt-get update \
    -o Dir::Etc::sourcelist="$TRIXIE_SRC_LIST" \
    -o Dir::Etc::sourceparts="-" \
    -o APT::Get::List-Cleanup="0"

  BUILD_DIR="$(mktemp -d /tmp/pgvector-build.XXXXXX)"
  trap 'rm -rf "$BUILD_DIR"' EXIT
  # Let apt's unprivileged _apt user write the download (avoids a sandbox warning).
  if id _apt >/dev/null 2>&1; then chown _apt "$BUILD_DIR"; fi
  (
    cd "$BUILD_DIR"
    apt-get source pgvector
    src="$(find . -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n1)"
    [[ -n "$src" ]] || die "apt-get source pgvector produced no source tree"
    cd "$src"
    # OPTFLAGS='' : no -march=native, like Debian's own build.
    make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS=""
    make install PG_CONFIG="$PG_CONFIG" OPTFLAGS=""
  )
  rm -rf "$BUILD_DIR"
  trap - EXIT
  pgvector_installed || die "pgvector build finished but vector.control/vector.so are missing"
  log "pgvector $(sed -nE "s/^default_version = '([^']+)'.*/\1/p" "$("$PG_CONFIG" --sharedir)/extension/vector.control") installed"
}

cmd_install() {
  [[ $EUID -eq 0 ]] || die "install needs root"
  install_packages
  build_pgvector
  log "install done"
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# Base dir for the cluster (owned by postgres): data/ and postgres.log live in it.
pg_base() {
  local base="$SERVICES_DIR/pg"
  mkdir -p "$SERVICES_DIR"
  if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$SERVICES_DIR" 2>/dev/null; then
    # postgres cannot enter some parent of $SERVICES_DIR: use a dir it can reach.
    local hash parent
    hash="$(printf '%s' "$SERVICES_DIR" | cksum | cut -d' ' -f1)"
    parent="/tmp/ragedge-services-$(id -u)-$hash"
    install -d -m 0755 "$parent"
    base="$parent/pg"
  fi
  printf '%s' "$base"
}

# Run a PostgreSQL server binary as the postgres user (or as ourselves if not root).
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_running() {
  local data="$1"
  [[ -f "$data/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1
}

pg_ready() {
  "$PG_BIN/pg_isready" -q -t 2 -h 127.0.0.1 -p "$PGPORT_TEST" -U "$PG_USER" -d postgres
}

pg_init() {
  local base="$1" data="$1/data"
  [[ -f "$data/PG_VERSION" ]] && return
  log "initdb $data"
  mkdir -p "$base"
  if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$base"; fi
  as_pg "$PG_BIN/initdb" -D "$data" --auth=trust --username="$PG_USER" \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$base/initdb.log" 2>&1 \
    || { cat "$base/initdb.log" >&2; die "initdb failed"; }
  # Test tuning: durability off, loopback only, no unix socket (port is passed at start).
  cat >>"$data/postgresql.conf" <<'EOF'

# --- scripts/services.sh (test instance) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

psql_admin() {
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -q -h 127.0.0.1 -p "$PGPORT_TEST" -U "$PG_USER" "$@"
}

pg_setup_db() {
  if [[ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]]; then
    log "creating database $PG_DB"
    psql_admin -d postgres -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
  fi
  psql_admin -d "$PG_DB" -c "CREATE EXTENSION IF NOT EXISTS vector"
}

pg_fail() {
  log "$2; last lines of $1/postgres.log:"
  tail -n 30 "$1/postgres.log" >&2 2>/dev/null || true
  exit 1
}

start_pg() {
  local base data
  base="$(pg_base)"
  data="$base/data"
  [[ -x "$PG_BIN/postgres" ]] || die "PostgreSQL 15 not installed: run scripts/services.sh install"
  if pg_running "$data"; then
    log "postgres already running ($data)"
  else
    pg_init "$base"
    log "starting postgres on 127.0.0.1:$PGPORT_TEST ($data)"
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$data" -l "$base/postgres.log" \
      -o "-c port=$PGPORT_TEST" -w -t "$WAIT_SECONDS" >/dev/null 2>&1; then
      pg_fail "$base" "postgres failed to start on port $PGPORT_TEST"
    fi
  fi
  local deadline=$((SECONDS + WAIT_SECONDS))
  until pg_ready; do
    ((SECONDS < deadline)) || pg_fail "$base" "postgres not ready on port $PGPORT_TEST after ${WAIT_SECONDS}s"
    sleep 1
  done
  pg_setup_db
}

# Stops the cluster in $(pg_base)/$1 (data: the primary, replica: the replica) if it runs.
stop_cluster() {
  local data name="$2"
  data="$(pg_base)/$1"
  if pg_running "$data"; then
    log "stopping $name"
    as_pg "$PG_BIN/pg_ctl" stop -D "$data" -m fast -w >/dev/null
  else
    log "$name not running"
  fi
}

stop_pg() { stop_cluster data postgres; }

# ---------------------------------------------------------------------------
# Streaming replica (started on demand: only the read-replica tests need it)
# ---------------------------------------------------------------------------

replica_url() { printf 'postgres://%s@127.0.0.1:%s/%s' "$PG_USER" "$REPLICA_PORT_TEST" "$PG_DB"; }

replica_ready() {
  "$PG_BIN/pg_isready" -q -t 2 -h 127.0.0.1 -p "$REPLICA_PORT_TEST" -U "$PG_USER" -d postgres
}

start_replica() {
  local base data
  base="$(pg_base)"
  data="$base/replica"
  start_pg
  if pg_running "$data"; then
    log "replica already running ($data)"
  else
    if [[ ! -f "$data/standby.signal" ]]; then
      rm -rf "$data"
      log "pg_basebackup from 127.0.0.1:$PGPORT_TEST into $data"
      # -R writes standby.signal and primary_conninfo; -X stream copies the WAL as it goes.
      as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT_TEST" -U "$PG_USER" \
        -D "$data" -R -X stream --checkpoint=fast --no-sync >"$base/basebackup.log" 2>&1 \
        || { cat "$base/basebackup.log" >&2; die "pg_basebackup failed"; }
    fi
    log "starting replica on 127.0.0.1:$REPLICA_PORT_TEST ($data)"
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$data" -l "$base/replica.log" \
      -o "-c port=$REPLICA_PORT_TEST -c hot_standby=on" -w -t "$WAIT_SECONDS" >/dev/null 2>&1; then
      log "replica failed to start; last lines of $base/replica.log:"
      tail -n 30 "$base/replica.log" >&2 2>/dev/null || true
      exit 1
    fi
  fi
  local deadline=$((SECONDS + WAIT_SECONDS))
  until replica_ready; do
    ((SECONDS < deadline)) || die "replica not ready on port $REPLICA_PORT_TEST after ${WAIT_SECONDS}s"
    sleep 1
  done
  log "replica ready: $(replica_url)"
}

stop_replica() { stop_cluster replica replica; }

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

redis_dir() { printf '%s' "$SERVICES_DIR/redis"; }

redis_ready() {
  [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT_TEST" ping 2>/dev/null)" == "PONG" ]]
}

start_redis() {
  local dir
  dir="$(redis_dir)"
  command -v redis-server >/dev/null || die "redis-server not installed: run scripts/services.sh install"
  if redis_ready; then
    log "redis already running on 127.0.0.1:$REDIS_PORT_TEST"
    return
  fi
  mkdir -p "$dir"
  rm -f "$dir/redis.pid"
  # Fresh log per start, so a failure below is detected from this start's lines only.
  if [[ -f "$dir/redis.log" ]]; then mv -f "$dir/redis.log" "$dir/redis.log.prev"; fi
  log "starting redis on 127.0.0.1:$REDIS_PORT_TEST ($dir)"
  redis-server --port "$REDIS_PORT_TEST" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
    || true
  local deadline=$((SECONDS + WAIT_SECONDS))
  until redis_ready; do
    if ((SECONDS >= deadline)) || grep -qiE 'aborting|fatal' "$dir/redis.log" 2>/dev/null; then
      log "redis not ready on port $REDIS_PORT_TEST; last lines of $dir/redis.log:"
      tail -n 30 "$dir/redis.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 1
  done
}

stop_redis() {
  if redis_ready; then
    log "stopping redis"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT_TEST" shutdown nosave >/dev/null 2>&1 || true
    local deadline=$((SECONDS + WAIT_SECONDS))
    while redis_ready; do
      ((SECONDS < deadline)) || die "redis still answering on port $REDIS_PORT_TEST"
      sleep 0.2
    done
  else
    log "redis not running"
  fi
}

# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

cmd_start() {
  start_pg
  start_redis
  log "ready: $(database_url)  $(redis_url)"
}

cmd_stop() {
  stop_replica
  stop_pg
  stop_redis
}

cmd_status() {
  local ok=0 base
  base="$(pg_base)"
  if pg_running "$base/data" && pg_ready; then
    echo "postgres: running  $(database_url)  (data: $base/data)"
  else
    echo "postgres: stopped  (data: $base/data)"
    ok=1
  fi
  if redis_ready; then
    echo "redis:    running  $(redis_url)  (dir: $(redis_dir))"
  else
    echo "redis:    stopped"
    ok=1
  fi
  return "$ok"
}

cmd_env() {
  printf 'export TEST_DATABASE_URL=%s\n' "$(database_url)"
  printf 'export TEST_REDIS_URL=%s\n' "$(redis_url)"
  if replica_ready 2>/dev/null; then printf 'export TEST_REPLICA_URL=%s\n' "$(replica_url)"; fi
}

main() {
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    replica) start_replica ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) log "unknown command: $1"; usage >&2; exit 2 ;;
  esac
}

main "$@"
