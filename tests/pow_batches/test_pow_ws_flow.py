"""The normal path: the plugin dials the ML node's socket, every batch is acknowledged over the
WebSocket, recorded once, submitted to the http recorder and published by the topic recorder."""
import asyncio
import json
import time
import unittest

import websockets

from harness import (FAST, WS_PATH, PowTestCase, RawMlNode, check_records_exactly_once, first_arrivals, node_entry,
                     record_key, recv_json, run, send_json, sim_keys, valid_batch, wait_until)


async def subscribe_as(node, token, topic):
    """The answer to one subscribe by the holder of `token`."""
    ws, _ = await node.connect(token)
    try:
        await send_json(ws, {"type": "subscribe", "data": {"topic": topic}})
        return await recv_json(ws)
    finally:
        await ws.close()


async def replay_topic(node, topic, count, timeout=15.0):
    """Every event of `topic` from its history (since offset 0), through python3-websockets."""
    ws, _ = await node.connect(node.token("pow-watcher", "admin"))
    try:
        await send_json(ws, {"type": "subscribe", "data": {"topic": topic, "since": 0}})
        confirmation = await recv_json(ws)
        if confirmation.get("type") != "subscribed":
            raise AssertionError(f"subscribe to {topic} answered {confirmation}")
        events = []
        deadline = time.monotonic() + timeout
        while len(events) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{len(events)} of {count} events of {topic} within {timeout}s")
            frame = await recv_json(ws, remaining)
            if frame.get("type") == "event" and frame.get("topic") == topic:
                events.append(frame["data"])
        return events
    finally:
        await ws.close()


class WebSocketFlow(PowTestCase, unittest.TestCase):

    def test_batches_over_the_websocket_are_acked_recorded_once_submitted_and_published(self):
        node = self.new_node()
        chain = self.recorder()
        sim = self.sim("--callback", node.callback(), "--node-num", 1, "--generated", 20, "--validated", 10,
                       "--interleave", "--nonces", 50, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "timeout_ms": 5000, "max_backoff_ms": 2000},
                        {"name": "bus", "type": "topic"}], **FAST).start()
        sim.wait_connected()
        status = node.pow_node("ml-1")
        self.assertEqual(status["state"], "connected", status)
        self.assertIsInstance(status["connected_since"], (int, float), status)
        self.assertLessEqual(abs(status["connected_since"] - time.time()), 60, status)

        sim.resume()
        done = sim.wait_all_acked(60)
        self.assertEqual((done["acked_ws"], done["acked_http"], done["http_posts"]), (30, 0, 0), done)
        self.assertEqual(done["ack_timeouts"], 0, done)
        self.assertEqual(done["clients_accepted"], 1, "the connection must have stayed up")

        records = chain.wait_distinct(30)
        check_records_exactly_once(self, records, sim_keys(sim), node_names={1: "ml-1"})
        # Recording order is sending order here (one sender, one batch at a time), and the
        # recorder gets them in recording order.
        self.assertEqual([record_key(r["body"]) for r in first_arrivals(records)], sim_keys(sim))

        for r in records:
            body = r["body"]
            self.assertIn(body["kind"], ("generated", "validated"))
            self.assertEqual(body["node_id"], 1)
            self.assertIsInstance(body["recorded_at"], (int, float))
            self.assertLessEqual(abs(body["recorded_at"] - time.time()), 600, body)
            if body["kind"] == "validated":
                for field in ("received_dist", "r_target", "fraud_threshold", "n_invalid", "probability_honest",
                              "fraud_detected"):
                    self.assertIn(field, body)

        status = node.pow_node("ml-1")
        self.assertEqual(status["batches"], {"websocket": 30, "http": 0}, status)
        self.assertEqual(status["invalid_messages"], 0, status)

        # The topic recorder published the same records on pow.generated / pow.validated, which only
        # admins may read: the plugin's rule, not node.yaml's catch-all "*" for any signed-in user.
        refused = run(subscribe_as(node, node.token("prosumer-1", "prosumer"), "pow.generated"))
        self.assertEqual((refused["type"], refused.get("code")), ("error", "forbidden"), refused)
        generated = run(replay_topic(node, "pow.generated", 20))
        validated = run(replay_topic(node, "pow.validated", 10))
        chain_ids = {r["body"]["batch_id"]: by_key_of(r) for r in records}
        for event in generated + validated:
            self.assertIn(event["batch_id"], chain_ids, f"published batch unknown to the chain recorder: {event}")
            self.assertEqual(by_key_of({"body": event}), chain_ids[event["batch_id"]])
        self.assertEqual(len({e["batch_id"] for e in generated + validated}), 30)
        self.assertTrue(all(e["kind"] == "generated" for e in generated))
        self.assertTrue(all(e["kind"] == "validated" for e in validated))
        self.stop_node(node)

    def test_a_second_client_refused_with_1008_is_retried_until_the_ml_node_frees_its_slot(self):
        node = self.new_node()
        sim = self.sim("--callback", node.callback(), "--generated", 5, "--start-paused")

        async def scenario():
            squatter = await websockets.connect(f"ws://127.0.0.1:{sim.ws_port}{WS_PATH}", ping_interval=None)
            wait_until(lambda: sim.status()["clients_accepted"] == 1, 10, what="the squatter to be accepted")
            node.configure([node_entry("ml-1", 1, sim.url)], [], **FAST).start()
            await asyncio.to_thread(wait_until, lambda: sim.status()["clients_refused_1008"] >= 2, 20, 0.05,
                                    "the plugin to be refused with 1008 and to dial again")
            status = node.pow_node("ml-1")
            self.assertNotEqual(status["state"], "connected", status)
            self.assertTrue("1008" in (status["last_error"] or "") or "1008" in node.log(),
                            f"a 1008 refusal must be logged clearly; last_error={status['last_error']!r}")
            await squatter.close()

        run(scenario())
        sim.wait_connected(15)
        sim.resume()
        done = sim.wait_all_acked(30)
        self.assertEqual(done["acked_ws"], 5, done)
        status = node.pow_node("ml-1")
        self.assertEqual(status["state"], "connected", status)
        self.assertGreaterEqual(status["reconnects"], 1, status)
        self.stop_node(node)

    def test_batches_at_the_cap_of_100000_nonces_pass_over_both_paths(self):
        node = self.new_node()
        chain = self.recorder()
        sim = self.sim("--callback", node.callback(), "--generated", 1, "--validated", 1, "--nonces", 100000,
                       "--ack-timeout", 10, "--start-paused")
        node.configure([node_entry("ml-1", 1, sim.url)],
                       [{"name": "chain", "type": "http", "url": chain.url, "timeout_ms": 20000}],
                       max_batch_length=100000, **FAST).start()
        sim.wait_connected(15)
        sim.resume()
        done = sim.wait_all_acked(60)
        self.assertEqual(done["acked_ws"], 2, done)
        for b in sim.batches():
            status, answer = node.post_batch(b["kind"], b["batch"], prefix="/mlnode/v1/poc-batches")
            self.assertEqual((status, answer["duplicate"]), (200, True), answer)
        records = chain.wait_distinct(2, timeout=60)
        check_records_exactly_once(self, records, sim_keys(sim), node_names={1: "ml-1"})
        self.assertEqual({len(r["body"]["nonces"]) for r in records}, {100000})
        self.stop_node(node)

    def test_a_batch_whose_frame_arrives_in_slow_pieces_is_read_whole_and_acked(self):
        # A large batch over a slow link arrives in pieces; gaps longer than any internal read
        # slice must not lose bytes of the frame.
        ml = RawMlNode()
        self.addCleanup(ml.close)
        node = self.new_node()
        chain = self.recorder()
        node.configure([node_entry("ml-1", 1, ml.url)], [{"name": "chain", "type": "http", "url": chain.url}],
                       **FAST).start()
        ml.accept()
        for i, (cuts_of, pause) in enumerate(((lambda n: [1], 0.6),              # inside the frame header
                                              (lambda n: [n // 2], 0.6),         # inside the payload
                                              (lambda n: [n // 4, n // 2, 3 * n // 4], 0.4))):
            batch = valid_batch(node_id=1, n=2000, tag=8800 + i)
            message_id = f"slow-{i}"
            frame = ml.text_frame(json.dumps({"type": "generated", "batch": batch, "id": message_id}).encode())
            try:
                ml.send_in_pieces(frame, cuts_of(len(frame)), pause)
                answer = json.loads(ml.recv_text(timeout=10))
            except (OSError, AssertionError) as error:
                warnings = [line for line in node.log().splitlines() if "plugin.pow_batches" in line][-2:]
                raise AssertionError(f"piece pattern {i} ({pause}s pauses): the plugin lost the frame "
                                     f"({type(error).__name__}: {error}); its log: {warnings}") from None
            self.assertEqual(answer, {"type": "ack", "id": message_id}, f"piece pattern {i}")
        records = chain.wait_distinct(3)
        self.assertEqual(sorted(r["body"]["public_key"] for r in records), [f"pk-hand-{8800 + i}" for i in range(3)])
        status = node.pow_node("ml-1")
        self.assertEqual((status["invalid_messages"], status["state"]), (0, "connected"), status)
        self.stop_node(node)

    def test_a_message_fragmented_into_several_frames_with_a_ping_between_is_reassembled_and_acked(self):
        ml = RawMlNode()
        self.addCleanup(ml.close)
        node = self.new_node()
        chain = self.recorder()
        node.configure([node_entry("ml-1", 1, ml.url)], [{"name": "chain", "type": "http", "url": chain.url}],
                       **FAST).start()
        ml.accept()
        text = json.dumps({"type": "validated", "batch": valid_batch(node_id=1, kind="validated", n=50, tag=7700),
                           "id": "fragmented"}).encode()
        third = len(text) // 3
        ml.conn.sendall(ml.frame(0x1, text[:third], fin=False) + ml.frame(0x0, text[third:2 * third], fin=False) +
                        ml.frame(0x9, b"between") + ml.frame(0x0, text[2 * third:], fin=True))
        self.assertEqual(json.loads(ml.recv_text(timeout=10)), {"type": "ack", "id": "fragmented"})
        records = chain.wait_distinct(1)
        self.assertEqual(records[0]["body"]["public_key"], "pk-hand-7700")
        self.stop_node(node)


def by_key_of(record):
    return record_key(record["body"])


if __name__ == "__main__":
    unittest.main()
