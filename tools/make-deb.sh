#!/usr/bin/env bash
# Builds the Debian package from a release build: `make deb` (tools/make-deb.sh
# BINARY OUTDIR). What it holds: the binary; the shipped scripts, stdlib and
# example package files in /usr/share/hanfs (where the binary in /usr/bin
# finds them); hanfs(8) and hanfs.conf(5); bash and zsh completion; the
# Pacemaker agent ocf:hanfs:package (a link to the binary); a logrotate file.
# Its dependencies: the libraries the binary links (dpkg-shlibdeps) and the
# Debian packages of the tools hanfs drives.
set -euo pipefail

binary=${1:-.build/release/hanfs}
out=${2:-.build/deb}
[ -x "$binary" ] || { echo "make-deb: no binary $binary (make build)" >&2; exit 1; }

version=$("$binary" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
share=$root/usr/share

install -D -m 0755 "$binary" "$root/usr/bin/hanfs"
strip --strip-unneeded "$root/usr/bin/hanfs"
install -d "$share/hanfs"
cp -R scripts stdlib examples "$share/hanfs/"
find "$share/hanfs" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
install -D -m 0644 doc/hanfs.8 "$share/man/man8/hanfs.8"
install -D -m 0644 doc/hanfs.conf.5 "$share/man/man5/hanfs.conf.5"
gzip -9n "$share/man/man8/hanfs.8" "$share/man/man5/hanfs.conf.5"
install -d "$share/bash-completion/completions" "$share/zsh/vendor-completions"
"$binary" --generate-completion-script bash > "$share/bash-completion/completions/hanfs"
"$binary" --generate-completion-script zsh > "$share/zsh/vendor-completions/_hanfs"
chmod 0644 "$share/bash-completion/completions/hanfs" "$share/zsh/vendor-completions/_hanfs"
install -d "$root/usr/lib/ocf/resource.d/hanfs"
ln -s /usr/bin/hanfs "$root/usr/lib/ocf/resource.d/hanfs/package"
install -D -m 0644 packaging/logrotate "$root/etc/logrotate.d/hanfs"
install -d "$share/doc/hanfs"
gzip -9n < README.md > "$share/doc/hanfs/README.md.gz"
cat > "$share/doc/hanfs/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hanfs

Files: *
Copyright: the hanfs developers
License: see the project's repository
EOF
printf 'hanfs (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- hanfs developers <hanfs@localhost>  %s\n' \
  "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" \
  | gzip -9n > "$share/doc/hanfs/changelog.Debian.gz"

# The libraries the binary links, as dpkg-shlibdeps names their packages.
mkdir -p "$work/src/debian"
printf 'Source: hanfs\n\nPackage: hanfs\nArchitecture: any\n' > "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/hanfs" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')

install -d "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<EOF
Package: hanfs
Version: $version
Architecture: $arch
Maintainer: hanfs developers <hanfs@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $shlibs, lvm2, util-linux, mount, e2fsprogs, iproute2, rpcbind, nfs-common
Recommends: nfs-kernel-server | nfs-ganesha-vfs, xfsprogs, logrotate
Suggests: pacemaker, corosync, crmsh | pcs, resource-agents, nfs-ganesha
Section: admin
Priority: optional
Description: run a highly available NFS package on a cluster node
 hanfs does a highly available NFS server's work on a node: it starts a
 package (volume groups, file systems, exports, addresses, the clients'
 lock state), stops it in the exact reverse, moves NFSv3 locks with it and
 monitors it, as the Serviceguard NFS Toolkit's hanfs.sh, nfs.mon and nfs.flm
 did. A cluster manager decides where the package runs: Serviceguard, or
 Pacemaker with Corosync through the agent ocf:hanfs:package. Its control
 scripts are Lua files a site can read and change.
EOF
echo /etc/logrotate.d/hanfs > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/hanfs_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
