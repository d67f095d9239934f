"""Redis stopped and started again mid-stream (issue 16, third Proof bullet).

With appendonly on, a durable producer (retrying every publish answered 503, as an
outbox would) loses nothing: after Redis is back, the offsets continue, the epoch is
the same, and a client gets every accepted event once, in order. While Redis is
down, a publish is refused with 503 `unavailable` naming Redis, /healthz says
degraded, and the node keeps running.

With no persistence, Redis comes back empty: the next publication starts a new
epoch, a connected subscriber is told so (`subscribed` with `recovered:false` and
the new epoch) before the new events, and a reconnect with the old epoch gets
`recovered:false`: never a silent gap."""
import asyncio
import re
import unittest

from cluster_harness import (EVENT_DEADLINE, ClusterNode, DurablePublisher, RecoveringClient, RedisServer,
                             assert_consecutive, broker_of, fresh_topic, next_frame_of, open_ws, recv_json,
                             redis_broker, run, shard_entry, start_all, stop_all, subscribe, wait_async, wait_until)

FLOW_DEADLINE = 60.0


class RedisOutage:
    """Checks of what a node shows while its only Redis is down."""

    def assert_refuses_and_reports(self, node, redis):
        status, body = node.try_publish(fresh_topic("during-outage-"), {"n": 0})
        self.assertEqual(status, 503, f"a publish that cannot be made durable must be refused, got {status}: {body}")
        self.assertEqual(body["error"]["code"], "unavailable", body)
        self.assertRegex(body["error"]["message"], re.compile("redis", re.I), body)

        def degraded():
            status, health = node.health()
            if status != 200 or health.get("status") != "degraded":
                return None
            return health

        health = wait_until(degraded, EVENT_DEADLINE, interval=0.1,
                            what=f"/healthz of {node.node_id} to answer 200 degraded while Redis is down")
        broker = broker_of(health)
        self.assertEqual(broker["type"], "redis", broker)
        self.assertIn(broker["state"], ("degraded", "failing"), broker)
        shard = shard_entry(health, redis)
        self.assertEqual(shard["state"], "disconnected", shard)
        self.assertTrue(shard.get("reason"), f"a disconnected shard says why: {shard}")
        self.assertIsNone(node.process.poll(), "the node stays up while Redis is down")

    def wait_ok(self, node):
        def ok():
            status, health = node.health()
            return status == 200 and health.get("status") == "ok" and broker_of(health).get("state") == "ok"

        wait_until(ok, EVENT_DEADLINE, interval=0.1, what=f"/healthz of {node.node_id} to be ok again")


class RedisRestartWithAppendOnly(RedisOutage, unittest.TestCase):

    def setUp(self):
        self.redis = RedisServer(appendonly=True).start()
        broker = redis_broker(self.redis.url, timeout_ms=1000)
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
            stop_all(self.nodes, test=self)
        finally:
            self.redis.cleanup()

    def test_no_accepted_event_is_lost_and_the_epoch_stays(self):
        topic = fresh_topic("recorded-")
        publisher = DurablePublisher([self.role], [topic], rate=200, batch=10, tag="aof")
        client = RecoveringClient([self.g2, self.g1], self.g2.token("ops", "prosumer"), topic, name="ops")
        self.assertEqual(self.role.publish(topic, {"type": "Tick", "n": -1}), 1)  # the topic and its epoch exist

        async def scenario():
            done = asyncio.Event()
            task = asyncio.ensure_future(client.run(done.is_set))
            loop = asyncio.get_running_loop()
            try:
                await wait_async(lambda: client.confirmations, EVENT_DEADLINE, "the client subscribed")
                publisher.start()
                await wait_async(lambda: len(client.events) >= 200, FLOW_DEADLINE, "200 events before the restart")
                await loop.run_in_executor(None, self.redis.stop)
                await wait_async(lambda: publisher.unavailable, EVENT_DEADLINE,
                                 "the publisher to be answered 503 while Redis is down")
                await loop.run_in_executor(None, self.assert_refuses_and_reports, self.g2, self.redis)
                before = publisher.total()
                await loop.run_in_executor(None, self.redis.start)
                await wait_async(lambda: publisher.total() >= before + 200, FLOW_DEADLINE,
                                 "200 events accepted after Redis is back")
                await loop.run_in_executor(None, publisher.finish)
                last = publisher.snapshot(topic)[-1][0]
                await wait_async(lambda: client.events and client.events[-1]["offset"] >= last, FLOW_DEADLINE,
                                 f"the client to reach offset {last}")
            finally:
                done.set()
                await asyncio.gather(task, return_exceptions=True)
                await client.close()

        try:
            run(scenario())
        finally:
            if publisher.is_alive():
                publisher.finish()
        self.assertEqual(publisher.failures, [], "the publisher got answers other than 200 or 503")
        for body in publisher.unavailable:
            self.assertRegex(body, re.compile("unavailable", re.I), body)
        accepted = publisher.snapshot(topic)
        by_offset = dict(accepted)
        received = {e["offset"]: e["data"].get("n") for e in client.events}
        # 1. Nothing lost: every event the producer was told is published reached the client, at its offset.
        lost = [(o, n, received.get(o)) for o, n in accepted if received.get(o) != n]
        self.assertEqual(lost, [], "(offset, n published, n received) of accepted events the client did not get")
        # 2. In order, once each, no gap (the epoch is the same, so there is no excuse for one).
        assert_consecutive(self, client.events, 2, accepted[-1][0], "the client")
        # 3. No copies: every offset the client saw was acknowledged to the producer. Redis may run a publish and
        #    go down before answering (the producer gets 503); the retry with the same idempotency_key is then
        #    answered with the offset the first attempt got, instead of recording the event again.
        unacknowledged = [(o, n, [a for a, m in accepted if m == n]) for o, n in received.items() if o not in by_offset]
        self.assertEqual(unacknowledged, [],
                         "(offset, n, offsets where n was published again) of events recorded although their publish "
                         f"was answered 'unavailable' (the producer then published them again); 503 bodies: "
                         f"{[b[:300] for b in publisher.unavailable[:3]]}")
        epochs = {c["epoch"] for c in client.confirmations}
        self.assertEqual(len(epochs), 1, f"the epoch changed although Redis kept its data: {client.confirmations}")
        not_recovered = [c for c in client.confirmations[1:] if not c.get("recovered")]
        self.assertEqual(not_recovered, [], "every resubscription recovered")
        self.wait_ok(self.g2)


class RedisRestartWithoutPersistence(RedisOutage, unittest.TestCase):

    def setUp(self):
        self.redis = RedisServer(appendonly=False).start()
        broker = redis_broker(self.redis.url, timeout_ms=1000)
        self.g1 = ClusterNode("gateway-1", broker)
        self.g2 = ClusterNode("gateway-2", broker)
        self.role = ClusterNode("solana-listener-1", broker, role="solana-listener")
        self.nodes = [self.g1, self.g2, self.role]
        try:
            start_all(self.nodes)
        except BaseException:
            self.redis.cleanup()
            raise

    def tearDown(self):
        try:
            stop_all(self.nodes, test=self)
        finally:
            self.redis.cleanup()

    def publish_until_accepted(self, topic, data):
        """A durable producer: retries a 503 until the publication is accepted; returns its offset."""
        def attempt():
            status, body = self.role.try_publish(topic, data)
            if status == 503:
                return None
            self.assertEqual(status, 200, body)
            return body["offset"]

        return wait_until(attempt, EVENT_DEADLINE, interval=0.1, what=f"a publish on {topic} to be accepted")

    def test_subscribers_are_told_the_new_epoch_before_the_new_events(self):
        topic = fresh_topic("volatile-")
        token = self.g2.token("viewer", "prosumer")

        async def scenario():
            loop = asyncio.get_running_loop()
            self.assertEqual(self.role.publish(topic, {"n": -1}), 1)  # the topic and its epoch exist
            ws, _ = await open_ws(self.g2, token)
            first = await subscribe(ws, topic)
            self.assertEqual((first["type"], first["offset"]), ("subscribed", 1), first)
            old_epoch = first["epoch"]
            for i in range(4):
                self.role.publish(topic, {"n": i})
            for i in range(4):
                frame = await recv_json(ws, EVENT_DEADLINE)
                self.assertEqual((frame.get("offset"), frame.get("data")), (i + 2, {"n": i}), frame)

            await loop.run_in_executor(None, self.redis.stop)
            await loop.run_in_executor(None, self.assert_refuses_and_reports, self.g2, self.redis)
            await loop.run_in_executor(None, self.redis.start)
            offsets = []
            for i in range(5, 9):
                offsets.append(await loop.run_in_executor(None, self.publish_until_accepted, topic, {"n": i}))
            self.assertEqual(offsets, list(range(offsets[0], offsets[0] + 4)), offsets)

            # The client either stayed connected (and must be told) or was closed (and reconnects with
            # since + the old epoch, as docs/protocol.md says). Either way: told before any new event.
            frames = []
            try:
                notice, skipped = await next_frame_of(
                    ws, lambda f: f.get("type") in ("subscribed", "event") and f.get("topic") == topic,
                    what=f"a frame of {topic} after Redis came back empty")
                frames = [notice]
            except Exception as error:  # noqa: BLE001 - a closed connection is the other allowed path
                import websockets.exceptions
                if not isinstance(error, websockets.exceptions.ConnectionClosed):
                    raise
                ws, _ = await open_ws(self.g2, token)
                notice = await subscribe(ws, topic, since=5, epoch=old_epoch)
                frames = [notice]
            self.assertEqual(notice.get("type"), "subscribed",
                             f"an event came before the client was told the epoch changed (a silent gap): {notice}")
            self.assertEqual(notice.get("recovered"), False, notice)
            self.assertNotEqual(notice.get("epoch"), old_epoch, notice)
            new_epoch = notice["epoch"]
            events = []
            while len(events) < 4:
                frame = await recv_json(ws, EVENT_DEADLINE)
                frames.append(frame)
                if frame.get("type") == "event" and frame.get("topic") == topic:
                    events.append(frame)
                elif frame.get("topic") == topic:
                    self.fail(f"unexpected frame of {topic} after the notice: {frame}; frames {frames}")
            self.assertEqual([e["data"] for e in events], [{"n": i} for i in range(5, 9)], frames)
            self.assertEqual([e["offset"] for e in events], offsets, frames)
            self.assertEqual(events[0]["offset"], notice["offset"] + 1,
                             f"live events continue from the notice's offset + 1: {frames}")
            await ws.close()

            # A reconnect, elsewhere, with the old epoch: not recovered, told the new epoch.
            other, _ = await open_ws(self.g1, token)
            again = await subscribe(other, topic, since=5, epoch=old_epoch)
            self.assertEqual((again["type"], again["recovered"], again["epoch"]), ("subscribed", False, new_epoch),
                             again)
            await other.close()
            # With the new epoch and an offset it still holds: recovered.
            other, _ = await open_ws(self.g1, token)
            fine = await subscribe(other, topic, since=offsets[1], epoch=new_epoch)
            self.assertEqual((fine["type"], fine.get("recovered")), ("subscribed", True), fine)
            replay = [await recv_json(other, EVENT_DEADLINE) for _ in range(2)]
            self.assertEqual([f.get("offset") for f in replay], offsets[2:], replay)
            await other.close()
            self.wait_ok(self.g2)

        run(scenario())


if __name__ == "__main__":
    unittest.main()
