#!/usr/bin/env bash
# Runs the cluster (Redis broker) benchmark of issue 16 against real processes on loopback,
# with the memory broker measured in the same run as the reference:
#   a. memory broker: one gateway, CONNS subscribers, throughput (deliveries/s)
#   b. redis broker: CONNS subscribers spread over two gateways, publishes on gateway 1, throughput;
#      the ratio b/a is the goal (>= 75 %)
#   c. redis: latency publish -> deliver at LAT_PUBLISHES publishes/s (default 10,000/s). The bench's
#      latency mode paces total deliveries (--rate = publishes/s x subscribers per topic), so this uses
#      LAT_CONNS subscribers (default 20, 10 per gateway) and --rate LAT_PUBLISHES x LAT_CONNS
#   d. redis, one Redis: most publishes/s with history (batched HTTP publish, MAX_PUBLISHERS connections
#      spread over both gateways, MAX_CONNS subscribers, MAX_TOPICS topics), and the Redis CPU
#      (utime+stime of the redis-server PID over the publishing time) per 10,000 publishes/s
#   e. the same with two shards (two redis-servers, topics placed by hash)
#   r. Redis alone: the broker's publish script as EVALSHA through redis-benchmark, two pattern
#      subscribers attached: what one Redis takes and its CPU per publish, without the gateways
#   r2. the same on two redis-servers at once (what a second shard adds to Redis's capacity)
#   (AOF=1 adds d' : d with appendonly yes / appendfsync everysec, to show what persistence costs)
# Every scenario gets fresh processes (redis-server on a free port in a temp dir with no persistence,
# nodes from a temporary node.yaml), stopped by PID. The bench checks every subscriber got every event
# once, in offset order (missing / duplicate / out of order), through Redis as through memory.
#
# usage: bench/run_cluster.sh [BUILD_DIR]        (default build/release)
# env:   BENCH=path/to/ws_fanout_bench   (default BUILD_DIR/bin/ws_fanout_bench)
#        EVENTNODE=path/to/eventnode     (default BUILD_DIR/bin/eventnode)
#        REDIS_SERVER=/usr/bin/redis-server
#        SCENARIOS="a b c d e r r2"  DURATION=10  CONNS=1000  INFLIGHT=32  BATCH=1  PAYLOAD=128
#        PUBLISHERS=1 (publishing connections in a and b)
#        LAT_PUBLISHES=10000  LAT_CONNS=20  LAT_PUBLISHERS=8  LAT_INFLIGHT=4
#        MAX_CONNS=32  MAX_TOPICS=16  MAX_PUBLISHERS=16  MAX_BATCH=100  MAX_INFLIGHT=2
#        HTTP_THREADS=8 (each node's server.http_threads: an HTTP publish waits for Redis on its thread)
#        R_REQUESTS=500000  R_CLIENTS=2  R_PIPELINE=32   (scenario r: Redis alone through redis-benchmark)
#        AOF=0|1  PROFILE=dir (perf record -e cpu-clock -g and perf stat on gateway 1 during d, into dir)
# exit:  0 when every scenario passed its delivery checks, 1 otherwise, 2 on setup trouble.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build/release}
[[ -d $build ]] || build=$repo/$build
node_bin=${EVENTNODE:-$build/bin/eventnode}
bench_bin=${BENCH:-$build/bin/ws_fanout_bench}
redis_bin=${REDIS_SERVER:-/usr/bin/redis-server}
scenarios=${SCENARIOS:-a b c d e r r2}
duration=${DURATION:-10}
conns=${CONNS:-1000}
inflight=${INFLIGHT:-32}
publishers=${PUBLISHERS:-1}
batch=${BATCH:-1}
payload=${PAYLOAD:-128}
lat_publishes=${LAT_PUBLISHES:-10000}
lat_conns=${LAT_CONNS:-20}
lat_publishers=${LAT_PUBLISHERS:-8}
lat_inflight=${LAT_INFLIGHT:-4}
max_conns=${MAX_CONNS:-32}
max_topics=${MAX_TOPICS:-16}
max_publishers=${MAX_PUBLISHERS:-16}
max_batch=${MAX_BATCH:-100}
max_inflight=${MAX_INFLIGHT:-2}
http_threads=${HTTP_THREADS:-8}
r_requests=${R_REQUESTS:-500000}
r_clients=${R_CLIENTS:-2}
r_pipeline=${R_PIPELINE:-32}
aof=${AOF:-0}
profile=${PROFILE:-}

for bin in "$node_bin" "$bench_bin" "$redis_bin"; do
  if [[ ! -x $bin ]]; then
    echo "run_cluster: $bin is missing; build it first (cmake --build --preset release), set BENCH/EVENTNODE," \
      "or install redis-server (apt-get install redis-server)" >&2
    exit 2
  fi
done

ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/eventnode-cluster-bench.XXXXXX)
pids=()         # every process this script started, stopped in reverse order
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run_cluster: process $pid did not stop within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
stop_all() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; --i)); do stop_pid "${pids[i]}"; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis NAME [appendonly]: sets redis_port, redis_pid.
start_redis() {
  local name=$1 persistence=${2:-none}
  redis_port=$(free_port)
  mkdir -p "$work/redis-$name"
  local args=(--port "$redis_port" --bind 127.0.0.1 --dir "$work/redis-$name" --save "" --daemonize no
    --protected-mode yes --logfile "$work/redis-$name.log")
  if [[ $persistence == appendonly ]]; then
    args+=(--appendonly yes --appendfsync everysec)
  else
    args+=(--appendonly no)
  fi
  "$redis_bin" "${args[@]}" > /dev/null 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  local deadline=$((SECONDS + 10))
  until redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do
    if ! kill -0 "$redis_pid" 2>/dev/null || ((SECONDS > deadline)); then
      echo "run_cluster: redis-server did not start; its log:" >&2
      cat "$work/redis-$name.log" >&2
      exit 2
    fi
    sleep 0.1
  done
}

# start_node NAME BROKER_YAML: sets node_port, node_pid.
start_node() {
  local name=$1 broker=$2
  node_port=$(free_port)
  mkdir -p "$work/data-$name"
  cat > "$work/node-$name.yaml" <<EOF
node:
  id: bench-$name
  role: bench
  data_dir: $work/data-$name
server:
  listen: 127.0.0.1
  port: $node_port
  http_threads: $http_threads
  limits: {max_connections: 20000, max_connections_per_ip: 20000, user_events_per_minute: 0}
auth: {api_keys: [benchkey-0123456789]}
plugins: []
topics:
  - {pattern: "*", access: public, history: {size: 1000, ttl: 600}}
$broker
logging:
  level: warn
EOF
  local log=$work/node-$name.log
  "$node_bin" --config "$work/node-$name.yaml" > "$log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  local deadline=$((SECONDS + 20))
  until curl -sf -o /dev/null "http://127.0.0.1:$node_port/healthz"; do
    if ! kill -0 "$node_pid" 2>/dev/null || ((SECONDS > deadline)); then
      echo "run_cluster: node $name did not answer /healthz within 20 s; its log:" >&2
      cat "$log" >&2
      exit 2
    fi
    sleep 0.2
  done
}

redis_broker() {  # redis_broker URL...
  if (($# == 1)); then
    printf 'broker:\n  type: redis\n  redis: {url: "%s"}\n' "$1"
  else
    local list
    list=$(printf '"%s", ' "$@")
    printf 'broker:\n  type: redis\n  redis: {shards: [%s]}\n' "${list%, }"
  fi
}

declare -A result    # scenario -> RESULT line
summary=()
failed=0

field() {  # field SCENARIO KEY
  sed -nE "s/.* $2=([^ ]*).*/\1/p" <<< "${result[$1]:-}"
}

# run NAME TITLE CLUSTER_PIDS -- bench args...
run() {
  local name=$1 title=$2
  shift 2
  echo
  echo "== $title"
  echo "   load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local cmd=("$bench_bin" --host 127.0.0.1 "$@")
  echo "\$ ${cmd[*]}"
  local rc=0 perf_pid="" perf_stat_pid=""
  if [[ -n $profile && $name == d ]]; then
    mkdir -p "$profile"
    perf record -e cpu-clock -g -p "$gw1_pid" -o "$profile/gateway-d.data" -- sleep $((duration + 5)) \
      > "$profile/perf-record.log" 2>&1 &
    perf_pid=$!
    # Context switches of the whole gateway (software counters work on this VM; hardware ones do not).
    perf stat -e context-switches,cpu-clock -p "$gw1_pid" -o "$profile/gateway-d.stat" -- sleep $((duration + 5)) \
      > /dev/null 2>&1 &
    perf_stat_pid=$!
  fi
  "${cmd[@]}" > "$work/$name.out" 2>&1 || rc=$?
  if [[ -n $perf_pid ]]; then
    wait "$perf_pid" "$perf_stat_pid" || true
    echo "-- gateway 1 profile: perf report -i $profile/gateway-d.data; counters:"
    grep -E 'context-switches|cpu-clock|elapsed' "$profile/gateway-d.stat" || true
  fi
  cat "$work/$name.out"
  echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  local pid
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "!! process $pid died during this scenario"
      rc=1
    fi
  done
  for log in "$work"/node-*.log; do
    [[ -s $log ]] || continue
    echo "-- $(basename "$log") (last 5 of $(wc -l < "$log") lines):"
    tail -n 5 "$log"
  done
  echo "exit status: $rc"
  ((rc == 0)) || failed=1
  result[$name]=$(grep '^RESULT' "$work/$name.out" || echo "RESULT none")
  summary+=("$title (exit $rc)" "  \$ ${cmd[*]}")
  stop_all
  rm -f "$work"/node-*.log
}

echo "eventnode cluster benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores shared by nodes, redis and loader"
echo "node:  $node_bin"
echo "bench: $bench_bin"
echo "redis: $("$redis_bin" --version)"
echo "git:   $(git -C "$repo" log -1 --oneline 2>/dev/null || echo unknown)"
echo "load:  $(cut -d' ' -f1-3 /proc/loadavg)"

common=(--duration "$duration" --payload "$payload")
want() { [[ " $scenarios " == *" $1 "* ]]; }

if want a; then
  start_node mem "broker: {type: memory}"
  run a "a. memory broker, one gateway, $conns subscribers, throughput" \
    --port "$node_port" --node-pid "$node_pid" --mode throughput --connections "$conns" \
    --publishers "$publishers" --inflight "$inflight" --batch "$batch" "${common[@]}"
fi

start_cluster() {  # start_cluster SHARDS [appendonly]
  local urls=() rpids=() i
  for ((i = 1; i <= $1; ++i)); do
    start_redis "r$i" "${2:-none}"
    urls+=("redis://127.0.0.1:$redis_port")
    rpids+=("$redis_pid")
  done
  redis_pids=$(IFS=,; echo "${rpids[*]}")
  local broker
  broker=$(redis_broker "${urls[@]}")
  start_node gw1 "$broker"
  gw1_port=$node_port gw1_pid=$node_pid
  start_node gw2 "$broker"
  gw2_port=$node_port gw2_pid=$node_pid
  echo "   cluster: redis pid(s) $redis_pids (${urls[*]}), gateway 1 pid $gw1_pid port $gw1_port," \
    "gateway 2 pid $gw2_pid port $gw2_port"
}

if want b; then
  start_cluster 1
  run b "b. redis broker, $conns subscribers over two gateways, publishes on gateway 1, throughput" \
    --port "$gw1_port" --subscriber-ports "$gw1_port,$gw2_port" --node-pid "$gw1_pid" \
    --cpu-pids "$gw2_pid,$redis_pids" --mode throughput --connections "$conns" \
    --publishers "$publishers" --inflight "$inflight" --batch "$batch" "${common[@]}"
fi

if want c; then
  start_cluster 1
  run c "c. redis broker, latency at $lat_publishes publishes/s ($lat_conns subscribers over two gateways)" \
    --port "$gw1_port" --subscriber-ports "$gw1_port,$gw2_port" --node-pid "$gw1_pid" \
    --cpu-pids "$gw2_pid,$redis_pids" --mode latency --rate $((lat_publishes * lat_conns)) \
    --connections "$lat_conns" --publishers "$lat_publishers" --inflight "$lat_inflight" --batch 1 "${common[@]}"
fi

max_args() {
  echo --port "$gw1_port" --publish-ports "$gw1_port,$gw2_port" --subscriber-ports "$gw1_port,$gw2_port" \
    --node-pid "$gw1_pid" --cpu-pids "$gw2_pid,$redis_pids" --mode throughput --window 0 \
    --connections "$max_conns" --topics "$max_topics" --publishers "$max_publishers" --inflight "$max_inflight" \
    --batch "$max_batch" "${common[@]}"
}

if want d; then
  start_cluster 1
  # shellcheck disable=SC2046
  run d "d. redis broker, one Redis: most publishes/s with history ($max_topics topics, batches of $max_batch)" \
    $(max_args)
fi

if [[ $aof == 1 ]]; then
  start_cluster 1 appendonly
  # shellcheck disable=SC2046
  run d_aof "d'. as d, Redis with appendonly yes, appendfsync everysec" $(max_args)
fi

if want e; then
  start_cluster 2
  # shellcheck disable=SC2046
  run e "e. redis broker, two shards: most publishes/s with history ($max_topics topics, batches of $max_batch)" \
    $(max_args)
fi

# r. Redis alone: the broker's publish script (read from core/src/broker/redis_scripts.hpp) run by
#    redis-benchmark as EVALSHA, with two pattern subscribers attached as two gateways would be:
#    what one Redis can take, and its CPU per publish, without the gateways on the same cores.
# r2. the same on two redis-servers at once (two shards), one redis-benchmark each.
redis_alone() {  # redis_alone NAME SHARDS -> sets r_line
  local name=$1 shards=$2 i
  echo
  echo "== $name. Redis alone, $shards redis-server(s): the publish script through redis-benchmark," \
    "$r_clients connections x pipeline $r_pipeline each"
  echo "   load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local script sha data eval_args tail_args ports=() rpids=() bpids=() cmd
  script=$(sed -n '/kPublish = R"lua(/,/)lua";/p' "$repo/core/src/broker/redis_scripts.hpp" | sed '1d;$d')
  eval_args=(2 'eventnode:{bench}:meta' 'eventnode:{bench}:stream')
  tail_args=()
  if grep -q 'KEYS\[3\]' <<< "$script"; then  # the idempotency key's result key, unused without a key
    eval_args=(3 'eventnode:{bench}:meta' 'eventnode:{bench}:stream' 'eventnode:{bench}:r:')
    tail_args=('')
  fi
  data="{\"sent_ns\":1733390000000000000,\"seq\":123456,\"pad\":\"$(printf '%*s' 75 '' | tr ' ' x)\"}"  # 128 bytes
  for ((i = 1; i <= shards; ++i)); do
    start_redis "$name-$i"
    ports+=("$redis_port")
    rpids+=("$redis_pid")
    sha=$(redis-cli -p "$redis_port" SCRIPT LOAD "$script")
    for _ in 1 2; do
      redis-cli -p "$redis_port" psubscribe 'eventnode.t.*' 'eventnode.bus.*' > /dev/null 2>&1 &
      pids+=("$!")
    done
  done
  sleep 0.3
  local ticks0=0 ticks1=0 t0 t1
  for i in "${rpids[@]}"; do ticks0=$((ticks0 + $(awk '{ print $14 + $15 }' "/proc/$i/stat"))); done
  t0=$(date +%s%N)
  for ((i = 0; i < shards; ++i)); do
    cmd=(redis-benchmark -p "${ports[i]}" -n "$r_requests" -c "$r_clients" -P "$r_pipeline" --csv
      EVALSHA "$sha" "${eval_args[@]}" eventnode.t.bench "$data" 1000 600 2592000 benchepoch 1 "${tail_args[@]}")
    echo "\$ ${cmd[*]}"
    "${cmd[@]}" > "$work/$name-$((i + 1)).out" 2>&1 &
    bpids+=("$!")
  done
  for i in "${bpids[@]}"; do wait "$i" || failed=1; done
  t1=$(date +%s%N)
  for i in "${rpids[@]}"; do ticks1=$((ticks1 + $(awk '{ print $14 + $15 }' "/proc/$i/stat"))); done
  for ((i = 0; i < shards; ++i)); do
    echo "   redis-benchmark $((i + 1)) (csv: rps, avg, min, p50, p95, p99, max ms):" \
      "$(tail -n 1 "$work/$name-$((i + 1)).out" | awk -F'","' '{ print $2 ", " $3 ", " $4 ", " $5 ", " $6 ", " $7 ", " $8 }')"
    local top len
    top=$(redis-cli -p "${ports[i]}" hget 'eventnode:{bench}:meta' s)
    len=$(redis-cli -p "${ports[i]}" xlen 'eventnode:{bench}:stream')
    echo "   redis $((i + 1)): offset after the run $top (expected $r_requests), history length $len"
    [[ $top == "$r_requests" ]] || { echo "!! not every publish was recorded"; failed=1; }
  done
  echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  r_line=$(awk -v ticks=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" -v ns=$((t1 - t0)) -v n=$((r_requests * shards)) 'BEGIN {
    s = ns / 1e9; rate = n / s; cpu = ticks / hz
    printf "%.0f publishes/s, redis %.0f%% of a core in all: %.1f%% of a core per 10,000 publishes/s (%.1f us CPU per publish)",
      rate, 100 * cpu / s, 100 * cpu / s * 10000 / rate, 1e6 * cpu / n }')
  echo "   $r_line"
  summary+=("$name. Redis alone, $shards redis-server(s) (redis-benchmark, EVALSHA of the publish script)" "  \$ ${cmd[*]}")
  stop_all
}
if want r; then
  redis_alone r 1
  r1_line=$r_line
fi
if want r2; then
  redis_alone r2 2
  r2_line=$r_line
fi

# Redis CPU from cpu_pids (gateway 2 first, then the redis-servers): seconds over run_s, per 10,000 publishes/s.
redis_cpu() {  # redis_cpu SCENARIO -> "x% of a core per 10k publishes/s (y% at z/s)"
  local r=${result[$1]:-}
  [[ -n $r ]] || return 0
  awk -v line="$r" 'BEGIN {
    n = split(line, kv, " ")
    for (i = 1; i <= n; ++i) { split(kv[i], p, "="); v[p[1]] = p[2] }
    m = split(v["cpu_pids"], pc, ",")
    total = 0
    for (i = 2; i <= m; ++i) { split(pc[i], q, ":"); total += q[2]; each = each sprintf("%s%.0f%%", (i > 2 ? "+" : ""), 100 * q[2] / v["run_s"]) }
    pct = 100 * total / v["run_s"]; rate = v["publish_events_per_s"]
    if (rate > 0) printf "redis %s of a core at %.0f publishes/s: %.1f%% of a core per 10,000 publishes/s", each, rate, pct * 10000 / rate
  }'
}

echo
echo "== summary ($(date -u +%H:%M:%SZ), load now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${summary[@]}"
check() { echo "missing=$(field "$1" missing) duplicate=$(field "$1" duplicate) out_of_order=$(field "$1" out_of_order)"; }
if want a; then echo "a. memory: $(field a deliveries_per_s) deliveries/s ($(field a publish_events_per_s) publishes/s); $(check a)"; fi
if want b; then
  a_rate=$(field a deliveries_per_s)
  b_rate=$(field b deliveries_per_s)
  ratio=""
  [[ -n $a_rate && -n $b_rate && $a_rate != 0 ]] && ratio=$(awk -v a="$a_rate" -v b="$b_rate" 'BEGIN { printf "%.0f%%", 100 * b / a }')
  echo "b. redis, two gateways: $b_rate deliveries/s ($(field b publish_events_per_s) publishes/s)${ratio:+, $ratio of a (goal >= 75%)}; $(check b)"
fi
if want c; then
  echo "c. redis latency at $(field c publish_events_per_s) publishes/s: p50 $(field c p50_us) us, p99 $(field c p99_us) us," \
    "p99.9 $(field c p999_us) us (goal p99 <= 10,000 us); $(check c)"
fi
if want d; then echo "d. one Redis: $(field d publish_events_per_s) publishes/s with history (goal >= 50,000); $(redis_cpu d); $(check d)"; fi
if [[ $aof == 1 ]]; then echo "d'. one Redis, appendonly: $(field d_aof publish_events_per_s) publishes/s; $(redis_cpu d_aof); $(check d_aof)"; fi
if want e; then echo "e. two shards: $(field e publish_events_per_s) publishes/s; $(redis_cpu e); $(check e)"; fi
if want r; then echo "r. one Redis alone: $r1_line"; fi
if want r2; then echo "r2. two Redis alone, at once: $r2_line"; fi
exit "$failed"
