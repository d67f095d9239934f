"""Shared helpers for the solana_listener integration tests.

Real processes on loopback, stopped by PID: the Solana emulator
(tools/solana_sim/server.js: LiteSVM behind Solana's JSON-RPC and PubSub) and
an eventnode with the solana_listener plugin that follows the SPL Token
program. Events are read the way a client reads them: over /ws, subscribing
with since=0 so the topic's history replays everything published so far.
"""
import asyncio
import json
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SIM = REPO / "tools" / "solana_sim"
sys.path.insert(0, str(REPO / "tests" / "gateway"))

from node_harness import DEFAULT_TOPICS, Node, recv_json, send_json, wait_until  # noqa: E402

REEXPORTED = (wait_until,)
READY_DEADLINE = 60.0
EVENT_DEADLINE = 30.0


def install_simulator():
    """Runs tools/solana_sim/install.sh (quick when node_modules is current)."""
    done = subprocess.run([str(SIM / "install.sh")], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"tools/solana_sim/install.sh failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


class SolanaSim:
    """The emulator; `info` is its READY line. With `tls` ({"cert","key","ca"}: PEM
    files) it serves https:// and wss://, and the controls trust `ca`."""

    def __init__(self, tls=None):
        # Its stderr goes to a file: a pipe nobody reads would stall it once full.
        self.stderr = tempfile.TemporaryFile()
        command = ["node", str(SIM / "server.js")]
        self.ssl_context = None
        if tls:
            command += ["--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])]
            self.ssl_context = ssl.create_default_context(cafile=str(tls["ca"]))
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=self.stderr, stdin=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + READY_DEADLINE
        line = ""
        while not line.startswith("READY "):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                self.stderr.seek(0)
                raise AssertionError(f"the Solana emulator did not print READY: {line!r} {self.stderr.read()!r}")
            line = self.process.stdout.readline()
        self.info = json.loads(line[len("READY "):])

    def control(self, path, body=None):
        request = urllib.request.Request(f"{self.info['rpc_url']}/control/{path}",
                                         data=json.dumps(body or {}).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=120, context=self.ssl_context) as answer:
            return json.loads(answer.read())

    def signatures(self, address):
        with urllib.request.urlopen(f"{self.info['rpc_url']}/control/signatures?address={address}", timeout=30,
                                    context=self.ssl_context) as a:
            return json.loads(a.read())["signatures"]

    def mint(self, count=1, **options):
        return self.control("mint", dict({"count": count}, **options))

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


class ListenerNode(Node):
    """An eventnode with only the solana_listener plugin, following `programs` on `sim`."""

    def __init__(self, sim, programs, **plugin_config):
        topics = [{"pattern": "solana:*", "access": "public", "history": {"size": 50000, "ttl": 3600}}] + DEFAULT_TOPICS
        super().__init__(auth={"required": False}, topics=topics)
        config = {"rpc_url": sim.info["rpc_url"], "ws_url": sim.info["ws_url"], "commitment": "confirmed",
                  "programs": [{"id": p} if isinstance(p, str) else p for p in programs],
                  "reconcile_interval_seconds": 2, "ping_interval_seconds": 2, "pong_timeout_seconds": 2,
                  "reconnect_min_ms": 100, "reconnect_max_ms": 1000, "rpc_timeout_ms": 2000}
        config.update(plugin_config)
        text = self.config_path.read_text()
        plugin = json.dumps([{"name": "solana_listener", "enabled": True, "config": config}])
        self.config_path.write_text(text.replace("plugins: []", "plugins: " + plugin))

    def status(self):
        answer = self.http("GET", "/api/solana/status", token=self.admin_token())
        if answer.status != 200:
            raise AssertionError(f"GET /api/solana/status answered {answer.status}: {answer.body}")
        return answer.json()

    def wait_cursor(self, program, timeout=EVENT_DEADLINE):
        """Waits until the listener has a cursor for `program` (its first walk is done)."""
        return wait_until(lambda: self.status()["programs"].get(program, {}).get("cursor"), timeout,
                          interval=0.1, what=f"a cursor for {program}")

    def events(self, topic, count, timeout=EVENT_DEADLINE, settle=0.5):
        """Every event of `topic` so far (history replay), once at least `count` arrived,
        plus whatever comes within `settle` seconds after (to catch duplicates)."""
        return asyncio.run(self._events(topic, count, timeout, settle))

    async def _events(self, topic, count, timeout, settle):
        ws, _ = await self.connect(max_size=64 * 1024 * 1024)
        try:
            await send_json(ws, {"type": "subscribe", "data": {"topic": topic, "since": 0}})
            events = []
            deadline = time.monotonic() + timeout
            settle_until = None
            while True:
                now = time.monotonic()
                if settle_until is None and len(events) >= count:
                    settle_until = now + settle
                end = settle_until if settle_until is not None else deadline
                if now >= end:
                    break
                try:
                    frame = await recv_json(ws, end - now)
                except asyncio.TimeoutError:
                    break
                if frame.get("type") == "event" and frame.get("topic") == topic:
                    events.append(frame["data"])
            if len(events) < count:
                raise AssertionError(f"{len(events)} of {count} events on {topic} within {timeout}s")
            return events
        finally:
            await ws.close()
