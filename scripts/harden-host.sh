#!/usr/bin/env bash
# Locks the VPS down to what the product needs: ufw allowing 22, 80 and 443 only, and SSH by key.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: sudo scripts/harden-host.sh [--user NAME] [--ssh-port 22] [--dry-run]

  - ufw: deny incoming, allow outgoing, allow SSH_PORT/tcp, 80/tcp, 443/tcp, enable.
    Docker publishes ports through its own iptables rules, around ufw: that is why every port
    in docker-compose.prod.yml except nginx's is bound to 127.0.0.1.
  - sshd: a drop-in /etc/ssh/sshd_config.d/01-ragedge.conf with PasswordAuthentication no,
    KbdInteractiveAuthentication no, PermitRootLogin prohibit-password; checked with `sshd -t`
    before sshd is reloaded. sshd keeps the FIRST value it reads for a keyword, and drop-ins are
    read in name order: a cloud image's 50-cloud-init.conf (PasswordAuthentication yes) would
    win over a later file. Hence "01-", and afterwards `sshd -T` (the settings in effect) must
    show passwords off, else the script fails naming the files that say otherwise.
Refuses to turn passwords off while USER (default: the sudo user, else root) has no
~/.ssh/authorized_keys: that would lock everyone out. --dry-run prints what it would do.
TXT
}

user="${SUDO_USER:-root}"
ssh_port=22
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --user) user="${2:?--user needs a name}"; shift 2 ;;
    --ssh-port) ssh_port="${2:?--ssh-port needs a number}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "harden-host.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$ssh_port" =~ ^[0-9]{1,5}$ ]] || { echo "harden-host.sh: --ssh-port must be a number" >&2; exit 2; }

run() {
  if [ "$dry_run" = 1 ]; then printf '%s\n' "$*"; else "$@"; fi
}

if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "harden-host.sh: run as root" >&2
  exit 1
fi

home="$(getent passwd "$user" | cut -d: -f6 || true)"
if [ -z "$home" ] || [ ! -s "$home/.ssh/authorized_keys" ]; then
  echo "harden-host.sh: $user has no ~/.ssh/authorized_keys; add a key first (ssh-copy-id), or" \
    "passwords-off would lock you out" >&2
  [ "$dry_run" = 1 ] || exit 1
fi

run ufw default deny incoming
run ufw default allow outgoing
run ufw allow "$ssh_port/tcp"
run ufw allow 80/tcp
run ufw allow 443/tcp
run ufw --force enable

# RAGEDGE_SYSROOT: a directory standing for / (rehearsals: test/ops/rehearsal.test.ts).
sys="${RAGEDGE_SYSROOT:-}"
sshd_config="$sys/etc/ssh/sshd_config"
dropin="$sys/etc/ssh/sshd_config.d/01-ragedge.conf"
config="# ragedge: keys only (scripts/harden-host.sh)
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PubkeyAuthentication yes"
if [ "$dry_run" = 1 ]; then
  printf 'write %s:\n%s\n' "$dropin" "$config"
else
  mkdir -p "$(dirname "$dropin")"
  rm -f "$sys/etc/ssh/sshd_config.d/60-ragedge.conf" # where older versions put it
  printf '%s\n' "$config" >"$dropin"
  if ! sshd -t -f "$sshd_config"; then
    rm -f "$dropin"
    echo "harden-host.sh: sshd -t rejected the config; removed $dropin, sshd untouched" >&2
    exit 1
  fi
  effective="$(sshd -T -f "$sshd_config" -C user=root,host=localhost,addr=127.0.0.1 2>/dev/null || true)"
  for want in "passwordauthentication no" "kbdinteractiveauthentication no"; do
    if ! grep -qx "$want" <<<"$effective"; then
      others="$(grep -ilE "^[[:space:]]*${want% *}[[:space:]]" "$sshd_config" "$sys"/etc/ssh/sshd_config.d/*.conf 2>/dev/null | grep -vx "$dropin" | tr '\n' ' ' || true)"
      echo "harden-host.sh: sshd -T does not show '$want': an earlier setting wins (${others:-see sshd -T}); fix it and run again" >&2
      exit 1
    fi
  done
fi
# Debian and Ubuntu name the unit ssh, others sshd.
run systemctl reload ssh 2>/dev/null || run systemctl reload sshd
echo "firewall: $ssh_port, 80, 443 open; ssh: keys only"
