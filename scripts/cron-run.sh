#!/usr/bin/env bash
# Runs one scheduled job for cron: output appended to its log, and a failure always reported.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: scripts/cron-run.sh NAME COMMAND [ARG...]

Runs COMMAND with its output appended to $RAGEDGE_LOG_DIR/NAME.log (default /var/log/ragedge),
between a start and an end line. When COMMAND exits non-zero, sends an alert (scripts/alert.sh:
ALERT_COMMAND / ALERT_WEBHOOK_URL from ops.env) with the exit code and the log's last lines; if
no alert could be delivered it prints the same to stderr, which cron mails where it can.
Exits with COMMAND's status. NAME: letters, digits, - and _.
TXT
}

case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 2 ] || { usage >&2; exit 2; }
name="$1"
shift
[[ "$name" =~ ^[A-Za-z0-9_-]{1,64}$ ]] || { echo "cron-run.sh: bad NAME: $name" >&2; exit 2; }

here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source-path=SCRIPTDIR source=lib/ops-env.sh
. "$here/lib/ops-env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/alert.sh
. "$here/lib/alert.sh"
load_ops_env RAGEDGE_LOG_DIR ALERT_COMMAND ALERT_WEBHOOK_URL ALERT_WEBHOOK_FORMAT

log_dir="${RAGEDGE_LOG_DIR:-/var/log/ragedge}"
log="$log_dir/$name.log"
stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
if ! mkdir -p "$log_dir" 2>/dev/null || ! : >>"$log" 2>/dev/null; then
  # Unwritable log: still run the job, and say so where cron can see it.
  echo "cron-run.sh: cannot write $log; output goes to cron" >&2
  log=/dev/stderr
fi

echo "=== $name start $(stamp) ===" >>"$log"
status=0
"$@" >>"$log" 2>&1 || status=$?
echo "=== $name end $(stamp): exit $status ===" >>"$log"
[ "$status" = 0 ] && exit 0

tail_lines=""
[ "$log" = /dev/stderr ] || tail_lines="$(tail -n 8 "$log" | head -n 7 || true)"
message="ragedge on $(hostname): $name FAILED (exit $status). Log: $log
$tail_lines"
if ! send_alert "$message"; then
  printf 'ALERT NOT DELIVERED: %s\n' "$message" >&2
fi
exit "$status"
