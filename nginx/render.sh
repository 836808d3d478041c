#!/usr/bin/env bash
# Renders the nginx config for ragedge from ragedge.conf.template and the snippets.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: nginx/render.sh --out DIR [--env FILE]
       nginx/render.sh --out DIR --set-upstream HOST:PORT   (only rewrite DIR/upstream.conf)

Writes DIR/ragedge.conf (server blocks for the http context), DIR/snippets/*.conf and
DIR/html/maintenance.html, and DIR/upstream.conf (the origin's address) when it does not exist
yet: after the first deploy that file belongs to deploy/deploy.sh, which points it at the blue or
the green origin, so rendering again never switches traffic back. Settings come from the environment, or from KEY=VALUE lines of
--env FILE (only the keys below are read from it; the file is never executed):

  SERVER_NAME       apex host name, e.g. example.com (www.SERVER_NAME redirects to it) [required]
  TLS_CERT          Cloudflare origin certificate, PEM        [default /etc/ssl/certs/origin.pem]
  TLS_KEY           its private key                           [default /etc/ssl/private/origin.key]
  UPSTREAM          origin address host:port, for a new upstream.conf [default 127.0.0.1:8001]
  MAINTENANCE_FLAG  while this file exists, everything but /api/v1/health answers 503
                                                             [default /var/run/ragedge/maintenance.on]
  AOP_CLIENT_CA     Cloudflare's Authenticated Origin Pulls CA; when set, nginx accepts only
                    clients presenting a certificate it signed                    [default: off]
  HTTP_LISTEN       port, or address:port, for plain HTTP       [default 80]
  HTTPS_LISTEN      port, or address:port, for HTTPS            [default 443]
  NGINX_DIR         where DIR will be when nginx reads it (e.g. a container mount) [default DIR]
  REAL_IP_FROM      peers whose CF-Connecting-IP names the reader (for limits and logs):
                    'cloudflare' (Cloudflare's published ranges), or addresses/CIDRs
                    separated by spaces or commas                       [default cloudflare]
TXT
}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KEYS=(SERVER_NAME TLS_CERT TLS_KEY UPSTREAM MAINTENANCE_FLAG AOP_CLIENT_CA HTTP_LISTEN HTTPS_LISTEN NGINX_DIR REAL_IP_FROM)
out=""
env_file=""
set_upstream=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --env) env_file="${2:?--env needs a file}"; shift 2 ;;
    --set-upstream) set_upstream="${2:?--set-upstream needs host:port}"; shift 2 ;;
    *) echo "render.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "render.sh: --out is required" >&2; usage >&2; exit 2; }

fail() { echo "render.sh: $*" >&2; exit 2; }
# The one upstream block; deploy/deploy.sh rewrites it with `render.sh --set-upstream`.
upstream_conf() {
  printf '%s\n' "# Written by nginx/render.sh or deploy/deploy.sh (blue-green switch); do not edit." \
    "upstream ragedge_origin {" "    server $1;" \
    "    # Reused connections to the origin: needs HTTP/1.1 and an empty Connection header (proxy.conf)." \
    "    keepalive 16;" "}"
}

if [ -n "$env_file" ]; then
  [ -f "$env_file" ] || { echo "render.sh: no such env file: $env_file" >&2; exit 2; }
  for key in "${KEYS[@]}"; do
    line="$(grep -E "^${key}=" "$env_file" | tail -n 1 || true)"
    if [ -n "$line" ] && [ -z "${!key:-}" ]; then
      value="${line#*=}"
      value="${value%\"}"; value="${value#\"}"
      export "$key=$value"
    fi
  done
fi

if [ -n "$set_upstream" ]; then
  [[ "$set_upstream" =~ ^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]] || fail "--set-upstream must be host:port (got '$set_upstream')"
  mkdir -p "$out"
  # A rename is atomic: a reload never reads half a file.
  upstream_conf "$set_upstream" >"$out/upstream.conf.new"
  mv -f "$out/upstream.conf.new" "$out/upstream.conf"
  echo "upstream: $set_upstream"
  exit 0
fi

mkdir -p "$out/snippets" "$out/html"
out="$(cd "$out" && pwd)"

export SERVER_NAME="${SERVER_NAME:-}"
export TLS_CERT="${TLS_CERT:-/etc/ssl/certs/origin.pem}"
export TLS_KEY="${TLS_KEY:-/etc/ssl/private/origin.key}"
export UPSTREAM="${UPSTREAM:-127.0.0.1:8001}"
export MAINTENANCE_FLAG="${MAINTENANCE_FLAG:-/var/run/ragedge/maintenance.on}"
export AOP_CLIENT_CA="${AOP_CLIENT_CA:-}"
export HTTP_LISTEN="${HTTP_LISTEN:-80}"
export HTTPS_LISTEN="${HTTPS_LISTEN:-443}"
export NGINX_DIR="${NGINX_DIR:-$out}"
export REAL_IP_FROM="${REAL_IP_FROM:-cloudflare}"

# Values land inside nginx directives: refuse anything that could end one or start another.
[[ "$SERVER_NAME" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$ ]] ||
  fail "SERVER_NAME must be a lower-case host name like example.com (got '${SERVER_NAME}')"
[[ "$UPSTREAM" =~ ^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]] || fail "UPSTREAM must be host:port (got '$UPSTREAM')"
for key in HTTP_LISTEN HTTPS_LISTEN; do
  [[ "${!key}" =~ ^([0-9.]+:)?[0-9]{1,5}$ ]] || fail "$key must be a port or address:port (got '${!key}')"
done
for key in TLS_CERT TLS_KEY MAINTENANCE_FLAG NGINX_DIR AOP_CLIENT_CA; do
  value="${!key}"
  [ -z "$value" ] && [ "$key" = AOP_CLIENT_CA ] && continue
  [[ "$value" =~ ^/[A-Za-z0-9._/-]+$ ]] || fail "$key must be an absolute path of [A-Za-z0-9._/-] (got '$value')"
done

if [ "$REAL_IP_FROM" = cloudflare ]; then
  export REAL_IP_DIRECTIVES="include ${NGINX_DIR}/snippets/cloudflare-real-ip.conf;"
else
  REAL_IP_DIRECTIVES="# The reader's address: CF-Connecting-IP, believed only from these peers."
  for peer in ${REAL_IP_FROM//,/ }; do
    [[ "$peer" =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] || fail "REAL_IP_FROM entries must be addresses or CIDR ranges (got '$peer')"
    REAL_IP_DIRECTIVES+=$'\n'"set_real_ip_from ${peer};"
  done
  REAL_IP_DIRECTIVES+=$'\n'"real_ip_header CF-Connecting-IP;"
  export REAL_IP_DIRECTIVES
fi

if [ -n "$AOP_CLIENT_CA" ]; then
  export AOP_DIRECTIVES="# Authenticated Origin Pulls: only Cloudflare holds a client certificate signed by this CA.
ssl_client_certificate ${AOP_CLIENT_CA};
ssl_verify_client on;"
else
  export AOP_DIRECTIVES="# Authenticated Origin Pulls: off (set AOP_CLIENT_CA to require Cloudflare's client certificate)."
fi

# Only our own variables are substituted; nginx's $uri, $host, ... pass through untouched.
# shellcheck disable=SC2016 # the names are for envsubst, not for the shell
vars='${SERVER_NAME} ${TLS_CERT} ${TLS_KEY} ${UPSTREAM} ${MAINTENANCE_FLAG} ${HTTP_LISTEN} ${HTTPS_LISTEN} ${NGINX_DIR} ${AOP_DIRECTIVES} ${REAL_IP_DIRECTIVES}'
envsubst "$vars" <"$HERE/ragedge.conf.template" >"$out/ragedge.conf"
envsubst "$vars" <"$HERE/snippets/tls.conf.template" >"$out/snippets/tls.conf"
cp "$HERE/snippets/security-headers.conf" "$HERE/snippets/proxy.conf" "$HERE/snippets/cloudflare-real-ip.conf" "$out/snippets/"
cp "$HERE/maintenance.html" "$out/html/maintenance.html"
if [ -f "$out/upstream.conf" ]; then
  echo "kept $out/upstream.conf ($(grep -o 'server [^;]*' "$out/upstream.conf" | head -n 1))"
else
  upstream_conf "$UPSTREAM" >"$out/upstream.conf"
fi
echo "rendered $out/ragedge.conf for $SERVER_NAME"

