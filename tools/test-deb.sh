#!/usr/bin/env bash
# The Debian package on a clean Debian 12: a fresh root made by debootstrap,
# the package installed there with `apt install ./hanfs_*.deb` as an admin
# would (its dependencies from Debian), then: hanfs runs, `hanfs run doctor`
# finds every required tool, the example package files validate, the man
# pages, completion, logrotate file and OCF agent are in place; then
# `apt purge` leaves none of its files. Everything runs in a mount namespace
# of its own (its /proc goes with it) and the root is removed, also after a
# failure. Needs root and the network (a Debian mirror: $DEBIAN_MIRROR).
set -euo pipefail

deb=$(readlink -f "${1:?usage: test-deb.sh hanfs_VERSION_ARCH.deb}")
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/hanfs-deb-test.XXXXXX)
root=$work/root

cleanup() {
  # Nothing started in the root may outlive the test.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

step() { printf 'test-deb: %s\n' "$*"; }
fail() { printf 'test-deb: FAILED: %s\n' "$*" >&2; exit 1; }

# A command in the root: its own mount namespace, /proc mounted there, no
# service started (policy-rc.d), the environment an admin's shell has.
in_root() {
  unshare --mount --propagation private --fork -- \
    sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
    "$root" "$@"
}

step "a fresh Debian 12 root (debootstrap, minbase)"
started=$(date +%s)
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
name=$(basename "$deb")

step "apt install ./$name"
in_root apt-get update -qq > "$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get update"; }
in_root apt-get install -y -qq "/tmp/$name" >> "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; fail "apt install"; }
installed=$(date +%s)

step "it runs"
in_root hanfs --version | grep -q '^hanfs ' || fail "hanfs --version"
doctor=$(in_root hanfs run doctor 2>&1) || { printf '%s\n' "$doctor" >&2; fail "hanfs run doctor"; }
printf '%s\n' "$doctor" | grep -q '^ready: every required tool is here' || { printf '%s\n' "$doctor" >&2; fail "doctor is not ready"; }
for example in nfspkg.lua nfspkg.conf hanfs.conf; do
  in_root hanfs validate --config "/usr/share/hanfs/examples/$example" | grep -q 'package nfspkg is valid' \
    || fail "the example $example does not validate"
done
in_root /usr/lib/ocf/resource.d/hanfs/package meta-data | grep -q '<resource-agent name="package"' || fail "the OCF agent's meta-data"
for f in /usr/share/man/man8/hanfs.8.gz /usr/share/man/man5/hanfs.conf.5.gz /usr/share/bash-completion/completions/hanfs \
         /usr/share/zsh/vendor-completions/_hanfs /etc/logrotate.d/hanfs /usr/share/hanfs/scripts/start.lua /usr/share/hanfs/stdlib/plan.lua; do
  [ -s "$root$f" ] || fail "$f is missing"
done
in_root logrotate --debug /etc/logrotate.d/hanfs > "$work/logrotate.log" 2>&1 || { cat "$work/logrotate.log" >&2; fail "logrotate reads its file"; }

step "apt purge hanfs"
in_root dpkg -L hanfs > "$work/files"
in_root apt-get purge -y -qq hanfs > "$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "apt purge"; }
in_root dpkg -s hanfs > /dev/null 2>&1 && fail "hanfs is still installed"
left=0
while read -r f; do
  # Its directories may be shared with other packages; its files may not stay.
  if [ -e "$root$f" ] && [ ! -d "$root$f" ] || [ -L "$root$f" ]; then
    echo "left: $f" >&2
    left=$((left + 1))
  fi
done < "$work/files"
[ "$left" -eq 0 ] || fail "$left file(s) of the package left after purge"
[ ! -e "$root/usr/share/hanfs" ] || fail "/usr/share/hanfs left after purge"

step "passed: installed in $((installed - started)) s (debootstrap and apt), ran, purged clean"
