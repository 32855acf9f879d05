#!/usr/bin/env bash
# Install code-server (a real VS Code build, 1.100.3) from the npm registry only — no GitHub, no marketplace —
# into a cache folder, once. The e2e test of the extension (test/e2e/vscode-extension.test.ts) runs it.
#   usage: install-code-server.sh [DIR]   (default $DEVENV_CODE_SERVER_DIR or /var/cache/devenv-test/code-server-4.100.3)
# Prints the path of code-server's entry script (run it with node) on its last line.
# Needs: node 20, npm, build tools (argon2 and node-pty build from source), libkrb5-dev, ripgrep (apt).
# 4.100.3 is the last code-server whose engines.node accepts Node 20.
set -euo pipefail
VERSION=4.100.3
DIR=${1:-${DEVENV_CODE_SERVER_DIR:-/var/cache/devenv-test/code-server-$VERSION}}
STAMP="$DIR/.installed-$VERSION"
BIN="$DIR/node_modules/code-server/out/node/entry.js"
if [ -f "$STAMP" ] && [ -f "$BIN" ]; then echo "$BIN"; exit 0; fi
command -v rg >/dev/null || { echo "install-code-server: ripgrep (rg) is missing: apt-get install ripgrep" >&2; exit 1; }
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"code-server-cache","private":true}' > package.json
{
  [ -d node_modules/code-server ] || npm install --no-audit --no-fund --ignore-scripts "code-server@$VERSION"
  npm rebuild argon2               # the prebuilt download needs github.com: node-pre-gyp falls back to a source build
  cd node_modules/code-server/lib/vscode
  npm install --no-audit --no-fund --omit=dev --ignore-scripts
  mkdir -p node_modules/@vscode/ripgrep/bin
  ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg   # its postinstall would download from api.github.com
  npm_config_yes=true npm rebuild  # node-pty, spdlog, kerberos, @parcel/watcher… (node-pty runs `npx node-gyp`)
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sf code-linux.sh code-server)
  (cd bin/helpers && ln -sf browser-linux.sh browser.sh)
  cd extensions
  npm install --no-audit --no-fund --omit=dev
} >&2
touch "$STAMP"
echo "$BIN"
