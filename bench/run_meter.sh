#!/usr/bin/env bash
# Runs the meter readings benchmark (bench/meter_readings_bench.cpp) against one eventnode
# with the meter plugin (minting off: this measures the intake), on loopback. Prints the
# bench's RESULT lines: as fast as answers come, then paced at RATE for the latency.
#
# usage: bench/run_meter.sh [BUILD_DIR]      (default build/release)
# env:   READINGS=20000 CONNECTIONS=4 METERS=50 RATE=5000 HTTP_THREADS=4 KEEP=0
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build/release}
[[ -d $build ]] || build=$repo/$build
build=$(cd "$build" && pwd)
node_bin=$build/bin/eventnode
bench_bin=$build/bin/meter_readings_bench
for bin in "$node_bin" "$bench_bin"; do
  if [[ ! -x $bin ]]; then
    echo "run_meter: $bin is missing; build it first (cmake --build --preset release)" >&2
    exit 2
  fi
done

work=$(mktemp -d /tmp/eventnode-meter-bench.XXXXXX)
node_pid=""
cleanup() {
  if [[ -n $node_pid ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$node_pid" 2>/dev/null || true
  fi
  if [[ ${KEEP:-0} == 1 ]]; then echo "run_meter: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat >"$work/node.yaml" <<YAML
node: {id: meter-bench, role: meter, data_dir: "$work/data", plugin_dir: ["$build/lib/eventnode/plugins"]}
server:
  listen: 127.0.0.1
  port: $port
  http_threads: ${HTTP_THREADS:-4}
  io_threads: 1
  limits: {max_connections: 1000, user_events_per_minute: 0, outbound_buffer_bytes: 67108864}
auth: {required: true, secret: "meter-bench-secret-0123456789abcdef012345", public_routes: ["/healthz"]}
logging: {level: warn}
topics:
  - {pattern: "user:{sub}", access: user, history: {size: 1000, ttl: 600}}
  - {pattern: admins, access: admin, history: {size: 100, ttl: 600}}
plugins:
  - {name: meter, enabled: true, config: {mint: {enabled: false}}}
YAML
"$node_bin" --config "$work/node.yaml" >"$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 200); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
token=$("$node_bin" token --config "$work/node.yaml" --sub bench-owner --role prosumer)
echo "node:  $node_bin (pid $node_pid, port $port, http_threads ${HTTP_THREADS:-4})"
echo "git:   $(git -C "$repo" log --oneline -1)"
common=(--port "$port" --token "$token" --readings "${READINGS:-20000}" --connections "${CONNECTIONS:-4}"
        --meters "${METERS:-50}" --node-pid "$node_pid")
"$bench_bin" "${common[@]}"
"$bench_bin" "${common[@]}" --rate "${RATE:-5000}"
