"""eventnode killed with SIGKILL mid-stream and restarted on the same data dir: every batch the
ML node sent is recorded and reaches the recorder, and no batch is recorded twice (a repeat at
the recorder carries the same batch_id: at-least-once delivery, idempotent by batch_id)."""
import unittest

from harness import FAST, PowTestCase, check_records_exactly_once, node_entry, sim_keys, valid_batch, wait_until

TOTAL = 300


class KilledMidStream(PowTestCase, unittest.TestCase):

    def crash_and_restart(self, recorder_mode_during_crash):
        node = self.new_node()
        chain = self.recorder()
        # Sender timings shortened: this scenario is about the node's durability, not the sender's pacing.
        sim = self.sim("--callback", node.callback(), "--generated", TOTAL - 50, "--validated", 50, "--interleave",
                       "--nonces", 100, "--ack-timeout", 1, "--retry-interval", 1, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "timeout_ms": 2000, "max_backoff_ms": 1000}],
                       **FAST).start()
        sim.wait_connected(15)
        if recorder_mode_during_crash != "up":
            chain.set_mode(recorder_mode_during_crash)
        sim.resume()
        wait_until(lambda: sim.status()["acked"] >= 60, 60, 0.01, "60 batches acknowledged")
        node.kill9()
        killed_at_acked = sim.status()["acked"]
        self.assertLess(killed_at_acked, TOTAL, "the node must die mid-stream")
        # The ML node notices: no socket, and its HTTP fallback is refused.
        wait_until(lambda: sim.status()["http_errors"] >= 1, 30, 0.05, "the HTTP fallback to fail while the node is down")
        node.start()
        if recorder_mode_during_crash != "up":
            chain.set_mode("up")
        done = sim.wait_all_acked(120)
        self.assertEqual(done["acked"], TOTAL, done)
        records = chain.wait_distinct(TOTAL, timeout=120)
        check_records_exactly_once(self, records, sim_keys(sim), node_names={1: "ml-1"})
        status = node.pow_node("ml-1")
        self.assertEqual(status["state"], "connected", status)
        self.stop_node(node)

    def test_killed_mid_stream_with_the_recorder_up_loses_nothing_and_records_nothing_twice(self):
        self.crash_and_restart("up")

    def test_killed_mid_stream_with_the_recorder_failing_keeps_the_outbox_and_drains_it_after_restart(self):
        self.crash_and_restart("503")

    def test_a_batch_recorded_before_a_kill_is_a_duplicate_after_the_restart(self):
        node = self.new_node()
        chain = self.recorder()
        node.configure([node_entry("ml-1", 1, "http://127.0.0.1:9", autostart=False)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 1000}], **FAST).start()
        batch = valid_batch(node_id=1, kind="validated", tag=777)
        status, first = node.post_batch("validated", batch)
        self.assertEqual((status, first["duplicate"]), (200, False), first)
        node.kill9()
        node.start()
        status, again = node.post_batch("validated", batch, prefix="/mlnode/v1/poc-batches")
        self.assertEqual((status, again["duplicate"], again["batch_id"]), (200, True, first["batch_id"]), again)
        self.assertEqual(node.stop(), 0, node.log()[-4000:])
        node.start()
        status, third = node.post_batch("validated", batch)
        self.assertEqual((status, third["duplicate"], third["batch_id"]), (200, True, first["batch_id"]), third)
        chain.wait_distinct(1)
        self.assertEqual({r["body"]["batch_id"] for r in chain.records()}, {first["batch_id"]})
        self.stop_node(node)


if __name__ == "__main__":
    unittest.main()
