#!/usr/bin/env bash
# Starts a whole eventnode cluster on this machine, for trying it (issue 16), and
# stops it cleanly on Ctrl-C or SIGTERM:
#
#   redis-server       on a free loopback port, its data in the cluster folder
#   gateway-1/-2       etc/roles/gateway.yaml, twice (SERVER_ID and PORT differ)
#   solana-listener-1  etc/roles/solana-listener.yaml against tools/solana_sim (LiteSVM)
#   pow-ingest-1       etc/roles/pow-ingest.yaml, fed by tools/ml_node_sim.py, recording to
#                      tools/chain_recorder_sim.py
#   masternode-1       etc/roles/masternode.yaml (MASTERNODES=4 starts the whole set of four;
#                      one alone is below the quorum of 3, so its transactions stay pending)
#
# Every process runs its role file unchanged; what differs per process comes from the
# environment (SERVER_ID, PORT, DATA_DIR, REDIS_URL, …, see the ${VAR:-default} in etc/roles).
#
#   tools/cluster.sh                    (or: make cluster)
#   EVENTNODE_BINARY=build/asan/bin/eventnode tools/cluster.sh
#   CLUSTER_DIR=/tmp/mycluster MASTERNODES=4 tools/cluster.sh
#
# Runs in the foreground. Logs, configs' data and the Redis files are under $CLUSTER_DIR
# (a new temp folder by default; kept after the stop, its path is printed).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

binary="${EVENTNODE_BINARY:-$repo/build/release/bin/eventnode}"
plugin_dir="${EVENTNODE_PLUGIN_DIR:-$(dirname "$(dirname "$binary")")/lib/eventnode/plugins}"
masternodes="${MASTERNODES:-1}"
roles="${CLUSTER_ROLES_DIR:-etc/roles}"  # another folder of role files, e.g. to try changes
python="/usr/bin/python3"  # Debian's, with python3-websockets (the simulators need it)

die() { echo "cluster: $*" >&2; exit 1; }
[[ -x "$binary" ]] || die "no eventnode at $binary; run 'make build' (or set EVENTNODE_BINARY)"
[[ -d "$plugin_dir" ]] || die "no plugin folder at $plugin_dir (set EVENTNODE_PLUGIN_DIR)"
command -v redis-server >/dev/null || die "redis-server is missing; run tools/install_deps.sh"
command -v redis-cli >/dev/null || die "redis-cli is missing; run tools/install_deps.sh"
command -v node >/dev/null || die "node (Node.js >= 20) is missing; the Solana emulator needs it"
[[ "$masternodes" == 1 || "$masternodes" == 4 ]] || die "MASTERNODES is 1 or 4 (etc/roles/masternode.yaml lists four)"

dir="${CLUSTER_DIR:-$(mktemp -d /tmp/eventnode-cluster.XXXXXX)}"
mkdir -p "$dir"
export EVENTNODE_JWT_SECRET="${EVENTNODE_JWT_SECRET:-$(openssl rand -hex 32)}"
export EVENTNODE_PLUGIN_DIR="$plugin_dir"
export LISTEN=127.0.0.1

# --- process bookkeeping: every PID we start, stopped by PID in reverse order ---------------
pids=()
names=()
stopping=0

stop_all() {
  [[ $stopping == 1 ]] && return
  stopping=1
  trap '' INT TERM
  echo
  echo "cluster: stopping ${#pids[@]} processes"
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
    # Gateways first, Redis last: give each up to 15 s, then SIGKILL.
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster: ${names[i]} (pid $pid) did not stop within 15 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  echo "cluster: stopped; logs and data in $dir"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# start NAME LOGFILE COMMAND...: runs COMMAND in the background, remembered for the stop.
start() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 </dev/null &
  pids+=($!)
  names+=("$name")
}

fail_start() {
  echo "cluster: $1 did not come up; the end of its log ($2):" >&2
  tail -n 30 "$2" >&2 || true
  exit 1
}

# wait_for NAME LOGFILE SECONDS COMMAND...: polls COMMAND until it succeeds, the process dies, or time is up.
wait_for() {
  local name=$1 log=$2 seconds=$3 pid=${pids[-1]}
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail_start "$name (exited)" "$log"
    ((SECONDS < deadline)) || fail_start "$name (no answer within $seconds s)" "$log"
    sleep 0.1
  done
}

ready_line() {  # the READY line a simulator printed in its log
  grep -m1 '^READY ' "$1"
}

free_ports() {  # N ports free on 127.0.0.1 right now, outside the ephemeral range
  "$python" - "$1" <<'EOF'
import random, socket, sys
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(20000, 32768)))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(s.getsockname()[1])
print(" ".join(map(str, ports)))
EOF
}

read -r redis_port gw1_port gw2_port sol_port pow_port mn_http1 mn_http2 mn_http3 mn_http4 \
  p2p1 p2p2 p2p3 p2p4 <<<"$(free_ports 13)"
export REDIS_URL="redis://127.0.0.1:$redis_port"

# --- Redis ------------------------------------------------------------------------------
mkdir -p "$dir/redis"
start redis "$dir/redis.log" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" \
  --save "" --appendonly yes --daemonize no --logfile ""
wait_for redis "$dir/redis.log" 20 redis-cli -p "$redis_port" ping

# --- the outside world: Solana emulator, ML node, chain recorder ----------------------------
tools/solana_sim/install.sh >"$dir/solana_sim-install.log" 2>&1 || fail_start "tools/solana_sim/install.sh" "$dir/solana_sim-install.log"
start solana_sim "$dir/solana_sim.log" node tools/solana_sim/server.js --rpc-port 0 --ws-port 0
wait_for solana_sim "$dir/solana_sim.log" 60 ready_line "$dir/solana_sim.log"
sim_json="$(ready_line "$dir/solana_sim.log")"
sim_json="${sim_json#READY }"
sim_field() { "$python" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$sim_json" "$1"; }
export SOLANA_RPC_URL="$(sim_field rpc_url)" SOLANA_WS_URL="$(sim_field ws_url)"

start chain_recorder "$dir/chain_recorder.log" "$python" -u tools/chain_recorder_sim.py --port 0 \
  --jsonl "$dir/chain_records.jsonl"
wait_for chain_recorder "$dir/chain_recorder.log" 20 ready_line "$dir/chain_recorder.log"
record_port="$(ready_line "$dir/chain_recorder.log" | sed -n 's/.*record_port=\([0-9]*\).*/\1/p')"
export CHAIN_RECORDER_URL="http://127.0.0.1:$record_port/v1/poc-batches"

start ml_node "$dir/ml_node.log" "$python" -u tools/ml_node_sim.py --generated 20 --validated 20 --interleave \
  --send-interval 2 --callback "http://127.0.0.1:$pow_port/v1/poc-batches"
wait_for ml_node "$dir/ml_node.log" 20 ready_line "$dir/ml_node.log"
ml_ws_port="$(ready_line "$dir/ml_node.log" | sed -n 's/.*ws_port=\([0-9]*\).*/\1/p')"
export ML_NODE_1_URL="http://127.0.0.1:$ml_ws_port"

# --- eventnode processes, one per role (and two gateways) ------------------------------------
healthz() { curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz"; }

# run_node ID ROLE_FILE PORT [VAR=value...]
run_node() {
  local id=$1 role_file=$2 port=$3
  shift 3
  mkdir -p "$dir/$id"
  start "$id" "$dir/$id.log" env SERVER_ID="$id" PORT="$port" DATA_DIR="$dir/$id" "$@" \
    "$binary" --config "$role_file"
  wait_for "$id" "$dir/$id.log" 60 healthz "$port"
}

run_node gateway-1 "$roles"/gateway.yaml "$gw1_port"
run_node gateway-2 "$roles"/gateway.yaml "$gw2_port"
run_node solana-listener-1 "$roles"/solana-listener.yaml "$sol_port"
run_node pow-ingest-1 "$roles"/pow-ingest.yaml "$pow_port"
mn_env=(MASTERNODE_1_ADDRESS="127.0.0.1:$p2p1" MASTERNODE_2_ADDRESS="127.0.0.1:$p2p2"
        MASTERNODE_3_ADDRESS="127.0.0.1:$p2p3" MASTERNODE_4_ADDRESS="127.0.0.1:$p2p4")
mn_http=("$mn_http1" "$mn_http2" "$mn_http3" "$mn_http4")
mn_p2p=("$p2p1" "$p2p2" "$p2p3" "$p2p4")
for ((i = 0; i < masternodes; i++)); do
  run_node "masternode-$((i + 1))" "$roles"/masternode.yaml "${mn_http[i]}" "${mn_env[@]}" \
    P2P_LISTEN="127.0.0.1:${mn_p2p[i]}"
done

token() { "$binary" token --config "$roles"/gateway.yaml "$@"; }
admin_token="$(token --sub operator --role admin --ttl 86400)"
user_token="$(token --sub alice --role prosumer --ttl 86400)"

# The ML node's PoW phase: intake from ml-1 starts now (the role file has autostart: false).
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $admin_token" \
  "http://127.0.0.1:$pow_port/api/pow/nodes/ml-1/start" || echo "cluster: could not start intake from ml-1 (see $dir/pow-ingest-1.log)"

cat <<EOF

eventnode cluster is up (Ctrl-C stops it). Folder: $dir
  redis            $REDIS_URL            redis-cli -p $redis_port --scan --pattern 'eventnode*'
  gateway-1        http://127.0.0.1:$gw1_port   ws://127.0.0.1:$gw1_port/ws
  gateway-2        http://127.0.0.1:$gw2_port   ws://127.0.0.1:$gw2_port/ws
  solana-listener  http://127.0.0.1:$sol_port   (emulator $SOLANA_RPC_URL)
  pow-ingest       http://127.0.0.1:$pow_port   (ML node ws://127.0.0.1:$ml_ws_port, recorder $CHAIN_RECORDER_URL)
EOF
for ((i = 0; i < masternodes; i++)); do
  echo "  masternode-$((i + 1))     http://127.0.0.1:${mn_http[i]}   ws://127.0.0.1:${mn_http[i]}/ws/utxo-protocol   p2p 127.0.0.1:${mn_p2p[i]}"
done
[[ "$masternodes" == 1 ]] && echo "  (one masternode of the four configured: below the quorum, transactions stay pending; MASTERNODES=4 runs all)"
cat <<EOF

Tokens (JWT secret in EVENTNODE_JWT_SECRET=$EVENTNODE_JWT_SECRET; mint more with
  EVENTNODE_JWT_SECRET=… $binary token --config etc/roles/gateway.yaml --sub ID --role admin):
  admin  $admin_token
  alice  $user_token

Try:
  curl -s -H "Authorization: Bearer \$ADMIN" 'http://127.0.0.1:$gw1_port/api/ws/connections?scope=cluster'
  curl -s -H "Authorization: Bearer \$ADMIN" -H 'Content-Type: application/json' -d '{"topic":"user:alice","data":{"hello":"from gateway-1"}}' http://127.0.0.1:$gw1_port/api/v1/publish
  python3 -m websockets 'ws://127.0.0.1:$gw2_port/ws?token=\$ALICE&subscriptions=solana:program:TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'
  curl -s -X POST -d '{"count":3}' $SOLANA_RPC_URL/control/mint      # three SPL mints, seen by the listener
  curl -s http://127.0.0.1:$gw2_port/healthz
with ADMIN=$admin_token ALICE=$user_token
EOF

# Foreground until Ctrl-C / SIGTERM, or until a process of the cluster ends by itself.
set +e
wait -n "${pids[@]}"
code=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[i]}" 2>/dev/null; then
    echo "cluster: ${names[i]} (pid ${pids[i]}) exited ($code); stopping the rest. Its log: $dir/${names[i]}.log" >&2
  fi
done
exit 1
