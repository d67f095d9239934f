"""Shared helpers for the pow_batches integration tests.

Real processes on loopback, stopped by PID: an eventnode with the pow_batches
plugin (through tests/gateway/node_harness.py), ML node simulators
(tools/ml_node_sim.py) that the plugin dials, and chain recorder simulators
(tools/chain_recorder_sim.py) that the plugin submits to. Every wait has a
deadline and a condition.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TOOLS = REPO / "tools"
sys.path.insert(0, str(REPO / "tests" / "gateway"))

from node_harness import Node, _to_yaml, recv_json, run, send_json, wait_until  # noqa: E402

REEXPORTED = (recv_json, run, send_json, wait_until)  # the tests take these from here

API_KEY = "pow-tests-api-key-0123456789"
READY_DEADLINE = 20.0
WS_PATH = "/api/v1/pow/ws"

# Fast timings for scenarios that are not about the timings themselves.
FAST = {"reconnect_delay_ms": 200, "reconnect_jitter_ms": 100}


# --- simulators ------------------------------------------------------------------
class SimProcess:
    """A simulator under tools/, started with this interpreter; it prints one READY line."""

    script = None

    def __init__(self, *argv, name=None):
        self.name = name or self.script
        self.dir = Path(tempfile.mkdtemp(prefix="pow-sim-"))
        self.stderr_path = self.dir / "stderr.txt"
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen([sys.executable, str(TOOLS / self.script), *map(str, argv)],
                                        stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL)
        self.ports = self._read_ready()
        self.control_port = self.ports["control_port"]

    def _read_ready(self):
        deadline = time.monotonic() + READY_DEADLINE
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                self.stop()
                raise AssertionError(f"{self.name} did not print READY within {READY_DEADLINE}s: {self.stderr()}")
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    continue
                line += chunk
        words = line.decode().split()
        if not words or words[0] != "READY":
            self.stop()
            raise AssertionError(f"{self.name} printed {line!r} instead of READY: {self.stderr()}")
        return {k: int(v) for k, v in (w.split("=", 1) for w in words[1:])}

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def control(self, method, path, body=None, timeout=20.0):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{self.name} control {method} {path}: {error.code} {error.read()!r}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()
        self._stderr.close()
        if os.environ.get("POW_TESTS_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


class MlNodeSim(SimProcess):
    script = "ml_node_sim.py"

    def __init__(self, *argv, name=None):
        super().__init__(*argv, name=name or "ml_node_sim")
        self.ws_port = self.ports["ws_port"]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.ws_port}"

    def status(self, batches=False):
        return self.control("GET", "/status?batches=1" if batches else "/status")

    def batches(self):
        return self.status(batches=True)["batches"]

    def pause(self):
        return self.control("POST", "/pause", {})

    def resume(self):
        return self.control("POST", "/resume", {})

    def ws_stop(self):
        return self.control("POST", "/ws/stop", {})

    def ws_start(self):
        return self.control("POST", "/ws/start", {})

    def inject(self, text=None, message=None):
        body = {"json": message} if message is not None else {"text": text}
        return self.control("POST", "/inject", body)["sent"]

    def enqueue(self, generated=0, validated=0, batches=None):
        return self.control("POST", "/enqueue", {"generated": generated, "validated": validated,
                                                 "batches": batches or []})

    def wait_connected(self, timeout=15.0):
        return wait_until(lambda: self.status()["ws_connected"], timeout, 0.05,
                          f"{self.name}: the plugin to connect to its socket")

    def wait_all_acked(self, timeout=60.0):
        def done():
            s = self.status()
            return s if s["total"] > 0 and s["acked"] == s["total"] else None
        try:
            return wait_until(done, timeout, 0.1, f"{self.name}: every batch acknowledged")
        except AssertionError as error:
            raise AssertionError(f"{error}; status: {self.status()}")


class ChainRecorderSim(SimProcess):
    script = "chain_recorder_sim.py"

    def __init__(self, *argv, name=None):
        super().__init__(*argv, name=name or "chain_recorder_sim")
        self.record_port = self.ports["record_port"]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.record_port}/record"

    def records(self, since=0):
        return self.control("GET", f"/records?since={since}")["records"]

    def status(self):
        return self.control("GET", "/status")

    def set_mode(self, mode):
        return self.control("POST", "/mode", {"mode": mode})

    def wait_count(self, count, timeout=60.0):
        try:
            return wait_until(lambda: self.status()["count"] >= count, timeout, 0.1,
                              f"{self.name}: {count} records")
        except AssertionError as error:
            raise AssertionError(f"{error}; status: {self.status()}")

    def wait_distinct(self, count, timeout=60.0):
        """Waits until `count` distinct batch_ids arrived; returns the records."""
        def enough():
            records = self.records()
            return records if len({r["body"].get("batch_id") for r in records}) >= count else None
        try:
            return wait_until(enough, timeout, 0.1, f"{self.name}: {count} distinct batch_ids")
        except AssertionError as error:
            raise AssertionError(f"{error}; status: {self.status()}")


# --- the node ----------------------------------------------------------------------
def node_entry(node_id, node_num, url, autostart=True):
    return {"id": node_id, "node_num": node_num, "url": url, "autostart": autostart}


class PowNode(Node):
    """An eventnode with the pow_batches plugin. The data dir survives stop/kill and start."""

    def __init__(self):
        # ML nodes post their batches without a token: an operator lists the callback routes as public.
        super().__init__(auth={"api_keys": [API_KEY], "public_routes": [
            "/healthz", "/metrics", "/v1/poc-batches/*", "/mlnode/v1/poc-batches/*"]})
        self._base_config = self.config_path.read_text()
        self.plugin_config = None

    def configure(self, nodes, recorders=None, **plugin_config):
        """Writes the plugin's config block; call before start(). Returns self."""
        config = {"nodes": nodes, "recorders": recorders if recorders is not None else []}
        config.update(plugin_config)
        self.plugin_config = config
        plugins = _to_yaml({"plugins": [{"name": "pow_batches", "config": config}]})
        self.config_path.write_text(self._base_config.replace("plugins: []", plugins))
        return self

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def callback(self, prefix="/v1/poc-batches"):
        return self.base + prefix

    # --- admin API -----------------------------------------------------------------
    def admin(self, method, path, body=None, api_key=API_KEY, token=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if api_key:
            request.add_header("X-API-Key", api_key)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, raw.decode(errors="replace")

    def pow_nodes(self):
        status, body = self.admin("GET", "/api/pow/nodes")
        if status != 200:
            raise AssertionError(f"GET /api/pow/nodes answered {status}: {body}")
        return {n["id"]: n for n in body["nodes"]}

    def pow_node(self, node_id):
        return self.pow_nodes()[node_id]

    def post_batch(self, kind, batch, prefix="/v1/poc-batches", raw=None):
        """POSTs a batch (or raw bytes) to the HTTP fallback; returns (status, parsed body or text)."""
        data = raw if raw is not None else json.dumps(batch).encode()
        request = urllib.request.Request(f"{self.base}{prefix}/{kind}", data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text.decode(errors="replace")


# --- batches and records ---------------------------------------------------------------
VALIDATED_FIELDS = ("received_dist", "r_target", "fraud_threshold", "n_invalid", "probability_honest",
                    "fraud_detected")
PROOF_FIELDS = ("public_key", "block_hash", "block_height", "nonces", "dist")


def batch_key(kind, batch):
    """What identifies a batch's content (the same for the sim's batch and the recorder's record)."""
    fields = PROOF_FIELDS + (VALIDATED_FIELDS if kind == "validated" else ())
    return json.dumps([kind, int(batch["node_id"])] + [batch[f] for f in fields], sort_keys=True)


def record_key(record_body):
    return batch_key(record_body["kind"], record_body)


def sim_keys(*sims):
    keys = []
    for sim in sims:
        for b in sim.batches():
            keys.append(batch_key(b["kind"], b["batch"]))
    return keys


def check_records_exactly_once(test, records, expected_keys, node_names=None):
    """Every expected batch content was recorded under exactly one batch_id; repeats of a record
    (at-least-once delivery) carry the same batch_id; nothing else was recorded."""
    by_key = {}
    by_id = {}
    for r in records:
        body = r["body"]
        test.assertIn("batch_id", body, f"record without batch_id: {body}")
        key = record_key(body)
        by_key.setdefault(key, set()).add(body["batch_id"])
        by_id.setdefault(body["batch_id"], set()).add(key)
        test.assertEqual(r["idempotency_key"], body["batch_id"], "Idempotency-Key must equal batch_id")
        if node_names is not None:
            test.assertEqual(body["node"], node_names[int(body["node_id"])], body)
    for batch_id, keys in by_id.items():
        test.assertEqual(len(keys), 1, f"batch_id {batch_id} carried different contents")
        uuid.UUID(batch_id)
    for key, ids in by_key.items():
        test.assertEqual(len(ids), 1, f"one batch content recorded under several batch_ids {ids}: {key[:200]}")
    missing = [k for k in expected_keys if k not in by_key]
    test.assertEqual(missing, [], f"{len(missing)} of {len(expected_keys)} batches never reached the recorder")
    extra = [k for k in by_key if k not in set(expected_keys)]
    test.assertEqual(extra, [], f"{len(extra)} records of batches nobody sent")
    return by_key


def first_arrivals(records):
    """The records in arrival order, each batch_id once (its first arrival)."""
    seen = set()
    out = []
    for r in records:
        batch_id = r["body"]["batch_id"]
        if batch_id not in seen:
            seen.add(batch_id)
            out.append(r)
    return out


def valid_batch(node_id=1, kind="generated", n=4, height=7, tag=None):
    """A valid batch built by hand; `tag` makes its content unique."""
    tag = tag if tag is not None else uuid.uuid4().int % 10**12
    batch = {"public_key": f"pk-hand-{tag}", "block_hash": f"hash-{tag}", "block_height": height,
             "nonces": [tag * 100 + i for i in range(n)], "dist": [0.25 + i / 100 for i in range(n)],
             "node_id": node_id}
    if kind == "validated":
        batch.update({"received_dist": [0.5] * n, "r_target": 1.5, "fraud_threshold": 0.01, "n_invalid": 0,
                      "probability_honest": 0.99, "fraud_detected": False})
    return batch


class PowTestCase:
    """Mixin for unittest.TestCase: tracks processes and stops them by PID at the end."""

    def setUp(self):
        self._procs = []
        self._nodes = []

    def tearDown(self):
        # POW_TESTS_KEEP=1 keeps each node's folder (config, data dir, one log per start) for a post-mortem.
        keep = os.environ.get("POW_TESTS_KEEP") == "1"
        for node in self._nodes:
            node.finish(keep)
        for proc in self._procs:
            proc.stop()

    def sim(self, *argv, **kw):
        sim = MlNodeSim(*argv, **kw)
        self._procs.append(sim)
        return sim

    def recorder(self, *argv, **kw):
        rec = ChainRecorderSim(*argv, **kw)
        self._procs.append(rec)
        return rec

    def new_node(self):
        """A node whose port is known (for the simulators' callback); configure() and start() it later."""
        node = PowNode()
        self._nodes.append(node)
        return node

    def stop_node(self, node):
        code = node.stop()
        self.assertEqual(code, 0, f"eventnode exited with {code} after SIGTERM:\n{node.log()[-6000:]}")


# --- a hand-rolled ML node socket, for what python3-websockets will not do (split a frame over time) ---
class RawMlNode:
    """Serves one WebSocket client at /api/v1/pow/ws on a plain socket: the handshake by hand, then
    frames written in whatever pieces and at whatever pace the test asks for."""

    def __init__(self):
        import socket as _socket
        self.listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        self.listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.buffer = b""

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def accept(self, timeout=15.0):
        import base64
        import hashlib
        self.listener.settimeout(timeout)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(timeout)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.conn.recv(4096)
            if not chunk:
                raise AssertionError("the plugin closed during the handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith(f"GET {WS_PATH} "):
            raise AssertionError(f"the plugin asked for {lines[0]!r}, expected GET {WS_PATH}")
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] +
                                                "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())

    @staticmethod
    def frame(opcode, payload, fin=True):
        """An unmasked server frame."""
        import struct
        first = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", first, n)
        elif n < 65536:
            header = struct.pack("!BBH", first, 126, n)
        else:
            header = struct.pack("!BBQ", first, 127, n)
        return header + payload

    @classmethod
    def text_frame(cls, payload):
        return cls.frame(0x1, payload)

    def send_in_pieces(self, data, cuts, pause):
        """Writes `data` cut at the byte offsets `cuts`, pausing `pause` seconds between pieces."""
        start = 0
        for cut in list(cuts) + [len(data)]:
            self.conn.sendall(data[start:cut])
            start = cut
            if cut < len(data):
                time.sleep(pause)

    def recv_text(self, timeout=10.0):
        """The next text frame from the plugin (masked, as a client must); pings are answered."""
        import struct
        self.conn.settimeout(timeout)

        def need(n):
            while len(self.buffer) < n:
                chunk = self.conn.recv(65536)
                if not chunk:
                    raise AssertionError("the plugin closed the connection")
                self.buffer += chunk
            out, self.buffer = self.buffer[:n], self.buffer[n:]
            return out

        while True:
            first, second = need(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack("!H", need(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", need(8))[0]
            if not second & 0x80:
                raise AssertionError("the plugin sent an unmasked frame")
            key = need(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(need(n)))
            opcode = first & 0x0F
            if opcode == 0x1:
                return payload.decode()
            if opcode == 0x8:
                raise AssertionError(f"the plugin closed with {payload[:2].hex()}")
            if opcode == 0x9:
                self.conn.sendall(struct.pack("!BB", 0x8A, len(payload)) + payload)

    def close(self):
        for s in (self.conn, self.listener):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
