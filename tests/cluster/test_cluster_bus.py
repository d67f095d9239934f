"""The in-process bus across processes (issue 16, fourth Proof bullet): a plugin's
subscription in one process gets a bus publication from another.

- The `relay` fixture plugin (tests/fixtures/plugins/relay_plugin.cpp) subscribes to
  `relay:in` on the bus and republishes what it gets on `relay:out`. With relay in a
  gateway and in a role process, one bus-only publication (publishToBus) made in
  the gateway is relayed by both: exactly two events on relay:out. A publication over
  HTTP on a third process that has no relay is relayed by both too.
- `broker.local_bus_topics` keeps a bus topic in its process: relayed once.
- The real-world case: a watch request on `solana:watch` published on the bus of a
  gateway is answered by the solana-listener process (against tools/solana_sim) on
  `solana:tx:<signature>`, which a client of the gateway receives; and the
  listener's program events reach that client too.
"""
import sys
import unittest

from cluster_harness import (EVENT_DEADLINE, REPO, ClusterNode, RedisServer, fresh_topic, next_frame_of, open_relay,
                             open_ws, recv_json, redis_broker, run, send_json, start_all, stop_all, subscribe,
                             wait_until)
from node_harness import receive_events

sys.path.insert(0, str(REPO / "tests" / "solana_listener"))
from harness import SolanaSim, install_simulator  # noqa: E402


def setUpModule():
    install_simulator()


async def published(relay):
    """The relay's answer to publish_bus."""
    answer = await recv_json(relay, EVENT_DEADLINE)
    if answer.get("type") != "published":
        raise AssertionError(f"relay answered {answer}")
    return answer


class BusAcrossProcesses(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.sim = None
        try:
            cls.sim = SolanaSim()
            broker = redis_broker(cls.redis.url)
            info = cls.sim.info
            cls.program = info["token_program"]
            listener_config = {"rpc_url": info["rpc_url"], "ws_url": info["ws_url"], "commitment": "confirmed",
                               "programs": [{"id": cls.program}], "reconcile_interval_seconds": 2,
                               "ping_interval_seconds": 2, "pong_timeout_seconds": 2, "reconnect_min_ms": 100,
                               "reconnect_max_ms": 1000, "rpc_timeout_ms": 2000}
            cls.gateway = ClusterNode("gateway-1", broker, plugins=[{"name": "relay"}])
            cls.role = ClusterNode("relay-1", broker, role="relay", plugins=[{"name": "relay"}])
            cls.listener = ClusterNode("solana-listener-1", broker, role="solana-listener",
                                       plugins=[{"name": "solana_listener", "config": listener_config}])
            cls.nodes = [cls.gateway, cls.role, cls.listener]
            start_all(cls.nodes)

            def cursor():
                answer = cls.listener.http("GET", "/api/solana/status", token=cls.listener.admin_token())
                return answer.status == 200 and answer.json()["programs"].get(cls.program, {}).get("cursor")

            wait_until(cursor, EVENT_DEADLINE * 2, interval=0.1, what="the listener's first walk of the token program")
        except BaseException:
            if cls.sim is not None:
                cls.sim.stop()
            cls.redis.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            stop_all(cls.nodes)
        finally:
            cls.sim.stop()
            cls.redis.cleanup()

    def test_a_bus_publication_reaches_the_plugin_subscriptions_of_every_process_once(self):
        async def scenario():
            watcher, _ = await open_ws(self.listener, self.listener.token("watcher", "prosumer"))
            self.assertEqual((await subscribe(watcher, "relay:out"))["type"], "subscribed")
            relay = await open_relay(self.gateway, self.gateway.token("svc", "admin"))

            for k in ("first", "second"):
                await send_json(relay, {"op": "publish_bus", "topic": "relay:in", "data": {"k": k}})
                answer = await published(relay)
                self.assertEqual((answer["accepted"], answer["offset"]), (True, 0), answer)
                events = await receive_events(watcher, "relay:out", 2, timeout=EVENT_DEADLINE)
                self.assertEqual([e["data"] for e in events], [{"relayed": {"k": k}}] * 2,
                                 "relayed by the gateway's relay and by the role process's relay, once each")

            # Over HTTP on the listener process, which has no relay: both relays get it.
            self.listener.publish("relay:in", {"k": "http"})
            events = await receive_events(watcher, "relay:out", 2, timeout=EVENT_DEADLINE)
            self.assertEqual([e["data"] for e in events], [{"relayed": {"k": "http"}}] * 2)
            # Nothing came three times: the next relay:out is the next request's.
            await send_json(relay, {"op": "publish_bus", "topic": "relay:in", "data": {"k": "last"}})
            await published(relay)
            events = await receive_events(watcher, "relay:out", 2, timeout=EVENT_DEADLINE)
            self.assertEqual([e["data"] for e in events], [{"relayed": {"k": "last"}}] * 2)
            await watcher.close()
            await relay.close()

        run(scenario())

    def test_a_solana_watch_from_a_gateway_is_answered_by_the_listener_process(self):
        signature = self.sim.info["setup_signatures"][0]
        topic = f"solana:tx:{signature}"
        program_topic = f"solana:program:{self.program}"

        async def scenario():
            client, _ = await open_ws(self.gateway, self.gateway.token("wallet", "prosumer"))
            self.assertEqual((await subscribe(client, topic, since=0))["type"], "subscribed")
            self.assertEqual((await subscribe(client, program_topic))["type"], "subscribed")
            relay = await open_relay(self.gateway, self.gateway.token("meter", "admin"))
            await send_json(relay, {"op": "publish_bus", "topic": "solana:watch",
                                    "data": {"signature": signature, "commitment": "confirmed"}})
            self.assertTrue((await published(relay))["accepted"])
            status, _ = await next_frame_of(
                client, lambda f: f.get("topic") == topic and f.get("data", {}).get("type") == "SolanaSignatureStatus",
                timeout=EVENT_DEADLINE * 2, what=f"the watch's answer on {topic}")
            self.assertEqual(status["data"]["signature"], signature)
            self.assertIn(status["data"]["status"], ("confirmed", "finalized"), status)
            self.assertIsNone(status["data"]["err"], status)

            minted = self.sim.mint(1)["signatures"]
            event, _ = await next_frame_of(
                client, lambda f: f.get("topic") == program_topic and f.get("type") == "event",
                timeout=EVENT_DEADLINE * 2, what=f"the mint's event on {program_topic}")
            self.assertEqual((event["data"]["type"], event["data"]["signature"]), ("SolanaTransaction", minted[0]))
            await client.close()
            await relay.close()

        run(scenario())


class LocalBusTopics(unittest.TestCase):

    def test_a_bus_topic_listed_in_local_bus_topics_stays_in_its_process(self):
        redis = RedisServer().start()
        local = ClusterNode("gateway-1", redis_broker(redis.url, local_bus_topics=["relay:in"]),
                            plugins=[{"name": "relay"}])
        other = ClusterNode("relay-1", redis_broker(redis.url), role="relay", plugins=[{"name": "relay"}])
        try:
            start_all([local, other])

            async def scenario():
                watcher, _ = await open_ws(other, other.token("watcher", "prosumer"))
                self.assertEqual((await subscribe(watcher, "relay:out"))["type"], "subscribed")
                relay = await open_relay(local, local.token("svc", "admin"))
                await send_json(relay, {"op": "publish_bus", "topic": "relay:in", "data": {"k": "local"}})
                await published(relay)
                [event] = await receive_events(watcher, "relay:out", 1, timeout=EVENT_DEADLINE)
                self.assertEqual(event["data"], {"relayed": {"k": "local"}})
                # The next relay:out is a marker published over HTTP, not a second copy from relay-1.
                marker = fresh_topic("marker-")
                self.assertGreater(local.publish("relay:out", {"marker": marker}), 0)
                frame = await recv_json(watcher, EVENT_DEADLINE)
                self.assertEqual(frame.get("data"), {"marker": marker},
                                 f"relay:in is local to gateway-1, yet another process relayed it: {frame}")
                await watcher.close()
                await relay.close()

            run(scenario())
            stop_all([local, other], test=self)
        finally:
            local.cleanup()
            other.cleanup()
            redis.cleanup()


if __name__ == "__main__":
    unittest.main()
