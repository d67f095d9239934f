#!/usr/bin/env bash
# Runs the solana_listener benchmark (bench/solana_listener_bench.py): the Solana emulator
# (tools/solana_sim, installed with npm on first use) and one eventnode with the listener
# following the SPL Token program, on loopback. Prints RESULT lines for live latency,
# burst capacity and a backfill. Nothing is built here.
#
# usage: bench/run_solana_listener.sh [BUILD_DIR]      (default build/release)
# env:   LIVE=2000 BURST=5000 GAP=10000
#        RELEASE_INTERVAL_MS=4   live mints executed first, notifications released this far apart
#                                (0: minted while the listener works, LIVE_INTERVAL_MS apart, default 1)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build/release}
[[ -d $build ]] || build=$repo/$build
if [[ ! -x $build/bin/eventnode ]]; then
  echo "run_solana_listener: $build/bin/eventnode is missing; build first (cmake --build --preset release)" >&2
  exit 2
fi
build=$(cd "$build" && pwd)
# Debian's interpreter has python3-websockets; a python3 earlier on PATH may not.
python=${PYTHON:-/usr/bin/python3}
echo "node:  $build/bin/eventnode"
echo "git:   $(git -C "$repo" log --oneline -1)"
EVENTNODE_BINARY=$build/bin/eventnode exec "$python" "$repo/bench/solana_listener_bench.py" \
  --live "${LIVE:-2000}" --release-interval-ms "${RELEASE_INTERVAL_MS:-4}" \
  --live-interval-ms "${LIVE_INTERVAL_MS:-1}" --burst "${BURST:-5000}" --gap "${GAP:-10000}"
