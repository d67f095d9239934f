#!/usr/bin/env bash
# Runs the pow_batches intake benchmark against a real node on loopback:
#   1. pow_intake_bench starts first and listens as N ML nodes (ephemeral ports
#      unless BASE_PORT is set; it prints them on a LISTENING line);
#   2. the node starts from a temporary node.yaml whose pow_batches config dials
#      those ports (data_dir in the temporary folder, logging at warn);
#   3. the bench sends for DURATION seconds once every ML node is dialled, drains
#      the last acks and exits; the node is then stopped by its PID;
#   4. the batches table of the node's SQLite file is counted (python3's sqlite3)
#      to confirm every acknowledged batch is on disk.
# Nothing is built here.
#
# usage: bench/run_pow_intake.sh [BUILD_DIR]        (default build/release)
# env:   BENCH=path/to/pow_intake_bench             (default BUILD_DIR/bin/pow_intake_bench)
#        NODES=8 DURATION=10 WINDOW=64 NONCES=1000 RATE=0 (batches/s in total, 0 = closed loop)
#        WARMUP= (default min(2, DURATION/5))  BASE_PORT=0 (0 = ephemeral ports)
#        PROFILE=DIR  also records the node with `perf record -e cpu-clock -g` during the
#                     run; DIR keeps perf.data and the reports (top entries are printed)
#        PROFILE_CALL_GRAPH=dwarf  unwind with DWARF instead of frame pointers (the release
#                     build has none, so callers are only attributed this way; heavier)
#        KEEP=1       keep the temporary folder (node.yaml, logs, SQLite file)
# exit:  0 when the bench's checks passed and every acked batch is on disk,
#        1 otherwise, 2 on setup trouble.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build/release}
[[ -d $build ]] || build=$repo/$build
build=$(cd "$build" && pwd)
node_bin=$build/bin/eventnode
plugin_dir=$build/lib/eventnode/plugins
bench_bin=${BENCH:-$build/bin/pow_intake_bench}
nodes=${NODES:-8}
duration=${DURATION:-10}
window=${WINDOW:-64}
nonces=${NONCES:-1000}
rate=${RATE:-0}
base_port=${BASE_PORT:-0}
profile=${PROFILE:-}

for bin in "$node_bin" "$bench_bin"; do
  if [[ ! -x $bin ]]; then
    echo "run_pow_intake: $bin is missing; build it first (cmake --build --preset release) or set BENCH" >&2
    exit 2
  fi
done
if [[ ! -f $plugin_dir/libpow_batches.so ]]; then
  echo "run_pow_intake: $plugin_dir/libpow_batches.so is missing; build the pow_batches plugin first" >&2
  exit 2
fi

work=$(mktemp -d /tmp/eventnode-pow-bench.XXXXXX)
node_pid=""
bench_pid=""
perf_pid=""
stop_pid() {  # name pid: SIGTERM, 10 s grace, then SIGKILL
  local name=$1 pid=$2
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "run_pow_intake: $name $pid did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid perf "$perf_pid"
  stop_pid bench "$bench_pid"
  stop_pid node "$node_pid"
  if [[ ${KEEP:-0} == 1 ]]; then echo "run_pow_intake: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "eventnode pow_batches intake benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores shared by the node and the loader"
echo "node:  $node_bin"
echo "bench: $bench_bin"
echo "git:   $(git -C "$repo" log -1 --oneline 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet -- plugins/pow_batches 2>/dev/null || echo ' (plugins/pow_batches has uncommitted changes)')"

# 1. The ML nodes listen first.
bench_cmd=("$bench_bin" --nodes "$nodes" --base-port "$base_port" --duration "$duration" --window "$window"
           --nonces "$nonces" --rate "$rate" --node-pid-file "$work/node.pid")
[[ -z ${WARMUP:-} ]] || bench_cmd+=(--warmup "$WARMUP")
echo "\$ ${bench_cmd[*]}"
"${bench_cmd[@]}" > "$work/bench.out" 2> "$work/bench.err" &
bench_pid=$!
deadline=$((SECONDS + 10))
until grep -q '^LISTENING ports=' "$work/bench.out" 2>/dev/null; do
  if ! kill -0 "$bench_pid" 2>/dev/null; then
    echo "run_pow_intake: the bench exited before listening:" >&2
    cat "$work/bench.out" "$work/bench.err" >&2
    exit 2
  fi
  if ((SECONDS > deadline)); then
    echo "run_pow_intake: the bench did not listen within 10 s" >&2
    exit 2
  fi
  sleep 0.05
done
IFS=, read -r -a ports <<< "$(sed -n 's/^LISTENING ports=//p' "$work/bench.out")"

# 2. The node, dialling them.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/data"
{
  cat <<EOF
node:
  id: bench-pow-ingest
  role: bench
  data_dir: $work/data
  plugin_dir: [$plugin_dir]
server:
  listen: 127.0.0.1
  port: $port
auth: {api_keys: [benchkey-0123456789]}
topics:
  - {pattern: "*", access: public, history: {size: 1000, ttl: 600}}
logging:
  level: warn
plugins:
  - name: pow_batches
    config:
      reconnect_delay_ms: 200
      reconnect_jitter_ms: 100
      recorders: [{name: bus, type: topic}]
      nodes:
EOF
  for i in "${!ports[@]}"; do
    echo "        - {id: ml-$((i + 1)), node_num: $((i + 1)), url: \"http://127.0.0.1:${ports[$i]}\"}"
  done
} > "$work/node.yaml"
node_log=$work/node.log
"$node_bin" --config "$work/node.yaml" > "$node_log" 2>&1 &
node_pid=$!
echo "$node_pid" > "$work/node.pid.tmp" && mv "$work/node.pid.tmp" "$work/node.pid"
echo "   node: $node_bin --config $work/node.yaml (pid $node_pid, port $port)"
deadline=$((SECONDS + 20))
until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
  if ! kill -0 "$node_pid" 2>/dev/null; then
    echo "run_pow_intake: the node exited during start-up; its log:" >&2
    cat "$node_log" >&2
    exit 2
  fi
  if ((SECONDS > deadline)); then
    echo "run_pow_intake: the node did not answer /healthz within 20 s; its log:" >&2
    cat "$node_log" >&2
    exit 2
  fi
  sleep 0.2
done

if [[ -n $profile ]]; then
  mkdir -p "$profile"
  profile=$(cd "$profile" && pwd)
  # The bench starts sending once all nodes are dialled (a few hundred ms from here).
  perf record -e cpu-clock --call-graph "${PROFILE_CALL_GRAPH:-fp}" -p "$node_pid" -o "$profile/perf.data" -- sleep "$duration" > "$profile/perf-record.log" 2>&1 &
  perf_pid=$!
fi

# 3. The run.
rc=0
wait "$bench_pid" || rc=$?
bench_pid=""
cat "$work/bench.out"
[[ ! -s $work/bench.err ]] || { echo "-- bench stderr:"; cat "$work/bench.err"; }
if [[ -n $perf_pid ]]; then
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=""
fi
if ! kill -0 "$node_pid" 2>/dev/null; then
  echo "!! the node died during the run; last log lines:"
  tail -n 30 "$node_log"
  rc=1
fi
stop_pid node "$node_pid"
node_pid=""
# After the bench closes its servers the node's workers redial and fail: expected noise.
noise='connection (failed|closed by the ML node)|Connection refused'
if grep -Evq "$noise" "$node_log"; then
  echo "-- node warnings/errors other than redials after the bench ended (last 10 of $(grep -Evc "$noise" "$node_log")):"
  grep -Ev "$noise" "$node_log" | tail -n 10
fi

# 4. Every acknowledged batch on disk?
result=$(grep '^RESULT' "$work/bench.out" || true)
acked=$(sed -nE 's/.* acked=([0-9]+).*/\1/p' <<< "$result")
db=$(find "$work/data" -name pow_batches.sqlite | head -n 1)
on_disk=$(python3 - "$db" <<'EOF'
import sqlite3, sys
if not sys.argv[1]:
    print("-1 no-database"); sys.exit()
db = sqlite3.connect(sys.argv[1])
total = db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
per_node = ",".join(f"{n}:{c}" for n, c in db.execute("SELECT node, COUNT(*) FROM batches GROUP BY node ORDER BY node_num"))
outbox = db.execute("SELECT COUNT(*), COUNT(delivered_at) FROM outbox").fetchone()
print(total, f"per_node={per_node or 'none'} outbox_rows={outbox[0]} outbox_delivered={outbox[1]}")
EOF
)
on_disk_count=${on_disk%% *}
echo "-- on disk: $db"
echo "   batches=$on_disk_count ${on_disk#* }"
if [[ -z $acked ]]; then
  echo "!! no RESULT line from the bench"
  rc=1
elif ((on_disk_count < acked)); then
  echo "!! $((acked - on_disk_count)) acknowledged batches are NOT on disk (acked=$acked, on disk=$on_disk_count)"
  rc=1
elif ((on_disk_count > acked)); then
  echo "   every acked batch is on disk; $((on_disk_count - acked)) more were recorded but not acknowledged before the bench stopped"
else
  echo "   every acked batch is on disk (acked=$acked = on disk=$on_disk_count)"
fi

if [[ -n $profile && -s $profile/perf.data ]]; then
  # Template arguments make nlohmann's and std's names unreadable: drop them.
  tidy() {
    python3 -c '
import re, sys
for line in sys.stdin:
    if not re.match(r"^ +[0-9]", line): continue
    line = re.sub(r"\s+-\s+-\s*$", "", line.rstrip()).replace("nlohmann::json_abi_v3_11_2::", "nlohmann::").replace("std::__cxx11::", "std::")
    out, depth = [], 0
    for ch in line:
        if ch == "<":
            depth += 1
            if depth == 1: out.append("<>")
        elif ch == ">" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    print("".join(out)[:160])'
  }
  perf report -i "$profile/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 0.5 -g none 2> /dev/null |
    tidy > "$profile/report-self.txt" || true
  perf report -i "$profile/perf.data" --stdio --children --sort symbol --percent-limit 2 -g none 2> /dev/null |
    tidy > "$profile/report-children.txt" || true
  perf report -i "$profile/perf.data" --stdio --no-children --sort tid --percent-limit 0.5 -g none 2> /dev/null |
    tidy > "$profile/report-threads.txt" || true
  echo "-- node profile (perf cpu-clock, self time, top 25; reports with callers and threads in $profile):"
  head -n 25 "$profile/report-self.txt"
  echo "-- by thread:"
  head -n 15 "$profile/report-threads.txt"
fi

acked_per_s=$(sed -nE 's/.* acked_per_s=([0-9.]+).*/\1/p' <<< "$result")
p99=$(sed -nE 's/.* p99_ms=([0-9.]+).*/\1/p' <<< "$result")
echo
echo "== summary"
echo "  \$ ${bench_cmd[*]}"
echo "  ${result:-no RESULT line} on_disk=$on_disk_count"
if [[ -n $acked_per_s ]]; then
  awk -v t="$acked_per_s" -v p="$p99" 'BEGIN {
    printf "  goal: >= 5000 batches/s recorded durably: %s (%.0f); ack p99 <= 20 ms: %s (%.2f ms)\n",
      (t >= 5000 ? "met" : "NOT met"), t, (p <= 20 ? "met" : "NOT met"), p }'
fi
echo "exit status: $rc"
exit "$rc"
