#!/bin/sh
# Installs the Solana emulator's npm packages (litesvm, ws, bs58) from the committed lock.
# Idempotent and quick: `npm ci` runs only when node_modules is missing or the lock changed
# since the last install (a stamp file remembers the lock's checksum).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if ! command -v node >/dev/null 2>&1; then
  echo "solana_sim: node (>= 20) is not installed; the Solana emulator needs it (apt-get install nodejs npm)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "solana_sim: node $(node --version) is too old; litesvm needs node >= 20" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "solana_sim: npm is not installed (apt-get install npm)" >&2
  exit 1
fi
# Test suites running side by side call this at the same moment: one installs,
# the others wait for it (npm ci empties node_modules first).
exec 9>"$here/.install.lock"
flock 9
stamp=node_modules/.eventnode-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
