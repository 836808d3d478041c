#!/usr/bin/env bash
# Prepares a fresh VPS for ragedge, as root, from the checkout: packages, the deploy user, the
# firewall and SSH, swap, directories and settings with the owners and modes the deploy user
# needs, cron and log rotation. Safe to run again: it changes only what is missing or wrong.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: deploy/bootstrap-vps.sh --server-name NAME --public-origin URL [options]
Run as root on the VPS, from the checkout (e.g. /opt/ragedge/deploy/bootstrap-vps.sh).

  --server-name NAME     the VPS's public name, e.g. origin.example.com (nginx, .env)  [required]
  --public-origin URL    the chat site's origin, e.g. https://example.com: PUBLIC_ORIGINS, the
                         origins whose pages may use any site's public key; repeat or
                         comma-separate for several                                    [required]
  --user NAME            the non-root user that deploys and runs the jobs        [default deploy]
  --swap SIZE|none       swap file size                                            [default 2G]
  --alert-webhook URL    ALERT_WEBHOOK_URL for ops.env (Slack-style; see --help of scripts/alert.sh)
  --alert-format F       slack | discord | text                                 [default slack]
  --no-harden            skip the firewall and SSH changes (e.g. the provider's firewall is used)

What it does, each step only when needed:
  1. apt packages: git curl ufw cron logrotate rclone openssl; Docker Engine with the compose
     plugin (the distribution's docker.io + docker-compose-v2) unless `docker compose` works.
  2. USER: created, in group docker, root's authorized_keys copied when it has none; the
     checkout (this directory) owned by USER.
  3. scripts/harden-host.sh --user USER (ufw 22/80/443, SSH keys only, checked with sshd -T),
     scripts/setup-swap.sh, vm.overcommit_memory=1 for Redis.
  4. .env (from .env.example, secrets generated, SERVER_NAME and PUBLIC_ORIGINS set): USER, 0600.
     run/, backups/db/, nginx/rendered/: USER, 0750. /etc/ragedge: root:USER 0750;
     ops.env there: root:USER 0640 (USER reads it for backups and deploys; only root edits);
     admin-token (for Prometheus): root 0600. /etc/ssl/cloudflare: root 0700.
     /var/log/ragedge: USER 0750, rotated weekly by /etc/logrotate.d/ragedge.
  5. /etc/cron.d/ragedge: the daily backup, the weekly restore check and housekeeping, run as
     USER through scripts/cron-run.sh (log per job, an alert on every failure).
Existing .env and ops.env are never overwritten: only SERVER_NAME / PUBLIC_ORIGINS given on the
command line are updated, and owners and modes are put right.
RAGEDGE_SYSROOT (rehearsals only): a directory that stands for / for every file written.
TXT
}

server_name=""
origins=""
user="deploy"
swap="2G"
webhook=""
webhook_format="slack"
harden=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --server-name) server_name="${2:?--server-name needs a name}"; shift 2 ;;
    --public-origin) origins="${origins:+$origins,}${2:?--public-origin needs a URL}"; shift 2 ;;
    --user) user="${2:?--user needs a name}"; shift 2 ;;
    --swap) swap="${2:?--swap needs a size}"; shift 2 ;;
    --alert-webhook) webhook="${2:?--alert-webhook needs a URL}"; shift 2 ;;
    --alert-format) webhook_format="${2:?--alert-format needs a value}"; shift 2 ;;
    --no-harden) harden=0; shift ;;
    *) echo "bootstrap-vps.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

fail() { echo "bootstrap-vps.sh: $*" >&2; exit 2; }
[[ "$server_name" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$ ]] ||
  fail "--server-name must be a lower-case host name like origin.example.com"
[ -n "$origins" ] || fail "--public-origin is required: the chat site's origin, e.g. https://example.com (without it the site's questions are refused)"
IFS=',' read -r -a origin_list <<<"$origins"
for o in "${origin_list[@]}"; do
  [[ "$o" =~ ^https?://[a-z0-9.-]+(:[0-9]{1,5})?$ ]] || fail "--public-origin must be scheme://host[:port], no path (got '$o')"
done
if ! [[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || [ "$user" = root ]; then fail "--user must be a non-root user name"; fi
[[ "$swap" =~ ^([1-9][0-9]*[MG]|none)$ ]] || fail "--swap like 2G, 512M or none"
[[ "$webhook_format" =~ ^(slack|discord|text)$ ]] || fail "--alert-format: slack, discord or text"
[ -z "$webhook" ] || [[ "$webhook" =~ ^https?://[^[:space:]\'\"]+$ ]] || fail "--alert-webhook must be an http(s):// URL"
[ "$(id -u)" = 0 ] || { echo "bootstrap-vps.sh: run as root" >&2; exit 1; }

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sys="${RAGEDGE_SYSROOT:-}"
step() { printf '== %s\n' "$*"; }

step "packages"
export DEBIAN_FRONTEND=noninteractive
wanted=(git curl ufw cron logrotate rclone openssl ca-certificates)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! docker compose version >/dev/null 2>&1; then missing+=(docker.io docker-compose-v2); fi
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q "${missing[@]}" ||
    fail "apt-get could not install: ${missing[*]} (Debian 12 has no docker-compose-v2: install Docker from docker.com's apt repository, then run this again)"
fi

step "user $user"
if ! id -u "$user" >/dev/null 2>&1; then
  home_args=()
  [ -z "$sys" ] || home_args=(--home-dir "$sys/home/$user")
  useradd --create-home "${home_args[@]}" --shell /bin/bash --user-group "$user"
fi
getent group docker >/dev/null || groupadd --system docker
usermod -aG docker "$user"
home="$(getent passwd "$user" | cut -d: -f6)"
if [ ! -s "$home/.ssh/authorized_keys" ] && [ -s "$sys/root/.ssh/authorized_keys" ]; then
  install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
  install -m 600 -o "$user" -g "$user" "$sys/root/.ssh/authorized_keys" "$home/.ssh/authorized_keys"
fi
# The deploy user pulls, renders nginx's config, writes run/ and backups/: it owns the checkout.
chown -R "$user:$user" "$dir"

if [ "$harden" = 1 ]; then
  step "firewall and SSH"
  RAGEDGE_SYSROOT="$sys" bash "$dir/scripts/harden-host.sh" --user "$user"
fi
if [ "$swap" != none ]; then
  step "swap"
  RAGEDGE_SYSROOT="$sys" bash "$dir/scripts/setup-swap.sh" --size "$swap"
fi
# Redis forks to rewrite its AOF; without overcommit the fork can fail under memory pressure.
mkdir -p "$sys/etc/sysctl.d"
echo "vm.overcommit_memory = 1" >"$sys/etc/sysctl.d/90-ragedge-redis.conf"
sysctl -q -p "$sys/etc/sysctl.d/90-ragedge-redis.conf" || echo "warning: sysctl could not apply vm.overcommit_memory" >&2

step "directories"
install -d -m 750 -o "$user" -g "$user" "$dir/run" "$dir/backups" "$dir/backups/db" \
  "$dir/nginx/rendered" "$sys/var/log/ragedge"
install -d -m 750 -o root -g "$user" "$sys/etc/ragedge"
install -d -m 700 -o root -g root "$sys/etc/ssl/cloudflare"

step ".env"
env_file="$dir/.env"
set_key() { # set_key KEY VALUE: replace the KEY= line (or add it); values here are [A-Za-z0-9:/.,_-]
  if grep -q "^$1=" "$env_file"; then sed -i "s|^$1=.*|$1=$2|" "$env_file"; else echo "$1=$2" >>"$env_file"; fi
}
if [ ! -f "$env_file" ]; then
  umask 077
  cp "$dir/.env.example" "$env_file"
  pg_password="$(openssl rand -hex 32)"
  set_key POSTGRES_PASSWORD "$pg_password"
  set_key DATABASE_URL "postgres://ragedge:$pg_password@db:5432/ragedge"
  for key in ADMIN_TOKEN EDGE_SHARED_SECRET GF_SECURITY_ADMIN_PASSWORD; do set_key "$key" "$(openssl rand -hex 32)"; done
  umask 022
  echo "wrote $env_file with new secrets (EDGE_SHARED_SECRET goes to the Worker too: docs/deploy.md, step 4)"
fi
set_key SERVER_NAME "$server_name"
set_key PUBLIC_ORIGINS "$origins"
chown "$user:$user" "$env_file"
chmod 600 "$env_file"
if grep -q '=change-me$' "$env_file"; then
  echo "warning: $env_file still has change-me values: $(grep -o '^[A-Z_]*=change-me$' "$env_file" | cut -d= -f1 | tr '\n' ' ')" >&2
fi
admin_token="$(grep -m1 '^ADMIN_TOKEN=' "$env_file" | cut -d= -f2-)"
( umask 077; printf '%s\n' "$admin_token" >"$sys/etc/ragedge/admin-token" )
chown root:root "$sys/etc/ragedge/admin-token"
chmod 600 "$sys/etc/ragedge/admin-token"

step "ops.env"
ops="$sys/etc/ragedge/ops.env"
compose="docker compose -f $dir/docker-compose.prod.yml"
if [ ! -f "$ops" ]; then
  cat >"$ops" <<ENV
# Settings of the operations scripts (backups, the weekly job, cron-run.sh). KEY=VALUE lines,
# never executed. Written by deploy/bootstrap-vps.sh; edit as root.
DATABASE_URL=postgresql:///ragedge?user=ragedge
BACKUP_DIR=$dir/backups/db
BACKUP_KEEP=7
BACKUP_PG_DUMP=$compose exec -T db pg_dump
BACKUP_PSQL=$compose exec -T db psql
VERIFY_PSQL=$compose exec -T db psql
VERIFY_PG_RESTORE=$compose exec -T db pg_restore
# Offsite copy (rclone, installed above): configure the remote as $user (rclone config), e.g.
# an R2 bucket "ragedge-backups" on a remote named r2, then uncomment:
#BACKUP_RCLONE_REMOTE=r2:ragedge-backups/vps1
MAINTENANCE_LOG=$sys/var/log/ragedge/maintenance.log
RAGEDGE_LOG_DIR=$sys/var/log/ragedge
# Alerts (scripts/alert.sh): a chat webhook (slack / discord / text for ntfy-style services).
ALERT_WEBHOOK_URL=$webhook
ALERT_WEBHOOK_FORMAT=$webhook_format
ENV
elif [ -n "$webhook" ]; then
  # Not sed: a URL may hold any of sed's special characters.
  { grep -v '^ALERT_WEBHOOK_URL=' "$ops" || true; echo "ALERT_WEBHOOK_URL=$webhook"; } >"$ops.new"
  mv -f "$ops.new" "$ops"
fi
chown "root:$user" "$ops"
chmod 640 "$ops"

step "cron and log rotation"
cron="$sys/etc/cron.d/ragedge"
mkdir -p "$(dirname "$cron")" "$sys/etc/logrotate.d"
run="$dir/scripts/cron-run.sh"
cat >"$cron" <<CRON
# ragedge jobs (deploy/bootstrap-vps.sh). Each runs as $user through cron-run.sh: output to
# /var/log/ragedge/<job>.log, and an alert (ops.env: ALERT_WEBHOOK_URL / ALERT_COMMAND) when it fails.
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RAGEDGE_OPS_ENV=$sys/etc/ragedge/ops.env
# daily: dump, keep 7, copy offsite when BACKUP_RCLONE_REMOTE is set
30 3 * * *  $user  $run backup $dir/scripts/backup.sh
# weekly: prove the newest dump restores (row counts + a vector query, in a scratch database)
0 5 * * 0   $user  $run verify-backup $dir/scripts/verify-backup.sh
# weekly: prune Docker; alert on disk, memory, unhealthy containers, stale backups
0 4 * * 0   $user  $run weekly-maintenance $dir/scripts/weekly-maintenance.sh
CRON
chmod 644 "$cron"
cat >"$sys/etc/logrotate.d/ragedge" <<ROT
$sys/var/log/ragedge/*.log {
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    su $user $user
    create 0640 $user $user
}
ROT
chmod 644 "$sys/etc/logrotate.d/ragedge"

echo "bootstrap done. Next, as $user: docs/deploy.md, step 3 (the certificate), then step 5."
