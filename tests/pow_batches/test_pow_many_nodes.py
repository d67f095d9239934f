"""Eight ML nodes at once, one of them misbehaving (garbage on its socket, invalid batches on
both paths): the other seven deliver everything over their WebSockets, and the trouble stays
with the misbehaving node's worker."""
import unittest

from harness import FAST, PowTestCase, check_records_exactly_once, node_entry, sim_keys, wait_until

GOOD = 7
PER_NODE = 30


class EightMlNodes(PowTestCase, unittest.TestCase):

    def test_eight_ml_nodes_at_once_one_misbehaving_the_other_seven_deliver_everything(self):
        node = self.new_node()
        chain = self.recorder()
        good = {num: self.sim("--callback", node.callback(), "--node-num", num, "--generated", PER_NODE - 10,
                              "--validated", 10, "--interleave", "--nonces", 100, "--start-paused", name=f"ml-{num}")
                for num in range(1, GOOD + 1)}
        bad = self.sim("--callback", node.callback(), "--node-num", 8, "--generated", 10, "--malformed",
                       "--garbage-interval", 0.05, "--ack-timeout", 0.5, "--retry-interval", 0.5, "--start-paused",
                       name="ml-8")
        sims = {**good, 8: bad}
        node.configure([node_entry(f"ml-{num}", num, sim.url) for num, sim in sims.items()],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 1000},
                        {"name": "bus", "type": "topic"}], **FAST).start()
        for sim in sims.values():
            sim.wait_connected(20)
        for sim in sims.values():
            sim.resume()
        for num, sim in good.items():
            done = sim.wait_all_acked(90)
            self.assertEqual((done["acked_ws"], done["acked_http"], done["ack_timeouts"]), (PER_NODE, 0, 0), done)
            self.assertEqual(done["clients_accepted"], 1, f"ml-{num} must keep its one connection: {done}")

        records = chain.wait_distinct(GOOD * PER_NODE, timeout=60)
        names = {num: f"ml-{num}" for num in sims}
        check_records_exactly_once(self, records, sim_keys(*good.values()), node_names=names)

        # The misbehaving node's batches time out over its socket (no ack) and are refused over HTTP.
        wait_until(lambda: bad.status()["http_refused"] >= 2, 15, 0.05, "ml-8's invalid batches refused over HTTP")
        misbehaving = bad.status(batches=True)
        self.assertEqual(misbehaving["acked"], 0, "no invalid batch may be acknowledged")
        self.assertGreater(misbehaving["garbage_sent"], 0)
        refused = [b for b in misbehaving["batches"] if b["http_status"] is not None]
        for b in refused:
            self.assertEqual(b["http_status"], 400, b)
            self.assertIn("dist", b["http_body"], b)

        nodes = node.pow_nodes()
        for num in good:
            status = nodes[f"ml-{num}"]
            self.assertEqual(status["state"], "connected", status)
            self.assertEqual(status["invalid_messages"], 0, status)
            self.assertEqual(status["batches"], {"websocket": PER_NODE, "http": 0}, status)
        status = nodes["ml-8"]
        self.assertGreater(status["invalid_messages"], 0, status)
        self.assertEqual(status["state"], "connected", f"garbage must not cost ml-8 its connection: {status}")
        self.assertEqual(status["batches"], {"websocket": 0, "http": 0}, status)
        self.stop_node(node)


if __name__ == "__main__":
    unittest.main()
