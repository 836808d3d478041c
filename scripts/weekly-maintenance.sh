#!/usr/bin/env bash
# Weekly housekeeping for the VPS: prune old Docker images, containers and build cache, check
# disk, memory, containers and backups, and append everything to a log. Exits 1 when an alert
# fired, so cron mails it.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: scripts/weekly-maintenance.sh [--log FILE] [--no-prune]

Appends one report to the log:
  - prunes images and stopped containers unused for 7 days, and the build cache older than that
    (tagged images such as ragedge-origin:previous are kept: deploy.sh rolls back to it);
  - ALERT when the disk holding DISK_PATH is above DISK_ALERT_PCT percent used;
  - ALERT when memory in use (MemTotal - MemAvailable) is above MEM_ALERT_PCT percent;
  - container status (docker ps), ALERT for a container that is not running or is unhealthy;
  - backup inventory: count, newest, its age; ALERT when the newest is older than
    BACKUP_MAX_AGE_HOURS.
ALERT lines also go to stderr, and to ALERT_COMMAND and/or ALERT_WEBHOOK_URL (scripts/lib/alert.sh)
when set.

Environment (also read from $RAGEDGE_OPS_ENV, default /etc/ragedge/ops.env):
  MAINTENANCE_LOG        [default /var/log/ragedge-maintenance.log]
  DISK_PATH              [default /]          DISK_ALERT_PCT [default 80]
  MEM_ALERT_PCT          [default 90]
  BACKUP_DIR             [default /opt/ragedge/backups/db]
  BACKUP_MAX_AGE_HOURS   [default 26]
  DOCKER                 docker command [default docker]
  ALERT_COMMAND, ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT   optional (scripts/lib/alert.sh)
  DISK_USED_PCT, MEM_USED_PCT   readings to use instead of measuring (for tests and drills)

Exit: 0 no alert; 1 at least one alert; 2 usage.
TXT
}

# shellcheck source-path=SCRIPTDIR source=lib/ops-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/ops-env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/alert.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/alert.sh"
load_ops_env MAINTENANCE_LOG DISK_PATH DISK_ALERT_PCT MEM_ALERT_PCT BACKUP_DIR \
  BACKUP_MAX_AGE_HOURS DOCKER ALERT_COMMAND ALERT_WEBHOOK_URL ALERT_WEBHOOK_FORMAT

log_file="${MAINTENANCE_LOG:-/var/log/ragedge-maintenance.log}"
prune=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --log) log_file="${2:?--log needs a file}"; shift 2 ;;
    --no-prune) prune=0; shift ;;
    *) echo "weekly-maintenance.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

disk_path="${DISK_PATH:-/}"
disk_max="${DISK_ALERT_PCT:-80}"
mem_max="${MEM_ALERT_PCT:-90}"
backup_dir="${BACKUP_DIR:-/opt/ragedge/backups/db}"
backup_max_age="${BACKUP_MAX_AGE_HOURS:-26}"
read -r -a docker <<<"${DOCKER:-docker}"
for value in "$disk_max" "$mem_max" "$backup_max_age" "${DISK_USED_PCT:-0}" "${MEM_USED_PCT:-0}"; do
  [[ "$value" =~ ^[0-9]+$ ]] || { echo "weekly-maintenance.sh: not a whole number: $value" >&2; exit 2; }
done

mkdir -p "$(dirname "$log_file")"
alerts=0
note() { printf '%s\n' "$*" >>"$log_file"; }
alert() {
  alerts=$((alerts + 1))
  note "ALERT: $*"
  printf 'ALERT: %s\n' "$*" >&2
  if [ -n "${ALERT_COMMAND:-}${ALERT_WEBHOOK_URL:-}" ]; then
    send_alert "ragedge on $(hostname): $*" 2>>"$log_file" || note "(the alert was not delivered)"
  fi
}

disk_used_pct() { df -P "$disk_path" | awk 'NR == 2 { sub(/%/, "", $5); print $5 }'; }
mem_used_pct() {
  awk '/^MemTotal:/ { total = $2 } /^MemAvailable:/ { avail = $2 }
       END { if (total > 0) printf "%d\n", (total - avail) * 100 / total + 0.5; else print 0 }' /proc/meminfo
}

note "=== ragedge maintenance $(date -u +%Y-%m-%dT%H:%M:%SZ) ==="

if [ "$prune" = 1 ]; then
  for what in "image prune -f --filter until=168h" "container prune -f --filter until=168h" \
    "builder prune -f --filter until=168h"; do
    read -r -a args <<<"$what"
    if ! "${docker[@]}" "${args[@]}" >>"$log_file" 2>&1; then
      alert "docker $what failed"
    fi
  done
fi

disk="${DISK_USED_PCT:-$(disk_used_pct)}"
note "disk: ${disk}% used on $disk_path (alert above ${disk_max}%)"
[ "$disk" -gt "$disk_max" ] && alert "disk at ${disk}% on $disk_path (threshold ${disk_max}%)"

mem="${MEM_USED_PCT:-$(mem_used_pct)}"
note "memory: ${mem}% in use (alert above ${mem_max}%)"
[ "$mem" -gt "$mem_max" ] && alert "memory at ${mem}% (threshold ${mem_max}%)"

if status="$("${docker[@]}" ps -a --format '{{.Names}}\t{{.Status}}' 2>&1)"; then
  note "containers:"
  note "$status"
  while IFS=$'\t' read -r name state; do
    [ -n "$name" ] || continue
    case "$state" in
      *unhealthy*) alert "container $name is unhealthy ($state)" ;;
      Up*) ;;
      *) alert "container $name is not running ($state)" ;;
    esac
  done <<<"$status"
else
  alert "docker ps failed: $status"
fi

mapfile -t dumps < <(find "$backup_dir" -maxdepth 1 -name 'ragedge-*.dump' -printf '%T@ %p\n' 2>/dev/null | sort -rn)
if [ "${#dumps[@]}" = 0 ]; then
  alert "no backups in $backup_dir"
else
  newest="${dumps[0]#* }"
  age_hours=$(( ($(date +%s) - ${dumps[0]%%.*}) / 3600 ))
  note "backups: ${#dumps[@]} in $backup_dir, newest $(basename "$newest") ($(du -h "$newest" | cut -f1), ${age_hours} h old)"
  [ "$age_hours" -gt "$backup_max_age" ] && alert "newest backup is ${age_hours} h old (threshold ${backup_max_age} h)"
fi

note "=== done: $alerts alert(s) ==="
[ "$alerts" = 0 ]
