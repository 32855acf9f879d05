#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine (as root) for devenv: system packages, a non-root test user with
# subordinate ids and a cgroup delegation, then `npm ci` (which builds native/ and the TypeScript).
# Idempotent. Used by .ci/run and scripts/example.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

echo "== apt packages"
apt-get update -q
apt-get install -y -q --no-install-recommends \
  build-essential python3 pkg-config libseccomp-dev libjansson-dev \
  uidmap slirp4netns passt fuse-overlayfs busybox-static musl-tools libarchive-dev zlib1g-dev libzstd-dev libssl-dev zstd \
  docker-registry skopeo debootstrap \
  util-linux procps iproute2 ca-certificates

echo "== non-root test user (rootless paths)"
TEST_USER=${DEVENV_TEST_USER:-devenvci}
id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
grep -q "^$TEST_USER:" /etc/subuid || echo "$TEST_USER:300000:65536" >> /etc/subuid
grep -q "^$TEST_USER:" /etc/subgid || echo "$TEST_USER:300000:65536" >> /etc/subgid

echo "== cgroup delegation for the test user (what an administrator does; see docs/cgroups.md)"
bash scripts/delegate-cgroups.sh "$TEST_USER"

echo "== npm install from the lockfile (builds native/ with node-gyp, then the TypeScript)"
# Not `npm ci`: npm 11 here writes lockfiles without the other platforms' optional packages (rollup's
# @rollup/rollup-<os>-<cpu>, pulled in by vitest), and `npm ci` then refuses them as out of sync.
# `npm install` installs the same locked versions.
npm install --no-audit --no-fund
