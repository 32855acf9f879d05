#!/usr/bin/env bash
# Build examples/busybox/rootfs from Debian's busybox-static: /bin/busybox with relative applet links,
# /etc/passwd and /etc/group. World-readable so a rootless user can run it too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/rootfs
[ -x "$root/bin/busybox" ] && exit 0
mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' > "$root/etc/group"
echo "This container was started by devenv: no daemon, no Docker." > "$root/etc/motd"
chmod -R a+rX "$root"
