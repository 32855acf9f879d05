#!/usr/bin/env bash
# The main job on a fresh machine: set the machine up (bash .ci/run --setup-only), make the example's base image
# where Docker Hub is out of reach (`devenv image bootstrap debian:bookworm`: debootstrap from Debian's mirror,
# cached after the first run), then `devenv up` on the bundled example project (examples/hello) and run its
# script inside. Idempotent: run it again and `up` finds the environment already running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/run --setup-only
export NODE_EXTRA_CA_CERTS=
devenv=./bin/devenv
echo "== devenv image bootstrap debian:bookworm (skipped when the image is already in the store)"
$devenv image bootstrap debian:bookworm
echo "== devenv up --workspace-folder examples/hello"
$devenv up --workspace-folder examples/hello
echo "== devenv exec --workspace-folder examples/hello ./hello.sh"
$devenv exec --workspace-folder examples/hello ./hello.sh
echo
echo "The environment is running. Try:"
echo "  ./bin/devenv shell --workspace-folder examples/hello   # a shell inside"
echo "  ./bin/devenv ps                                        # every environment on this machine"
echo "  ./bin/devenv down --workspace-folder examples/hello    # remove it"
