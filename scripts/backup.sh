#!/usr/bin/env bash
# Dumps the ragedge database (pg_dump custom format, compressed), records its row counts taken
# in the same snapshot, keeps the newest N dumps, and optionally copies them offsite (R2 / S3).
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: scripts/backup.sh [--dir DIR] [--keep N] [--database-url URL] [--no-offsite]

Writes DIR/ragedge-<UTC timestamp>.dump (pg_dump -Fc) and, beside it, .counts: the row counts of
sites, documents and chunks read in the same snapshot as the dump, which verify-backup.sh checks
a restore against. Keeps the newest N dumps. Prints the dump's path on the last line.

Options / environment (also read from $RAGEDGE_OPS_ENV, default /etc/ragedge/ops.env):
  --dir DIR            BACKUP_DIR      where dumps go            [default /opt/ragedge/backups/db]
  --keep N             BACKUP_KEEP     dumps to keep             [default 7]
  --database-url URL   DATABASE_URL    the database to dump                            [required]
  --no-offsite                         skip the offsite copy (deploy.sh uses this)
  BACKUP_PG_DUMP   pg_dump command     [default pg_dump], e.g. on the VPS:
                   "docker compose -f /opt/ragedge/docker-compose.prod.yml exec -T db pg_dump"
  BACKUP_PSQL      psql command, same idea                  [default psql]
  BACKUP_S3_URL    offsite target, e.g. s3://my-bucket/ragedge (R2 speaks S3); empty: no copy
  BACKUP_S3_ENDPOINT  e.g. https://<account>.r2.cloudflarestorage.com
  BACKUP_AWS       aws CLI command     [default aws] (credentials from its usual env/config)
  BACKUP_RCLONE_REMOTE  alternatively an rclone remote:path, copied with `rclone copy`

Exit: 0 done; 1 the dump failed (nothing is left behind, older dumps untouched);
      3 the local dump is fine but the offsite copy failed; 2 usage.
TXT
}

# shellcheck source-path=SCRIPTDIR source=lib/ops-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/ops-env.sh"
load_ops_env DATABASE_URL BACKUP_DIR BACKUP_KEEP BACKUP_PG_DUMP BACKUP_PSQL BACKUP_S3_URL BACKUP_S3_ENDPOINT BACKUP_AWS BACKUP_RCLONE_REMOTE BACKUP_RCLONE

dir="${BACKUP_DIR:-/opt/ragedge/backups/db}"
keep="${BACKUP_KEEP:-7}"
url="${DATABASE_URL:-}"
offsite=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --keep) keep="${2:?--keep needs a value}"; shift 2 ;;
    --database-url) url="${2:?--database-url needs a value}"; shift 2 ;;
    --no-offsite) offsite=0; shift ;;
    *) echo "backup.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$url" ] || { echo "backup.sh: no database: set DATABASE_URL or pass --database-url" >&2; exit 2; }
[[ "$keep" =~ ^[1-9][0-9]*$ ]] || { echo "backup.sh: --keep must be a positive number" >&2; exit 2; }

read -r -a pg_dump <<<"${BACKUP_PG_DUMP:-pg_dump}"
read -r -a psql <<<"${BACKUP_PSQL:-psql}"
log() { printf '[backup %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

umask 077
mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%S.%3NZ)"
base="$dir/ragedge-$stamp"
partial="$base.dump.partial"

# shellcheck disable=SC2317 # called by the trap
cleanup() {
  rm -f "$partial" "$base.counts.partial"
  if [ -n "${psql_pid:-}" ]; then kill "$psql_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# One repeatable-read transaction exports its snapshot: the counts and pg_dump see the same
# data, so a restore can be checked against them exactly even while the origin keeps writing.
coproc PSQL { "${psql[@]}" -X -q -A -t -v ON_ERROR_STOP=1 "$url" 2>&1; }
# bash unsets PSQL_PID once the coprocess exits, which can happen before we wait on it.
# shellcheck disable=SC2153 # set by coproc
psql_pid="$PSQL_PID"
ask() {
  printf '%s\n' "$1" >&"${PSQL[1]}"
  local line
  IFS= read -r -t 60 line <&"${PSQL[0]}" || { log "psql did not answer: $1"; return 1; }
  case "$line" in *ERROR*|*FATAL*|*error*) log "psql: $line"; return 1 ;; esac
  printf '%s\n' "$line"
}
ask "begin isolation level repeatable read read only; select 'ready';" >/dev/null ||
  { log "cannot connect to the database"; exit 1; }
snapshot="$(ask 'select pg_export_snapshot();')" || exit 1
has_schema="$(ask "select to_regclass('public.chunks') is not null;")" || exit 1
{
  if [ "$has_schema" = t ]; then
    for table in sites documents chunks; do
      printf '%s=%s\n' "$table" "$(ask "select count(*) from $table;")"
    done
  else
    echo "schema=absent"
  fi
} >"$base.counts.partial"

log "dumping to $base.dump"
if ! "${pg_dump[@]}" --format=custom --compress=6 --no-owner --snapshot="$snapshot" "$url" >"$partial"; then
  log "pg_dump failed; no backup written"
  exit 1
fi
printf 'commit;\n' >&"${PSQL[1]}"
psql_in="${PSQL[1]}"
exec {psql_in}>&-
wait "$psql_pid" 2>/dev/null || true
[ -s "$partial" ] || { log "pg_dump wrote nothing"; exit 1; }
mv "$base.counts.partial" "$base.counts"
mv "$partial" "$base.dump"
log "done: $(du -h "$base.dump" | cut -f1) ($(tr '\n' ' ' <"$base.counts"))"

# Rotation by name: the UTC timestamp sorts in time order.
mapfile -t dumps < <(find "$dir" -maxdepth 1 -name 'ragedge-*.dump' -printf '%f\n' | sort -r)
for old in "${dumps[@]:keep}"; do
  rm -f "$dir/$old" "$dir/${old%.dump}.counts"
  log "rotated out $old"
done

status=0
# A tool missing from cron's PATH would otherwise fail every night as "command not found".
have_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "offsite copy: '$1' is not installed or not in PATH ($PATH); deploy/bootstrap-vps.sh installs rclone"
  return 1
}
if [ "$offsite" = 1 ] && [ -n "${BACKUP_S3_URL:-}" ]; then
  read -r -a aws <<<"${BACKUP_AWS:-aws}"
  have_tool "${aws[0]}" || { echo "$base.dump"; exit 3; }
  endpoint=()
  [ -n "${BACKUP_S3_ENDPOINT:-}" ] && endpoint=(--endpoint-url "$BACKUP_S3_ENDPOINT")
  for file in "$base.dump" "$base.counts"; do
    if ! "${aws[@]}" s3 cp --only-show-errors "${endpoint[@]}" "$file" "${BACKUP_S3_URL%/}/$(basename "$file")"; then
      log "offsite copy of $(basename "$file") to $BACKUP_S3_URL failed"
      status=3
    fi
  done
elif [ "$offsite" = 1 ] && [ -n "${BACKUP_RCLONE_REMOTE:-}" ]; then
  have_tool "${BACKUP_RCLONE:-rclone}" || { echo "$base.dump"; exit 3; }
  if ! "${BACKUP_RCLONE:-rclone}" copy "$base.dump" "$base.counts" "$BACKUP_RCLONE_REMOTE" 2>&1 | sed 's/^/[rclone] /' >&2; then
    status=3
  fi
fi
[ "$status" = 0 ] || log "the local dump is fine; the offsite copy is not"
echo "$base.dump"
exit "$status"
