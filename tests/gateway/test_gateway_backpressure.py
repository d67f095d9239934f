"""A client that stops reading is closed with 1008 once its outbound buffer
passes the limit; a fast client on the same topic still gets every event."""
import asyncio
import json
import unittest

import websockets.exceptions

from node_harness import NodeTestCase, fresh_topic, metric_value, receive_events, recv_json, run, subscribe, wait_until

OUTBOUND_BUFFER_BYTES = 65536
EVENT_BYTES = 32 * 1024
MAX_EVENTS = 800  # 25 MiB: far beyond any loopback socket buffers plus the outbound limit
EVENTS_AFTER_THE_DROP = 20
DROPS = 'eventnode_drops_total{reason="outbound_buffer_full"}'


class GatewaySlowClient(NodeTestCase, unittest.TestCase):
    node_limits = {"outbound_buffer_bytes": OUTBOUND_BUFFER_BYTES}

    def test_metrics_expose_connections_and_drops_by_reason(self):
        text = self.node.metrics()
        self.assertIsNotNone(metric_value(text, "eventnode_connections"), text)
        self.assertIsNotNone(metric_value(text, DROPS), text)

    def test_reading_client_is_not_closed_for_bursts_its_socket_can_absorb(self):
        # The limit is on what the client has not taken: a burst a bit larger than
        # outbound_buffer_bytes, sent to a client that reads everything and whose socket
        # buffers are warm (megabytes on loopback), must not count as reading too slowly.
        node = self.node
        topic = fresh_topic("burst-")
        blob = "x" * (EVENT_BYTES - 2048)
        burst = 4  # ~120 KiB, under two outbound buffers

        async def scenario():
            ws, _ = await node.connect(node.token("steady"), max_size=4 * EVENT_BYTES)
            self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
            for n in range(100):  # one event at a time: lets TCP grow the socket buffers
                expected = node.publish(topic, {"n": n, "blob": blob})
                [event] = await receive_events(ws, topic, 1)
                self.assertEqual(event["offset"], expected)
            for _ in range(100):
                batch = [{"topic": topic, "data": {"blob": blob}} for _ in range(burst)]
                answer = await asyncio.to_thread(node.http, "POST", "/api/v1/publish", batch, node.admin_token())
                self.assertEqual(answer.status, 200, answer.body)
                try:
                    events = await receive_events(ws, topic, burst)
                except websockets.exceptions.ConnectionClosed as closed:
                    self.fail(f"a client {burst} events behind, reading, was closed with {closed.code} {closed.reason}")
                self.assertEqual([e["offset"] for e in events], answer.json()["offsets"])
            await ws.close()

        run(scenario())

    def test_slow_reader_is_closed_with_1008_while_a_fast_reader_receives_every_event(self):
        node = self.node
        topic = fresh_topic("bulk-")
        token = node.token("slowpoke")
        drops_before = metric_value(node.metrics(), DROPS) or 0

        slow = node.raw(token, rcvbuf=4096)
        self.addCleanup(slow.close)
        self.assertEqual(slow.status, 101)
        self.assertEqual(slow.recv_json()["type"], "connected")
        slow.send_json({"type": "subscribe", "data": {"topic": topic}})
        self.assertEqual(slow.recv_json()["type"], "subscribed")
        # From here on the slow client reads nothing until the publishing is over.

        blob = "x" * EVENT_BYTES

        def publish_until_the_slow_one_is_dropped():
            offsets, dropped_at = [], None
            while len(offsets) < MAX_EVENTS:
                offsets.append(node.publish(topic, {"type": "Bulk", "n": len(offsets), "blob": blob}))
                if dropped_at is None and len(offsets) % 10 == 0:
                    if (metric_value(node.metrics(), DROPS) or 0) > drops_before:
                        dropped_at = len(offsets)
                if dropped_at is not None and len(offsets) >= dropped_at + EVENTS_AFTER_THE_DROP:
                    break
            return offsets, dropped_at

        async def scenario():
            fast, _ = await node.connect(node.token("speedy"), max_size=4 * EVENT_BYTES)
            self.assertEqual((await subscribe(fast, topic))["type"], "subscribed")
            publisher = asyncio.create_task(asyncio.to_thread(publish_until_the_slow_one_is_dropped))
            received = []
            deadline = asyncio.get_running_loop().time() + 180
            while not (publisher.done() and len(received) >= len(publisher.result()[0])):
                self.assertLess(asyncio.get_running_loop().time(), deadline,
                                f"the fast client got {len(received)} events within 180s")
                try:
                    frame = await recv_json(fast, timeout=0.5)
                except asyncio.TimeoutError:
                    continue  # the loop condition decides whether more is due
                except websockets.exceptions.ConnectionClosed as closed:
                    self.fail(f"the fast client was closed with {closed.code} {closed.reason} after "
                              f"{len(received)} events; it was reading all along")
                self.assertEqual((frame["type"], frame["topic"]), ("event", topic), frame)
                received.append(frame)
            offsets, dropped_at = await publisher
            self.assertIsNotNone(dropped_at, f"the slow client was not dropped after {len(offsets)} events of "
                                             f"{EVENT_BYTES} bytes")
            self.assertEqual([e["offset"] for e in received], offsets, "the fast client gets every event, in order")
            self.assertEqual([e["data"]["n"] for e in received], list(range(len(offsets))))
            await fast.close()
            return offsets

        offsets = run(scenario())

        seen = []
        code = slow.read_until_close(timeout=60, on_text=lambda payload: seen.append(json.loads(payload)))
        self.assertEqual(code, 1008, "the slow client is closed with 1008")
        seen_offsets = [frame["offset"] for frame in seen if frame.get("type") == "event"]
        self.assertLess(len(seen_offsets), len(offsets))
        self.assertEqual(seen_offsets, offsets[:len(seen_offsets)], "what the slow client got has no gap")

        text = node.metrics()
        self.assertGreaterEqual(metric_value(text, DROPS), drops_before + 1, text)
        self.assertGreaterEqual(metric_value(text, 'eventnode_closes_total{code="1008"}') or 0, 1, text)
        wait_until(lambda: metric_value(node.metrics(), "eventnode_connections") == 0, 10,
                   what="eventnode_connections to drop to 0 once both clients are gone")


if __name__ == "__main__":
    unittest.main()
