#!/usr/bin/env bash
# Give USER a cgroup subtree devenv can use rootless (run as root; idempotent).
#  cgroup v1 / hybrid: /sys/fs/cgroup/<controller>/devenv-USER for memory, cpu and pids, owned by USER.
#  cgroup v2 without systemd delegation: /sys/fs/cgroup/devenv-USER with memory, cpu and pids enabled.
set -euo pipefail
user=${1:?usage: delegate-cgroups.sh USER}
uid=$(id -u "$user"); gid=$(id -g "$user")
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  dir=/sys/fs/cgroup/devenv-$user
  for c in memory cpu pids; do
    grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control || echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control || true
  done
  mkdir -p "$dir"
  chown -R "$uid:$gid" "$dir"
  echo "delegated $dir to $user"
else
  for c in memory cpu pids; do
    base=/sys/fs/cgroup/$c
    [ -d "$base" ] || { echo "no v1 $c hierarchy: skipped"; continue; }
    dir=$base/devenv-$user
    mkdir -p "$dir"
    chown -R "$uid:$gid" "$dir"
    echo "delegated $dir to $user"
  done
fi
