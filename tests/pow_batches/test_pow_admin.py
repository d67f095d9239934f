"""The admin API: who may call it, starting and stopping intake per node at run time, and the
status it reports (state, connected since, reconnects, batches by path, invalid messages)."""
import time
import unittest

from harness import API_KEY, FAST, PowTestCase, node_entry, valid_batch, wait_until

FIELDS = {"id", "node_num", "url", "state", "connected_since", "reconnects", "batches", "invalid_messages",
          "last_error"}


class AdminApi(PowTestCase, unittest.TestCase):

    def test_only_admins_may_list_start_or_stop_nodes(self):
        node = self.new_node()
        node.configure([node_entry("ml-1", 1, "http://127.0.0.1:9", autostart=False)], [], **FAST).start()
        self.assertEqual(node.admin("GET", "/api/pow/nodes", api_key=None)[0], 401)
        self.assertEqual(node.admin("GET", "/api/pow/nodes", api_key="wrong-key")[0], 401)
        self.assertEqual(node.admin("POST", "/api/pow/nodes/ml-1/start", api_key=None)[0], 401)
        self.assertEqual(node.admin("POST", "/api/pow/nodes/ml-1/stop", api_key=None)[0], 401)
        user = node.token("someone", "prosumer")
        self.assertEqual(node.admin("GET", "/api/pow/nodes", api_key=None, token=user)[0], 403)
        self.assertEqual(node.admin("POST", "/api/pow/nodes/ml-1/start", api_key=None, token=user)[0], 403)
        status, body = node.admin("GET", "/api/pow/nodes", api_key=None, token=node.admin_token())
        self.assertEqual(status, 200, body)
        status, body = node.admin("GET", "/api/pow/nodes", api_key=API_KEY)
        self.assertEqual(status, 200, body)
        self.assertEqual([n["id"] for n in body["nodes"]], ["ml-1"])
        for path in ("/api/pow/nodes/nope/start", "/api/pow/nodes/nope/stop"):
            status, body = node.admin("POST", path)
            self.assertEqual(status, 404, body)
            self.assertIn("error", body)
        self.stop_node(node)

    def test_start_and_stop_at_run_time_and_the_status_counts(self):
        node = self.new_node()
        first = self.sim("--callback", node.callback(), "--node-num", 1, "--generated", 6, "--start-paused",
                         name="ml-1")
        second = self.sim("--callback", node.callback(), "--node-num", 2, "--generated", 4, "--start-paused",
                          name="ml-2")
        node.configure([node_entry("ml-1", 1, first.url, autostart=False), node_entry("ml-2", 2, second.url)],
                       [], **FAST).start()
        second.wait_connected(15)
        second.resume()
        second.wait_all_acked(30)
        nodes = node.pow_nodes()
        self.assertEqual(set(nodes), {"ml-1", "ml-2"})
        for status in nodes.values():
            self.assertLessEqual(FIELDS, set(status), status)
        stopped = nodes["ml-1"]
        self.assertEqual((stopped["state"], stopped["connected_since"], stopped["node_num"], stopped["url"]),
                         ("stopped", None, 1, first.url), stopped)
        self.assertEqual(stopped["batches"], {"websocket": 0, "http": 0}, stopped)
        # ml-2 was dialled, connected and delivered meanwhile; ml-1 (autostart false) was never dialled.
        self.assertEqual(first.status()["clients_accepted"], 0)
        self.assertEqual(nodes["ml-2"]["batches"], {"websocket": 4, "http": 0}, nodes["ml-2"])
        # Every figure of the status route is also a metric.
        text = node.metrics()
        self.assertIn('eventnode_pow_batches_batches_received_total{node="ml-2",transport="websocket"} 4\n', text)
        self.assertIn('eventnode_pow_batches_batches_received_total{node="ml-2",transport="http"} 0\n', text)
        self.assertIn('eventnode_pow_batches_ml_node_connected{node="ml-2"} 1\n', text)
        self.assertIn('eventnode_pow_batches_ml_node_connected{node="ml-1"} 0\n', text)
        self.assertIn('eventnode_pow_batches_invalid_messages_total{node="ml-2"} 0\n', text)

        before = time.time()
        status, body = node.admin("POST", "/api/pow/nodes/ml-1/start")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["id"], "ml-1")
        self.assertIn(body["state"], ("connecting", "connected"), body)
        first.wait_connected(15)
        running = wait_until(lambda: (lambda s: s if s["state"] == "connected" else None)(node.pow_node("ml-1")),
                             10, 0.05, "ml-1 connected")
        self.assertGreaterEqual(running["connected_since"], int(before) - 1, running)
        self.assertLessEqual(running["connected_since"], time.time() + 1, running)
        first.resume()
        first.wait_all_acked(30)
        for i in range(3):
            status, body = node.post_batch("generated", valid_batch(node_id=1, tag=9100 + i))
            self.assertEqual(status, 200, body)
        self.assertTrue(first.inject("garbage"))
        status = wait_until(lambda: (lambda s: s if s["invalid_messages"] == 1 else None)(node.pow_node("ml-1")),
                            10, 0.05, "the garbage counted")
        self.assertEqual(status["batches"], {"websocket": 6, "http": 3}, status)

        # A dropped connection is redialled and counted.
        reconnects = status["reconnects"]
        first.control("POST", "/ws/kick", {"code": 1001})
        wait_until(lambda: first.status()["clients_accepted"] == 2 and first.status()["ws_connected"], 15, 0.05,
                   "the plugin to redial ml-1")
        status = wait_until(lambda: (lambda s: s if s["state"] == "connected" else None)(node.pow_node("ml-1")),
                            10, 0.05, "ml-1 connected again")
        self.assertEqual(status["reconnects"], reconnects + 1, status)

        status, body = node.admin("POST", "/api/pow/nodes/ml-1/stop")
        self.assertEqual((status, body["id"], body["state"]), (200, "ml-1", "stopped"), body)
        wait_until(lambda: not first.status()["ws_connected"], 10, 0.05, "the plugin to close ml-1's socket")
        stopped = node.pow_node("ml-1")
        self.assertEqual((stopped["state"], stopped["connected_since"]), ("stopped", None), stopped)
        # Stopped means not redialled: ml-2's traffic meanwhile is the clock.
        second.enqueue(generated=3)
        second.wait_all_acked(30)
        self.assertEqual(first.status()["clients_accepted"], 2)
        self.assertEqual(node.pow_node("ml-1")["state"], "stopped")
        self.assertEqual(node.pow_node("ml-2")["batches"]["websocket"], 7)

        # And started again.
        status, body = node.admin("POST", "/api/pow/nodes/ml-1/start")
        self.assertEqual(status, 200, body)
        wait_until(lambda: first.status()["clients_accepted"] == 3 and first.status()["ws_connected"], 15, 0.05,
                   "the plugin to dial ml-1 again")
        first.enqueue(generated=2)
        first.wait_all_acked(30)
        wait_until(lambda: node.pow_node("ml-1")["batches"]["websocket"] == 8, 10, 0.05, "ml-1's two more batches")
        self.assertEqual(first.status()["acked_ws"], 8)
        self.stop_node(node)


if __name__ == "__main__":
    unittest.main()
