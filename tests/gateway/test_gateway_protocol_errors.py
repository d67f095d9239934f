"""Refused client messages (error frames, connection stays) and protocol
violations (close codes), through python3-websockets and a raw socket."""
import json
import unittest

from node_harness import (OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, NodeTestCase, expect_close,
                          fresh_topic, recv_json, run, send_json, subscribe)

MAX_MESSAGE_BYTES = 4096
MAX_SUBSCRIPTIONS = 8


class GatewayRefusedMessages(NodeTestCase, unittest.TestCase):
    node_limits = {"max_message_bytes": MAX_MESSAGE_BYTES, "max_subscriptions": MAX_SUBSCRIPTIONS}

    def assert_refused_then_usable(self, frames, code):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            for frame in frames:
                with self.subTest(frame=frame[:80]):
                    await ws.send(frame)
                    answer = await recv_json(ws)
                    self.assertEqual((answer["type"], answer.get("code")), ("error", code), answer)
                    self.assertIsInstance(answer.get("message"), str)
            await send_json(ws, {"type": "ping"})
            self.assertEqual(await recv_json(ws), {"type": "pong"}, "the connection stays open and usable")
            await ws.close()

        run(scenario())

    def test_malformed_json_gets_bad_json_and_the_connection_stays(self):
        self.assert_refused_then_usable(
            ["not json", "{\"type\":\"ping\"", "[1,2,3]", "\"ping\"", "42", "null", "",
             "x" * (MAX_MESSAGE_BYTES - 100)], "bad_json")

    def test_unknown_message_type_gets_unknown_type(self):
        self.assert_refused_then_usable(
            [json.dumps({"type": "dance"}), json.dumps({"type": "publish", "data": {"topic": "x"}}),
             json.dumps({"type": "PING"})], "unknown_type")

    def test_missing_or_wrongly_typed_fields_get_bad_request(self):
        self.assert_refused_then_usable([
            json.dumps({"data": {"topic": "x"}}),
            json.dumps({"type": "subscribe"}),
            json.dumps({"type": "subscribe", "data": "x"}),
            json.dumps({"type": "subscribe", "data": {}}),
            json.dumps({"type": "subscribe", "data": {"topic": 5}}),
            json.dumps({"type": "subscribe", "data": {"topic": "x", "since": "five"}}),
            json.dumps({"type": "subscribe", "data": {"topic": "x", "since": 1, "epoch": 7}}),
            json.dumps({"type": "unsubscribe", "data": {"topic": ["x"]}}),
        ], "bad_request")

    def test_bad_topic_names_get_bad_topic(self):
        self.assert_refused_then_usable([
            json.dumps({"type": "subscribe", "data": {"topic": name}})
            for name in ["", "a" * 257, "has space", "star*", "a,b", "quote\"", "back\\slash", "tab\t", "caf\u00e9"]
        ], "bad_topic")

    def test_topic_of_256_characters_is_accepted(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            name = "n" * 256
            self.assertEqual((await subscribe(ws, name))["type"], "subscribed")
            await ws.close()

        run(scenario())

    def test_subscriptions_beyond_the_limit_get_too_many_subscriptions_until_one_is_dropped(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            accepted, refused = [], []
            for _ in range(MAX_SUBSCRIPTIONS + 1):
                topic = fresh_topic("many-")
                frame = await subscribe(ws, topic)
                if frame["type"] == "subscribed":
                    accepted.append(topic)
                else:
                    self.assertEqual((frame["type"], frame.get("code")), ("error", "too_many_subscriptions"), frame)
                    refused.append(topic)
            self.assertLessEqual(len(accepted), MAX_SUBSCRIPTIONS)
            self.assertTrue(refused, "subscribing beyond max_subscriptions must be refused")
            # Resubscribing to a held topic replaces it and is not a new subscription.
            self.assertEqual((await subscribe(ws, accepted[0]))["type"], "subscribed")
            await send_json(ws, {"type": "unsubscribe", "data": {"topic": accepted[0]}})
            self.assertEqual(await recv_json(ws), {"type": "unsubscribed", "topic": accepted[0]})
            self.assertEqual((await subscribe(ws, refused[0]))["type"], "subscribed")
            await ws.close()

        run(scenario())

    def test_message_larger_than_max_message_bytes_closes_with_1009(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            await ws.send(json.dumps({"type": "ping", "padding": "x" * (MAX_MESSAGE_BYTES + 100)}))
            self.assertEqual(await expect_close(ws), 1009)

        run(scenario())

    def test_fragmented_text_message_is_reassembled(self):
        raw = self.node.raw(self.node.token("alice"))
        try:
            self.assertEqual(raw.status, 101)
            self.assertEqual(raw.recv_json()["type"], "connected")
            raw.send_frame(OP_TEXT, b'{"type":', fin=False)
            raw.send_frame(OP_PING, b"between")  # control frames may interleave with fragments
            raw.send_frame(OP_CONT, b'"pi', fin=False)
            raw.send_frame(OP_CONT, b'ng"}', fin=True)
            opcode, payload = raw.recv_frame()
            self.assertEqual((opcode, payload), (OP_PONG, b"between"))
            self.assertEqual(raw.recv_json(), {"type": "pong"})
        finally:
            raw.close()

    def test_invalid_utf8_text_frame_closes_with_1007(self):
        cases = [
            ("invalid byte", [(OP_TEXT, b'{"type":"ping","x":"\xff\xfe"}', True)]),
            ("truncated sequence", [(OP_TEXT, b'{"type":"ping","x":"\xe2\x82"}', True)]),
            ("overlong encoding", [(OP_TEXT, b'{"type":"ping","x":"\xc0\xaf"}', True)]),
            ("surrogate", [(OP_TEXT, b'{"type":"ping","x":"\xed\xa0\x80"}', True)]),
            ("invalid across fragments", [(OP_TEXT, b'{"type":"ping","x":"\xe2', False),
                                          (OP_CONT, b'\x28\xa1"}', True)]),
        ]
        for description, frames in cases:
            with self.subTest(description):
                raw = self.node.raw(self.node.token("alice"))
                try:
                    self.assertEqual(raw.recv_json()["type"], "connected")
                    for opcode, payload, fin in frames:
                        raw.send_frame(opcode, payload, fin=fin)
                    self.assertEqual(raw.read_until_close(), 1007)
                finally:
                    raw.close()

    def test_valid_multibyte_utf8_is_accepted(self):
        raw = self.node.raw(self.node.token("alice"))
        try:
            self.assertEqual(raw.recv_json()["type"], "connected")
            raw.send_frame(OP_TEXT, '{"type":"ping","x":"kWh € 電 🙂"}'.encode())
            self.assertEqual(raw.recv_json(), {"type": "pong"})
        finally:
            raw.close()

    def test_protocol_violations_close_with_1002(self):
        ping = b'{"type":"ping"}'
        cases = [  # (description, [(opcode, payload, keyword arguments of send_frame)])
            ("unmasked frame", [(OP_TEXT, ping, {"mask": False})]),
            ("reserved bit set", [(OP_TEXT, ping, {"rsv": 0b100})]),
            ("reserved opcode 3", [(0x3, ping, {})]),
            ("reserved control opcode 11", [(0xB, b"", {})]),
            ("continuation without a start", [(OP_CONT, ping, {})]),
            ("new text frame inside a fragmented message", [(OP_TEXT, b'{"type":', {"fin": False}),
                                                            (OP_TEXT, ping, {})]),
            ("fragmented control frame", [(OP_PING, b"x", {"fin": False})]),
            ("control frame over 125 bytes", [(OP_PING, b"x" * 126, {})]),
        ]
        for description, frames in cases:
            with self.subTest(description):
                raw = self.node.raw(self.node.token("alice"))
                try:
                    self.assertEqual(raw.recv_json()["type"], "connected")
                    for opcode, payload, options in frames:
                        raw.send_frame(opcode, payload, **options)
                    self.assertEqual(raw.read_until_close(), 1002)
                finally:
                    raw.close()

    def test_client_close_frame_is_answered_with_the_same_code(self):
        raw = self.node.raw(self.node.token("alice"))
        try:
            self.assertEqual(raw.recv_json()["type"], "connected")
            raw.send_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"bye")
            self.assertEqual(raw.read_until_close(), 1000)
        finally:
            raw.close()


if __name__ == "__main__":
    unittest.main()
