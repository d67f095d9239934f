#!/usr/bin/env bash
# The soak (issue 18): a node holds CONNS WebSockets for DURATION seconds
# while CHURN of them a second are closed and reopened and RATE events a
# second are published; its RSS, open descriptors and threads are sampled
# every SAMPLE seconds into a CSV, and the run fails unless they stay flat and
# events keep flowing. Not part of `make test` (ten minutes); docs/security.md
# ("Soak") has the figures and the ASan variant.
#
# usage: bench/run_soak.sh [--build DIR] [--node BIN] [--loader BIN] [--csv FILE]
#   --build DIR   where bin/eventnode and bin/ws_soak are (default build/release)
#   --node BIN    the node to soak, e.g. build/asan/bin/eventnode (default DIR/bin/eventnode)
#   --loader BIN  the load tool (default DIR/bin/ws_soak, else build/release/bin/ws_soak)
#   --csv FILE    samples (default soak-<UTC time>.csv in the work folder, kept and printed at the end)
# env:   DURATION=600 CONNS=10000 CHURN=100 RATE=1000 TOPICS=100 SAMPLE=10 WARMUP=60
#        SOURCES (default CONNS/500 rounded up: 500 per address, half the per-address cap)
#        STOP_TIMEOUT=15 (s the node gets to exit after SIGTERM; more under ASan)
#        RSS_PCT=5 (the RSS limit below; "off" under ASan, whose quarantine keeps up to 256 MB of
#        freed memory on purpose, so its RSS grows without a leak; LeakSanitizer judges instead)
#
# Flat means, over the samples taken WARMUP s after every connection was open
# ("steady" samples):
#   RSS      the mean of the last minute's samples is within RSS_PCT (5) % of the
#            mean of the first minute's (the least-squares slope is printed too);
#   fds      max - min within 5 % of the connections (the closes in flight: churn x close time,
#            seconds on a starved machine), and the last minute's mean within 1 % of the first's;
#   threads  max - min at most 2;
# and after the loader has closed everything: the node's connection gauge back
# to 0 and its descriptor count back to what it was before the load (within 5).
# Events flowing: the loader's own checks (no gap or repeat in any
# connection's offsets, no connection without an event for 10 s, no lost
# connection, every publish answered 200) and events in every progress line.
# exit: 0 flat and flowing, 1 not, 2 setup trouble.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=build/release
node_bin=""
loader_bin=""
csv=""
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --node) node_bin=$2; shift 2 ;;
    --loader) loader_bin=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    -h|--help) sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_soak: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -d $build ]] || build=$repo/$build
node_bin=${node_bin:-$build/bin/eventnode}
if [[ -z $loader_bin ]]; then
  loader_bin=$build/bin/ws_soak
  [[ -x $loader_bin ]] || loader_bin=$repo/build/release/bin/ws_soak
fi
duration=${DURATION:-600}
conns=${CONNS:-10000}
churn=${CHURN:-100}
rate=${RATE:-1000}
topics=${TOPICS:-100}
sample=${SAMPLE:-10}
warmup=${WARMUP:-60}
sources=${SOURCES:-$(((conns + 499) / 500))}
stop_timeout=${STOP_TIMEOUT:-15}
rss_pct=${RSS_PCT:-5}

for bin in "$node_bin" "$loader_bin"; do
  if [[ ! -x $bin ]]; then
    echo "run_soak: $bin is missing; build it (cmake --build --preset release --target eventnode ws_soak)" >&2
    exit 2
  fi
done
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/eventnode-soak.XXXXXX)
csv=${csv:-$work/soak-$(date -u +%Y%m%dT%H%M%SZ).csv}
node_pid=""
sampler_pid=""
loader_pid=""
cleanup() {
  [[ -z $sampler_pid ]] || kill "$sampler_pid" 2>/dev/null || true
  [[ -z $loader_pid ]] || kill "$loader_pid" 2>/dev/null || true
  if [[ -n $node_pid ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -KILL "$node_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/data"
node_log=$work/node.log
SOAK_PORT=$port SOAK_DATA_DIR=$work/data "$node_bin" --config "$repo/bench/soak.yaml" > "$node_log" 2>&1 &
node_pid=$!
deadline=$((SECONDS + 60))
until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
  if ! kill -0 "$node_pid" 2>/dev/null || ((SECONDS > deadline)); then
    echo "run_soak: the node did not come up on port $port; its log:" >&2
    cat "$node_log" >&2
    exit 2
  fi
  sleep 0.2
done

# One CSV row: seconds since the node answered, phase, VmRSS, descriptors, threads, the node's
# connection gauge, its CPU seconds so far, and the machine's 1-minute load.
started=$EPOCHREALTIME
sample_row() {
  local phase=$1 rss threads fds conns_now cpu load
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$node_pid/status" 2>/dev/null || echo -1)
  # utime + stime in clock ticks: fields 14 and 15, counted after the ')' that ends the command name.
  cpu=$(sed 's/.*) //' "/proc/$node_pid/stat" 2>/dev/null | awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($12 + $13) / hz}')
  load=$(cut -d' ' -f1 /proc/loadavg)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$node_pid/status" 2>/dev/null || echo -1)
  fds=$(ls "/proc/$node_pid/fd" 2>/dev/null | wc -l)
  conns_now=$(curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" | awk '$1 == "eventnode_connections" {print $2}' || true)
  awk -v now="$EPOCHREALTIME" -v t0="$started" -v row="$phase,$rss,$fds,$threads,${conns_now:--1},${cpu:--1},$load" \
    'BEGIN { printf "%.1f,%s\n", now - t0, row }' >> "$csv"
}
echo "t_s,phase,rss_kib,fds,threads,connections,node_cpu_s,load1" > "$csv"
sample_row before

echo "eventnode soak: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "node:   $node_bin (pid $node_pid, port $port, config bench/soak.yaml)"
echo "git:    $(git -C "$repo" log -1 --oneline 2>/dev/null || echo unknown)"
loader_cmd=("$loader_bin" --host 127.0.0.1 --port "$port" --connections "$conns" --topics "$topics"
  --duration "$duration" --churn "$churn" --rate "$rate" --sources "$sources" --report "$sample")
echo "\$ ${loader_cmd[*]}"
loader_out=$work/loader.out
"${loader_cmd[@]}" > "$loader_out" 2>&1 &
loader_pid=$!

# The sampler runs beside the loader; the phase is "ramp" until the loader says every connection is
# open, "soak" while it churns and publishes, "ending" while it drains and closes everything.
(
  while kill -0 "$loader_pid" 2>/dev/null; do
    phase=ramp
    grep -q 'connections open after' "$loader_out" 2>/dev/null && phase=soak
    grep -q 'soak over after' "$loader_out" 2>/dev/null && phase=ending
    sample_row "$phase"
    sleep "$sample"
  done
) &
sampler_pid=$!
tail -f --pid="$loader_pid" "$loader_out" &
tail_pid=$!
loader_rc=0
wait "$loader_pid" || loader_rc=$?
loader_pid=""
wait "$tail_pid" 2>/dev/null || true
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""

# After the load: the node should be back to its connection-less self.
node_alive=1
kill -0 "$node_pid" 2>/dev/null || node_alive=0
if ((node_alive)); then
  for _ in $(seq 20); do
    sample_row after
    [[ $(tail -n 1 "$csv" | cut -d, -f6) == 0 ]] && break
    sleep 0.5
  done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# SIGTERM: the node must exit 0 within STOP_TIMEOUT, and (ASan build) without a report.
stop_rc=-1
if ((node_alive)); then
  kill -TERM "$node_pid"
  for _ in $(seq $((stop_timeout * 10))); do
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$node_pid" 2>/dev/null; then
    echo "run_soak: the node did not exit within ${stop_timeout} s of SIGTERM" >&2
  else
    stop_rc=0
    wait "$node_pid" || stop_rc=$?
    node_pid=""
  fi
fi
sanitizer=$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$node_log" || true)

echo
echo "== node log (last 15 of $(wc -l < "$node_log") lines)"
tail -n 15 "$node_log"
echo
echo "== summary (machine load at the end: $load_after)"
summary_rc=0
python3 - "$csv" "$loader_out" "$warmup" "$rss_pct" "$loader_rc" "$node_alive" "$stop_rc" "$sanitizer" <<'EOF' || summary_rc=$?
import csv, re, sys, statistics as st
path, loader_out, warmup, rss_pct, loader_rc, alive, stop_rc, sanitizer = sys.argv[1:]
warmup, rss_pct = float(warmup), (None if rss_pct == "off" else float(rss_pct))
rows = list(csv.DictReader(open(path)))
for r in rows:
    for k in ("t_s", "rss_kib", "fds", "threads", "connections", "node_cpu_s", "load1"):
        r[k] = float(r[k])
before = [r for r in rows if r["phase"] == "before"]
soak = [r for r in rows if r["phase"] == "soak"]
after = [r for r in rows if r["phase"] == "after"]
problems = []
steady = [r for r in soak if soak and r["t_s"] >= soak[0]["t_s"] + warmup]
out = open(loader_out).read()
result = dict(kv.split("=", 1) for kv in (re.search(r"^RESULT (.*)$", out, re.M) or re.match("()", "")).group(1).split())

def figures(name, key, scale=1.0, fmt="{:.0f}"):
    vals = [r[key] / scale for r in steady]
    f = lambda v: fmt.format(v)
    print(f"  {name:8s} first {f(vals[0])}, min {f(min(vals))}, max {f(max(vals))}, last {f(vals[-1])}"
          f"  (before load {f(before[0][key] / scale)}, after {f(after[-1][key] / scale) if after else 'n/a'})")
    return vals

if len(steady) < 4:
    problems.append(f"only {len(steady)} steady samples (run longer than WARMUP plus a few SAMPLE periods)")
else:
    span = steady[-1]["t_s"] - steady[0]["t_s"]
    print(f"  steady samples: {len(steady)} over {span:.0f} s, from {warmup:.0f} s after every connection was open")
    rss = figures("RSS MiB", "rss_kib", 1024.0, "{:.1f}")
    fds = figures("fds", "fds")
    thr = figures("threads", "threads")
    conns = figures("conns", "connections")
    window = min(60.0, span / 3)
    head = [r["rss_kib"] for r in steady if r["t_s"] <= steady[0]["t_s"] + window]
    tail = [r["rss_kib"] for r in steady if r["t_s"] >= steady[-1]["t_s"] - window]
    growth = 100.0 * (st.mean(tail) - st.mean(head)) / st.mean(head)
    ts = [r["t_s"] for r in steady]
    slope = st.linear_regression(ts, [r["rss_kib"] for r in steady]).slope * 60 if hasattr(st, "linear_regression") else float("nan")
    print(f"  RSS growth: {growth:+.2f} % (mean of the last {window:.0f} s against the first {window:.0f} s), "
          f"slope {slope:+.0f} KiB/min")
    if rss_pct is None:
        print("  RSS not judged (RSS_PCT=off)")
    elif growth >= rss_pct:
        problems.append(f"RSS grew {growth:.2f} % (limit {rss_pct} %)")
    # The spread of fds is the connections whose close is in flight (churn x close time); a leak is a
    # trend, and descriptors left once the loader is gone (checked below).
    band = max(50.0, 0.05 * st.mean(conns))
    if max(fds) - min(fds) > band:
        problems.append(f"fds moved by {max(fds) - min(fds):.0f} (limit {band:.0f})")
    fd_head = [r["fds"] for r in steady if r["t_s"] <= steady[0]["t_s"] + window]
    fd_tail = [r["fds"] for r in steady if r["t_s"] >= steady[-1]["t_s"] - window]
    fd_trend = st.mean(fd_tail) - st.mean(fd_head)
    print(f"  fds trend: {fd_trend:+.0f} (mean of the last {window:.0f} s against the first {window:.0f} s)")
    if abs(fd_trend) > max(20.0, 0.01 * st.mean(conns)):
        problems.append(f"fds trend {fd_trend:+.0f} (limit 1 % of the connections)")
    cpu = 100.0 * (steady[-1]["node_cpu_s"] - steady[0]["node_cpu_s"]) / span
    loads = [r["load1"] for r in steady]
    print(f"  node CPU {cpu:.0f} % of one core over the steady samples; machine load {min(loads):.1f}..{max(loads):.1f}")
    if max(thr) - min(thr) > 2:
        problems.append(f"threads moved by {max(thr) - min(thr):.0f} (limit 2)")
if after and before:
    if after[-1]["connections"] != 0:
        problems.append(f"the node still counts {after[-1]['connections']:.0f} connections after the loader left")
    if abs(after[-1]["fds"] - before[0]["fds"]) > 5:
        problems.append(f"fds after the load {after[-1]['fds']:.0f}, before {before[0]['fds']:.0f}")
elif alive == "1":
    problems.append("no sample after the load")
progress = [m for m in re.finditer(r"^progress t=(\S+) .*?events_per_s=(\S+) published_per_s=(\S+)", out, re.M)]
if any(float(m.group(2)) == 0 for m in progress):
    problems.append("a progress period without any event received")
if result:
    g = lambda k: result.get(k, "?")
    print(f"  events:  published {g('published')} ({g('published_per_s')}/s), received {g('events')} "
          f"({g('events_per_s')}/s), missing {g('missing')}, repeated {g('repeated')}, stalls {g('stalls')}")
    print(f"  connects: {g('connects_ready')} opened ({g('connects_started')} started, {g('setup_failures')} setup "
          f"failures), closes clean {g('closes_clean')} / FIN {g('closes_fin')} / reset {g('closes_reset')}, "
          f"lost {g('lost')}, close timeouts {g('close_timeouts')} (at the final close {g('final_close_timeouts')})")
    print(f"  close handshake (churned clean closes, our close frame to the node's): p50 {g('close_wait_p50_ms')} ms, "
          f"p99 {g('close_wait_p99_ms')} ms, max {g('close_wait_max_ms')} ms; publisher at most "
          f"{g('publish_max_behind')} events behind its schedule")
else:
    problems.append("the loader printed no RESULT line")
if loader_rc != "0":
    problems.append(f"the loader exited {loader_rc} (its checks failed, see above)")
if alive != "1":
    problems.append("the node died during the run")
elif stop_rc != "0":
    problems.append(f"the node's exit after SIGTERM: {stop_rc}")
if sanitizer != "0":
    problems.append(f"{sanitizer} sanitizer report line(s) in the node log")
print(f"  node exit after SIGTERM: {stop_rc}; sanitizer reports: {sanitizer}")
print(f"  samples: {path}")
for p in problems:
    print(f"  NOT FLAT/FLOWING: {p}")
print("  verdict: " + ("flat, events flowing" if not problems else "FAILED"))
sys.exit(1 if problems else 0)
EOF
echo "  node log: $node_log"
exit "$summary_rc"
