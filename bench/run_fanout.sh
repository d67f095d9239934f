#!/usr/bin/env bash
# Runs the WebSocket fan-out benchmark against a real node on loopback:
#   1. 1,000 subscribers, throughput (publish as fast as the delivery window allows)
#   2. 1,000 subscribers, latency at 100,000 deliveries/s (100 publishes/s)
#   3. 10,000 idle connections, node RSS per connection
# Each scenario gets a fresh node (so RSS and allocator state do not carry over),
# started from a temporary node.yaml and stopped by its PID.
#
# usage: bench/run_fanout.sh [BUILD_DIR]        (default build/release)
# env:   BENCH=path/to/ws_fanout_bench          (default BUILD_DIR/bin/ws_fanout_bench)
#        DURATION=10 (s per publishing scenario)  HOLD=10 (s the idle connections are held)
#        CONNS=1000  IDLE_CONNS=10000  RATE=100000  INFLIGHT=32  BATCH=1  PAYLOAD=128
# exit:  0 when every scenario passed its delivery checks, 1 otherwise, 2 on setup trouble.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build/release}
[[ -d $build ]] || build=$repo/$build
node_bin=$build/bin/eventnode
bench_bin=${BENCH:-$build/bin/ws_fanout_bench}
duration=${DURATION:-10}
hold=${HOLD:-10}
conns=${CONNS:-1000}
idle_conns=${IDLE_CONNS:-10000}
rate=${RATE:-100000}
inflight=${INFLIGHT:-32}
batch=${BATCH:-1}
payload=${PAYLOAD:-128}

for bin in "$node_bin" "$bench_bin"; do
  if [[ ! -x $bin ]]; then
    echo "run_fanout: $bin is missing; build it first (cmake --build --preset release) or set BENCH" >&2
    exit 2
  fi
done

# 10,000 sockets need more than the default soft limit, in the node and in the loader.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/eventnode-bench.XXXXXX)
node_pid=""
stop_node() {
  [[ -n $node_pid ]] || return 0
  if kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$node_pid" 2>/dev/null; then
      echo "run_fanout: node $node_pid did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$node_pid" 2>/dev/null || true
    fi
  fi
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
}
trap 'stop_node; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_node() {
  local name=$1
  port=$(free_port)
  mkdir -p "$work/data-$name"
  cat > "$work/node-$name.yaml" <<EOF
node:
  id: bench-node
  role: bench
  data_dir: $work/data-$name
server:
  listen: 127.0.0.1
  port: $port
  limits: {max_connections: 20000, max_connections_per_ip: 20000, user_events_per_minute: 0}
auth: {api_keys: [benchkey-0123456789]}
plugins: []
topics:
  - {pattern: "*", access: public, history: {size: 1000, ttl: 600}}
logging:
  level: warn
EOF
  node_log=$work/node-$name.log
  "$node_bin" --config "$work/node-$name.yaml" > "$node_log" 2>&1 &
  node_pid=$!
  local deadline=$((SECONDS + 20))
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    if ! kill -0 "$node_pid" 2>/dev/null; then
      echo "run_fanout: the node exited during start-up; its log:" >&2
      cat "$node_log" >&2
      exit 2
    fi
    if ((SECONDS > deadline)); then
      echo "run_fanout: the node did not answer /healthz within 20 s; its log:" >&2
      cat "$node_log" >&2
      exit 2
    fi
    sleep 0.2
  done
}

summary=()
failed=0

run_scenario() {
  local name=$1 title=$2
  shift 2
  start_node "$name"
  echo
  echo "== $title"
  echo "   node: $node_bin --config $work/node-$name.yaml (pid $node_pid, port $port)"
  local cmd=("$bench_bin" --host 127.0.0.1 --port "$port" --node-pid "$node_pid" "$@")
  echo "\$ ${cmd[*]}"
  local rc=0
  "${cmd[@]}" > "$work/$name.out" 2>&1 || rc=$?
  cat "$work/$name.out"
  if ! kill -0 "$node_pid" 2>/dev/null; then
    echo "!! the node died during this scenario; last log lines:"
    tail -n 30 "$node_log"
    rc=1
  elif [[ -s $node_log ]]; then
    echo "-- node warnings/errors (last 10 lines of $(wc -l < "$node_log")):"
    tail -n 10 "$node_log"
  fi
  local metrics closes latency
  metrics=$(curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null || true)
  closes=$(grep -Ei '^[a-z_]*(drop|close)[a-z_]*(\{[^}]*\})? [1-9]' <<< "$metrics" || true)
  [[ -z $closes ]] || printf -- '-- node metrics (non-zero drops/closes):\n%s\n' "$closes"
  # The node's own publish→socket-write histogram: what the loader's figures include besides the node.
  latency=$(sed -nE 's/^eventnode_delivery_latency_seconds_(bucket\{le="([^"]+)"\}|sum|count) ([0-9.e+-]+)$/\2 \3/p' <<< "$metrics" |
    awk 'NF == 2 { le[n] = $1; c[n++] = $2 } NF == 1 { v[m++] = $1 }
         END { if (n == 0 || c[n - 1] == 0) exit; t = c[n - 1]; split("0.5 0.99 0.999", q, " ")
               for (k = 1; k <= 3; ++k) for (i = 0; i < n; ++i) if (c[i] >= q[k] * t) { r[k] = le[i]; break }
               printf "p50 <= %s s, p99 <= %s s, p99.9 <= %s s, mean %.2f ms over %d deliveries", r[1], r[2], r[3], 1000 * v[0] / v[1], t }')
  [[ -z $latency ]] || echo "-- node publish->write latency (its /metrics histogram, bucket bounds): $latency"
  echo "exit status: $rc"
  stop_node
  ((rc == 0)) || failed=1
  summary+=("$title (exit $rc)" "  \$ ${cmd[*]}" "  $(grep '^RESULT' "$work/$name.out" || echo 'no RESULT line')")
}

echo "eventnode fan-out benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores shared by the node and the loader"
echo "node:  $node_bin"
echo "bench: $bench_bin"
echo "git:   $(git -C "$repo" log -1 --oneline 2>/dev/null || echo unknown)"

run_scenario throughput "1. $conns subscribers, throughput" \
  --mode throughput --connections "$conns" --duration "$duration" --inflight "$inflight" --batch "$batch" \
  --payload "$payload"
run_scenario latency "2. $conns subscribers, latency at $rate deliveries/s" \
  --mode latency --rate "$rate" --connections "$conns" --duration "$duration" --inflight "$inflight" \
  --batch "$batch" --payload "$payload"
run_scenario idle "3. $idle_conns idle connections, node RSS" \
  --mode idle --connections "$idle_conns" --duration "$hold"

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
