"""Pings and binary frames cost the node what text messages do: they count toward
messages_per_second, and the pongs and error replies they cause count toward
outbound_buffer_bytes. A client that floods them and never reads is closed
with 1008; it cannot grow the node's memory, and another client is unaffected.
Driven by a raw socket that breaks the protocol on purpose."""
import unittest

from node_harness import (OP_BINARY, OP_PING, NodeTestCase, fresh_topic, metric_value, receive_events, run,
                          subscribe)

MESSAGES_PER_SECOND = 20
OUTBOUND_BUFFER_BYTES = 16384


class ControlFrameRate(NodeTestCase, unittest.TestCase):
    node_limits = {"messages_per_second": MESSAGES_PER_SECOND}

    def flood_closes_with_1008(self, opcode, payload):
        node = self.node
        raw = node.raw(node.token("flooder"))
        raw.recv_json()  # connected
        drops_before = metric_value(node.metrics(), 'eventnode_drops_total{reason="inbound_rate_limited"}') or 0
        try:
            for _ in range(5 * MESSAGES_PER_SECOND):
                raw.send_frame(opcode, payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed mid-burst; the close frame is already on its way
        self.assertEqual(raw.read_until_close(), 1008)
        raw.close()
        drops = metric_value(node.metrics(), 'eventnode_drops_total{reason="inbound_rate_limited"}')
        self.assertGreater(drops, drops_before)

    def test_a_ping_flood_is_rate_limited_and_closed_with_1008(self):
        self.flood_closes_with_1008(OP_PING, b"p" * 125)

    def test_a_binary_frame_flood_is_rate_limited_and_closed_with_1008(self):
        self.flood_closes_with_1008(OP_BINARY, b"\x00")


class ControlFrameBytes(NodeTestCase, unittest.TestCase):
    # The rate is high enough that only the byte cap can stop the flood.
    node_limits = {"messages_per_second": 1_000_000, "outbound_buffer_bytes": OUTBOUND_BUFFER_BYTES}

    def test_pongs_to_a_client_that_never_reads_count_toward_the_outbound_cap(self):
        node = self.node
        topic = fresh_topic("bystander-")

        async def scenario():
            bystander, _ = await node.connect(node.token("bystander"))
            self.assertEqual((await subscribe(bystander, topic))["type"], "subscribed")
            raw = node.raw(node.token("pinger"), rcvbuf=4096)
            raw.recv_json()  # connected
            # 40,000 pongs of 127 bytes: about 5 MB, far past the loopback buffers and the cap.
            try:
                for _ in range(40_000):
                    raw.send_frame(OP_PING, b"p" * 125)
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed before the flood ended
            self.assertEqual(raw.read_until_close(timeout=30), 1008)
            raw.close()
            offset = node.publish(topic, {"after": True})
            [event] = await receive_events(bystander, topic, 1)
            self.assertEqual(event["offset"], offset, "another client is unaffected")
            await bystander.close()

        run(scenario())
        text = node.metrics()
        self.assertGreaterEqual(metric_value(text, 'eventnode_drops_total{reason="outbound_buffer_full"}'), 1, text)


if __name__ == "__main__":
    unittest.main()
