"""Gateway 1 killed with kill -9 while about 1,000 events a second flow (issue 16,
second Proof bullet): its clients reconnect to gateway 2 with `since` and `epoch`
and receive every event exactly once, in order; and the killed server leaves
scope=cluster within the heartbeat TTL."""
import asyncio
import threading
import time
import unittest

from cluster_harness import (EVENT_DEADLINE, HEARTBEAT_TTL, ClusterNode, DurablePublisher, RecoveringClient,
                             RedisServer, assert_consecutive, fresh_topic, redis_broker, run, start_all, stop_all,
                             wait_async)

RATE = 1000  # events a second, over all topics
FLOW_DEADLINE = 60.0


class ClusterFailover(unittest.TestCase):

    def setUp(self):
        self.redis = RedisServer().start()
        broker = redis_broker(self.redis.url)
        self.g1 = ClusterNode("gateway-1", broker)
        self.g2 = ClusterNode("gateway-2", broker)
        self.role = ClusterNode("pow-ingest-1", broker, role="pow-ingest")
        self.nodes = [self.g1, self.g2, self.role]
        try:
            start_all(self.nodes)
        except BaseException:
            self.redis.cleanup()
            raise

    def tearDown(self):
        try:
            stop_all([self.g2, self.role], test=self)
            self.g1.cleanup()
        finally:
            self.redis.cleanup()

    def test_clients_of_a_killed_gateway_get_every_event_exactly_once_in_order_on_the_other(self):
        topics = [fresh_topic("flow-a-"), fresh_topic("flow-b-")]
        publisher = DurablePublisher([self.role], topics, rate=RATE, batch=50, tag="failover")
        nodes = [self.g1, self.g2]
        clients = [RecoveringClient(nodes, self.g1.token(f"w{i}", "prosumer"), topics[i % 2], name=f"w{i}")
                   for i in range(4)]
        witness = RecoveringClient([self.g2], self.g2.token("witness", "prosumer"), topics[0], name="witness")
        everyone = clients + [witness]
        timeline = {}
        for topic in topics:  # the topics exist (and have their epoch) before anyone subscribes
            self.assertEqual(self.role.publish(topic, {"type": "Tick", "n": -1}), 1)

        def watch_gone():
            deadline = timeline["kill"] + HEARTBEAT_TTL + 10
            while time.monotonic() < deadline:
                try:
                    ids = [s["server_id"] for s in self.g2.cluster()["servers"]]
                except (AssertionError, OSError, ValueError, KeyError):
                    ids = ["?"]
                if "gateway-1" not in ids and "gateway-2" in ids and "pow-ingest-1" in ids:
                    timeline["gone"] = time.monotonic()
                    return
                time.sleep(0.1)  # polling interval of a bounded watch

        async def scenario():
            done = asyncio.Event()
            tasks = [asyncio.ensure_future(c.run(done.is_set)) for c in everyone]
            try:
                await wait_async(lambda: all(c.confirmations for c in everyone), EVENT_DEADLINE,
                                 "every client subscribed")
                self.assertEqual([c.connections for c in clients], [["gateway-1"]] * 4)
                publisher.start()
                await wait_async(lambda: all(len(c.events) >= 300 for c in clients), FLOW_DEADLINE,
                                 "300 events on each client of gateway 1")
                at_kill = publisher.total()
                timeline["kill"] = time.monotonic()
                self.g1.kill9()
                watcher = threading.Thread(target=watch_gone, daemon=True)
                watcher.start()
                await wait_async(lambda: publisher.total() >= at_kill + 2 * RATE, FLOW_DEADLINE,
                                 "2 more seconds of events published after the kill")
                await asyncio.get_running_loop().run_in_executor(None, publisher.finish)
                last = {t: publisher.snapshot(t)[-1][0] for t in topics}
                await wait_async(lambda: all(c.last_offset == last[c.topic] and c.events
                                             and c.events[-1]["offset"] == last[c.topic] for c in everyone),
                                 FLOW_DEADLINE, "every client to reach the last offset published")
                await wait_async(lambda: "gone" in timeline or time.monotonic() > timeline["kill"] + HEARTBEAT_TTL + 10,
                                 HEARTBEAT_TTL + 15, "the scope=cluster watch to end")
            finally:
                done.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                for c in everyone:
                    await c.close()

        try:
            run(scenario())
        finally:
            if publisher.is_alive():
                publisher.finish()
        self.assertEqual(publisher.failures, [], "the publisher got answers other than 200 or 503")
        for topic in topics:
            accepted = publisher.snapshot(topic)
            self.assertEqual([o for o, _ in accepted], list(range(2, len(accepted) + 2)),
                             f"{topic}: the offsets the publisher got back are not 2..N")
        self.assertGreaterEqual(publisher.total(), 3 * RATE // 2)
        for client in everyone:
            by_offset = dict(publisher.snapshot(client.topic))
            last = max(by_offset)
            assert_consecutive(self, client.events, 2, last, client.name)
            wrong = [(e["offset"], e["data"].get("n"), by_offset[e["offset"]]) for e in client.events
                     if e["data"].get("n") != by_offset[e["offset"]]]
            self.assertEqual(wrong, [], f"{client.name}: events whose data is not what was published at that offset")
        for client in clients:
            self.assertEqual(client.connections, ["gateway-1", "gateway-2"],
                             f"{client.name} should have moved from gateway 1 to gateway 2 once")
            self.assertEqual(len(client.confirmations), 2, client.confirmations)
            first, again = client.confirmations
            self.assertEqual((again["recovered"], again["epoch"]), (True, first["epoch"]),
                             f"{client.name}: the resubscription on gateway 2 did not recover: {again}")
        self.assertEqual(witness.connections, ["gateway-2"])
        gaps = [c.confirmations[1]["offset"] - c.sinces[1] for c in clients]
        self.assertTrue(any(gap > 0 for gap in gaps),
                        f"no client had anything to recover after the kill (gaps {gaps}): the scenario proved nothing")

        # The dead server left the cluster view within the heartbeat TTL (plus a second to look).
        self.assertIn("gone", timeline, "gateway-1 never left scope=cluster")
        self.assertLessEqual(timeline["gone"] - timeline["kill"], HEARTBEAT_TTL + 1.0,
                             f"gateway-1 left scope=cluster {timeline['gone'] - timeline['kill']:.1f} s after kill -9")
        view = self.g2.cluster()
        self.assertEqual(view["total_connections"], sum(s["total_connections"] for s in view["servers"]))


if __name__ == "__main__":
    unittest.main()
