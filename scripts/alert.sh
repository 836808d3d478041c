#!/usr/bin/env bash
# Sends one alert through the channels configured in ops.env (see scripts/lib/alert.sh).
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: scripts/alert.sh MESSAGE
       scripts/alert.sh --test        (sends "ragedge alert test from <host>")

Sends MESSAGE through ALERT_COMMAND and/or ALERT_WEBHOOK_URL (ALERT_WEBHOOK_FORMAT slack, discord
or text), read from the environment or $RAGEDGE_OPS_ENV (default /etc/ragedge/ops.env).
Exit: 0 delivered by at least one channel; 1 not delivered (the message is printed to stderr, so
cron's own mail still carries it where a mailer exists); 2 usage.
TXT
}

here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source-path=SCRIPTDIR source=lib/ops-env.sh
. "$here/lib/ops-env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/alert.sh
. "$here/lib/alert.sh"
load_ops_env ALERT_COMMAND ALERT_WEBHOOK_URL ALERT_WEBHOOK_FORMAT

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
  --test) message="ragedge alert test from $(hostname)" ;;
  *) message="$1" ;;
esac
if send_alert "$message"; then exit 0; fi
printf 'ALERT NOT DELIVERED (set ALERT_WEBHOOK_URL or ALERT_COMMAND): %s\n' "$message" >&2
exit 1
