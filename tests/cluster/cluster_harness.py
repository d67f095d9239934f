"""Shared helpers for the cluster tests (issue 16): several eventnode processes
that act as one node through a real redis-server.

Builds on tests/gateway/node_harness.py (imported, not copied): a ClusterNode is
a Node whose node.yaml has `broker: {type: redis, …}`, its own node.id and role,
and optionally plugins (the `relay` fixture, solana_listener). Every process
shares the JWT secret, so a token minted by one is good on all. Every wait has a
deadline and a condition.
"""
import asyncio
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "gateway"))
sys.path.insert(0, str(HERE))

import websockets  # noqa: E402

from node_harness import (DEFAULT_LIMITS, DEFAULT_TOPICS, FRAME_DEADLINE, SECRET, Node, _to_yaml,  # noqa: E402
                          fresh_topic, recv_json, run, send_json, subscribe, wait_until)
from redis_harness import RedisServer  # noqa: E402

REEXPORTED = (DEFAULT_TOPICS, FRAME_DEADLINE, fresh_topic, recv_json, run, send_json, subscribe, wait_until,
              RedisServer)

# Under ASan a node starts and answers several times slower: waits are generous but bounded.
EVENT_DEADLINE = 20.0
HEARTBEAT_TTL = 3  # seconds; heartbeats every second, so a dead server is gone within 3 s

CLUSTER_TOPICS = [
    {"pattern": "user:{sub}", "access": "user", "history": {"size": 1000, "ttl": 3600}},
    {"pattern": "admins", "access": "admin", "history": {"size": 100, "ttl": 3600}},
    {"pattern": "short:*", "access": "public", "history": {"size": 5, "ttl": 600}},
    {"pattern": "secret:*", "access": "admin", "history": {"size": 100, "ttl": 600}},
    {"pattern": "*", "access": "public", "history": {"size": 20000, "ttl": 600}},
]


def fixture_plugin_dir():
    value = os.environ.get("EVENTNODE_FIXTURE_PLUGIN_DIR")
    if not value:
        raise RuntimeError("set EVENTNODE_FIXTURE_PLUGIN_DIR to the build's tests/fixture_plugins (ctest does this)")
    return value


def redis_broker(urls, password=None, prefix=None, heartbeat_ttl=HEARTBEAT_TTL, timeout_ms=None,
                 local_bus_topics=None):
    """The `broker` section: one URL (a string) or several shards (a list)."""
    redis = {"url": urls} if isinstance(urls, str) else {"shards": list(urls)}
    if password is not None:
        redis["password"] = password
    if prefix is not None:
        redis["prefix"] = prefix
    if heartbeat_ttl is not None:
        redis["heartbeat_ttl_seconds"] = heartbeat_ttl
    if timeout_ms is not None:
        redis["timeout_ms"] = timeout_ms
    broker = {"type": "redis", "redis": redis}
    if local_bus_topics is not None:
        broker["local_bus_topics"] = list(local_bus_topics)
    return broker


class ClusterNode(Node):
    """One eventnode process of a cluster: its own id, role, port and data dir, the shared
    secret, the redis broker, and `plugins` (a list of {"name", "config"?} entries)."""

    def __init__(self, node_id, broker, role="gateway", plugins=None, topics=None, auth=None, server=None):
        super().__init__(topics=topics if topics is not None else CLUSTER_TOPICS, auth=auth, server=server)
        self.node_id = node_id
        self.role = role
        server_section = {
            "listen": "127.0.0.1",
            "port": self.port,
            "http_threads": 4,
            "io_threads": 2,
            "heartbeat_interval": 30,
            "limits": dict(DEFAULT_LIMITS, messages_per_second=1000),
        }
        server_section.update(server or {})
        plugin_dirs = [str(self.binary.parent.parent / "lib" / "eventnode" / "plugins")]
        if any(p["name"] == "relay" for p in plugins or []):
            plugin_dirs.insert(0, fixture_plugin_dir())
        config = {
            "node": {"id": node_id, "role": role, "data_dir": str(self.dir / "data"), "plugin_dir": plugin_dirs},
            "server": server_section,
            "auth": dict({"required": True, "secret": SECRET, "public_routes": ["/healthz", "/metrics"]},
                         **(auth or {})),
            "logging": {"level": "info"},
            "topics": topics if topics is not None else CLUSTER_TOPICS,
            "broker": broker,
            "plugins": [dict({"enabled": True}, **p) for p in plugins or []],
        }
        self.config_path.write_text(_to_yaml(config) + "\n")

    def __repr__(self):
        return f"<{self.node_id} port={self.port}>"

    def relay_url(self, token):
        return f"ws://127.0.0.1:{self.port}/ws/relay?token={token}"

    def health(self):
        answer = self.http("GET", "/healthz")
        try:
            body = answer.json()
        except ValueError:
            raise AssertionError(f"GET /healthz on {self.node_id} answered {answer.status} with no JSON: {answer.body}")
        return answer.status, body

    def cluster(self):
        answer = self.http("GET", "/api/ws/connections?scope=cluster", token=self.admin_token())
        if answer.status != 200:
            raise AssertionError(f"GET /api/ws/connections?scope=cluster on {self.node_id} answered "
                                 f"{answer.status}: {answer.body}")
        return answer.json()

    def try_publish(self, topic, data):
        """One publish as an admin: (status, body) without judging it."""
        answer = self.http("POST", "/api/v1/publish", {"topic": topic, "data": data}, token=self.admin_token())
        try:
            return answer.status, answer.json()
        except ValueError:
            return answer.status, answer.body


def start_all(nodes):
    """Starts every node; on a failure the ones started are cleaned up and the error raised."""
    started = []
    try:
        for node in nodes:
            node.start()
            started.append(node)
    except BaseException:
        for node in nodes:
            node.cleanup()
        raise
    return nodes


def stop_all(nodes, test=None):
    """SIGTERM by PID to every node still running; each must exit 0 (checked when `test` is given)."""
    codes = {}
    for node in nodes:
        if node.process is not None and node.process.poll() is None:
            codes[node.node_id] = node.stop()
    for node in nodes:
        node.cleanup()
    bad = {k: v for k, v in codes.items() if v != 0}
    if test is not None and bad:
        test.fail(f"nodes exited with {bad} after SIGTERM, expected 0")


def shard_of(redis_servers, topic, prefix="eventnode"):
    """The RedisServer holding `topic`'s meta key, or None; fails when two hold it."""
    holders = [r for r in redis_servers if f"{prefix}:{{{topic}}}:meta" in r.keys(f"{prefix}:{{{topic}}}:*")]
    if len(holders) > 1:
        raise AssertionError(f"topic {topic} has keys on {len(holders)} shards: {[r.port for r in holders]}")
    return holders[0] if holders else None


def broker_of(health_body):
    broker = health_body.get("broker")
    if not isinstance(broker, dict):
        raise AssertionError(f"/healthz has no broker object: {health_body}")
    return broker


def shard_entry(health_body, redis_server):
    """The /healthz broker shard entry for `redis_server` (matched by its port)."""
    shards = broker_of(health_body).get("shards", [])
    for shard in shards:
        if re.search(rf":{redis_server.port}\b", shard.get("url", "")):
            return shard
    raise AssertionError(f"/healthz names no shard on port {redis_server.port}: {shards}")


# --- a publisher that behaves as a durable producer ----------------------------------------
class DurablePublisher(threading.Thread):
    """Posts numbered events {"n": i, ...} on `topics` (round robin) over HTTP in batches, about
    `rate` events a second, to the nodes of `targets` (the first that answers). An event counts
    as published only when its offset came back; a 503, a refused item (offset null) or a node
    that does not answer is retried, in order, as a durable producer would (an outbox), with the
    same `idempotency_key`: Redis may have recorded an event whose answer never came back.

    `accepted[topic]` is the list of (offset, n) in the order the node accepted them."""

    def __init__(self, targets, topics, rate=1000, batch=50, tag="run"):
        super().__init__(daemon=True)
        self.targets = list(targets)
        self.topics = list(topics)
        self.rate = rate
        self.batch = batch
        self.tag = tag
        self.accepted = {t: [] for t in topics}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.next_n = 0
        self.unavailable = []  # bodies of 503 answers (and refused items), for assertions
        self.failures = []  # (status, body) of any answer that is neither 200 nor 503: a test failure
        self.errors = 0  # connection errors (a node killed under it)
        self.limit = None

    def total(self):
        with self.lock:
            return sum(len(v) for v in self.accepted.values())

    def count(self, topic):
        with self.lock:
            return len(self.accepted[topic])

    def snapshot(self, topic):
        with self.lock:
            return list(self.accepted[topic])

    def run(self):
        pending = []
        interval = self.batch / self.rate
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            if not pending:
                if self.limit is not None and self.next_n >= self.limit:
                    break
                for _ in range(self.batch):
                    topic = self.topics[self.next_n % len(self.topics)]
                    pending.append({"topic": topic, "data": {"type": "Tick", "n": self.next_n, "tag": self.tag},
                                    "idempotency_key": f"{self.tag}-{self.next_n}"})
                    self.next_n += 1
            sent = self._post(pending)
            if sent is None:
                self.stop_event.wait(0.05)  # a retry backoff, not a synchronisation
                continue
            pending = sent  # what is left to retry, in order
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop_event.wait(delay)
            else:
                next_at = time.monotonic()

    def _post(self, items):
        """Posts `items`; returns the items still to publish, or None when nothing was accepted."""
        for node in self.targets:
            if node.process is None or node.process.poll() is not None:
                continue
            try:
                answer = node.http("POST", "/api/v1/publish", items, token=node.admin_token(), timeout=10)
            except OSError:
                self.errors += 1
                continue
            if answer.status == 503:
                self.unavailable.append(answer.body)
                return None
            if answer.status != 200:
                self.failures.append((answer.status, answer.body))
                return None
            offsets = answer.json().get("offsets", [])
            if len(offsets) != len(items):
                self.failures.append((answer.status, answer.body))
                return None
            left = []
            with self.lock:
                for item, offset in zip(items, offsets):
                    if offset is None or left:
                        # One refused item holds back the ones after it on the same topic: a durable producer
                        # keeps its order. Simplest: retry it and everything after it.
                        left.append(item)
                        continue
                    self.accepted[item["topic"]].append((offset, item["data"]["n"]))
            if left:
                self.unavailable.append(answer.body)
            return left if left else []
        return None

    def finish(self, timeout=30):
        self.stop_event.set()
        self.join(timeout)
        if self.is_alive():
            raise AssertionError("the publisher did not stop within its deadline")


RECONNECT_BACKOFF = 0.3  # seconds a RecoveringClient waits after its connection ended


# --- a client that reconnects, as docs/protocol.md tells clients to ------------------------
class RecoveringClient:
    """A python3-websockets client on /ws that follows `topic` and, when its connection ends,
    reconnects to the next node of `nodes` with `since` (the last offset it saw) and `epoch`.

    `events` is every event of `topic` in the order received, `confirmations` every
    `subscribed` frame of it (solicited or not), `connections` the node ids it was on."""

    def __init__(self, nodes, token, topic, name="client"):
        self.nodes = list(nodes)
        self.token = token
        self.topic = topic
        self.name = name
        self.events = []
        self.confirmations = []
        self.connections = []
        self.sinces = []  # the `since` of each subscribe (None for the first)
        self.closes = []
        self.other = []
        self.last_offset = None
        self.epoch = None
        self.errors = []
        self.resubscribe_at = None
        self.ws = None

    async def connect(self, node):
        ws, greeting = await node.connect(self.token)
        if greeting.get("type") != "connected":
            raise AssertionError(f"{self.name}: greeting from {node.node_id}: {greeting}")
        self.ws = ws
        self.connections.append(node.node_id)
        await self.send_subscribe()
        return ws

    async def send_subscribe(self):
        request = {"topic": self.topic}
        if self.last_offset is not None:
            request.update(since=self.last_offset, epoch=self.epoch)
        self.sinces.append(self.last_offset)
        await send_json(self.ws, {"type": "subscribe", "data": request})

    async def run(self, until):
        """Reads (reconnecting as needed) until `until()` is true; bounded by the caller's wait_for."""
        index = 0
        while not until():
            if self.ws is None:
                node = self.nodes[index % len(self.nodes)]
                index += 1
                if node.process is None or node.process.poll() is not None:
                    continue
                try:
                    await self.connect(node)
                except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
                    await asyncio.sleep(0.1)  # a reconnect backoff, not a synchronisation
                    continue
            try:
                if self.resubscribe_at is not None and time.monotonic() >= self.resubscribe_at:
                    self.resubscribe_at = None
                    await self.send_subscribe()
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), 0.5))
            except asyncio.TimeoutError:
                continue
            except websockets.exceptions.ConnectionClosed as closed:
                self.closes.append(closed.code)
                self.ws = None
                # A client backs off before reconnecting (docs/protocol.md); meanwhile events keep
                # flowing, so its resubscription has something to recover.
                await asyncio.sleep(RECONNECT_BACKOFF)
                continue
            self.take(frame)

    def take(self, frame):
        kind = frame.get("type")
        if kind == "event" and frame.get("topic") == self.topic:
            self.events.append(frame)
            self.last_offset = frame["offset"]
        elif kind == "subscribed" and frame.get("topic") == self.topic:
            self.confirmations.append(frame)
            self.epoch = frame.get("epoch")
            if self.last_offset is None or not frame.get("recovered"):
                # A fresh (or not recovered) position: live events continue after this offset.
                self.last_offset = frame.get("offset")
        elif kind == "error":
            # A subscribe refused (Redis unreachable for a moment, say): asked again shortly, as a client would.
            self.errors.append(frame)
            self.resubscribe_at = time.monotonic() + 0.2
        else:
            self.other.append(frame)

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
            self.ws = None


def assert_consecutive(test, events, first, last, what):
    """`events` have exactly the offsets first..last, once each, in order."""
    offsets = [e["offset"] for e in events]
    if offsets != list(range(first, last + 1)):
        missing = sorted(set(range(first, last + 1)) - set(offsets))
        seen, duplicates = set(), []
        for o in offsets:
            if o in seen:
                duplicates.append(o)
            seen.add(o)
        out_of_order = [(a, b) for a, b in zip(offsets, offsets[1:]) if b <= a]
        test.fail(f"{what}: expected offsets {first}..{last} once each in order; got {len(offsets)} events, "
                  f"missing {missing[:20]}{'…' if len(missing) > 20 else ''} ({len(missing)}), "
                  f"duplicates {duplicates[:20]} ({len(duplicates)}), out of order {out_of_order[:10]}")


async def open_ws(node, token, subscriptions=None):
    ws, greeting = await node.connect(token, subscriptions=subscriptions)
    if greeting.get("type") != "connected":
        raise AssertionError(f"greeting from {node.node_id}: {greeting}")
    return ws, greeting


async def next_frame_of(ws, predicate, timeout=EVENT_DEADLINE, what="a frame"):
    """The next frame for which `predicate` is true; frames before it are returned too, as (frame, skipped)."""
    skipped = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {what} within {timeout}s; received instead: {skipped[:10]}")
        try:
            frame = await recv_json(ws, remaining)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s; received instead: {skipped[:10]}")
        if predicate(frame):
            return frame, skipped
        skipped.append(frame)


async def open_relay(node, token):
    ws = await websockets.connect(node.relay_url(token), open_timeout=FRAME_DEADLINE, ping_interval=None)
    hello = await recv_json(ws)
    if hello.get("type") != "hello":
        raise AssertionError(f"/ws/relay on {node.node_id} greeted with {hello}")
    return ws


async def wait_async(condition, timeout, what):
    """wait_until for a coroutine: polls `condition` (a plain function) without blocking the loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
