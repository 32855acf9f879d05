#!/usr/bin/env bash
# A throw-away OCI registry for tests: Debian's docker-registry (distribution 2.8), listening on 127.0.0.1 only,
# storage and config in a directory of our own, deletes enabled, no auth.
#
#   scripts/test-registry.sh [PORT] [DIR]        start (PORT default 5000, DIR default /tmp/devenv-test-registry-PORT);
#                                                prints the registry's pid on stdout. Idempotent: when something already
#                                                answers on http://127.0.0.1:PORT/v2/ it starts nothing and prints the
#                                                pid it recorded earlier (nothing when the registry is not ours).
#   scripts/test-registry.sh stop [PORT] [DIR]   stop the registry this script started there (only that pid).
set -euo pipefail

REGISTRY_BIN=${DEVENV_REGISTRY_BIN:-/usr/bin/docker-registry}

action=start
if [ "${1:-}" = stop ] || [ "${1:-}" = start ]; then
  action=$1
  shift
fi
PORT=${1:-5000}
DIR=${2:-/tmp/devenv-test-registry-$PORT}
case "$PORT" in '' | *[!0-9]*) echo "test-registry: port must be a number, not '$PORT'" >&2; exit 2 ;; esac

PIDFILE=$DIR/registry.pid
CONFIG=$DIR/config.yml
LOG=$DIR/registry.log

# GET /v2/ with bash's /dev/tcp (curl is not on every CI machine); true when it answers 200.
answers() {
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n" "$1" >&3
    IFS= read -r status <&3 || exit 1
    case "$status" in *" 200 "*) exit 0 ;; *) exit 1 ;; esac
  ' _ "$PORT" 2>/dev/null
}

# The recorded pid, if that process is still our registry (its command line names our config).
our_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CONFIG" || return 1
  echo "$pid"
}

if [ "$action" = stop ]; then
  if pid=$(our_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    echo "test-registry: stopped pid $pid (127.0.0.1:$PORT)" >&2
  else
    echo "test-registry: no registry of ours recorded in $PIDFILE; nothing to stop" >&2
  fi
  rm -f "$PIDFILE"
  exit 0
fi

if answers; then
  if pid=$(our_pid); then echo "$pid"; fi
  echo "test-registry: something already answers on 127.0.0.1:$PORT; not starting another" >&2
  exit 0
fi

[ -x "$REGISTRY_BIN" ] || { echo "test-registry: $REGISTRY_BIN is missing (apt-get install docker-registry)" >&2; exit 1; }
mkdir -p "$DIR/data"
cat >"$CONFIG" <<YML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $DIR/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$PORT
  headers:
    X-Content-Type-Options: [nosniff]
YML

# Detached from our stdio, so a caller that waits for our output does not wait for the registry.
nohup "$REGISTRY_BIN" serve "$CONFIG" >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PIDFILE"

for _ in $(seq 100); do
  if answers; then
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "test-registry: docker-registry exited; its log ($LOG):" >&2
    cat "$LOG" >&2 || true
    rm -f "$PIDFILE"
    exit 1
  fi
  sleep 0.1
done
echo "test-registry: docker-registry (pid $pid) does not answer on 127.0.0.1:$PORT after 10 s; stopping it" >&2
kill -TERM "$pid" 2>/dev/null || true
rm -f "$PIDFILE"
exit 1
