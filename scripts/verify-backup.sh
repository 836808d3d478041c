#!/usr/bin/env bash
# Proves a backup restores: loads the newest dump into a scratch database, compares row counts
# with those recorded at backup time, runs a vector query, and drops the scratch database.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: scripts/verify-backup.sh [--dir DIR | --file DUMP] [--database-url URL]

Restores DUMP (default: the newest ragedge-*.dump in DIR) with pg_restore into a new scratch
database on the same server, then checks:
  - pg_restore finished without an error (a corrupted or truncated dump fails here);
  - the row counts of sites, documents and chunks equal the ones in DUMP's .counts file, which
    backup.sh read in the same snapshot as the dump;
  - a nearest-neighbour query (ORDER BY embedding <=> ... LIMIT 1) runs on the restored chunks
    and finds the probe chunk itself at distance 0.
The scratch database is dropped at the end, on success and on failure.

Options / environment (also read from $RAGEDGE_OPS_ENV, default /etc/ragedge/ops.env):
  --dir DIR            BACKUP_DIR     [default /opt/ragedge/backups/db]
  --file DUMP          a specific dump instead of the newest
  --database-url URL   DATABASE_URL   a connection to the server; its user must be allowed to
                                      create databases. Only the database name is replaced.
  VERIFY_PSQL          psql command        [default psql]
  VERIFY_PG_RESTORE    pg_restore command  [default pg_restore]
                       (on the VPS: "docker compose -f ... exec -T db pg_restore"; the dump is
                       read from stdin, so the command may run in another container)

Exit: 0 the backup restores and matches; 1 it does not (the reason is printed); 2 usage.
TXT
}

# shellcheck source-path=SCRIPTDIR source=lib/ops-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/ops-env.sh"
load_ops_env DATABASE_URL BACKUP_DIR VERIFY_PSQL VERIFY_PG_RESTORE

dir="${BACKUP_DIR:-/opt/ragedge/backups/db}"
file=""
url="${DATABASE_URL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --file) file="${2:?--file needs a value}"; shift 2 ;;
    --database-url) url="${2:?--database-url needs a value}"; shift 2 ;;
    *) echo "verify-backup.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$url" ] || { echo "verify-backup.sh: set DATABASE_URL or pass --database-url" >&2; exit 2; }

read -r -a psql <<<"${VERIFY_PSQL:-psql}"
read -r -a pg_restore <<<"${VERIFY_PG_RESTORE:-pg_restore}"
log() { printf '[verify-backup %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

if [ -z "$file" ]; then
  file="$(find "$dir" -maxdepth 1 -name 'ragedge-*.dump' -printf '%f\n' 2>/dev/null | sort -r | head -n 1)"
  [ -n "$file" ] || fail "no ragedge-*.dump in $dir"
  file="$dir/$file"
fi
[ -s "$file" ] || fail "$file is missing or empty"
counts_file="${file%.dump}.counts"
[ -f "$counts_file" ] || fail "no counts recorded beside the dump ($counts_file)"

# The same server, another database name; any ?query (sslmode...) is kept.
with_db() {
  local base="${1%%\?*}" query=""
  [ "$base" != "$1" ] && query="?${1#*\?}"
  printf '%s/%s%s' "${base%/*}" "$2" "$query"
}
scratch="ragedge_verify_$(date -u +%Y%m%d%H%M%S)_$$"
scratch_url="$(with_db "$url" "$scratch")"
sql() { "${psql[@]}" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

created=0
# shellcheck disable=SC2317 # called by the trap
drop_scratch() {
  if [ "$created" = 1 ]; then
    sql "$url" -c "drop database if exists $scratch with (force)" >/dev/null 2>&1 ||
      log "could not drop scratch database $scratch: drop it by hand"
  fi
}
trap drop_scratch EXIT

log "verifying $file"
"${pg_restore[@]}" --list <"$file" >/dev/null 2>&1 || fail "pg_restore cannot read the archive (corrupted or not a pg_dump -Fc file)"
sql "$url" -c "create database $scratch" >/dev/null || fail "cannot create scratch database $scratch"
created=1
if ! restore_log="$("${pg_restore[@]}" --no-owner --no-acl --exit-on-error --dbname="$scratch_url" <"$file" 2>&1)"; then
  fail "pg_restore stopped with an error: $(printf '%s' "$restore_log" | tail -n 3)"
fi

status=0
while IFS='=' read -r table expected; do
  [ -n "$table" ] || continue
  if [ "$table" = schema ]; then
    log "the dump was taken before the schema existed: nothing to count"
    continue
  fi
  [[ "$table" =~ ^(sites|documents|chunks)$ ]] || fail "unexpected line in $counts_file: $table"
  actual="$(sql "$scratch_url" -c "select count(*) from $table")" || fail "cannot count $table"
  if [ "$actual" = "$expected" ]; then
    log "$table: $actual rows, as at backup time"
  else
    log "$table: $actual rows restored, $expected at backup time"
    status=1
  fi
done <"$counts_file"
[ "$status" = 0 ] || fail "row counts differ"

if [ "$(grep -c '^chunks=' "$counts_file")" = 1 ] && ! grep -q '^chunks=0$' "$counts_file"; then
  # The probe's nearest neighbour among chunks of its own dimension must be itself: this runs the
  # pgvector operator over restored vectors, so a restore without the extension or with mangled
  # vectors fails here.
  probe="$(sql "$scratch_url" -c "
    with probe as (select id, site_id, embedding from chunks order by id limit 1)
    select probe.id || ' ' || nearest.id || ' ' || round(nearest.distance::numeric, 6)
    from probe, lateral (
      select c.id, c.embedding <=> probe.embedding as distance from chunks c
      where c.site_id = probe.site_id and vector_dims(c.embedding) = vector_dims(probe.embedding)
      order by c.embedding <=> probe.embedding, c.id limit 1
    ) nearest")" || fail "the vector query failed on the restored data"
  read -r probe_id nearest_id distance <<<"$probe"
  if [ "$probe_id" != "$nearest_id" ] || [ "$distance" != "0.000000" ]; then
    fail "vector query: chunk $probe_id's nearest neighbour is $nearest_id at distance $distance"
  fi
  log "vector query: chunk $probe_id is its own nearest neighbour"
fi
log "OK: $(basename "$file") restores and matches"
