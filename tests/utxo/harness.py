"""Shared helpers for the utxo plugin's integration tests (issue 4).

A cluster of real eventnode processes on loopback, each a TIME Coin masternode
with only the utxo plugin, its own data dir and P2P port, stopped by PID (and
killed with -9 and restarted on the same ports and data dir when a test asks).
Transactions come from tools/time_tx.py; wallets speak /ws/utxo-protocol through
Debian's python3-websockets (a client nobody here wrote). Every wait has a
deadline and a condition.
"""
import asyncio
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "gateway"))
sys.path.insert(0, str(REPO / "tools"))

import websockets  # noqa: E402
import websockets.exceptions  # noqa: E402

import time_tx  # noqa: E402
from node_harness import Node, _to_yaml, free_port, wait_until  # noqa: E402

REEXPORTED = (time_tx, wait_until)  # the tests take these from here

API_KEY = "utxo-tests-api-key-0123456789"
WS_PATH = "/ws/utxo-protocol"
MAGIC = {"testnet": bytes.fromhex("7E577E4D"), "mainnet": bytes.fromhex("C01D7E4D")}
CONNECT_DEADLINE = 30.0
FINALITY_DEADLINE = 15.0
MESSAGE_DEADLINE = 10.0


def variant(state):
    """The name of a UTXO state: "Unspent", or the single key of {"Locked": {…}} and the like."""
    if isinstance(state, str):
        return state
    if isinstance(state, dict) and len(state) == 1:
        return next(iter(state))
    raise AssertionError(f"not a UTXO state (a name or a one-key object): {state!r}")


def fields(state):
    """The fields inside a tagged UTXO state ({} for "Unspent")."""
    return {} if isinstance(state, str) else next(iter(state.values()))


def new_txid():
    """A random 64-hex txid for seeded (genesis) outputs."""
    return uuid.uuid4().hex + uuid.uuid4().hex


def quorum(n):
    return 2 * n // 3 + 1


# --- one masternode ------------------------------------------------------------------
class Masternode(Node):
    """An eventnode with the utxo plugin only. Ports and data dir survive kill9() and start()."""

    def __init__(self, mn_id, p2p_port, masternodes, network="testnet", logging_level="info", server=None,
                 **plugin_config):
        # Wallets connect without a token (wallet_access: public), which the core allows only when
        # auth.required is false; the admin routes still need the API key (or an admin JWT).
        super().__init__(auth={"required": False, "api_keys": [API_KEY]}, server=server)
        # Every client here is 127.0.0.1, and the throughput benchmark submits thousands of
        # transactions a second from it: no per-client budget unless a test asks for one
        # (test_utxo_cheap_rejection.py tests the budget with its defaults).
        plugin_config.setdefault("signature_checks_per_second", 0)
        self.id = mn_id
        self.p2p_port = p2p_port
        config = {"network": network, "masternode_id": mn_id, "masternodes": masternodes,
                  "p2p": {"listen": f"127.0.0.1:{p2p_port}", "reconnect_max_ms": 1000}}
        for key, value in plugin_config.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = dict(config[key], **value)
            else:
                config[key] = value
        self.plugin_config = config
        text = self.config_path.read_text()
        text = text.replace("plugins: []", _to_yaml({"plugins": [{"name": "utxo", "enabled": True,
                                                                   "config": config}]}))
        text = text.replace('level: "info"', f'level: "{logging_level}"')
        self.config_path.write_text(text)

    def __repr__(self):
        return f"<{self.id} http={self.port} p2p={self.p2p_port}>"

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    # --- HTTP ------------------------------------------------------------------------
    def call(self, method, path, body=None, raw=None, api_key=None, token=None, timeout=10.0):
        """One request; returns (status, parsed JSON body or text). `raw` sends bytes as they are."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            headers = {"Content-Type": "application/json"} if data is not None else {}
            if api_key:
                headers["X-API-Key"] = api_key
            if token:
                headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=data, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode(errors="replace")
            try:
                return answer.status, json.loads(text) if text else None
            except ValueError:
                return answer.status, text
        finally:
            conn.close()

    def admin(self, method, path, body=None, **kw):
        return self.call(method, path, body, api_key=API_KEY, **kw)

    def submit(self, tx, **kw):
        return self.call("POST", "/api/utxo/transactions", tx, **kw)

    def transaction(self, txid):
        """GET /api/utxo/transactions/{txid}: the body, or None on 404."""
        status, body = self.call("GET", f"/api/utxo/transactions/{txid}")
        if status == 404:
            return None
        if status != 200:
            raise AssertionError(f"{self.id}: GET transaction {txid} answered {status}: {body}")
        return body

    def status_of(self, txid):
        tx = self.transaction(txid)
        return None if tx is None else tx["status"]

    def outpoint(self, txid, vout):
        """GET /api/utxo/outpoints/{txid}:{vout}: the body, or None on 404."""
        status, body = self.call("GET", f"/api/utxo/outpoints/{txid}:{vout}")
        if status == 404:
            return None
        if status != 200:
            raise AssertionError(f"{self.id}: GET outpoint {txid}:{vout} answered {status}: {body}")
        return body

    def state_of(self, txid, vout):
        body = self.outpoint(txid, vout)
        return None if body is None else body["state"]

    def address_info(self, address):
        status, body = self.call("GET", f"/api/utxo/addresses/{address}")
        if status != 200:
            raise AssertionError(f"{self.id}: GET address {address} answered {status}: {body}")
        return body

    def peers(self):
        """GET /api/utxo/peers as {peer id: status}."""
        status, body = self.admin("GET", "/api/utxo/peers")
        if status != 200:
            raise AssertionError(f"{self.id}: GET /api/utxo/peers answered {status}: {body}")
        listed = body["peers"] if isinstance(body, dict) and "peers" in body else body
        return {p["id"]: p for p in listed}

    def seed(self, utxos):
        """POST /api/utxo/utxos (admin), in chunks; asserts every one was added."""
        OWNERS.update({(u["txid"], u["vout"]): u["address"] for u in utxos})
        for start in range(0, len(utxos), 1000):
            chunk = utxos[start:start + 1000]
            status, body = self.admin("POST", "/api/utxo/utxos", {"utxos": chunk}, timeout=60)
            if status != 200 or body.get("added") != len(chunk):
                raise AssertionError(f"{self.id}: seeding {len(chunk)} UTXOs answered {status}: {body}")

    def wallet(self):
        return Wallet(self)


def make_p2p_key(folder, name):
    """(PEM file, public key hex) of a new Ed25519 key, made the way docs/utxo.md tells operators to."""
    pem = Path(folder) / f"{name}.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return pem, der[-32:].hex()


def peer_connected(status):
    """True when both directions of a peer link are up ({"outbound":{"connected"},"inbound":{"connected"}})."""
    return bool(status.get("outbound", {}).get("connected")) and bool(status.get("inbound", {}).get("connected"))


# --- the cluster -----------------------------------------------------------------------
class Cluster:
    """`n` masternodes mn1…mnN on loopback, each configured with the whole set.

    `ghosts` adds configured masternodes that never run (they count in n and the quorum).
    `authenticated` gives every masternode an Ed25519 P2P key (made with the openssl CLI, as an
    operator would) and lists the public keys, so peers prove who they are in the handshake."""

    def __init__(self, n=4, lock_timeout_seconds=60, ghosts=0, network="testnet", logging_level="info",
                 server=None, authenticated=False, **plugin_config):
        total = n + ghosts
        ids = [f"mn{i + 1}" for i in range(total)]
        ports = [free_port() for _ in range(total)]
        self.masternodes = [{"id": i, "address": f"127.0.0.1:{p}"} for i, p in zip(ids, ports)]
        self.key_dir = Path(tempfile.mkdtemp(prefix="utxo-p2p-keys-")) if authenticated else None
        self.key_files = {}
        if authenticated:
            for entry in self.masternodes:
                self.key_files[entry["id"]], entry["public_key"] = make_p2p_key(self.key_dir, entry["id"])
        self.network = network
        self.total_nodes = total
        self.quorum = quorum(total)
        self.lock_timeout = lock_timeout_seconds
        self.nodes = []
        self.wallets = []
        self.ghost_ports = ports[n:]
        for i in range(n):
            config = dict(plugin_config)
            if authenticated:
                config["p2p"] = dict(config.get("p2p", {}), private_key_file=str(self.key_files[ids[i]]))
            node = Masternode(ids[i], ports[i], self.masternodes, network=network, logging_level=logging_level,
                              server=server, lock_timeout_seconds=lock_timeout_seconds, **config)
            self.nodes.append(node)

    def __getitem__(self, index):
        return self.nodes[index]

    def by_id(self, mn_id):
        return next(n for n in self.nodes if n.id == mn_id)

    @property
    def running(self):
        return [n for n in self.nodes if n.running]

    def start(self):
        try:
            for node in self.nodes:
                node.start()
            self.wait_connected()
        except BaseException:
            self.cleanup()
            raise
        return self

    def wait_connected(self, nodes=None, timeout=CONNECT_DEADLINE):
        """Waits until every running node (or `nodes`) has both links up with every other one of them."""
        nodes = nodes or self.running
        ids = {n.id for n in nodes}

        def linked():
            for node in nodes:
                peers = node.peers()
                if not all(peer_connected(peers.get(other, {})) for other in ids - {node.id}):
                    return False
            return True
        try:
            wait_until(linked, timeout, 0.1, f"P2P links between {sorted(ids)}")
        except AssertionError as error:
            raise AssertionError(f"{error}: " + "; ".join(f"{n.id}: {n.peers()}" for n in nodes if n.running))

    def restart(self, node, wait_links=True):
        node.start()
        if wait_links:
            self.wait_connected()

    def seed(self, utxos):
        """Seeds the same genesis UTXOs on every node (running or not: a stopped node is skipped)."""
        for node in self.running:
            node.seed(utxos)

    def fund(self, address, amounts):
        """Seeds one genesis UTXO per amount to `address`; returns the outpoints [(txid, vout, amount)]."""
        txid = new_txid()
        utxos = [{"txid": txid, "vout": v, "address": address, "amount": a} for v, a in enumerate(amounts)]
        self.seed(utxos)
        return [(txid, v, a) for v, a in enumerate(amounts)]

    def wallet(self, node=None):
        wallet = Wallet(node or self.nodes[0])
        self.wallets.append(wallet)
        return wallet

    def wait_status(self, txid, statuses, nodes=None, timeout=FINALITY_DEADLINE):
        """Waits until `txid` has a status in `statuses` on every node of `nodes` (default: the running ones);
        returns {node id: transaction body}."""
        nodes = nodes or self.running
        statuses = (statuses,) if isinstance(statuses, str) else tuple(statuses)

        def reached():
            bodies = {n.id: n.transaction(txid) for n in nodes}
            return bodies if all(b is not None and b["status"] in statuses for b in bodies.values()) else None
        try:
            return wait_until(reached, timeout, 0.05, f"{txid[:12]} to be {'/'.join(statuses)} on "
                              f"{[n.id for n in nodes]}")
        except AssertionError as error:
            raise AssertionError(f"{error}: " + "; ".join(f"{n.id}: {n.status_of(txid)}" for n in nodes))

    def wait_finalized(self, txid, nodes=None, timeout=FINALITY_DEADLINE):
        return self.wait_status(txid, "finalized", nodes, timeout)

    def cleanup(self):
        for wallet in self.wallets:
            wallet.close()
        keep = os.environ.get("UTXO_TESTS_KEEP") == "1"
        for node in self.nodes:
            node.finish(keep, f"{node.id}: node")
        if self.key_dir is not None and not keep:
            shutil.rmtree(self.key_dir, ignore_errors=True)

    def stop(self):
        """SIGTERM by PID to every running node; returns {id: exit code}."""
        return {n.id: n.stop() for n in self.nodes if n.running}

    def logs(self, tail=4000):
        return "\n".join(f"--- {n.id} ---\n{n.log()[-tail:]}" for n in self.nodes)


OWNERS = {}  # (txid, vout) -> address, for every output seeded or paid by this process


def payment(inputs, outputs, key_seed=None):
    """A transaction spending `inputs` [(txid, vout, …)] to `outputs` [(address, amount)]. Each input
    is signed by the key that owns it (the seed time_tx.address() made its address from), or, with
    `key_seed`, every input by that seed's key (to try a key that does not own them)."""
    outpoints = [(i[0], i[1]) for i in inputs]
    seeds = [key_seed if key_seed is not None else time_tx.seed_of(OWNERS.get(o)) or "wallet" for o in outpoints]
    tx = time_tx.make_tx(outpoints, outputs, key_seed=seeds)
    for vout, (address, _) in enumerate(outputs):
        OWNERS[(tx["txid"], vout)] = address
    return tx


def self_signed(count, seed="attacker"):
    """A transaction whose `count` inputs spend outpoints nobody created, each signed by `seed`'s key.
    One key signs the same bytes for every input (Ed25519 is deterministic), so every input carries
    the same valid signature and the body costs one signing here, not `count`."""
    prev = new_txid()
    key = time_tx.public_key(seed)
    tx = {"version": 1,
          "inputs": [{"previous_output": {"txid": prev, "vout": vout}, "public_key": key, "signature": [],
                      "sequence": 0xFFFFFFFF} for vout in range(count)],
          "outputs": [{"amount": 1, "address": time_tx.address(f"{seed}-payee")}],
          "lock_time": 0, "timestamp": int(time.time())}
    signature = list(time_tx._key(seed)[0].sign(time_tx.tx_data(tx)))
    for tx_input in tx["inputs"]:
        tx_input["signature"] = signature
    return dict({"txid": time_tx.compute_txid(tx)}, **tx)


# --- a wallet on /ws/utxo-protocol ----------------------------------------------------
class Wallet:
    """A python3-websockets client on its own event-loop thread, recording every message it receives
    (with its arrival time on time.monotonic()); the test thread reads them synchronously."""

    def __init__(self, node, path=WS_PATH, headers=None):
        self.url = f"ws://127.0.0.1:{node.port}{path}"
        self.received = []  # (monotonic arrival, message dict or {"_text": raw})
        self.cursor = 0
        self.closed = None  # the close code once the connection ended
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.ws = self._run(self._open(headers))
        asyncio.run_coroutine_threadsafe(self._read(), self._loop)

    async def _open(self, headers):
        return await websockets.connect(self.url, open_timeout=MESSAGE_DEADLINE, close_timeout=2, ping_interval=None,
                                        max_queue=None, max_size=16 * 1024 * 1024, extra_headers=headers)

    def _run(self, coro, timeout=MESSAGE_DEADLINE):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _read(self):
        code = None
        try:
            async for text in self.ws:
                try:
                    message = json.loads(text)
                except ValueError:
                    message = {"_text": text}
                with self._cond:
                    self.received.append((time.monotonic(), message))
                    self._cond.notify_all()
        except websockets.exceptions.ConnectionClosed as closed:
            code = closed.code
        finally:
            with self._cond:
                self.closed = code if code is not None else (self.ws.close_code or 1000)
                self._cond.notify_all()

    # --- sending -----------------------------------------------------------------------
    def send(self, message):
        """Sends a dict as JSON, or a str as it is."""
        self._run(self.ws.send(message if isinstance(message, str) else json.dumps(message)))

    def subscribe(self, addresses, timeout=MESSAGE_DEADLINE):
        """Subscribes and returns the SubscriptionConfirmed (an Error fails the call)."""
        self.send({"type": "Subscribe", "addresses": list(addresses)})
        reply = self.next_of(("SubscriptionConfirmed", "Error"), timeout)
        if reply["type"] != "SubscriptionConfirmed":
            raise AssertionError(f"Subscribe {list(addresses)[:3]}… answered {reply}")
        return reply

    def unsubscribe(self, address):
        """Unsubscribes; the protocol has no confirmation, so a Ping/Pong round trip orders it."""
        self.send({"type": "Unsubscribe", "address": address})
        self.ping()

    def ping(self, timeout=MESSAGE_DEADLINE):
        self.send({"type": "Ping"})
        return self.next_of(("Pong",), timeout)

    # --- receiving ---------------------------------------------------------------------
    def messages(self, kind=None, since=0):
        with self._cond:
            return [m for _, m in self.received[since:] if kind is None or m.get("type") == kind]

    def timed(self, since=0):
        with self._cond:
            return list(self.received[since:])

    def next(self, timeout=MESSAGE_DEADLINE):
        """The next message after the cursor (whatever its type)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.cursor >= len(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed is not None:
                    raise AssertionError(f"no message within {timeout}s (closed={self.closed}); "
                                         f"last: {self.messages()[-3:]}")
                self._cond.wait(remaining)
            self.cursor += 1
            return self.received[self.cursor - 1][1]

    def next_of(self, kinds, timeout=MESSAGE_DEADLINE):
        """The next message after the cursor whose type is in `kinds`; skips others."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.0, deadline - time.monotonic()))
            if message.get("type") in kinds:
                return message

    def wait_for(self, predicate, timeout=MESSAGE_DEADLINE, what="a message", since=0):
        """Waits (from index `since`, regardless of the cursor) for a message matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for _, message in self.received[since:]:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} within {timeout}s; received {len(self.received)}: "
                                         f"{[m for _, m in self.received][-6:]}")
                self._cond.wait(remaining)

    def wait_closed(self, timeout=MESSAGE_DEADLINE):
        with self._cond:
            self._cond.wait_for(lambda: self.closed is not None, timeout)
            return self.closed

    def close(self):
        try:
            if self.closed is None:
                self._run(self.ws.close(), timeout=5)
        except Exception:  # noqa: BLE001 -- already gone is fine
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def about(txid):
    """A predicate: the message concerns transaction `txid`."""
    def match(m):
        if m.get("txid") == txid:
            return True
        if m.get("type") == "UTXOStateChange":
            return txid in (fields(m.get("old_state")).get("txid"), fields(m.get("new_state")).get("txid"))
        return False
    return match


# --- raw P2P, for the protocol violations ---------------------------------------------
def frame(body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return struct.pack(">I", len(data)) + data


def handshake(node_id, network="testnet", listen_addr="127.0.0.1:1", version=1):
    return {"node_id": node_id, "network": network, "protocol_version": version, "listen_addr": listen_addr,
            "timestamp": int(time.time())}


class RawPeer:
    """A plain TCP socket to a masternode's P2P port, for bytes no real peer would send."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_exactly(self, n, timeout=5.0):
        self.sock.settimeout(timeout)
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError(f"closed after {len(self.buffer)} of {n} bytes")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read_handshake(self):
        """(magic, handshake JSON) the node answers with."""
        magic = self.read_exactly(4)
        length = struct.unpack(">I", self.read_exactly(4))[0]
        return magic, json.loads(self.read_exactly(length))

    def closed_by_peer(self, timeout=5.0):
        """True when the node closes the connection within `timeout` (whatever it sent before)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class ClusterTestCase:
    """Mixin for unittest.TestCase: a cluster per test (make_cluster), cleaned up by PID at the end."""

    def setUp(self):
        self._clusters = []

    def tearDown(self):
        for cluster in self._clusters:
            if os.environ.get("UTXO_TESTS_LOGS") == "1":
                sys.stderr.write(cluster.logs())
            cluster.cleanup()

    def make_cluster(self, n=4, **kw):
        cluster = Cluster(n, **kw)
        self._clusters.append(cluster)
        return cluster.start()

    def stop_cluster(self, cluster):
        codes = cluster.stop()
        for mn_id, code in codes.items():
            self.assertEqual(code, 0, f"{mn_id} exited with {code} after SIGTERM:\n{cluster.by_id(mn_id).log()[-4000:]}")
