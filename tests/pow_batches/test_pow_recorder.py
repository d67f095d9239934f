"""The recorder down then back: batches are still acknowledged (they are durable in the outbox),
nothing reaches the recorder while it is down, and afterwards the outbox drains in recording
order, each batch under one batch_id with an Idempotency-Key header."""
import unittest

from harness import (FAST, PowTestCase, check_records_exactly_once, first_arrivals, node_entry, record_key, sim_keys,
                     valid_batch, wait_until)


class RecorderOutage(PowTestCase, unittest.TestCase):

    def test_recorder_refusing_then_failing_then_back_gets_every_batch_in_recording_order(self):
        node = self.new_node()
        chain = self.recorder("--mode", "refuse")
        sim = self.sim("--callback", node.callback(), "--generated", 30, "--validated", 10, "--interleave",
                       "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "timeout_ms": 2000, "max_backoff_ms": 1000}],
                       **FAST).start()
        sim.wait_connected(15)
        sim.resume()
        done = sim.wait_all_acked(60)
        self.assertEqual(done["acked_ws"], 40, "acks must not wait for the recorder")

        chain.set_mode("503")
        wait_until(lambda: chain.status()["refused_attempts"] >= 2, 20, 0.1,
                   "the plugin to retry the recorder while it answers 503")
        self.assertEqual(chain.status()["count"], 0)
        chain.set_mode("up")
        records = chain.wait_distinct(40, timeout=60)
        check_records_exactly_once(self, records, sim_keys(sim), node_names={1: "ml-1"})
        self.assertEqual([record_key(r["body"]) for r in first_arrivals(records)], sim_keys(sim),
                         "the outbox must drain in recording order")
        self.stop_node(node)

    def test_two_http_recorders_are_independent_one_down_does_not_hold_the_other(self):
        node = self.new_node()
        up = self.recorder(name="recorder-up")
        down = self.recorder("--mode", "503", name="recorder-down")
        sim = self.sim("--callback", node.callback(), "--generated", 20, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "up", "type": "http", "url": up.url, "max_backoff_ms": 1000},
                        {"name": "down", "type": "http", "url": down.url, "max_backoff_ms": 1000}], **FAST).start()
        sim.wait_connected(15)
        sim.resume()
        sim.wait_all_acked(60)
        records = up.wait_distinct(20, timeout=30)
        check_records_exactly_once(self, records, sim_keys(sim))
        self.assertEqual(down.status()["count"], 0)
        down.set_mode("up")
        late = down.wait_distinct(20, timeout=30)
        check_records_exactly_once(self, late, sim_keys(sim))
        self.assertEqual({r["body"]["batch_id"] for r in late}, {r["body"]["batch_id"] for r in records},
                         "every recorder gets the same batch_id for a batch")
        self.assertEqual([record_key(r["body"]) for r in first_arrivals(late)], sim_keys(sim))
        self.stop_node(node)

    def test_a_recorder_that_never_answers_is_timed_out_and_retried_then_gets_everything_in_order(self):
        node = self.new_node()
        chain = self.recorder("--mode", "hang")
        sim = self.sim("--callback", node.callback(), "--generated", 10, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "timeout_ms": 1000, "max_backoff_ms": 1000}],
                       **FAST).start()
        sim.wait_connected(15)
        sim.resume()
        self.assertEqual(sim.wait_all_acked(30)["acked_ws"], 10)
        wait_until(lambda: chain.status()["attempts"] >= 3, 15, 0.1,
                   "the plugin to give up on hung requests (timeout_ms 1000) and try again")
        chain.set_mode("up")
        records = chain.wait_distinct(10, timeout=30)
        check_records_exactly_once(self, records, sim_keys(sim), node_names={1: "ml-1"})
        self.assertEqual([record_key(r["body"]) for r in first_arrivals(records)], sim_keys(sim))
        self.stop_node(node)

    def test_retries_back_off_from_1_second_doubling_up_to_max_backoff(self):
        node = self.new_node()
        chain = self.recorder("--mode", "503")
        node.configure([node_entry("ml-1", 1, "http://127.0.0.1:9", autostart=False)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 4000}], **FAST).start()
        status, answer = node.post_batch("generated", valid_batch(node_id=1, tag=5150))
        self.assertEqual(status, 200, answer)
        times = wait_until(lambda: (lambda t: t if len(t) >= 6 else None)(chain.status()["attempt_times"]), 40, 0.1,
                           "six attempts at the failing recorder")
        gaps = [b - a for a, b in zip(times, times[1:])]
        # 1, 2, 4, then capped at 4 (max_backoff_ms); slack for scheduling.
        for gap, expected in zip(gaps, (1, 2, 4, 4, 4)):
            self.assertGreaterEqual(gap, expected * 0.75 - 0.1, f"gaps {gaps}")
            self.assertLessEqual(gap, expected * 1.25 + 0.6, f"gaps {gaps}")
        chain.set_mode("up")
        records = chain.wait_distinct(1, timeout=4 + 3)
        self.assertEqual(records[0]["body"]["public_key"], "pk-hand-5150")
        self.stop_node(node)


if __name__ == "__main__":
    unittest.main()
