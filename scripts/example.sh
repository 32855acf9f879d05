#!/usr/bin/env bash
# The main job on a fresh machine: set it up, build devenv, and run the bundled example container
# (examples/busybox: a root file system made from Debian's busybox-static) — first as root, then rootless as
# the test user. `devenv up` on a devcontainer.json takes over here once the images and `up` issues land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/run --setup-only
bash examples/busybox/make-rootfs.sh
export NODE_EXTRA_CA_CERTS=
echo "== devenv container run (root)"
./bin/devenv container run --rm --memory 64m --hostname example --rootfs examples/busybox/rootfs \
  sh -c 'echo "hello from $(hostname), pid $$, as $(id -u)"; cat /etc/motd'
echo "== devenv container run (rootless, as ${DEVENV_TEST_USER:-devenvci})"
runuser -u "${DEVENV_TEST_USER:-devenvci}" -- ./bin/devenv container run --rm --hostname example \
  --rootfs examples/busybox/rootfs sh -c 'echo "hello from $(hostname), pid $$, as $(id -u) inside"'
