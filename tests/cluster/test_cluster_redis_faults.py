"""Redis unreachable at start, a wrong password, and one of two shards down
(issue 16, fifth Proof bullet): each gives a clear error (503 `unavailable` on
publish) or a degraded /healthz naming the shard and the reason, the node keeps
serving what it can, and recovers when Redis is there. Also the sixth bullet:
with two shards, topics are spread over both and a gateway's client gets events
from topics on either."""
import asyncio
import re
import unittest

from cluster_harness import (EVENT_DEADLINE, ClusterNode, RedisServer, broker_of, fresh_topic, open_ws,
                             redis_broker, run, shard_entry, shard_of, start_all, stop_all, subscribe, wait_until)
from node_harness import free_port, receive_events


def health_state(node, status=None, broker_state=None):
    """A condition for wait_until: /healthz answers 200 with these top-level and broker states."""
    def check():
        code, health = node.health()
        if code != 200:
            return None
        if status is not None and health.get("status") != status:
            return None
        if broker_state is not None and health.get("broker", {}).get("state") not in broker_state:
            return None
        return health
    return check


class RedisUnreachableAtStart(unittest.TestCase):

    def test_the_node_starts_degraded_refuses_publishes_and_recovers_when_redis_appears(self):
        port = free_port()
        redis = RedisServer(port=port)
        node = ClusterNode("gateway-1", redis_broker(redis.url, timeout_ms=500))
        try:
            node.start()  # /healthz answers 200 although Redis is not there
            health = wait_until(health_state(node, "degraded"), EVENT_DEADLINE, interval=0.1,
                                what="/healthz 200 degraded with Redis unreachable")
            broker = broker_of(health)
            self.assertEqual(broker["type"], "redis", broker)
            self.assertIn(broker["state"], ("degraded", "failing"), broker)
            shard = shard_entry(health, redis)
            self.assertEqual(shard["state"], "disconnected", shard)
            self.assertTrue(shard.get("reason"), shard)

            status, body = node.try_publish(fresh_topic("early-"), {"n": 1})
            self.assertEqual(status, 503, body)
            self.assertEqual(body["error"]["code"], "unavailable", body)
            self.assertRegex(body["error"]["message"], re.compile("redis", re.I), body)

            async def still_serving():
                ws, greeting = await open_ws(node, node.token("early", "prosumer"))
                self.assertEqual(greeting["type"], "connected")
                await ws.close()
            run(still_serving())
            node.metrics()  # still answers 200

            redis.start()
            wait_until(health_state(node, "ok", ("ok",)), EVENT_DEADLINE, interval=0.1,
                       what="/healthz ok once Redis is there")
            topic = fresh_topic("late-")

            async def delivered():
                ws, _ = await open_ws(node, node.token("late", "prosumer"))
                self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
                self.assertEqual(node.publish(topic, {"n": 2}), 1)
                [event] = await receive_events(ws, topic, 1, timeout=EVENT_DEADLINE)
                self.assertEqual(event["data"], {"n": 2})
                await ws.close()
            run(delivered())
            self.assertEqual(node.stop(), 0, node.log())
        finally:
            node.cleanup()
            redis.cleanup()


class RedisWrongPassword(unittest.TestCase):
    PASSWORD = "right-horse-battery-staple-0123"
    WRONG = "wrong-password-that-must-not-show-4567"

    def test_a_wrong_password_is_a_disconnected_shard_with_the_auth_failure_and_the_right_one_works(self):
        redis = RedisServer(password=self.PASSWORD).start()
        wrong = ClusterNode("gateway-1", redis_broker(redis.url_with(self.WRONG), timeout_ms=500))
        right = ClusterNode("gateway-2", redis_broker(redis.url, password=self.PASSWORD, timeout_ms=500))
        try:
            start_all([wrong, right])
            health = wait_until(health_state(wrong, "degraded"), EVENT_DEADLINE, interval=0.1,
                                what="/healthz degraded with a wrong Redis password")
            shard = shard_entry(health, redis)
            self.assertEqual(shard["state"], "disconnected", shard)
            self.assertRegex(shard.get("reason", ""), re.compile(r"WRONGPASS|invalid.*password|auth", re.I), shard)
            status, body = wrong.try_publish(fresh_topic("nope-"), {"n": 1})
            self.assertEqual((status, body["error"]["code"]), (503, "unavailable"), body)

            wait_until(health_state(right, "ok", ("ok",)), EVENT_DEADLINE, interval=0.1,
                       what="/healthz ok with the right password (redis.password)")
            self.assertEqual(right.publish(fresh_topic("yes-"), {"n": 1}), 1)

            for node in (wrong, right):
                _, text = node.health()
                self.assertNotIn(self.WRONG, str(text), "the password shows on /healthz")
                self.assertNotIn(self.PASSWORD, str(text), "the password shows on /healthz")
            self.assertEqual(wrong.stop(), 0)
            self.assertEqual(right.stop(), 0)
            for node in (wrong, right):
                self.assertNotIn(self.WRONG, node.log(), "the password is in the log")
                self.assertNotIn(self.PASSWORD, node.log(), "the password is in the log")
        finally:
            wrong.cleanup()
            right.cleanup()
            redis.cleanup()


class TwoShards(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.shards = [RedisServer(appendonly=True).start(), RedisServer(appendonly=True).start()]
        broker = redis_broker([r.url for r in cls.shards], timeout_ms=500)
        cls.g1 = ClusterNode("gateway-1", broker)
        cls.g2 = ClusterNode("gateway-2", broker)
        cls.nodes = [cls.g1, cls.g2]
        try:
            start_all(cls.nodes)
        except BaseException:
            for r in cls.shards:
                r.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            stop_all(cls.nodes)
        finally:
            for r in cls.shards:
                r.cleanup()

    def one_topic_on_each_shard(self, prefix):
        """Fresh topics, one published on each shard: {shard index: topic}."""
        placed = {}
        for _ in range(64):
            topic = fresh_topic(prefix)
            self.g1.publish(topic, {"placing": True})
            holder = shard_of(self.shards, topic)
            self.assertIsNotNone(holder, f"no shard holds {topic}'s meta key")
            placed.setdefault(self.shards.index(holder), topic)
            if len(placed) == 2:
                return placed
        self.fail(f"64 topics all went to one shard: {placed}")

    def test_topics_are_spread_over_both_shards_and_a_client_gets_events_from_either(self):
        topics = [fresh_topic("spread-") for _ in range(16)]
        for topic in topics:
            self.g1.publish(topic, {"n": 0})
        placement = {}
        for topic in topics:
            holder = shard_of(self.shards, topic)
            self.assertIsNotNone(holder, f"no shard holds {topic}")
            self.assertIn(f"eventnode:{{{topic}}}:stream", holder.keys(f"eventnode:{{{topic}}}:*"),
                          "history lives next to the meta key")
            placement[topic] = self.shards.index(holder)
        counts = [list(placement.values()).count(i) for i in (0, 1)]
        self.assertTrue(all(counts), f"16 topics should spread over both shards, got {counts}")
        heartbeats = [k for r in self.shards for k in r.keys("eventnode:server:*")]
        self.assertIn("eventnode:server:gateway-1", heartbeats)
        self.assertIn("eventnode:server:gateway-2", heartbeats)

        on = {i: next(t for t in topics if placement[t] == i) for i in (0, 1)}

        async def scenario():
            ws, _ = await open_ws(self.g2, self.g2.token("spread", "prosumer"))
            for i in (0, 1):
                confirmation = await subscribe(ws, on[i])
                self.assertEqual((confirmation["type"], confirmation["offset"]), ("subscribed", 1), confirmation)
            for i in (0, 1):
                self.assertEqual(self.g1.publish(on[i], {"shard": i}), 2)
                [event] = await receive_events(ws, on[i], 1, timeout=EVENT_DEADLINE)
                self.assertEqual((event["offset"], event["data"]), (2, {"shard": i}))
            await ws.close()

        run(scenario())

    def test_one_shard_down_leaves_the_other_working_and_healthz_names_it(self):
        placed = self.one_topic_on_each_shard("down-")
        up, down = self.shards
        up_topic, down_topic = placed[0], placed[1]

        async def scenario():
            loop = asyncio.get_running_loop()
            ws, _ = await open_ws(self.g2, self.g2.token("halfway", "prosumer"))
            for topic in (up_topic, down_topic):
                self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
            await loop.run_in_executor(None, down.stop)
            try:
                health = await loop.run_in_executor(None, lambda: wait_until(
                    health_state(self.g2, "degraded"), EVENT_DEADLINE, interval=0.1,
                    what="/healthz degraded with one shard down"))
                self.assertEqual(broker_of(health)["state"], "degraded", broker_of(health))
                self.assertEqual(shard_entry(health, down)["state"], "disconnected", health)
                self.assertTrue(shard_entry(health, down).get("reason"), health)
                self.assertEqual(shard_entry(health, up)["state"], "connected", health)

                self.assertEqual(self.g1.publish(up_topic, {"still": "working"}), 2)
                [event] = await receive_events(ws, up_topic, 1, timeout=EVENT_DEADLINE)
                self.assertEqual(event["data"], {"still": "working"})
                status, body = self.g1.try_publish(down_topic, {"lost": "no"})
                self.assertEqual((status, body["error"]["code"]), (503, "unavailable"), body)
                self.assertRegex(body["error"]["message"], re.compile("redis", re.I), body)
            finally:
                await loop.run_in_executor(None, down.start)

            await loop.run_in_executor(None, lambda: wait_until(
                health_state(self.g1, "ok", ("ok",)), EVENT_DEADLINE, interval=0.1,
                what="/healthz of gateway-1 ok once the shard is back"))
            await loop.run_in_executor(None, lambda: wait_until(
                health_state(self.g2, "ok", ("ok",)), EVENT_DEADLINE, interval=0.1,
                what="/healthz of gateway-2 ok once the shard is back"))
            self.assertEqual(self.g1.publish(down_topic, {"back": True}), 2,
                             "the shard kept its data (appendonly): the offsets continue")
            [event] = await receive_events(ws, down_topic, 1, timeout=EVENT_DEADLINE)
            self.assertEqual((event["offset"], event["data"]), (2, {"back": True}))
            await ws.close()

        run(scenario())


if __name__ == "__main__":
    unittest.main()
