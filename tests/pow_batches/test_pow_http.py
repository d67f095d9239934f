"""The HTTP fallback: with the WebSocket down every batch arrives over HTTP (both path prefixes),
and with both paths at once, plus resends, each batch is recorded once and acknowledged every time."""
import json
import threading
import unittest
import uuid

from harness import (FAST, PowTestCase, check_records_exactly_once, batch_key, node_entry, record_key, sim_keys,
                     valid_batch)

PREFIXES = ("/v1/poc-batches", "/mlnode/v1/poc-batches")


class HttpOnly(PowTestCase, unittest.TestCase):

    def test_with_the_websocket_down_every_batch_arrives_over_http_on_both_prefixes_and_is_recorded_once(self):
        node = self.new_node()
        chain = self.recorder()
        # The ML nodes' sockets are closed: the plugin keeps dialing and failing.
        sims = {num: self.sim("--no-ws", "--callback", node.callback(prefix), "--node-num", num, "--generated", 15,
                              "--validated", 5, "--interleave", "--start-paused", name=f"ml-{num}")
                for num, prefix in ((1, PREFIXES[0]), (2, PREFIXES[1]))}
        node.configure([node_entry(f"ml-{num}", num, sim.url) for num, sim in sims.items()],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 2000}], **FAST).start()
        for sim in sims.values():
            sim.resume()
        for sim in sims.values():
            done = sim.wait_all_acked(60)
            self.assertEqual((done["acked_http"], done["acked_ws"], done["clients_accepted"]), (20, 0, 0), done)
            self.assertEqual(done["http_duplicates"], 0, done)
            for b in sim.batches():
                answer = json.loads(b["http_body"])
                self.assertEqual(b["http_status"], 200, b)
                self.assertEqual(answer["status"], "recorded", answer)
                self.assertIs(answer["duplicate"], False, answer)
                uuid.UUID(answer["batch_id"])

        records = chain.wait_distinct(40)
        by_key = check_records_exactly_once(self, records, sim_keys(*sims.values()), node_names={1: "ml-1", 2: "ml-2"})
        for sim in sims.values():
            for b in sim.batches():
                self.assertEqual(by_key[batch_key(b["kind"], b["batch"])], {b["batch_id"]},
                                 "the HTTP answer's batch_id must be the recorded one")
        nodes = node.pow_nodes()
        for num in (1, 2):
            status = nodes[f"ml-{num}"]
            self.assertEqual(status["batches"], {"websocket": 0, "http": 20}, status)
            self.assertIn(status["state"], ("connecting", "waiting"), status)
            self.assertIsNone(status["connected_since"], status)
            self.assertIsNotNone(status["last_error"], status)
        self.stop_node(node)


class BothPathsWithDuplicates(PowTestCase, unittest.TestCase):

    def test_the_same_batches_over_websocket_and_http_at_once_and_again_are_each_recorded_once(self):
        node = self.new_node()
        chain = self.recorder()
        # The first 5 acks are "lost" by the ML node: it falls back to HTTP with batches already recorded.
        sim = self.sim("--callback", node.callback(), "--generated", 30, "--validated", 10, "--interleave",
                       "--ignore-acks", 5, "--ack-timeout", 0.5, "--retry-interval", 1, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 2000}], **FAST).start()
        sim.wait_connected(15)
        batches = sim.batches()

        # Meanwhile another sender POSTs every one of the same batches over HTTP.
        answers = []
        lock = threading.Lock()

        def post_all():
            for i, b in enumerate(batches):
                status, body = node.post_batch(b["kind"], b["batch"], prefix=PREFIXES[i % 2])
                with lock:
                    answers.append((b, status, body))

        poster = threading.Thread(target=post_all)
        sim.resume()
        poster.start()
        poster.join(60)
        self.assertFalse(poster.is_alive(), "the HTTP poster did not finish within 60 s")
        done = sim.wait_all_acked(60)
        self.assertEqual(done["acked"], 40, done)
        self.assertEqual(done["acks_ignored"], 5, done)
        self.assertGreaterEqual(done["http_duplicates"], 5, f"a lost ack's batch is a duplicate over HTTP: {done}")

        # Once more, sequentially: every resend is a duplicate with the same batch_id.
        for b in batches[:10]:
            status, body = node.post_batch(b["kind"], b["batch"])
            self.assertEqual(status, 200, body)
            self.assertIs(body["duplicate"], True, body)
            answers.append((b, status, body))

        records = chain.wait_distinct(40)
        by_key = check_records_exactly_once(self, records, sim_keys(sim), node_names={1: "ml-1"})
        self.assertEqual(len(answers), 50)
        for b, status, body in answers:
            self.assertEqual(status, 200, body)
            self.assertEqual(body["status"], "recorded", body)
            self.assertEqual({body["batch_id"]}, by_key[batch_key(b["kind"], b["batch"])], body)
        for b in sim.batches():
            if b["batch_id"] is not None:  # acknowledged over HTTP by the simulator itself
                self.assertEqual({b["batch_id"]}, by_key[batch_key(b["kind"], b["batch"])], b)
        self.stop_node(node)

    def test_a_repeated_post_is_a_duplicate_and_a_different_batch_is_not(self):
        node = self.new_node()
        chain = self.recorder()
        node.configure([node_entry("ml-7", 7, "http://127.0.0.1:9", autostart=False)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 2000}], **FAST).start()
        first = valid_batch(node_id=7, kind="validated", tag=4242)
        status, a = node.post_batch("validated", first)
        self.assertEqual((status, a["status"], a["duplicate"]), (200, "recorded", False), a)
        status, b = node.post_batch("validated", first, prefix=PREFIXES[1])
        self.assertEqual((status, b["duplicate"], b["batch_id"]), (200, True, a["batch_id"]), b)
        # The same numbers but a different height is another batch.
        second = dict(first, block_height=first["block_height"] + 1)
        status, c = node.post_batch("validated", second)
        self.assertEqual((status, c["duplicate"]), (200, False), c)
        self.assertNotEqual(c["batch_id"], a["batch_id"])
        # The same content as "generated" and as "validated" are different kinds of record.
        proof = {k: first[k] for k in ("public_key", "block_hash", "block_height", "nonces", "dist", "node_id")}
        status, d = node.post_batch("generated", proof)
        self.assertEqual((status, d["duplicate"]), (200, False), d)
        records = chain.wait_distinct(3)
        self.assertEqual(sorted(record_key(r["body"]) for r in records),
                         sorted([batch_key("validated", first), batch_key("validated", second),
                                 batch_key("generated", proof)]))
        self.stop_node(node)

    def test_the_same_content_spelled_differently_in_json_is_the_same_batch(self):
        # The content hash is of the numbers and strings, not of how a sender printed them.
        node = self.new_node()
        node.configure([node_entry("ml-1", 1, "http://127.0.0.1:9", autostart=False)], [], **FAST).start()
        batch = valid_batch(node_id=1, kind="validated", n=3, tag=6060)
        batch["dist"] = [0.5, 1.0, 2.0]
        batch["r_target"] = 2.0
        status, first = node.post_batch("validated", batch)  # Python prints 1.0 and 2.0
        self.assertEqual((status, first["duplicate"]), (200, False), first)
        reordered = json.dumps(dict(reversed(list(batch.items()))), indent=2).encode()
        exponent = json.dumps(batch).replace("0.5", "5e-1").encode()
        # Go's encoding/json, for one, prints the float64 1.0 as 1.
        integral = json.dumps(batch).replace("1.0", "1").replace("2.0", "2").encode()
        for name, raw in (("keys reordered and indented", reordered), ("0.5 written 5e-1", exponent),
                          ("1.0 written 1", integral)):
            with self.subTest(spelling=name):
                status, answer = node.post_batch("validated", None, raw=raw)
                self.assertEqual(status, 200, answer)
                self.assertEqual((answer["duplicate"], answer["batch_id"]), (True, first["batch_id"]), answer)
        self.stop_node(node)


if __name__ == "__main__":
    unittest.main()
