"""Shared helpers for the meter plugin's integration tests.

Real processes on loopback, stopped by PID: an eventnode with the meter plugin
and, for minting, the Solana emulator (tools/solana_sim: LiteSVM executing the
real SPL Token and ATA programs behind Solana's JSON-RPC) started with a mint
authority keypair this harness writes. Clients are python3-websockets on /ws,
each watching from a thread of its own while the test talks HTTP.
"""
import asyncio
import base64
import datetime
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SIM = REPO / "tools" / "solana_sim"
sys.path.insert(0, str(REPO / "tests" / "gateway"))

from node_harness import Node, metric_value, send_json, wait_until  # noqa: E402

REEXPORTED = (wait_until, metric_value)
READY_DEADLINE = 60.0
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
BASE_UNITS = 10 ** 9

# --- base58 and keys ------------------------------------------------------------------------
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data):
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, rest = divmod(number, 58)
        text = _ALPHABET[rest] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def b58decode(text):
    number = 0
    for char in text:
        number = number * 58 + _ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


class Keypair:
    """An Ed25519 key: `address` is its base58 public key, `sign(bytes)` its signature."""

    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        self.public_bytes = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                                   serialization.PublicFormat.Raw)
        self.address = b58encode(self.public_bytes)

    def seed(self):
        return self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())

    def sign(self, data):
        return self.private.sign(data)

    def write_solana_file(self, path):
        """A Solana CLI keypair file: a JSON array of the 32-byte seed and the 32-byte public key."""
        Path(path).write_text(json.dumps(list(self.seed() + self.public_bytes)))
        return path


def canonical_reading(meter_id, kwh, reading_ms):
    """docs/meter.md, "Signed readings": what a meter signs."""
    return f"eventnode-meter-reading-v1\n{meter_id}\n{round(kwh * BASE_UNITS)}\n{reading_ms}".encode()


def rfc3339(ms):
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def now_ms():
    return int(time.time() * 1000)


# --- the emulator ---------------------------------------------------------------------------
def install_simulator():
    done = subprocess.run([str(SIM / "install.sh")], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"tools/solana_sim/install.sh failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


class SolanaSim:
    """The emulator with `authority` (a Keypair) as its mint's authority; `info` is its READY line."""

    def __init__(self, authority, workdir, fund=True):
        install_simulator()
        self.key_file = authority.write_solana_file(Path(workdir) / "authority.json")
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(["node", str(SIM / "server.js"), "--mint-authority-keypair", str(self.key_file)],
                                        stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL,
                                        text=True)
        deadline = time.monotonic() + READY_DEADLINE
        line = ""
        while not line.startswith("READY "):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise AssertionError(f"the Solana emulator did not print READY: {line!r}")
            line = self.process.stdout.readline()
        self.info = json.loads(line[len("READY "):])
        assert self.info["mint_authority"] == authority.address, self.info
        self.authority = authority
        if fund:
            self.fund()

    def fund(self):
        """The authority pays the fees and the token accounts' rent: a real System transfer to it."""
        self.rpc("requestAirdrop", [self.authority.address, 100 * 10 ** 9])

    def rpc(self, method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(self.info["rpc_url"], data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            reply = json.loads(answer.read())
        if "error" in reply:
            raise AssertionError(f"{method} answered {reply['error']}")
        return reply["result"]

    def control(self, path, body=None):
        request = urllib.request.Request(f"{self.info['rpc_url']}/control/{path}",
                                         data=json.dumps(body or {}).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.loads(answer.read())

    def stats(self):
        with urllib.request.urlopen(f"{self.info['rpc_url']}/control/stats", timeout=30) as answer:
            return json.loads(answer.read())

    def token_account(self, address):
        """The SPL token account at `address` as the chain holds it: (mint, owner, amount), or None."""
        info = self.rpc("getAccountInfo", [address, {"encoding": "base64"}])
        if not info or not info.get("value"):
            return None
        value = info["value"]
        assert value["owner"] == TOKEN_PROGRAM, value
        data = base64.b64decode(value["data"][0])
        return b58encode(data[0:32]), b58encode(data[32:64]), int.from_bytes(data[64:72], "little")

    def landed_mint_signatures(self):
        with urllib.request.urlopen(f"{self.info['rpc_url']}/control/signatures?address={self.info['mint']}",
                                    timeout=30) as answer:
            return json.loads(answer.read())["signatures"]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process.stdout.close()
        self.stderr.close()


# --- the node ---------------------------------------------------------------------------------
METER_TOPICS = [
    {"pattern": "user:{sub}", "access": "user", "history": {"size": 10000, "ttl": 3600}},
    {"pattern": "admins", "access": "admin", "history": {"size": 1000, "ttl": 3600}},
    {"pattern": "*", "access": "public", "history": {"size": 1000, "ttl": 600}},
]


class MeterNode(Node):
    """An eventnode with the meter plugin; minting against `sim` when one is given."""

    def __init__(self, sim=None, limits=None, extra_plugins=(), **plugin_config):
        super().__init__(topics=METER_TOPICS, limits=limits)
        config = {"max_clock_skew_seconds": 60}
        if sim is not None:
            config["mint"] = {"enabled": True, "rpc_url": sim.info["rpc_url"], "mint": sim.info["mint"],
                              "authority_keypair_file": str(sim.key_file), "interval_ms": 500, "batch_size": 100,
                              "rpc_timeout_ms": 1000, "poll_interval_ms": 100, "listener_grace_ms": 0}
            config["mint"].update(plugin_config.pop("mint", {}))
        config.update(plugin_config)
        text = self.config_path.read_text()
        plugin = json.dumps([{"name": "meter", "enabled": True, "config": config}] + list(extra_plugins))
        self.config_path.write_text(text.replace("plugins: []", "plugins: " + plugin))

    def register(self, token, meter_id, wallet, public_key=None):
        body = {"meter_id": meter_id, "wallet_address": wallet}
        if public_key:
            body["public_key"] = public_key
        return self.http("POST", "/api/meters", body, token=token)

    def submit(self, token, meter_id, kwh, reading_ms, signature=None, raw=None):
        body = raw if raw is not None else {"meter_id": meter_id, "kwh_amount": kwh,
                                            "reading_timestamp": rfc3339(reading_ms)}
        if signature is not None:
            body["meter_signature"] = signature
        return self.http("POST", "/api/meters/submit-reading", body, token=token)

    def status(self):
        answer = self.http("GET", "/api/meters/status", token=self.admin_token())
        if answer.status != 200:
            raise AssertionError(f"GET /api/meters/status answered {answer.status}: {answer.body}")
        return answer.json()

    def health(self):
        answer = self.http("GET", "/healthz")
        meter = [p for p in answer.json()["plugins"] if p["name"] == "meter"]
        return answer.status, answer.json()["status"], meter[0]


# --- a WebSocket client on a thread of its own ------------------------------------------------
class Watcher:
    """A python3-websockets client that records every frame it receives, so a
    synchronous test can submit over HTTP and then look at what arrived."""

    def __init__(self, node, token, subscriptions=None):
        self.frames = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(node, token, subscriptions), daemon=True)
        self._thread.start()
        if not self._ready.wait(15) or self._error:
            raise AssertionError(f"watcher could not connect: {self._error}")

    def _run(self, node, token, subscriptions):
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main(node, token, subscriptions))

    async def _main(self, node, token, subscriptions):
        self._stop = asyncio.Event()
        try:
            self.ws, self.greeting = await node.connect(token, subscriptions, max_size=64 * 1024 * 1024)
        except Exception as error:  # noqa: BLE001 - reported to the test thread
            self._error = error
            self._ready.set()
            return
        self._ready.set()

        async def read():
            try:
                async for text in self.ws:
                    with self._lock:
                        self.frames.append(json.loads(text))
            except Exception:  # noqa: BLE001 - the node closed the connection
                pass
        reader = asyncio.create_task(read())
        await self._stop.wait()
        await self.ws.close()
        await reader

    def send(self, message):
        asyncio.run_coroutine_threadsafe(send_json(self.ws, message), self._loop).result(10)

    def subscribe(self, topic, timeout=10, **data):
        """Subscribes and returns the node's answer (subscribed or error) for that topic."""
        start = len(self.snapshot())
        self.send({"type": "subscribe", "data": dict({"topic": topic}, **data)})

        def answered():
            for frame in self.snapshot()[start:]:
                if frame.get("type") == "error" or (frame.get("type") == "subscribed" and frame.get("topic") == topic):
                    return frame
            return None
        return wait_until(answered, timeout, interval=0.02, what=f"an answer to subscribe {topic}")

    def snapshot(self):
        with self._lock:
            return list(self.frames)

    def events(self, event_type=None, topic=None):
        """The data of every event received (of a type / on a topic)."""
        return [f["data"] for f in self.snapshot() if f.get("type") == "event"
                and (topic is None or f.get("topic") == topic)
                and (event_type is None or f["data"].get("type") == event_type)]

    def wait_events(self, event_type, count, timeout=30, topic=None):
        return wait_until(lambda: len(self.events(event_type, topic)) >= count and self.events(event_type, topic),
                          timeout, interval=0.05,
                          what=f"{count} {event_type} events (have {len(self.events(event_type, topic))})")

    def close(self):
        """Closes the connection (on the watcher's own loop) and ends its thread."""
        if self._thread.is_alive() and getattr(self, "_stop", None) is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        if not self._thread.is_alive():
            self._loop.close()
