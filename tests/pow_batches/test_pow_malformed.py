"""Malformed batches on both paths: over HTTP a 400 whose message names the field, over the
WebSocket no ack and a counted invalid message with the connection kept; nothing is recorded
for them and good batches around them go through."""
import json
import unittest

from harness import FAST, PowTestCase, node_entry, valid_batch, wait_until

CAP = 50


def without(batch, field):
    return {k: v for k, v in batch.items() if k != field}


def generated():
    return valid_batch(node_id=1, kind="generated", n=4)


def validated():
    return valid_batch(node_id=1, kind="validated", n=4)


# (name, kind, body, the field the refusal must name)
CASES = [
    ("missing public_key", "generated", without(generated(), "public_key"), "public_key"),
    ("public_key a number", "generated", dict(generated(), public_key=5), "public_key"),
    ("missing block_hash", "generated", without(generated(), "block_hash"), "block_hash"),
    ("negative block_height", "generated", dict(generated(), block_height=-1), "block_height"),
    ("block_height a string", "generated", dict(generated(), block_height="7"), "block_height"),
    ("block_height a fraction", "generated", dict(generated(), block_height=7.5), "block_height"),
    ("block_height beyond int64", "generated", dict(generated(), block_height=2**63), "block_height"),
    ("nonces not an array", "generated", dict(generated(), nonces=5), "nonces"),
    ("a nonce not an integer", "generated", dict(generated(), nonces=[1, 2, 3.5, 4]), "nonces"),
    ("dist shorter than nonces", "generated", dict(generated(), dist=[0.1, 0.2, 0.3]), "dist"),
    ("a dist value a string", "generated", dict(generated(), dist=[0.1, "x", 0.3, 0.4]), "dist"),
    ("missing node_id", "generated", without(generated(), "node_id"), "node_id"),
    ("negative node_id", "generated", dict(generated(), node_id=-1), "node_id"),
    ("nonces beyond the cap", "generated",
     dict(generated(), nonces=list(range(CAP + 1)), dist=[0.5] * (CAP + 1)), "nonces"),
    ("missing received_dist", "validated", without(validated(), "received_dist"), "received_dist"),
    ("received_dist beyond the cap", "validated", dict(validated(), received_dist=[0.5] * (CAP + 1)), "received_dist"),
    ("fraud_detected a string", "validated", dict(validated(), fraud_detected="no"), "fraud_detected"),
    ("n_invalid a fraction", "validated", dict(validated(), n_invalid=0.5), "n_invalid"),
    ("n_invalid beyond int64", "validated", dict(validated(), n_invalid=2**63), "n_invalid"),
    ("r_target a string", "validated", dict(validated(), r_target="1.5"), "r_target"),
    ("missing probability_honest", "validated", without(validated(), "probability_honest"), "probability_honest"),
]

# Raw bodies: (name, kind, bytes, accepted error codes, the field the message must name or None)
RAW_CASES = [
    ("not JSON", "generated", b"{not json", ("bad_json",), None),
    ("truncated JSON", "validated", b'{"public_key": "pk", "nonces": [1, 2', ("bad_json",), None),
    ("an array, not an object", "generated", b"[1, 2, 3]", ("bad_json", "invalid_batch"), None),
    ("an infinite dist value", "generated",
     b'{"public_key":"pk","block_hash":"h","block_height":1,"nonces":[1],"dist":[1e999],"node_id":1}',
     ("bad_json", "invalid_batch"), "dist"),
]


class MalformedOverHttp(PowTestCase, unittest.TestCase):

    def test_each_malformed_batch_is_refused_with_400_naming_the_field_and_nothing_else_is_affected(self):
        node = self.new_node()
        chain = self.recorder()
        node.configure([node_entry("ml-1", 1, "http://127.0.0.1:9", autostart=False)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 1000}],
                       max_batch_length=CAP, **FAST).start()
        good_before = generated()
        self.assertEqual(node.post_batch("generated", good_before)[0], 200)

        for prefix in ("/v1/poc-batches", "/mlnode/v1/poc-batches"):
            for name, kind, body, field in CASES:
                with self.subTest(case=name, prefix=prefix):
                    status, answer = node.post_batch(kind, body, prefix=prefix)
                    self.assertEqual(status, 400, answer)
                    self.assertEqual(answer["error"]["code"], "invalid_batch", answer)
                    self.assertIn(field, answer["error"]["message"], answer)
            for name, kind, raw, codes, field in RAW_CASES:
                with self.subTest(case=name, prefix=prefix):
                    status, answer = node.post_batch(kind, None, prefix=prefix, raw=raw)
                    self.assertEqual(status, 400, answer)
                    self.assertIn(answer["error"]["code"], codes, answer)
                    if field is not None and answer["error"]["code"] == "invalid_batch":
                        self.assertIn(field, answer["error"]["message"], answer)
            with self.subTest(case="unknown node_id", prefix=prefix):
                status, answer = node.post_batch("generated", dict(generated(), node_id=999), prefix=prefix)
                self.assertEqual(status, 400, answer)
                self.assertEqual(answer["error"]["code"], "unknown_node", answer)
                self.assertTrue("999" in answer["error"]["message"] or "node_id" in answer["error"]["message"], answer)

        good_after = validated()
        status, answer = node.post_batch("validated", good_after)
        self.assertEqual((status, answer["duplicate"]), (200, False), answer)
        records = chain.wait_distinct(2)
        self.assertEqual(len({r["body"]["batch_id"] for r in chain.records()}), 2,
                         "only the two good batches may be recorded")
        self.assertEqual(sorted(r["body"]["block_hash"] for r in records),
                         sorted([good_before["block_hash"], good_after["block_hash"]]))
        self.assertEqual(node.http("GET", "/healthz").status, 200)
        self.stop_node(node)


class DeeplyNestedOverHttp(PowTestCase, unittest.TestCase):

    def test_nonces_nested_100000_deep_are_refused_and_the_node_stays_up(self):
        # The unauthenticated body that crashed the node with a stack overflow.
        node = self.new_node()
        chain = self.recorder()
        node.configure([node_entry("ml-1", 1, "http://127.0.0.1:9", autostart=False)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 1000}],
                       max_batch_length=CAP, **FAST).start()
        depth = 100_000
        text = json.dumps(dict(generated(), nonces=["DEEP"]))
        raw = text.replace('"DEEP"', "[" * depth + "1" + "]" * depth).encode()
        for prefix in ("/v1/poc-batches", "/mlnode/v1/poc-batches"):
            with self.subTest(prefix=prefix):
                status, answer = node.post_batch("generated", None, prefix=prefix, raw=raw)
                self.assertEqual((status, answer["error"]["code"]), (400, "bad_json"), answer)
                self.assertIn("nested deeper than 64 levels", answer["error"]["message"])
        self.assertEqual(node.http("GET", "/healthz").status, 200)
        good = generated()
        self.assertEqual(node.post_batch("generated", good)[0], 200)
        records = chain.wait_distinct(1)
        self.assertEqual([r["body"]["block_hash"] for r in records], [good["block_hash"]])
        self.stop_node(node)


class MalformedOverWebSocket(PowTestCase, unittest.TestCase):

    def test_malformed_messages_are_counted_not_acked_and_the_connection_stays(self):
        node = self.new_node()
        chain = self.recorder()
        sim = self.sim("--callback", node.callback(), "--generated", 5, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "max_backoff_ms": 1000}],
                       max_batch_length=CAP, **FAST).start()
        sim.wait_connected(15)
        messages = ["not json at all", '{"type": "generated", "batch": ', json.dumps([1, 2]),
                    json.dumps({"type": "generated", "id": "m-nobatch"}),
                    json.dumps({"type": "teleport", "id": "m-type", "batch": generated()}),
                    json.dumps({"type": "generated", "id": "m-batch-string", "batch": "a batch"})]
        for i, (name, kind, body, _) in enumerate(CASES):
            messages.append(json.dumps({"type": kind, "id": f"m-case-{i}", "batch": body}))
        # A batch claiming another ML node's node_id on ml-1's connection.
        messages.append(json.dumps({"type": "generated", "id": "m-foreign", "batch": dict(generated(), node_id=2)}))
        for text in messages:
            self.assertTrue(sim.inject(text), "the connection must stay open")

        status = wait_until(lambda: (lambda s: s if s["invalid_messages"] >= len(messages) else None)(
            node.pow_node("ml-1")), 15, 0.05, f"{len(messages)} invalid messages counted")
        self.assertEqual(status["invalid_messages"], len(messages), status)
        self.assertEqual(status["state"], "connected", status)
        plugin_lines = [line for line in node.log().splitlines() if "plugin.pow_batches" in line]
        self.assertTrue(any("m-case-3" in line or "block_height" in line for line in plugin_lines),
                        "an invalid message is logged with its reason:\n" + "\n".join(plugin_lines[-30:]))

        # The same connection then carries good batches.
        sim.resume()
        done = sim.wait_all_acked(30)
        self.assertEqual((done["acked_ws"], done["clients_accepted"], done["clients_closed"]), (5, 1, 0), done)
        self.assertEqual(done["acks_received"], 5, f"malformed messages must not be acked: {done}")
        self.assertEqual(done["unknown_acks"], 0, done)
        records = chain.wait_distinct(5)
        self.assertEqual(len(records), 5, [r["body"].get("block_hash") for r in records])
        status = node.pow_node("ml-1")
        self.assertEqual(status["batches"], {"websocket": 5, "http": 0}, status)
        self.assertEqual(status["invalid_messages"], len(messages), status)
        self.stop_node(node)


if __name__ == "__main__":
    unittest.main()
