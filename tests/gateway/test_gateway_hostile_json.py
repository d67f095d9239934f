"""JSON nested 100,000 levels deep, the body that used to crash the node with a
stack overflow, on every gateway input: the HTTP publish and broadcast routes,
with and without a token, and a WebSocket client message. Each gets a refusal
that says why, the node stays up, and other clients keep receiving events."""
import json
import unittest
import urllib.error
import urllib.request

from node_harness import NodeTestCase, fresh_topic, receive_events, recv_json, run, send_json, subscribe

DEPTH = 100_000
WHY = "nested deeper than 64 levels"


def nested(depth):
    return "[" * depth + "1" + "]" * depth


class GatewayHostileJson(NodeTestCase, unittest.TestCase):

    def post_raw(self, path, raw, token=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.node.port}{path}", data=raw, method="POST")
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_deep_json_over_http_is_refused_and_a_watching_client_keeps_receiving(self):
        node = self.node
        topic = fresh_topic("deep")
        deep_data = ('{"topic":"' + topic + '","data":' + nested(DEPTH) + "}").encode()
        bodies = {
            "/api/v1/publish": deep_data,
            "/api/ws/broadcast": ('{"data":' + nested(DEPTH) + "}").encode(),
        }

        async def scenario():
            ws, _ = await node.connect(node.token("watcher"))
            await subscribe(ws, topic)
            for path, raw in bodies.items():
                with self.subTest(path=path, token="admin"):
                    status, answer = self.post_raw(path, raw, node.admin_token())
                    self.assertEqual((status, answer["error"]["code"]), (400, "bad_json"), answer)
                    self.assertIn(WHY, answer["error"]["message"])
                with self.subTest(path=path, token=None):
                    status, answer = self.post_raw(path, raw)
                    self.assertEqual(status, 401, answer)
            # A batch whose second item is the deep one is refused whole.
            batch = ('[{"topic":"' + topic + '","data":1},' + deep_data.decode() + "]").encode()
            status, answer = self.post_raw("/api/v1/publish", batch, node.admin_token())
            self.assertEqual((status, answer["error"]["code"]), (400, "bad_json"), answer)

            self.assertEqual(node.http("GET", "/healthz").status, 200)
            node.publish(topic, {"after": True})
            events = await receive_events(ws, topic, 1)
            self.assertEqual(events[0]["data"], {"after": True}, "only the event after the refusals arrives")
            await ws.close()

        run(scenario())

    def test_deep_json_in_a_websocket_message_gets_bad_json_and_the_connection_stays(self):
        node = self.node
        depth = 30_000  # within max_message_bytes (64 KiB)

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            frames = ['{"type":"subscribe","data":{"topic":"x","filter":' + nested(depth) + "}}",
                      nested(depth), '{"a":' * (depth // 5)]
            for frame in frames:
                with self.subTest(frame=frame[:40]):
                    await ws.send(frame)
                    answer = await recv_json(ws)
                    self.assertEqual((answer["type"], answer.get("code")), ("error", "bad_json"), answer)
                    self.assertIn(WHY, answer["message"])
            await send_json(ws, {"type": "ping"})
            self.assertEqual(await recv_json(ws), {"type": "pong"}, "the connection stays open and usable")
            await ws.close()

        run(scenario())
        self.assertEqual(node.http("GET", "/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
