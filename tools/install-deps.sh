#!/usr/bin/env bash
# Installs what hanfs needs to build, test and run, from Debian's packages.
# Services the packages would start (rpcbind) are kept from starting: tests
# start their own daemons in namespaces of their own.
set -euo pipefail

packages=(
  # build
  pkg-config liblua5.4-dev libedit-dev
  # benchmarks and the REPL tests
  lua5.4 tmux
  # the integration tests (a process that holds a file system by a memory map)
  python3
  # the tools the primitives drive (see `hanfs run doctor`)
  lvm2 e2fsprogs xfsprogs util-linux iproute2 iputils-arping rpcbind nfs-common
  # exportfs (the kernel server's table; the daemons are never started)
  nfs-kernel-server
  # the monitor's tests: NFS-Ganesha as the NFS server (the kernel has none), a client
  nfs-ganesha nfs-ganesha-vfs libnfs-utils
  # a system bus in the lab's node: exports added and removed through Ganesha's export manager
  dbus-daemon dbus-bin
  # Pacemaker's agents (the side-by-side benchmark) and ocf-tester (the agent's test)
  resource-agents kmod
  # the lab's cluster: Corosync, Pacemaker and its tools; crmsh and pcs (the README's configurations)
  corosync pacemaker pacemaker-cli-utils crmsh pcs
  # the VM lab: qemu, and busybox and xz for the guest's initramfs and kernel image
  qemu-system-x86 busybox-static xz-utils
  # ocf-tester checks the agent's meta-data with it
  libxml2-utils
  # the reference tests check hanfs.conf(5) with groff and lexgrog
  groff-base man-db
  # the status tests read `hanfs status --prometheus` with Prometheus's own parser
  python3-prometheus-client
  # the syslog test: a real rsyslogd on a socket of its own
  rsyslog
  # the Debian package: built with dpkg-deb and dpkg-shlibdeps, tried in a fresh root made by debootstrap
  dpkg-dev debootstrap
  # the completion and log rotation tests: zsh reads the zsh completion, logrotate rotates a package log
  zsh logrotate
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
if [ $had_policy -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: installed ${missing[*]}"
