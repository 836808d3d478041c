# shellcheck shell=bash
# Loads operations settings (for cron and deploy.sh, which start with a bare environment) from
# $RAGEDGE_OPS_ENV, default /etc/ragedge/ops.env (under $RAGEDGE_SYSROOT in rehearsals), when that file exists. Only KEY=VALUE lines
# whose key is in the list given are read; the file is never executed, and a variable already
# set in the environment wins.
load_ops_env() {
  local file="${RAGEDGE_OPS_ENV:-${RAGEDGE_SYSROOT:-}/etc/ragedge/ops.env}" key line value
  [ -f "$file" ] || return 0
  for key in "$@"; do
    [ -z "${!key:-}" ] || continue
    line="$(grep -E "^${key}=" "$file" | tail -n 1 || true)"
    [ -n "$line" ] || continue
    value="${line#*=}"
    value="${value%\"}"
    value="${value#\"}"
    export "$key=$value"
  done
}
