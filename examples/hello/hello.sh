#!/bin/sh
# Run inside the container (`devenv exec ./hello.sh`): shows the environment and what the lifecycle commands left.
set -eu
echo "$GREETING"
echo "workspace: $(pwd)"
cat "$HELLO_STATE/created.txt"
echo "started $(wc -l < "$HELLO_STATE/started.txt") time(s), last at $(tail -n 1 "$HELLO_STATE/started.txt")"
