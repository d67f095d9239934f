#!/usr/bin/env python3
"""Instant-finality benchmark of the utxo plugin: 4 masternodes on loopback (tests/utxo/harness.py),
many seeded UTXOs, independent one-input transactions (each signed by the key that owns its input,
so every masternode verifies one Ed25519 signature per payment) submitted to mn1 over keep-alive
HTTP, and a wallet WebSocket on mn1 subscribed to every payer address.

Latency is submit (just before the POST) → TransactionFinalized received by the wallet. Load is
bounded by a window (transactions submitted and not yet finalized) and optionally paced to a
target rate. Finalized tx/s counts TransactionFinalized arrivals between the end of the warm-up
and the end of submission. Prints one RESULT line; exits 0 when every submitted transaction was
accepted and finalized, 1 otherwise.

Goal (issue 4): finality p99 <= 20 ms and >= 2,000 finalized tx/s.
"""
import argparse
import json
import os
import resource
import selectors
import socket
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "utxo"))
from bench_stats import percentile  # noqa: E402  (bench/ is the script's folder)


class Loader:
    """Submissions and the wallet on one thread, over plain sockets in one selector loop.

    The loader shares the 2 cores with the 4 nodes, so it must cost little: http.client and
    python3-websockets on 17 threads took about 0.3 ms of CPU per payment, a sixth of the
    machine at 1,100 payments/s. Requests are prepared bytes on keep-alive HTTP/1.1
    connections; the wallet is the tests' RawWebSocket, read without blocking, and only
    TransactionFinalized frames are parsed."""

    REQUEST = (b"POST /api/utxo/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")

    def __init__(self, port, payers, bodies, connections, window, rate):
        from node_harness import OP_PING, OP_PONG, OP_TEXT, RawWebSocket
        self.op_text, self.op_ping, self.op_pong = OP_TEXT, OP_PING, OP_PONG
        self.requests = [(txid, self.REQUEST % len(body) + body) for txid, body in bodies]
        self.window, self.rate = window, rate
        self.submitted = {}  # txid -> monotonic time just before its request was written
        self.finalized = {}  # txid -> monotonic time its TransactionFinalized was read
        self.errors = []
        self.next_index = 0
        self.wallet = RawWebSocket(port, path="/ws/utxo-protocol")
        if self.wallet.status != 101:
            raise RuntimeError(f"the wallet's upgrade was answered {self.wallet.status}")
        self.wallet.send_json({"type": "Subscribe", "addresses": payers})
        while (reply := self.wallet.recv_json()).get("type") != "SubscriptionConfirmed":
            if reply.get("type") == "Error":
                raise RuntimeError(f"the wallet could not subscribe: {reply}")
        self.selector = selectors.DefaultSelector()
        self.wallet.sock.setblocking(False)
        self.selector.register(self.wallet.sock, selectors.EVENT_READ, None)
        self.connections = []
        for _ in range(connections):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            connection = {"sock": sock, "buffer": b"", "txid": None}
            self.selector.register(sock, selectors.EVENT_READ, connection)
            self.connections.append(connection)

    def submit(self, duration):
        """Submits for `duration` seconds (reading answers and finalizations meanwhile)."""
        self.start = time.monotonic()
        stop_at = self.start + duration
        while (now := time.monotonic()) < stop_at:
            self.poll(min(self.submit_what_may_go(now), stop_at - now))
        self.end = time.monotonic()
        # Each keep-alive connection holds one of mn1's HTTP threads: let them go once answered.
        while any(connection["txid"] is not None for connection in self.connections):
            self.poll(0.05)
        self.close_connections()

    def drain(self, timeout):
        """Reads until every submitted transaction is finalized, or `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        while len(self.finalized) < len(self.submitted) and time.monotonic() < deadline:
            self.poll(0.05)

    def poll(self, timeout):
        for key, _ in self.selector.select(max(timeout, 0)):
            if key.data is None:
                self.read_wallet()
            else:
                self.read_answer(key.data)

    def submit_what_may_go(self, now):
        """Writes the next requests on idle connections while the window and the pace allow;
        returns how long the loop may wait before it should look again."""
        for connection in self.connections:
            if connection["txid"] is not None:
                continue
            if self.next_index >= len(self.requests) or len(self.submitted) - len(self.finalized) >= self.window:
                break
            if self.rate > 0:
                due = self.start + self.next_index / self.rate
                if due > now:
                    return min(0.05, due - now)
            txid, request = self.requests[self.next_index]
            self.next_index += 1
            connection["txid"] = txid
            self.submitted[txid] = time.monotonic()
            connection["sock"].sendall(request)  # a few hundred bytes: the socket buffer takes them whole
        return 0.05

    def read_answer(self, connection):
        chunk = connection["sock"].recv(65536)
        if not chunk:
            raise RuntimeError("mn1 closed a submission connection")
        connection["buffer"] += chunk
        head_end = connection["buffer"].find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = connection["buffer"][:head_end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(connection["buffer"]) < head_end + 4 + length:
            return
        body = connection["buffer"][head_end + 4:head_end + 4 + length]
        connection["buffer"] = connection["buffer"][head_end + 4 + length:]
        status = int(head.split(" ", 2)[1])
        txid, connection["txid"] = connection["txid"], None
        if status != 202:
            self.errors.append(f"{txid[:12]}: {status} {body[:200]!r}")
            self.submitted.pop(txid, None)

    def read_wallet(self):
        try:
            chunk = self.wallet.sock.recv(1 << 20)
        except BlockingIOError:
            return
        now = time.monotonic()
        if not chunk:
            raise RuntimeError("mn1 closed the wallet's WebSocket")
        self.wallet.buffer += chunk
        for opcode, payload in self.wallet.take_frames():
            if opcode == self.op_ping:
                self.wallet.sock.setblocking(True)
                self.wallet.send_frame(self.op_pong, payload)
                self.wallet.sock.setblocking(False)
            elif opcode == self.op_text and b'"TransactionFinalized"' in payload:  # skip parsing the rest
                message = json.loads(payload)
                txid = message.get("txid")
                if message.get("type") == "TransactionFinalized" and txid in self.submitted:
                    self.finalized.setdefault(txid, now)

    def close_connections(self):
        for connection in self.connections:
            self.selector.unregister(connection["sock"])
            connection["sock"].close()
        self.connections = []

    def close(self):
        self.close_connections()
        self.wallet.close()


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
    loader = None
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
            tx = time_tx.make_tx([(u["txid"], u["vout"])], [(sink, 1000)], key_seed=time_tx.seed_of(u["address"]))
            bodies.append((tx["txid"], json.dumps(tx).encode()))
        print(f"setup: {args.nodes} masternodes, {args.utxos} UTXOs seeded on each, {len(payers)} payers "
              f"({time.monotonic() - t:.1f} s)", flush=True)

        loader = Loader(mn1.port, payers, bodies, args.connections, args.window, args.rate)
        cpu_before = cpu_seconds(cluster)
        loader.submit(args.duration)
        cpu_after = cpu_seconds(cluster)
        loader.drain(10)
        start, end = loader.start, loader.end
        submitted, finalized, errors = loader.submitted, loader.finalized, loader.errors

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
        if loader is not None:
            loader.close()
        if os.environ.get("UTXO_TESTS_KEEP") != "1":
            cluster.stop()
        cluster.cleanup()


if __name__ == "__main__":
    sys.exit(main())
