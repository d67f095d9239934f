#!/usr/bin/env bash
# Runs the utxo instant-finality benchmark (bench/utxo_finality.py) on loopback:
#   1. 4 masternodes (eventnode + the utxo plugin, only that plugin) start from generated
#      node.yaml files in temporary folders, each with its own P2P port and data dir, and
#      the script waits until every P2P link is up;
#   2. UTXOS genesis UTXOs are seeded on every node, spread over PAYERS addresses; a wallet
#      on mn1 subscribes to all the payers;
#   3. one-input transactions are submitted to mn1 over CONNECTIONS keep-alive HTTP
#      connections for DURATION seconds, WINDOW at most in flight, paced to RATE/s (0 =
#      as fast as the window allows); latency is submit → TransactionFinalized on the wallet;
#   4. the nodes are stopped by PID and one RESULT line is printed with the goal check.
# Nothing is built here.
#
# usage: bench/run_utxo_finality.sh [BUILD_DIR]      (default build/release)
# env:   NODES=4 UTXOS=20000 PAYERS=500 DURATION=10 WARMUP=2 WINDOW=64 RATE=0 CONNECTIONS=4
#        HTTP_THREADS=4  KEEP=1 keeps the nodes' folders (configs, logs, SQLite files)
# exit:  0 when every submitted transaction was accepted and finalized, 1 otherwise,
#        2 on setup trouble.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build/release}
[[ -d $build ]] || build=$repo/$build
if [[ ! -d $build ]]; then
  echo "run_utxo_finality: build dir ${1:-build/release} is missing; build first (cmake --build --preset release)" >&2
  exit 2
fi
build=$(cd "$build" && pwd)
node_bin=$build/bin/eventnode
plugin=$build/lib/eventnode/plugins/libutxo.so
for file in "$node_bin" "$plugin"; do
  if [[ ! -f $file ]]; then
    echo "run_utxo_finality: $file is missing; build eventnode and the utxo plugin first" >&2
    exit 2
  fi
done
# Debian's interpreter has python3-websockets; a python3 earlier on PATH may not.
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c 'import websockets' 2>/dev/null; then
  echo "run_utxo_finality: $python cannot import websockets; apt-get install python3-websockets" >&2
  exit 2
fi

echo "eventnode utxo finality benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores shared by the nodes and the loader"
echo "node:  $node_bin"
echo "git:   $(git -C "$repo" log -1 --oneline 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet -- plugins/utxo 2>/dev/null || echo ' (plugins/utxo has uncommitted changes)')"

cmd=("$python" "$repo/bench/utxo_finality.py" --nodes "${NODES:-4}" --utxos "${UTXOS:-20000}"
     --payers "${PAYERS:-500}" --duration "${DURATION:-10}" --warmup "${WARMUP:-2}" --window "${WINDOW:-64}"
     --rate "${RATE:-0}" --connections "${CONNECTIONS:-4}" --http-threads "${HTTP_THREADS:-4}")
[[ ${KEEP:-0} != 1 ]] || cmd+=(--keep)
echo "\$ ${cmd[*]}"
rc=0
EVENTNODE_BINARY=$node_bin "${cmd[@]}" || rc=$?
echo "exit status: $rc"
exit "$rc"
