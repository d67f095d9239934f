"""The plugin-facing side of the gateway, through the `relay` fixture plugin
(tests/fixtures/plugins/relay_plugin.cpp): a plugin's own WebSocket endpoint,
sends to one connection, to a user, to admins and to topics, a plugin topic
rule, and an in-process bus subscription. Clients are python3-websockets."""
import asyncio
import json
import os
import unittest

import websockets

from node_harness import FRAME_DEADLINE, Node, recv_json, rejected_status, run, send_json, subscribe


def fixture_plugin_dir():
    value = os.environ.get("EVENTNODE_FIXTURE_PLUGIN_DIR")
    if not value:
        raise RuntimeError("set EVENTNODE_FIXTURE_PLUGIN_DIR to the build's tests/fixture_plugins (ctest does this)")
    return value


class RelayNode(Node):
    """A node that also loads the relay fixture plugin."""

    def __init__(self):
        super().__init__()
        text = self.config_path.read_text()
        text = text.replace("  plugin_dir:\n", f'  plugin_dir:\n    - "{fixture_plugin_dir()}"\n', 1)
        text = text.replace("plugins: []", "plugins:\n  - name: relay")
        self.config_path.write_text(text)

    def relay_url(self, token):
        return f"ws://127.0.0.1:{self.port}/ws/relay?token={token}"


class PluginApiTest(unittest.TestCase):
    def setUp(self):
        self.node = RelayNode().start()

    def tearDown(self):
        code = self.node.stop()
        self.node.cleanup()
        self.assertEqual(code, 0)

    async def open_relay(self, token):
        ws = await websockets.connect(self.node.relay_url(token), open_timeout=FRAME_DEADLINE, ping_interval=None)
        hello = await recv_json(ws)
        return ws, hello

    def test_a_plugin_endpoint_greets_and_answers_the_connection_in_its_own_dialect(self):
        async def scenario():
            ws, hello = await self.open_relay(self.node.token("alice"))
            self.assertEqual(hello, {"type": "hello", "user": "alice"})
            await send_json(ws, {"op": "echo", "text": "héllo"})
            self.assertEqual(await recv_json(ws), {"type": "echo", "text": "héllo"})
            await ws.send("not json")
            self.assertEqual((await recv_json(ws))["type"], "Error")
            await ws.close()
        run(scenario())

    def test_a_plugin_endpoint_refuses_a_caller_without_a_token_before_the_upgrade(self):
        async def scenario():
            with self.assertRaises(Exception) as caught:
                await websockets.connect(f"ws://127.0.0.1:{self.node.port}/ws/relay", open_timeout=FRAME_DEADLINE)
            self.assertEqual(rejected_status(caught.exception), 401)
        run(scenario())

    def test_send_to_user_reaches_every_connection_of_that_user_and_no_one_else(self):
        async def scenario():
            relay, _ = await self.open_relay(self.node.token("carol"))
            alice1, greeting = await self.node.connect(self.node.token("alice"))
            self.assertIn("user:alice", greeting["topics"])
            alice2, _ = await self.node.connect(self.node.token("alice"))
            bob, _ = await self.node.connect(self.node.token("bob"))
            await send_json(relay, {"op": "to_user", "user": "alice", "data": {"type": "Minted", "amount": 5}})
            for ws in (alice1, alice2):
                event = await recv_json(ws)
                self.assertEqual(event["topic"], "user:alice")
                self.assertEqual(event["data"], {"type": "Minted", "amount": 5})
            await send_json(bob, {"type": "ping"})
            self.assertEqual(await recv_json(bob), {"type": "pong"}, "bob must not get alice's event")
            for ws in (relay, alice1, alice2, bob):
                await ws.close()
        run(scenario())

    def test_send_to_admins_reaches_admin_connections_only(self):
        async def scenario():
            relay, _ = await self.open_relay(self.node.token("carol"))
            admin, greeting = await self.node.connect(self.node.token("ops", "admin"))
            self.assertIn("admins", greeting["topics"])
            user, _ = await self.node.connect(self.node.token("dave"))
            await send_json(relay, {"op": "to_admins", "data": {"type": "BatchMintingCompleted"}})
            event = await recv_json(admin)
            self.assertEqual((event["topic"], event["data"]["type"]), ("admins", "BatchMintingCompleted"))
            await send_json(user, {"type": "ping"})
            self.assertEqual(await recv_json(user), {"type": "pong"})
            for ws in (relay, admin, user):
                await ws.close()
        run(scenario())

    def test_a_plugin_bus_subscription_sees_published_events_and_its_topic_rule_lets_clients_subscribe(self):
        async def scenario():
            ws, _ = await self.node.connect(self.node.token("erin"))
            confirmation = await subscribe(ws, "relay:out")
            self.assertEqual(confirmation["type"], "subscribed")
            self.node.publish("relay:in", {"n": 1})
            event = await recv_json(ws)
            self.assertEqual((event["topic"], event["data"]), ("relay:out", {"relayed": {"n": 1}}))
            await ws.close()
        run(scenario())

    def test_published_text_reaches_clients_as_written_and_in_process_subscribers_parsed(self):
        async def scenario():
            relay, _ = await self.open_relay(self.node.token("heidi"))
            ws, _ = await self.node.connect(self.node.token("ivan"))
            for topic in ("relay:raw", "relay:out"):
                self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
            text = '{"b": 1,  "a":[1.50, 2]}'
            await send_json(relay, {"op": "publish_text", "topic": "relay:raw", "text": text})
            frame = await asyncio.wait_for(ws.recv(), FRAME_DEADLINE)
            # Not printed again: the spacing and 1.50 survive.
            self.assertIn('"data":' + text + "}", frame)
            self.assertEqual(json.loads(frame)["data"], {"a": [1.5, 2], "b": 1})
            await send_json(relay, {"op": "publish_text", "topic": "relay:in", "text": text})
            relayed = await recv_json(ws)
            self.assertEqual((relayed["topic"], relayed["data"]), ("relay:out", {"relayed": {"a": [1.5, 2], "b": 1}}))
            await ws.close()
            await relay.close()
        run(scenario())

    def test_published_text_that_is_not_json_or_not_a_topic_is_refused_and_nobody_receives_it(self):
        async def scenario():
            relay, _ = await self.open_relay(self.node.token("judy"))
            ws, _ = await self.node.connect(self.node.token("ken"))
            self.assertEqual((await subscribe(ws, "relay:in"))["type"], "subscribed")
            await send_json(relay, {"op": "publish_text", "topic": "relay:in", "text": '{"unfinished": '})
            refusal = await recv_json(relay)
            self.assertEqual(refusal["type"], "Error")
            self.assertIn("event data for topic 'relay:in' is refused: not valid JSON", refusal["message"])
            await send_json(relay, {"op": "publish_text", "topic": "bad topic", "text": "{}"})
            refusal = await recv_json(relay)
            self.assertIn("invalid topic 'bad topic'", refusal["message"])
            # The connection and the topic still work; the refused events never arrived.
            await send_json(relay, {"op": "publish_text", "topic": "relay:in", "text": '{"n":2}'})
            event = await recv_json(ws)
            self.assertEqual((event["topic"], event["offset"], event["data"]), ("relay:in", 1, {"n": 2}))
            await ws.close()
            await relay.close()
        run(scenario())

    def test_a_plugin_may_send_to_and_close_only_its_own_connections(self):
        async def scenario():
            client, greeting = await self.node.connect(self.node.token("frank"))
            relay, _ = await self.open_relay(self.node.token("relay-user"))
            other, _ = await self.open_relay(self.node.token("relay-other"))
            await send_json(other, {"op": "whoami"})
            other_id = (await recv_json(other))["connection"]

            await send_json(relay, {"op": "send_to", "connection": greeting["connection_id"], "text": "hi",
                                    "close": True})
            answer = await recv_json(relay)
            self.assertEqual((answer["status"], answer["closed"]), (3, False), "a /ws connection is refused")
            await send_json(client, {"type": "ping"})
            self.assertEqual(await recv_json(client), {"type": "pong"}, "the /ws client got nothing and stays open")

            await send_json(relay, {"op": "send_many", "connections": [other_id, greeting["connection_id"]],
                                    "text": '{"type":"many"}'})
            self.assertEqual(await recv_json(relay), {"type": "sent_many", "queued": 1})
            self.assertEqual(await recv_json(other), {"type": "many"})
            await send_json(relay, {"op": "send_to", "connection": other_id, "text": '{"type":"direct"}'})
            self.assertEqual((await recv_json(relay))["status"], 0)
            self.assertEqual(await recv_json(other), {"type": "direct"})
            for ws in (client, relay, other):
                await ws.close()

        run(scenario())

    def test_a_bus_only_publish_reaches_plugins_and_no_client(self):
        async def scenario():
            watcher, _ = await self.node.connect(self.node.token("gina"))
            self.assertEqual((await subscribe(watcher, "relay:in"))["type"], "subscribed")
            self.assertEqual((await subscribe(watcher, "relay:out"))["type"], "subscribed")
            relay, _ = await self.open_relay(self.node.token("relay-user"))
            await send_json(relay, {"op": "publish_bus", "topic": "relay:in", "data": {"n": 9}})
            self.assertEqual(await recv_json(relay), {"type": "published", "accepted": True, "offset": 0, "reason": ""})
            # The relay's bus handler saw it (and republished it to clients); the bus-only event itself reached none.
            event = await recv_json(watcher)
            self.assertEqual((event["topic"], event["data"]), ("relay:out", {"relayed": {"n": 9}}))
            await send_json(relay, {"op": "publish_bus", "topic": "bad topic", "data": {}})
            refused = await recv_json(relay)
            self.assertFalse(refused["accepted"])
            self.assertIn("invalid topic", refused["reason"])
            await send_json(watcher, {"type": "ping"})
            self.assertEqual(await recv_json(watcher), {"type": "pong"}, "nothing else reached the client")
            for ws in (watcher, relay):
                await ws.close()

        run(scenario())

    def test_a_plugins_metrics_and_health_show_on_metrics_and_healthz(self):
        async def scenario():
            relay, _ = await self.open_relay(self.node.token("relay-user"))
            await send_json(relay, {"op": "count", "n": 5})
            self.assertEqual(await recv_json(relay), {"type": "counted"})
            text = self.node.metrics()
            self.assertIn("# TYPE eventnode_relay_relayed_total counter\n", text)
            self.assertIn('eventnode_relay_relayed_total{kind="test"} 5\n', text)
            self.assertIn("eventnode_relay_subscribers 7\n", text)
            self.assertIn('eventnode_bus_handled_total{subscriber="relay"}', text)

            await send_json(relay, {"op": "health", "state": "degraded", "reason": "upstream gone for 40 s"})
            self.assertEqual(await recv_json(relay), {"type": "health_reported"})
            health = self.node.http("GET", "/healthz")
            self.assertEqual(health.status, 200, health.body)
            self.assertEqual(health.json()["status"], "degraded")
            self.assertEqual(health.json()["plugins"][0]["health"], "degraded")
            self.assertEqual(health.json()["plugins"][0]["reason"], "upstream gone for 40 s")

            await send_json(relay, {"op": "health", "state": "failing", "reason": "cannot work"})
            await recv_json(relay)
            health = self.node.http("GET", "/healthz")
            self.assertEqual((health.status, health.json()["status"]), (503, "failing"), health.body)

            await send_json(relay, {"op": "health", "state": "ok"})
            await recv_json(relay)
            health = self.node.http("GET", "/healthz")
            self.assertEqual((health.status, health.json()["status"]), (200, "ok"), health.body)
            self.assertNotIn("reason", health.json()["plugins"][0])
            await relay.close()

        run(scenario())

    def test_a_throwing_plugin_callback_closes_only_that_connection_with_1011(self):
        async def scenario():
            broken, _ = await self.open_relay(self.node.token("frank"))
            healthy, _ = await self.open_relay(self.node.token("grace"))
            await send_json(broken, {"op": "throw"})
            with self.assertRaises(websockets.exceptions.ConnectionClosed) as closed:
                await recv_json(broken)
            self.assertEqual(closed.exception.rcvd.code, 1011)
            await send_json(healthy, {"op": "echo", "text": "still here"})
            self.assertEqual(await recv_json(healthy), {"type": "echo", "text": "still here"})
            await healthy.close()
            self.assertIn("relay fixture told to throw", self.node.log())
        run(scenario())


if __name__ == "__main__":
    unittest.main()
