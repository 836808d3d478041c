# shellcheck shell=bash
# send_alert MESSAGE: tells a person, through whichever channels are configured:
#   ALERT_COMMAND         run with the message as its one argument (e.g. a script of yours);
#   ALERT_WEBHOOK_URL     POSTed with curl (bounded, retried twice), in ALERT_WEBHOOK_FORMAT:
#                         slack (default: {"text": …}), discord ({"content": …}), or text (the
#                         bare message, as ntfy.sh and most "push a line" services take it).
# Returns 0 when at least one channel took the message, 1 when none did or none is configured,
# so a caller can fall back (cron mails what a job prints). Never exits the caller.
# Why not MAILTO alone: it needs a mail server on the VPS, and many hosts block outbound SMTP.

json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/}"
  s="${s//$'\t'/ }"
  printf '"%s"' "$s"
}

send_alert() {
  local message="$1" delivered=1 body type
  if [ -n "${ALERT_COMMAND:-}" ]; then
    local -a command
    read -r -a command <<<"$ALERT_COMMAND"
    if "${command[@]}" "$message" >/dev/null 2>&1; then delivered=0; else
      echo "alert: ALERT_COMMAND failed" >&2
    fi
  fi
  if [ -n "${ALERT_WEBHOOK_URL:-}" ]; then
    type="application/json"
    case "${ALERT_WEBHOOK_FORMAT:-slack}" in
      slack) body="{\"text\":$(json_string "$message")}" ;;
      discord) body="{\"content\":$(json_string "$message")}" ;;
      text) body="$message"; type="text/plain; charset=utf-8" ;;
      *) echo "alert: ALERT_WEBHOOK_FORMAT must be slack, discord or text" >&2; body="" ;;
    esac
    if [ -n "$body" ] && printf '%s' "$body" |
      curl -fsS -m 10 --retry 2 --retry-delay 2 -o /dev/null -H "Content-Type: $type" \
        --data-binary @- "$ALERT_WEBHOOK_URL"; then
      delivered=0
    elif [ -n "$body" ]; then
      echo "alert: the webhook did not accept the alert" >&2
    fi
  fi
  return "$delivered"
}
