"""Shared helpers for the gateway integration tests.

Starts a real eventnode process on loopback with a generated node.yaml, mints
tokens with its `token` subcommand, publishes over its HTTP API, and speaks
WebSocket either through Debian's python3-websockets (a client nobody here
wrote) or through RawWebSocket, a deliberately minimal client that can break
the protocol on purpose. Every wait has a deadline and a condition.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import websockets
import websockets.exceptions

SECRET = "gateway-tests-secret-0123456789abcdef0123"
NODE_ID = "gateway-test-node"
START_DEADLINE = 30.0
STOP_DEADLINE = 30.0
FRAME_DEADLINE = 10.0

DEFAULT_LIMITS = {
    "max_connections": 10000,
    "max_connections_per_ip": 1000,
    "max_message_bytes": 65536,
    "outbound_buffer_bytes": 1048576,
    "messages_per_second": 50,
    "max_subscriptions": 128,
    "user_events_per_minute": 0,
}

DEFAULT_TOPICS = [
    {"pattern": "user:{sub}", "access": "user", "history": {"size": 100, "ttl": 3600}},
    {"pattern": "admins", "access": "admin"},
    {"pattern": "short:*", "access": "public", "history": {"size": 5, "ttl": 600}},
    {"pattern": "*", "access": "public", "history": {"size": 1000, "ttl": 600}},
]


def binary_path():
    value = os.environ.get("EVENTNODE_BINARY")
    if not value:
        raise RuntimeError("set EVENTNODE_BINARY to the eventnode executable (ctest does this)")
    path = Path(value).resolve()
    if not path.is_file():
        raise RuntimeError(f"EVENTNODE_BINARY={value} is not a file; build the eventnode target first")
    return path


# Ports for nodes under test are picked below Linux's ephemeral range
# (32768-60999): a port the kernel hands out with bind(0) can be taken again, as
# the source port of any client connection, before the node binds it, which
# made a start fail now and then with "Address already in use".
_NODE_PORTS = range(20000, 32768)


# Every port handed out in this process: a port is free until its node binds it,
# so two calls before the first node starts could otherwise return the same one
# (a cluster's P2P port and a node's HTTP port did, in CI).
_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 outside the ephemeral range that was free a moment ago and that this
    process has not handed out before."""
    for _ in range(1000):
        port = random.choice(_NODE_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port in {_NODE_PORTS.start}-{_NODE_PORTS.stop - 1} after 1000 tries")


def wait_until(condition, timeout, interval=0.02, what="condition"):
    """Polls `condition` until it returns a truthy value or `timeout` passes; returns the value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def _to_yaml(value, indent=0):
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.append(_to_yaml(item, indent + 2))
            elif isinstance(item, (dict, list)):
                lines.append(f"{pad}{key}: {'{}' if isinstance(item, dict) else '[]'}")
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, (dict, list)):
                lines.append(f"{pad}- {json.dumps(item)}")  # flow style: JSON is YAML
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    return "\n".join(lines)


class HttpAnswer:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


class Node:
    """One eventnode process with its own temp folder, config and port."""

    def __init__(self, limits=None, server=None, auth=None, topics=None):
        self.binary = binary_path()
        self.dir = Path(tempfile.mkdtemp(prefix="eventnode-gateway-"))
        self.port = free_port()
        self.config_path = self.dir / "node.yaml"
        # One log per start (node-1.log, node-2.log, …): a restart does not
        # erase what a killed process wrote.
        self.starts = 0
        self.log_path = self.dir / "node-1.log"
        self.process = None
        self.exit_code = None
        server_section = {
            "listen": "127.0.0.1",
            "port": self.port,
            "http_threads": 2,
            "io_threads": 2,
            "heartbeat_interval": 30,
            "limits": dict(DEFAULT_LIMITS, **(limits or {})),
        }
        server_section.update(server or {})
        config = {
            "node": {
                "id": NODE_ID,
                "role": "gateway-test",
                "data_dir": str(self.dir / "data"),
                "plugin_dir": [str(self.binary.parent.parent / "lib" / "eventnode" / "plugins")],
            },
            "server": server_section,
            # As an operator with a Prometheus scraper that has no token would set it.
            "auth": dict({"required": True, "secret": SECRET, "public_routes": ["/healthz", "/metrics"]},
                         **(auth or {})),
            "logging": {"level": "info"},
            "topics": topics if topics is not None else DEFAULT_TOPICS,
            "plugins": [],
        }
        self.config_path.write_text(_to_yaml(config) + "\n")
        self._admin_token = None

    # --- lifecycle -------------------------------------------------------------
    def start(self):
        self.starts += 1
        self.log_path = self.dir / f"node-{self.starts}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([str(self.binary), "--config", str(self.config_path)],
                                        stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def healthy():
            if self.process.poll() is not None:
                raise AssertionError(f"eventnode exited with {self.process.returncode} during start-up:\n{self.log()}")
            try:
                return self.http("GET", "/healthz").status == 200
            except OSError:
                return False

        try:
            wait_until(healthy, START_DEADLINE, interval=0.05, what="GET /healthz to answer 200")
        except AssertionError:
            self.kill()
            raise
        return self

    def signal(self, signum):
        os.kill(self.process.pid, signum)

    def wait_exit(self, timeout=STOP_DEADLINE):
        try:
            self.exit_code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"eventnode (pid {self.process.pid}) did not exit within {timeout}s:\n{self.log()}")
        return self.exit_code

    def stop(self):
        """SIGTERM by PID; returns the exit code (the caller asserts it is 0)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
        code = self.wait_exit()
        self._log.close()
        return code

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE)

    def cleanup(self):
        self.kill()
        if getattr(self, "_log", None) is not None and not self._log.closed:
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self, keep=False, label="node"):
        """Ends the node: its folder removed, or, with `keep`, left for a post-mortem and named on stderr."""
        if keep:
            self.kill()
            sys.stderr.write(f"\n  kept {self.dir} ({label} logs, config, data)\n")
        else:
            self.cleanup()

    def log(self):
        """What every start of this node wrote, oldest first."""
        paths = [self.dir / f"node-{i}.log" for i in range(1, max(self.starts, 1) + 1)]
        return "\n".join(path.read_text(errors="replace") for path in paths if path.exists())

    def kill9(self):
        """SIGKILL by PID, as a crash would end it."""
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_DEADLINE)
        self._log.close()

    # --- tokens ----------------------------------------------------------------
    def token(self, sub, *roles, ttl=None):
        argv = [str(self.binary), "token", "--config", str(self.config_path), "--sub", sub]
        for role in roles:
            argv += ["--role", role]
        if ttl is not None:
            argv += ["--ttl", str(ttl)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise AssertionError(f"eventnode token failed ({done.returncode}): {done.stderr}")
        return done.stdout.strip()

    def admin_token(self):
        if self._admin_token is None:
            self._admin_token = self.token("test-admin", "admin")
        return self._admin_token

    # --- HTTP ------------------------------------------------------------------
    def http(self, method, path, body=None, token=None, timeout=10.0):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return HttpAnswer(answer.status, answer.read().decode(), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return HttpAnswer(error.code, error.read().decode(errors="replace"), dict(error.headers))

    def publish(self, topic, data):
        """Publishes one event as an admin; returns its offset."""
        answer = self.http("POST", "/api/v1/publish", {"topic": topic, "data": data}, token=self.admin_token())
        if answer.status != 200:
            raise AssertionError(f"publish to {topic} answered {answer.status}: {answer.body}")
        return answer.json()["offset"]

    def connections(self):
        answer = self.http("GET", "/api/ws/connections", token=self.admin_token())
        if answer.status != 200:
            raise AssertionError(f"GET /api/ws/connections answered {answer.status}: {answer.body}")
        return answer.json()

    def metrics(self):
        answer = self.http("GET", "/metrics")
        if answer.status != 200:
            raise AssertionError(f"GET /metrics answered {answer.status}: {answer.body}")
        return answer.body

    # --- WebSocket -------------------------------------------------------------
    def ws_url(self, token=None, subscriptions=None):
        query = []
        if token is not None:
            query.append(f"token={token}")
        if subscriptions:
            query.append("subscriptions=" + ",".join(subscriptions))
        return f"ws://127.0.0.1:{self.port}/ws" + ("?" + "&".join(query) if query else "")

    async def connect(self, token=None, subscriptions=None, **kwargs):
        """A python3-websockets client; returns (connection, greeting)."""
        options = {"open_timeout": FRAME_DEADLINE, "close_timeout": 5, "ping_interval": None, "max_size": 4 * 1024 * 1024,
                   "max_queue": None}
        options.update(kwargs)
        ws = await websockets.connect(self.ws_url(token, subscriptions), **options)
        greeting = await recv_json(ws)
        return ws, greeting

    def raw(self, token=None, subscriptions=None, rcvbuf=None):
        return RawWebSocket(self.port, f"/ws?token={token}" if token else "/ws", rcvbuf=rcvbuf,
                            subscriptions=subscriptions)


def metric_value(text, name):
    """The value of the sample `name` (with labels, exactly as exposed) in Prometheus text, or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        parts = line.rsplit(" ", 1)
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return None


def rejected_status(error):
    """The HTTP status of a refused WebSocket handshake, for old and new python3-websockets."""
    if hasattr(error, "status_code"):  # InvalidStatusCode (legacy client, <= 13)
        return error.status_code
    return error.response.status_code  # InvalidStatus (new client, >= 14)


REJECTED = tuple(getattr(websockets.exceptions, name) for name in ("InvalidStatusCode", "InvalidStatus")
                 if hasattr(websockets.exceptions, name))


async def recv_json(ws, timeout=FRAME_DEADLINE):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def send_json(ws, message):
    await ws.send(json.dumps(message))


async def subscribe(ws, topic, timeout=FRAME_DEADLINE, **data):
    """Sends a subscribe and returns the confirmation (or error) frame."""
    await send_json(ws, {"type": "subscribe", "data": dict({"topic": topic}, **data)})
    return await recv_json(ws, timeout)


async def receive_events(ws, topic, count, timeout=FRAME_DEADLINE):
    """The next `count` event frames of `topic`; any other frame in between fails the test."""
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"received {len(events)} of {count} events of {topic} within {timeout}s: "
                                 f"{[e.get('offset') for e in events]}")
        frame = await recv_json(ws, remaining)
        if frame.get("type") != "event" or frame.get("topic") != topic:
            raise AssertionError(f"expected an event of {topic}, got {frame}")
        events.append(frame)
    return events


async def expect_close(ws, timeout=FRAME_DEADLINE):
    """Reads until the node closes the connection; returns the close code the client saw."""
    async def drain():
        try:
            while True:
                await ws.recv()
        except websockets.exceptions.ConnectionClosed as closed:
            return closed.code
    return await asyncio.wait_for(drain(), timeout)


def run(coro):
    return asyncio.run(coro)


# --- tokens crafted by hand, for the refusal tests --------------------------------
def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def resign_token(token, secret, **claims):
    """`token` with `claims` replaced and an HS256 signature made with `secret`."""
    header, payload, _ = token.split(".")
    body = json.loads(_b64url_decode(payload))
    body.update(claims)
    signing_input = header + "." + _b64url(json.dumps(body, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def tamper_token(token, **claims):
    """`token` with `claims` replaced and its original signature kept."""
    header, payload, signature = token.split(".")
    body = json.loads(_b64url_decode(payload))
    body.update(claims)
    return header + "." + _b64url(json.dumps(body, separators=(",", ":")).encode()) + "." + signature


# --- a minimal raw WebSocket client, for protocol violations and slow readers -----
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class RawWebSocket:
    """RFC 6455 over a plain socket, with no politeness: frames are built by hand."""

    def __init__(self, port, path="/ws", rcvbuf=None, subscriptions=None, headers=None, handshake=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Before connect, so the TCP window stays small and the node's buffer fills.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(FRAME_DEADLINE)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""
        self.status = None
        self.response_headers = {}
        self.body = b""
        if subscriptions:
            path += ("&" if "?" in path else "?") + "subscriptions=" + ",".join(subscriptions)
        if handshake:
            self.handshake(path, headers or [])

    def handshake(self, path, headers, key=None, version="13"):
        key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade"]
        if key:
            lines.append(f"Sec-WebSocket-Key: {key}")
        if version:
            lines.append(f"Sec-WebSocket-Version: {version}")
        lines += headers
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split(" ")[1])
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                self.response_headers[name.strip().lower()] = value.strip()
        if self.status == 101:
            expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            if self.response_headers.get("sec-websocket-accept") != expected.decode():
                raise AssertionError(f"bad Sec-WebSocket-Accept: {self.response_headers}")
        else:
            length = int(self.response_headers.get("content-length", "0"))
            self.body = self._read_exactly(length)
        return self.status

    def _read_more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the node closed the TCP connection")
        self.buffer += chunk

    def _read_until(self, marker):
        while marker not in self.buffer:
            self._read_more()
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _read_exactly(self, n):
        while len(self.buffer) < n:
            self._read_more()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", first, (0x80 if mask else 0) | length)
        elif length < 65536:
            header = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, length)
        else:
            header = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, length)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            header += key
        self.sock.sendall(header + payload)

    def send_json(self, message):
        self.send_frame(OP_TEXT, json.dumps(message).encode())

    def recv_frame(self):
        """(opcode, payload) of the next frame; raises ConnectionResetError at EOF."""
        first, second = self._read_exactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read_exactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read_exactly(8))[0]
        if second & 0x80:
            raise AssertionError("the node sent a masked frame")
        return first & 0x0F, self._read_exactly(length)

    def take_frames(self):
        """[(opcode, payload)] of the whole frames already in the buffer, without reading: for a
        caller that feeds `self.buffer` from its own non-blocking loop."""
        frames = []
        buf = self.buffer
        at = 0
        while len(buf) - at >= 2:
            second = buf[at + 1]
            length, head = second & 0x7F, 2
            if length == 126:
                if len(buf) - at < 4:
                    break
                length, head = struct.unpack_from("!H", buf, at + 2)[0], 4
            elif length == 127:
                if len(buf) - at < 10:
                    break
                length, head = struct.unpack_from("!Q", buf, at + 2)[0], 10
            if len(buf) - at < head + length:
                break
            if second & 0x80:
                raise AssertionError("the node sent a masked frame")
            frames.append((buf[at] & 0x0F, buf[at + head:at + head + length]))
            at += head + length
        self.buffer = buf[at:]
        return frames

    def recv_json(self):
        while True:
            opcode, payload = self.recv_frame()
            if opcode == OP_TEXT:
                return json.loads(payload)
            if opcode == OP_CLOSE:
                raise AssertionError(f"closed by the node: {close_code(payload)}")

    def read_until_close(self, timeout=FRAME_DEADLINE, on_text=None):
        """Reads (answering nothing) until a close frame; returns its code, or None when the TCP
        connection ended without one. `on_text` sees every text frame on the way."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                opcode, payload = self.recv_frame()
                if opcode == OP_CLOSE:
                    return close_code(payload)
                if opcode == OP_TEXT and on_text is not None:
                    on_text(payload)
        except (ConnectionResetError, BrokenPipeError):
            return None
        except socket.timeout:
            pass
        raise AssertionError(f"no close frame within {timeout}s")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


class NodeTestCase:
    """Mixin for unittest.TestCase: one node per class, started in setUpClass and
    stopped by PID with SIGTERM in tearDownClass, which asserts the exit code 0."""

    node_limits = None
    node_server = None
    node_auth = None
    node_topics = None

    @classmethod
    def setUpClass(cls):
        cls.node = Node(limits=cls.node_limits, server=cls.node_server, auth=cls.node_auth, topics=cls.node_topics)
        try:
            cls.node.start()
        except BaseException:
            cls.node.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            code = cls.node.stop()
            if code != 0:
                raise AssertionError(f"eventnode exited with {code} after SIGTERM, expected 0:\n{cls.node.log()}")
        finally:
            cls.node.cleanup()


_topic_counter = 0


def fresh_topic(prefix="t"):
    """A topic name no earlier test of this process used."""
    global _topic_counter
    _topic_counter += 1
    return f"{prefix}{os.getpid()}-{_topic_counter}"
