#!/usr/bin/python3
"""ML node simulator: the sending side of PoW batch intake, as a real ML node behaves.

It serves a WebSocket at /api/v1/pow/ws and accepts ONE client at a time (a
second one is closed with 1008). It holds a queue of PoW batches (generated and
validated) and sends each in order as
    {"type": "generated"|"validated", "batch": {...}, "id": "<fresh uuid4>"}
then waits --ack-timeout seconds (3 s, like the real sender) for
    {"type": "ack", "id": "<same id>"}.
On an ack timeout, or when no client is connected, it POSTs the batch JSON to
{callback}/generated or {callback}/validated (callback is the intake node's base,
e.g. http://127.0.0.1:8080/v1/poc-batches). A batch neither acknowledged nor
accepted over HTTP (2xx) is retried every --retry-interval seconds (5 s).

Tests drive it through a small control HTTP API on --control-port (127.0.0.1):
  GET  /status[?batches=1]   counters (and every batch with how it was acknowledged)
  POST /pause | /resume      stop / resume sending (the queue is kept)
  POST /ws/stop | /ws/start  close the socket and its client / listen again on the same port
                             (an ML node restarted mid-stream)
  POST /ws/kick {"code":N}   close the current client with code N (default 1001)
  POST /ws/freeze | /ws/thaw stop / resume reading the client's socket (a hung ML node: no pongs)
  POST /inject {"text":"..."} or {"json":{...}} or {"binary_hex":"..."}
                             send a raw message to the connected client; answers {"sent":bool}
  POST /enqueue {"generated":N,"validated":M} or {"batches":[{"kind":...,"batch":{...}}]}
  POST /ignore_acks {"count":N}  treat the next N acks as lost (forces the HTTP path)
When it is ready it prints one line to stdout:
  READY ws_port=<p> control_port=<p>
and with --status-file it rewrites that file (JSON of /status) on every change.

Runs with Debian's python3-websockets (10.4) under /usr/bin/python3.
"""
import argparse
import asyncio
import json
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import websockets
import websockets.exceptions

from json_http import serve_json

WS_PATH = "/api/v1/pow/ws"


def make_batch(rng, kind, node_num, index, nonces, seed):
    """A deterministic, unique, valid batch: unique nonces per (seed, node, index)."""
    base = (seed * 1_000_003 + node_num * 10_007 + index) * 1_000_000
    batch = {
        "public_key": f"pk-node{node_num}-seed{seed}",
        "block_hash": "%064x" % rng.getrandbits(256),
        "block_height": 1000 + index,
        "nonces": [base + i for i in range(nonces)],
        "dist": [rng.random() for _ in range(nonces)],
        "node_id": node_num,
    }
    if kind == "validated":
        batch["received_dist"] = [rng.random() for _ in range(nonces)]
        batch["r_target"] = round(rng.uniform(0.5, 2.0), 6)
        batch["fraud_threshold"] = 0.01
        batch["n_invalid"] = rng.randrange(0, 3)
        batch["probability_honest"] = rng.random()
        batch["fraud_detected"] = False
    return batch


GARBAGE = [
    "this is not json",
    "{\"type\": \"generated\", \"batch\": ",
    json.dumps({"type": "generated", "id": "g1"}),
    json.dumps({"type": "generated", "id": "g2", "batch": {"public_key": 5}}),
    json.dumps({"type": "validated", "id": "g3", "batch": {"public_key": "pk", "block_hash": "h", "block_height": -1,
                                                            "nonces": [1], "dist": [0.1], "node_id": 1}}),
    json.dumps({"type": "teleport", "id": "g4", "batch": {}}),
    json.dumps([1, 2, 3]),
]


class Batch:
    def __init__(self, index, kind, body):
        self.index = index
        self.kind = kind
        self.body = body
        self.acked_via = None      # "ws" or "http"
        self.acked_at = None
        self.ws_ids = []           # message ids used over WebSocket (a fresh uuid per send)
        self.ws_sends = 0
        self.http_posts = 0
        self.http_status = None
        self.http_body = None
        self.http_duplicate = None
        self.batch_id = None       # from the HTTP answer, when it came that way
        self.next_attempt = 0.0

    def summary(self):
        return {"index": self.index, "kind": self.kind, "batch": self.body, "acked_via": self.acked_via,
                "acked_at": self.acked_at, "ws_ids": self.ws_ids, "ws_sends": self.ws_sends,
                "http_posts": self.http_posts, "http_status": self.http_status, "http_body": self.http_body,
                "http_duplicate": self.http_duplicate, "batch_id": self.batch_id}


class Simulator:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed * 7919 + args.node_num)
        self.batches = []
        self.client = None
        self.server = None
        self.ws_port = args.ws_port
        self.ws_listening = False
        self.paused = args.start_paused
        self.ignore_acks = args.ignore_acks
        self.waiters = {}          # message id -> future
        self.wake = None
        self.loop = None
        self.counters = {
            "clients_accepted": 0, "clients_refused_1008": 0, "clients_closed": 0, "acks_received": 0,
            "acks_ignored": 0, "late_acks": 0, "unknown_acks": 0, "other_messages": 0, "ack_timeouts": 0,
            "ws_sends": 0, "http_posts": 0, "http_ok": 0, "http_refused": 0, "http_errors": 0,
            "http_duplicates": 0, "injected": 0, "garbage_sent": 0,
        }
        self.connections = []      # [{"opened": t, "closed": t|None, "close_code": n}]
        self.ws_stopped_at = []
        self.ws_started_at = []
        self.last_http_error = None
        self.enqueue(args.generated, args.validated)
        if args.interleave:
            self.batches.sort(key=lambda b: b.body["block_height"])
            for i, b in enumerate(self.batches):
                b.index = i

    # --- queue -----------------------------------------------------------------
    def enqueue(self, generated=0, validated=0, explicit=None):
        for _ in range(generated):
            self._add("generated", None)
        for _ in range(validated):
            self._add("validated", None)
        for item in explicit or []:
            self._add(item["kind"], item["batch"])
        if self.wake is not None:
            self.wake.set()

    def _add(self, kind, body):
        index = len(self.batches)
        if body is None:
            body = make_batch(self.rng, kind, self.args.node_num, index, self.args.nonces, self.args.seed)
            if self.args.node_id is not None:
                body["node_id"] = self.args.node_id
            if self.args.malformed:
                body["dist"] = body["dist"][:-1]  # length mismatch: every send is refused
        self.batches.append(Batch(index, kind, body))

    def status(self, with_batches=False):
        acked = [b for b in self.batches if b.acked_via]
        out = {
            "node_num": self.args.node_num,
            "ws_port": self.ws_port,
            "ws_listening": self.ws_listening,
            "ws_connected": self.client is not None,
            "paused": self.paused,
            "total": len(self.batches),
            "acked": len(acked),
            "acked_ws": sum(1 for b in acked if b.acked_via == "ws"),
            "acked_http": sum(1 for b in acked if b.acked_via == "http"),
            "pending": len(self.batches) - len(acked),
            "connections": self.connections,
            "ws_stopped_at": self.ws_stopped_at,
            "ws_started_at": self.ws_started_at,
            "last_http_error": self.last_http_error,
            "now": time.time(),
        }
        out.update(self.counters)
        if with_batches:
            out["batches"] = [b.summary() for b in self.batches]
        return out

    def write_status(self):
        if not self.args.status_file:
            return
        tmp = self.args.status_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.status(), f)
        os.replace(tmp, self.args.status_file)

    # --- WebSocket server ------------------------------------------------------
    async def process_request(self, path, headers):
        if urllib.parse.urlparse(path).path != WS_PATH:
            return (404, [("Content-Type", "text/plain")], b"not found\n")
        return None

    async def handler(self, ws, path=None):
        if self.client is not None:
            self.counters["clients_refused_1008"] += 1
            self.write_status()
            await ws.close(1008, "only one client at a time")
            return
        self.client = ws
        record = {"opened": time.time(), "closed": None, "close_code": None, "remote": str(ws.remote_address)}
        self.connections.append(record)
        self.counters["clients_accepted"] += 1
        self.write_status()
        self.wake.set()
        garbage_task = None
        if self.args.garbage_interval > 0:
            garbage_task = asyncio.ensure_future(self.garbage(ws))
        try:
            async for message in ws:
                self.on_message(message)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if garbage_task is not None:
                garbage_task.cancel()
            record["closed"] = time.time()
            record["close_code"] = ws.close_code
            if self.client is ws:
                self.client = None
            self.counters["clients_closed"] += 1
            for fut in self.waiters.values():
                if not fut.done():
                    fut.set_result(False)
            self.write_status()

    def on_message(self, message):
        try:
            data = json.loads(message)
        except (ValueError, TypeError):
            self.counters["other_messages"] += 1
            return
        if not isinstance(data, dict) or data.get("type") != "ack":
            self.counters["other_messages"] += 1
            return
        self.counters["acks_received"] += 1
        fut = self.waiters.get(data.get("id"))
        if fut is None:
            self.counters["unknown_acks"] += 1
            if any(data.get("id") in b.ws_ids for b in self.batches):
                self.counters["late_acks"] += 1
            return
        if self.ignore_acks > 0:
            self.ignore_acks -= 1
            self.counters["acks_ignored"] += 1
            return
        if not fut.done():
            fut.set_result(True)

    async def garbage(self, ws):
        i = 0
        while True:
            await asyncio.sleep(self.args.garbage_interval)
            try:
                await ws.send(GARBAGE[i % len(GARBAGE)])
                self.counters["garbage_sent"] += 1
            except websockets.exceptions.ConnectionClosed:
                return
            i += 1

    async def ws_start(self):
        if self.server is not None:
            return
        self.server = await websockets.serve(
            self.handler, self.args.host, self.ws_port, process_request=self.process_request,
            max_size=64 * 1024 * 1024, ping_interval=self.args.ping_interval or None, ping_timeout=None,
            close_timeout=2)
        self.ws_port = self.server.sockets[0].getsockname()[1]
        self.ws_listening = True
        self.ws_started_at.append(time.time())
        self.write_status()

    async def ws_stop(self):
        if self.server is None:
            return
        server, self.server = self.server, None
        self.ws_listening = False
        server.close()  # stops listening and closes open connections with 1001
        if self.client is not None and self.args.abort_on_stop:
            self.client.transport.abort()
        try:
            await asyncio.wait_for(server.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass
        self.ws_stopped_at.append(time.time())
        self.write_status()

    async def kick(self, code):
        if self.client is None:
            return False
        await self.client.close(code, "kicked by the simulator")
        return True

    async def inject(self, payload):
        if self.client is None:
            return False
        try:
            await self.client.send(payload)
        except websockets.exceptions.ConnectionClosed:
            return False
        self.counters["injected"] += 1
        return True

    # --- sending ---------------------------------------------------------------
    async def send_over_ws(self, batch):
        ws = self.client
        if ws is None:
            return False
        message_id = str(uuid.uuid4())
        fut = self.loop.create_future()
        self.waiters[message_id] = fut
        batch.ws_ids.append(message_id)
        batch.ws_sends += 1
        self.counters["ws_sends"] += 1
        try:
            await ws.send(json.dumps({"type": batch.kind, "batch": batch.body, "id": message_id}))
            acked = await asyncio.wait_for(fut, self.args.ack_timeout)
        except asyncio.TimeoutError:
            self.counters["ack_timeouts"] += 1
            acked = False
        except websockets.exceptions.ConnectionClosed:
            acked = False
        finally:
            self.waiters.pop(message_id, None)
        if acked:
            batch.acked_via = "ws"
            batch.acked_at = time.time()
        return acked

    def post(self, batch):
        url = f"{self.args.callback.rstrip('/')}/{batch.kind}"
        data = json.dumps(batch.body).encode()
        request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.args.http_timeout) as answer:
                return answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except (OSError, ValueError) as error:
            return None, f"{type(error).__name__}: {error}"

    async def send_over_http(self, batch):
        if not self.args.callback:
            return False
        batch.http_posts += 1
        self.counters["http_posts"] += 1
        status, body = await asyncio.to_thread(self.post, batch)
        batch.http_status, batch.http_body = status, body
        if status is not None and 200 <= status < 300:
            self.counters["http_ok"] += 1
            batch.acked_via = "http"
            batch.acked_at = time.time()
            try:
                answer = json.loads(body)
                batch.batch_id = answer.get("batch_id")
                batch.http_duplicate = answer.get("duplicate")
                if answer.get("duplicate"):
                    self.counters["http_duplicates"] += 1
            except (ValueError, AttributeError):
                pass
            return True
        if status is None:
            self.counters["http_errors"] += 1
        else:
            self.counters["http_refused"] += 1
        self.last_http_error = {"status": status, "body": body, "index": batch.index}
        return False

    async def attempt(self, batch):
        if await self.send_over_ws(batch):
            return True
        return await self.send_over_http(batch)

    async def sender(self):
        while True:
            if self.paused:
                self.wake.clear()
                await self.wake.wait()
                continue
            pending = [b for b in self.batches if b.acked_via is None]
            progressed = False
            for batch in pending:
                if self.paused:
                    break
                if batch.next_attempt > time.monotonic():
                    continue
                ok = await self.attempt(batch)
                if not ok:
                    batch.next_attempt = time.monotonic() + self.args.retry_interval
                progressed = True
                self.write_status()
                if ok and self.args.send_interval > 0:
                    await asyncio.sleep(self.args.send_interval)
            pending = [b for b in self.batches if b.acked_via is None]
            self.wake.clear()
            if not pending:
                await self.wake.wait()
            elif not progressed:
                delay = max(0.01, min(b.next_attempt for b in pending) - time.monotonic())
                try:
                    await asyncio.wait_for(self.wake.wait(), delay)
                except asyncio.TimeoutError:
                    pass

    # --- control API -------------------------------------------------------------
    def call(self, coro, timeout=15):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def control(self, method, path, body):
        parsed = urllib.parse.urlparse(path)
        route = parsed.path
        query = urllib.parse.parse_qs(parsed.query)

        async def on_loop(fn):
            return fn()

        if method == "GET" and route == "/status":
            with_batches = query.get("batches", ["0"])[0] in ("1", "true")
            return 200, self.call(on_loop(lambda: self.status(with_batches)))
        if method != "POST":
            return 404, {"error": "unknown route"}
        if route == "/pause":
            def pause():
                self.paused = True
                self.write_status()
                return {"paused": True}
            return 200, self.call(on_loop(pause))
        if route == "/resume":
            def resume():
                self.paused = False
                self.wake.set()
                self.write_status()
                return {"paused": False}
            return 200, self.call(on_loop(resume))
        if route == "/ws/stop":
            self.call(self.ws_stop())
            return 200, {"ws_listening": False}
        if route == "/ws/start":
            self.call(self.ws_start())
            return 200, {"ws_listening": True, "ws_port": self.ws_port}
        if route in ("/ws/freeze", "/ws/thaw"):
            def freeze(on):
                if self.client is None:
                    return {"frozen": False}
                # No reads: pings go unanswered, the client's frames pile up unread (a hung ML node).
                (self.client.transport.pause_reading if on else self.client.transport.resume_reading)()
                return {"frozen": on}
            return 200, self.call(on_loop(lambda: freeze(route == "/ws/freeze")))
        if route == "/ws/kick":
            return 200, {"kicked": self.call(self.kick(int(body.get("code", 1001))))}
        if route == "/inject":
            if "binary_hex" in body:
                payload = bytes.fromhex(body["binary_hex"])
            elif "json" in body:
                payload = json.dumps(body["json"])
            else:
                payload = body["text"]
            return 200, {"sent": self.call(self.inject(payload))}
        if route == "/enqueue":
            def enqueue():
                self.enqueue(int(body.get("generated", 0)), int(body.get("validated", 0)), body.get("batches"))
                self.write_status()
                return {"total": len(self.batches)}
            return 200, self.call(on_loop(enqueue))
        if route == "/ignore_acks":
            def ignore():
                self.ignore_acks = int(body.get("count", 0))
                return {"ignore_acks": self.ignore_acks}
            return 200, self.call(on_loop(ignore))
        return 404, {"error": "unknown route"}

    def start_control(self):
        server = serve_json(self.args.host, self.args.control_port,
                            lambda request, method, body: self.control(method, request.path, json.loads(body) if body else {}))
        return server.server_address[1]

    async def main(self):
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        if not self.args.no_ws:
            await self.ws_start()
        control_port = self.start_control()
        self.write_status()
        print(f"READY ws_port={self.ws_port} control_port={control_port}", flush=True)
        await self.sender()


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ws-port", type=int, default=0, help="WebSocket port (0: pick a free one, printed in READY)")
    p.add_argument("--no-ws", action="store_true", help="start with the socket closed (POST /ws/start opens it)")
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--callback", default="", help="HTTP fallback base, e.g. http://127.0.0.1:8080/v1/poc-batches")
    p.add_argument("--node-num", type=int, default=1, help="node_id carried in every batch")
    p.add_argument("--node-id", type=int, default=None, help="override node_id in batches (e.g. an unknown one)")
    p.add_argument("--generated", type=int, default=10, help="generated batches queued at start")
    p.add_argument("--validated", type=int, default=0, help="validated batches queued at start")
    p.add_argument("--interleave", action="store_true", help="send generated and validated batches interleaved")
    p.add_argument("--nonces", type=int, default=10, help="nonces per batch")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ack-timeout", type=float, default=3.0, help="seconds to wait for an ack (real sender: 3)")
    p.add_argument("--retry-interval", type=float, default=5.0, help="seconds between retries (real sender: 5)")
    p.add_argument("--http-timeout", type=float, default=10.0)
    p.add_argument("--send-interval", type=float, default=0.0, help="pause after each acknowledged batch")
    p.add_argument("--start-paused", action="store_true")
    p.add_argument("--ignore-acks", type=int, default=0, help="treat the first N acks as lost")
    p.add_argument("--malformed", action="store_true", help="every queued batch is invalid (dist one short)")
    p.add_argument("--garbage-interval", type=float, default=0.0,
                   help="misbehave: send a garbage message to the client every S seconds")
    p.add_argument("--ping-interval", type=float, default=20.0, help="server keepalive pings (0: none)")
    p.add_argument("--abort-on-stop", action="store_true", help="/ws/stop drops the TCP connection without a close")
    p.add_argument("--status-file", default="")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    try:
        asyncio.run(Simulator(args).main())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
