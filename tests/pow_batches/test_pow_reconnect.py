"""An ML node restarted mid-stream: the plugin redials 3 s plus 0-2 s of jitter after the close
(the real timings, not shortened here), and no batch is lost or recorded twice."""
import socket
import threading
import time
import unittest

from harness import FAST, PowTestCase, check_records_exactly_once, node_entry, sim_keys, wait_until

# Slack for the dial itself and for the scheduler on a loaded 2-core machine.
SLACK = 0.8


class MlNodeRestart(PowTestCase, unittest.TestCase):

    def test_ml_node_restarted_mid_stream_is_redialled_within_3_to_5_seconds_and_nothing_is_lost(self):
        node = self.new_node()
        chain = self.recorder()
        sim = self.sim("--callback", node.callback(), "--generated", 40, "--validated", 10, "--interleave",
                       "--send-interval", 0.03, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 2000}],
                       reconnect_delay_ms=3000, reconnect_jitter_ms=2000).start()
        sim.wait_connected(15)
        sim.resume()
        wait_until(lambda: sim.status()["acked"] >= 10, 30, 0.02, "10 batches acknowledged")

        # The ML node goes away mid-stream and comes back half a second later.
        sim.ws_stop()
        wait_until(lambda: node.pow_node("ml-1")["state"] in ("waiting", "connecting"), 5, 0.05,
                   "the plugin to notice the close")
        reconnects_before = node.pow_node("ml-1")["reconnects"]
        wait_until(lambda: (lambda s: s["now"] - s["ws_stopped_at"][0] >= 0.5)(sim.status()), 5, 0.05, "half a second")
        sim.ws_start()
        status = wait_until(lambda: (lambda s: s if len(s["connections"]) >= 2 and s["ws_connected"] else None)(
            sim.status()), 15, 0.05, "the plugin to redial the restarted ML node")
        delay = status["connections"][1]["opened"] - status["connections"][0]["closed"]
        self.assertGreaterEqual(delay, 3.0 - 0.2, f"redialled after {delay:.2f}s, sooner than 3 s")
        self.assertLessEqual(delay, 5.0 + SLACK, f"redialled after {delay:.2f}s, later than 5 s")

        # Batches queued after the restart go over the new connection.
        done = sim.wait_all_acked(60)
        ws_before = done["acked_ws"]
        sim.enqueue(generated=10)
        done = sim.wait_all_acked(30)
        self.assertEqual(done["acked_ws"], ws_before + 10, done)

        records = chain.wait_distinct(60, timeout=60)
        check_records_exactly_once(self, records, sim_keys(sim), node_names={1: "ml-1"})
        after = node.pow_node("ml-1")
        self.assertEqual(after["state"], "connected", after)
        self.assertGreater(after["reconnects"], 0, after)
        self.assertGreaterEqual(after["reconnects"], reconnects_before, after)
        self.assertGreaterEqual(after["batches"]["websocket"], done["acked_ws"], after)
        self.assertGreaterEqual(after["batches"]["websocket"] + after["batches"]["http"], 60, after)
        self.stop_node(node)



class ReconnectJitter(PowTestCase, unittest.TestCase):

    def test_redials_after_failures_come_3_to_5_seconds_apart_with_jitter(self):
        # A listener that accepts and at once closes: every dial fails its handshake.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self.addCleanup(listener.close)
        dials = []
        stop = threading.Event()

        def accept():
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except (socket.timeout, OSError):
                    continue
                dials.append(time.monotonic())
                conn.close()

        acceptor = threading.Thread(target=accept, daemon=True)
        acceptor.start()
        self.addCleanup(lambda: (stop.set(), acceptor.join(5)))
        node = self.new_node()
        node.configure([node_entry("ml-1", 1, f"http://127.0.0.1:{listener.getsockname()[1]}")], [],
                       reconnect_delay_ms=3000, reconnect_jitter_ms=2000).start()
        wait_until(lambda: len(dials) >= 5, 5 * 5 + 5, 0.1, "five dials")
        gaps = [b - a for a, b in zip(dials, dials[1:])]
        for gap in gaps:
            self.assertGreaterEqual(gap, 3.0 - 0.2, f"gaps {gaps}")
            self.assertLessEqual(gap, 5.0 + SLACK, f"gaps {gaps}")
        self.assertGreater(max(gaps) - min(gaps), 0.05, f"no jitter between redials: {gaps}")
        status = node.pow_node("ml-1")
        self.assertGreaterEqual(status["reconnects"], 4, status)
        self.assertIsNotNone(status["last_error"], status)
        # /healthz says which ML node is not connected, and /metrics counts its redials.
        health = node.http("GET", "/healthz")
        self.assertEqual((health.status, health.json()["status"]), (200, "degraded"), health.body)
        plugin = health.json()["plugins"][0]
        self.assertEqual((plugin["name"], plugin["health"]), ("pow_batches", "degraded"), plugin)
        self.assertIn("ML nodes not connected: ml-1", plugin["reason"])
        text = node.metrics()
        self.assertIn('eventnode_pow_batches_ml_node_connected{node="ml-1"} 0\n', text)
        self.assertIn("# TYPE eventnode_pow_batches_ml_node_reconnects_total counter\n", text)
        self.assertIn(f'eventnode_pow_batches_ml_node_reconnects_total{{node="ml-1"}} ', text)
        self.stop_node(node)


class Keepalive(PowTestCase, unittest.TestCase):

    def test_an_idle_connection_is_kept_by_pings_and_a_hung_ml_node_is_dropped_after_the_silence_timeout(self):
        node = self.new_node()
        # The simulator sends nothing by itself (no pings of its own): only its pongs keep the line alive.
        sim = self.sim("--callback", node.callback(), "--generated", 3, "--ping-interval", 0, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)], [], ping_interval_seconds=1, silence_timeout_seconds=3,
                       **FAST).start()
        sim.wait_connected(15)
        # Idle for twice the silence timeout: pongs count as life, the connection stays.
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            status = sim.status()
            self.assertEqual((status["clients_accepted"], status["ws_connected"]), (1, True),
                             "an idle connection that answers pings must not be dropped")
            time.sleep(0.2)

        sim.control("POST", "/ws/freeze", {})
        frozen_at = time.monotonic()
        wait_until(lambda: node.pow_node("ml-1")["state"] != "connected", 3 + 5, 0.05,
                   "the plugin to drop the silent connection")
        silent_for = time.monotonic() - frozen_at
        self.assertGreaterEqual(silent_for, 3 - 1.2, f"dropped after {silent_for:.1f}s of silence, before the timeout")
        sim.control("POST", "/ws/thaw", {})
        wait_until(lambda: (lambda s: s["clients_accepted"] >= 2 and s["ws_connected"])(sim.status()), 15, 0.05,
                   "the plugin to redial after dropping the silent connection")
        sim.resume()
        self.assertEqual(sim.wait_all_acked(30)["acked_ws"], 3)
        self.assertGreaterEqual(node.pow_node("ml-1")["reconnects"], 1)
        self.stop_node(node)


class DialTimeout(PowTestCase, unittest.TestCase):

    def test_a_dial_that_never_gets_a_handshake_answer_times_out_and_is_retried(self):
        # A listener that accepts TCP connections and never answers the upgrade request.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self.addCleanup(listener.close)
        accepted = []   # (accepted at, closed by the peer at or None)
        stop = threading.Event()

        def watch(conn, entry):
            conn.settimeout(0.2)
            while not stop.is_set():
                try:
                    if conn.recv(4096) == b"":
                        entry[1] = time.monotonic()
                        break
                except socket.timeout:
                    continue
                except OSError:
                    entry[1] = time.monotonic()
                    break
            conn.close()

        def accept():
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except (socket.timeout, OSError):
                    continue
                entry = [time.monotonic(), None]
                accepted.append(entry)
                threading.Thread(target=watch, args=(conn, entry), daemon=True).start()

        acceptor = threading.Thread(target=accept, daemon=True)
        acceptor.start()
        self.addCleanup(lambda: (stop.set(), acceptor.join(5)))

        node = self.new_node()
        port = listener.getsockname()[1]
        node.configure([node_entry("ml-1", 1, f"http://127.0.0.1:{port}")], [], dial_timeout_ms=1000, **FAST).start()
        wait_until(lambda: len(accepted) >= 2 and accepted[0][1] is not None, 15, 0.05,
                   "the plugin to give up the hung dial and dial again")
        gave_up_after = accepted[0][1] - accepted[0][0]
        self.assertGreaterEqual(gave_up_after, 1.0 - 0.3, f"gave up after {gave_up_after:.2f}s")
        self.assertLessEqual(gave_up_after, 1.0 + 2.0, f"gave up after {gave_up_after:.2f}s, dial timeout is 1 s")
        status = node.pow_node("ml-1")
        self.assertNotEqual(status["state"], "connected", status)
        self.assertIsNotNone(status["last_error"], status)
        self.stop_node(node)


if __name__ == "__main__":
    unittest.main()
