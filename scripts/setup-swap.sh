#!/usr/bin/env bash
# Adds a swap file so a memory spike pages out instead of waking the OOM killer. Idempotent.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: sudo scripts/setup-swap.sh [--size 2G] [--file /swapfile] [--swappiness 10] [--dry-run]

Creates FILE of SIZE (fallocate, falling back to dd), mode 600, enables it, adds it to
/etc/fstab once, and sets vm.swappiness in /etc/sysctl.d/99-ragedge-swap.conf: low, so the
kernel keeps PostgreSQL and the origin in RAM and swaps only under real pressure.
Does nothing to a swap file that is already active. --dry-run prints the commands instead.
TXT
}

# RAGEDGE_SYSROOT: a directory standing for / (rehearsals: test/ops/rehearsal.test.ts).
sys="${RAGEDGE_SYSROOT:-}"
size="2G"
file="$sys/swapfile"
swappiness=10
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --size) size="${2:?--size needs a value}"; shift 2 ;;
    --file) file="${2:?--file needs a value}"; shift 2 ;;
    --swappiness) swappiness="${2:?--swappiness needs a value}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "setup-swap.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$size" =~ ^[1-9][0-9]*[MG]$ ]] || { echo "setup-swap.sh: --size like 2G or 512M" >&2; exit 2; }
if ! [[ "$swappiness" =~ ^[0-9]{1,3}$ ]] || [ "$swappiness" -gt 100 ]; then
  echo "setup-swap.sh: --swappiness 0..100" >&2
  exit 2
fi
[[ "$file" =~ ^/[A-Za-z0-9._/-]+$ ]] || { echo "setup-swap.sh: --file must be an absolute path" >&2; exit 2; }

run() {
  if [ "$dry_run" = 1 ]; then printf '%s\n' "$*"; else "$@"; fi
}
write() {
  if [ "$dry_run" = 1 ]; then printf 'write %s: %s\n' "$1" "$2"; else printf '%s\n' "$2" >"$1"; fi
}

if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "setup-swap.sh: run as root" >&2
  exit 1
fi

if swapon --show=NAME --noheadings 2>/dev/null | grep -qx "$file"; then
  echo "swap $file is already active"
else
  if [ ! -f "$file" ]; then
    if ! run fallocate -l "$size" "$file"; then
      # Some filesystems (and some VPS kernels) refuse fallocate for swap files.
      count="${size%[MG]}"
      [ "${size: -1}" = G ] && count=$((count * 1024))
      run dd if=/dev/zero of="$file" bs=1M count="$count" status=none
    fi
  fi
  run chmod 600 "$file"
  run mkswap "$file"
  run swapon "$file"
fi

if ! grep -qE "^${file}[[:space:]]" "$sys/etc/fstab" 2>/dev/null; then
  if [ "$dry_run" = 1 ]; then
    printf 'append %s/etc/fstab: %s none swap sw 0 0\n' "$sys" "$file"
  else
    printf '%s none swap sw 0 0\n' "$file" >>"$sys/etc/fstab"
  fi
fi
[ "$dry_run" = 1 ] || mkdir -p "$sys/etc/sysctl.d"
write "$sys/etc/sysctl.d/99-ragedge-swap.conf" "vm.swappiness=$swappiness"
run sysctl -q -w "vm.swappiness=$swappiness"
echo "swap: $file ($size), swappiness $swappiness"
