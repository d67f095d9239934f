#!/usr/bin/env python3
"""Instant-finality benchmark of the utxo plugin: 4 masternodes on loopback (tests/utxo/harness.py),
many seeded UTXOs, independent one-input transactions submitted to mn1 over keep-alive HTTP, and
a wallet WebSocket on mn1 subscribed to every payer address.

Latency is submit (just before the POST) → TransactionFinalized received by the wallet. Load is
bounded by a window (transactions submitted and not yet finalized) and optionally paced to a
target rate. Finalized tx/s counts TransactionFinalized arrivals between the end of the warm-up
and the end of submission. Prints one RESULT line; exits 0 when every submitted transaction was
accepted and finalized, 1 otherwise.

Goal (issue 4): finality p99 <= 20 ms and >= 2,000 finalized tx/s.
"""
import argparse
import asyncio
import http.client
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "utxo"))
from bench_stats import percentile  # noqa: E402  (bench/ is the script's folder)


class FinalityWatcher:
    """A python3-websockets wallet on its own thread; records the arrival of each TransactionFinalized."""

    def __init__(self, port, addresses, on_finalized):
        import websockets
        self.websockets = websockets
        self.url = f"ws://127.0.0.1:{port}/ws/utxo-protocol"
        self.addresses = addresses
        self.on_finalized = on_finalized
        self.ready = threading.Event()
        self.error = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.run(),), daemon=True)
        self.thread.start()
        if not self.ready.wait(30) or self.error:
            raise RuntimeError(f"the wallet did not subscribe: {self.error}")

    async def run(self):
        try:
            async with self.websockets.connect(self.url, ping_interval=None, max_queue=None,
                                               max_size=64 * 1024 * 1024) as ws:
                self.ws = ws
                await ws.send(json.dumps({"type": "Subscribe", "addresses": self.addresses}))
                while True:
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if reply.get("type") == "SubscriptionConfirmed":
                        break
                    if reply.get("type") == "Error":
                        raise RuntimeError(reply)
                self.ready.set()
                async for text in ws:
                    if '"TransactionFinalized"' in text:  # skip the parse of every other message
                        now = time.monotonic()
                        message = json.loads(text)
                        if message.get("type") == "TransactionFinalized":
                            self.on_finalized(message["txid"], now)
        except Exception as error:  # noqa: BLE001 -- reported by the main thread
            self.error = error
            self.ready.set()

    def close(self):
        if getattr(self, "ws", None) is not None:
            asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop)
        self.thread.join(timeout=5)


def cpu_seconds(cluster):
    """CPU seconds (user + system) used so far by each running node and by this loader."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for node in cluster.running:
        with open(f"/proc/{node.process.pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        out[node.id] = (int(stat[11]) + int(stat[12])) / ticks
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["loader"] = usage.ru_utime + usage.ru_stime
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build/release", help="build dir with bin/eventnode (default build/release)")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--payers", type=int, default=500, help="payer addresses, all watched by the wallet")
    parser.add_argument("--utxos", type=int, default=20000, help="seeded UTXOs = the most transactions submitted")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of submission")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds excluded from the figures")
    parser.add_argument("--window", type=int, default=64, help="transactions in flight (submitted, not finalized)")
    parser.add_argument("--rate", type=float, default=0.0, help="target submissions/s; 0 = as fast as the window allows")
    parser.add_argument("--connections", type=int, default=4, help="keep-alive HTTP connections to mn1")
    parser.add_argument("--http-threads", type=int, default=4, help="server.http_threads of each node")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' folders (configs, logs, data)")
    args = parser.parse_args()

    if not os.environ.get("EVENTNODE_BINARY"):
        build = Path(args.build) if Path(args.build).is_absolute() else REPO / args.build
        os.environ["EVENTNODE_BINARY"] = str(build / "bin" / "eventnode")
    if args.keep:
        os.environ["UTXO_TESTS_KEEP"] = "1"
    from harness import Cluster, new_txid, time_tx

    cluster = Cluster(args.nodes, logging_level="warn", server={"http_threads": args.http_threads})
    watcher = None
    try:
        t = time.monotonic()
        cluster.start()
        mn1 = cluster[0]
        payers = [time_tx.address(f"bench-payer-{i}") for i in range(args.payers)]
        sink = time_tx.address("bench-sink")
        genesis = new_txid()
        utxos = [{"txid": genesis, "vout": v, "address": payers[v % len(payers)], "amount": 1000}
                 for v in range(args.utxos)]
        cluster.seed(utxos)
        bodies = []
        for u in utxos:
            tx = time_tx.make_tx([(u["txid"], u["vout"])], [(sink, 1000)], key_seed=u["address"])
            bodies.append((tx["txid"], json.dumps(tx).encode()))
        print(f"setup: {args.nodes} masternodes, {args.utxos} UTXOs seeded on each, {len(payers)} payers "
              f"({time.monotonic() - t:.1f} s)", flush=True)

        submitted = {}  # txid -> monotonic time of the POST
        finalized = {}  # txid -> monotonic arrival of TransactionFinalized
        lock = threading.Lock()
        window = threading.Semaphore(args.window)
        errors = []

        def on_finalized(txid, now):
            with lock:
                if txid in finalized or txid not in submitted:
                    return
                finalized[txid] = now
            window.release()

        watcher = FinalityWatcher(mn1.port, payers, on_finalized)
        next_index = [0]
        start = time.monotonic()
        stop_at = start + args.duration

        def submitter():
            conn = http.client.HTTPConnection("127.0.0.1", mn1.port, timeout=30)
            headers = {"Content-Type": "application/json"}
            while True:
                if not window.acquire(timeout=1.0):
                    if time.monotonic() >= stop_at:
                        return
                    continue
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                now = time.monotonic()
                if i >= len(bodies) or now >= stop_at:
                    window.release()
                    return
                if args.rate > 0:
                    due = start + i / args.rate
                    if due > now:
                        time.sleep(due - now)
                txid, body = bodies[i]
                with lock:
                    submitted[txid] = time.monotonic()
                try:
                    conn.request("POST", "/api/utxo/transactions", body=body, headers=headers)
                    answer = conn.getresponse()
                    text = answer.read()
                    if answer.status != 202:
                        raise RuntimeError(f"{answer.status} {text[:200]!r}")
                except Exception as error:  # noqa: BLE001 -- counted and reported
                    with lock:
                        errors.append(f"{txid[:12]}: {error}")
                        submitted.pop(txid, None)
                    window.release()
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", mn1.port, timeout=30)

        cpu_before = cpu_seconds(cluster)
        threads = [threading.Thread(target=submitter, daemon=True) for _ in range(args.connections)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=args.duration + 60)
        end = time.monotonic()
        cpu_after = cpu_seconds(cluster)
        drain_deadline = end + 10
        while time.monotonic() < drain_deadline:
            with lock:
                if len(finalized) >= len(submitted):
                    break
            time.sleep(0.01)

        with lock:
            measured_from = start + min(args.warmup, args.duration / 2)
            latencies = [(finalized[t] - s) * 1000 for t, s in submitted.items()
                         if t in finalized and s >= measured_from]
            in_window = sum(1 for f in finalized.values() if measured_from <= f <= end)
            rate = in_window / (end - measured_from) if end > measured_from else 0.0
            unfinalized = len(submitted) - len(finalized)
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            print(f"RESULT nodes={args.nodes} window={args.window} rate={args.rate:g} connections={args.connections} "
                  f"submitted={len(submitted)} finalized={len(finalized)} unfinalized={unfinalized} "
                  f"errors={len(errors)} finalized_per_s={rate:.0f} p50_ms={p50:.2f} "
                  f"p90_ms={percentile(latencies, 90):.2f} p99_ms={p99:.2f} "
                  f"max_ms={max(latencies) if latencies else float('nan'):.2f} measured={len(latencies)}")
            print(f"goal: finality p99 <= 20 ms: {'met' if p99 <= 20 else 'NOT met'} ({p99:.2f} ms); "
                  f">= 2000 finalized tx/s: {'met' if rate >= 2000 else 'NOT met'} ({rate:.0f})")
            spent = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
            print(f"cpu during submission ({end - start:.1f} s, {os.cpu_count()} cores): "
                  + " ".join(f"{k}={v:.1f}s" for k, v in spent.items()))
            engines = []
            for node in cluster:
                status, body = node.admin("GET", "/api/utxo/status")
                if status == 200:
                    e = body["engine"]
                    engines.append(f"{node.id}={e['commands']}/{e['batches']} "
                                   f"(commit {e['commit_ms_total'] / max(e['batches'], 1):.2f} ms avg, "
                                   f"{e['commit_ms_max']:.1f} max)")
            print("engine commands/commits per node (a commit carries commands/commits on average): " + " ".join(engines))
            for line in errors[:5]:
                print(f"error: {line}")
            if len(submitted) >= len(bodies):
                print(f"note: all {len(bodies)} UTXOs were spent before the duration ended; raise --utxos")
            dead = [n.id for n in cluster if not n.running]
            if dead:
                print(f"!! masternodes died during the run: {dead}")
        return 0 if not errors and not unfinalized and not dead and submitted else 1
    finally:
        if watcher is not None:
            watcher.close()
        if os.environ.get("UTXO_TESTS_KEEP") != "1":
            cluster.stop()
        cluster.cleanup()


if __name__ == "__main__":
    sys.exit(main())
