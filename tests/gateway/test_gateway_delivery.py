"""Delivery through the WebSocket gateway, seen by python3-websockets: greeting,
subscriptions, ordered offsets, per-user delivery, filters, recovery, counts."""
import asyncio
import threading
import time
import unittest

from node_harness import (FRAME_DEADLINE, NODE_ID, NodeTestCase, fresh_topic, receive_events, recv_json, run,
                          send_json, subscribe, wait_until)


class GatewayDelivery(NodeTestCase, unittest.TestCase):

    def test_subscriber_receives_published_events_in_order_with_consecutive_offsets(self):
        node = self.node
        topic = fresh_topic("prices-")
        before = [node.publish(topic, {"type": "PriceTick", "n": i}) for i in range(3)]
        self.assertEqual(before, [1, 2, 3], "offsets of a topic start at 1 and grow by 1")

        async def scenario():
            ws, greeting = await node.connect(node.token("carol", "prosumer"))
            self.assertEqual(greeting["type"], "connected")
            confirmation = await subscribe(ws, topic)
            self.assertEqual(confirmation["type"], "subscribed", confirmation)
            self.assertEqual(confirmation["topic"], topic)
            self.assertEqual(confirmation["offset"], 3, "offset is the topic's latest offset when subscribing")
            self.assertIsInstance(confirmation["epoch"], str)
            self.assertTrue(confirmation["epoch"])
            published = [{"type": "PriceTick", "symbol": "kWh", "price": 0.2 + i / 100, "n": i,
                          "nested": {"list": [i, "x", None, True]}} for i in range(20)]
            offsets = [node.publish(topic, data) for data in published]
            self.assertEqual(offsets, list(range(4, 24)))
            events = await receive_events(ws, topic, 20)
            self.assertEqual([e["offset"] for e in events], list(range(4, 24)))
            self.assertEqual([e["data"] for e in events], published, "data is the publisher's object, unchanged")
            await ws.close()

        run(scenario())

    def test_greeting_names_the_user_roles_node_and_automatic_topics_then_confirms_query_subscriptions(self):
        node = self.node
        first, second = fresh_topic("news-"), fresh_topic("prices-")

        async def scenario():
            ws, greeting = await node.connect(node.token("alice", "prosumer"), subscriptions=[first, second])
            self.assertEqual(greeting["type"], "connected")
            self.assertIsInstance(greeting["connection_id"], int)
            self.assertEqual(greeting["user"], "alice")
            self.assertEqual(greeting["roles"], ["prosumer"])
            self.assertEqual(greeting["node_id"], NODE_ID)
            self.assertEqual(sorted(greeting["topics"]), ["broadcast", "user:alice"])
            confirmations = [await recv_json(ws), await recv_json(ws)]
            self.assertEqual(sorted((c["type"], c["topic"]) for c in confirmations),
                             sorted([("subscribed", first), ("subscribed", second)]))
            await ws.close()

            admin, admin_greeting = await node.connect(node.token("root", "admin"))
            self.assertEqual(sorted(admin_greeting["topics"]), ["admins", "broadcast", "user:root"])
            self.assertNotEqual(admin_greeting["connection_id"], greeting["connection_id"])
            await admin.close()

        run(scenario())

    def test_automatic_subscriptions_deliver_broadcast_and_own_user_topic_without_subscribing(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("dave", "prosumer"))
            answer = node.http("POST", "/api/ws/broadcast", {"data": {"type": "Maintenance", "at": "02:00"}},
                               token=node.admin_token())
            self.assertEqual(answer.status, 200, answer.body)
            self.assertEqual(answer.json()["topic"], "broadcast")
            [event] = await receive_events(ws, "broadcast", 1)
            self.assertEqual(event["data"], {"type": "Maintenance", "at": "02:00"})
            self.assertEqual(event["offset"], answer.json()["offset"])
            offset = node.publish("user:dave", {"type": "Invoice", "amount": 12})
            [event] = await receive_events(ws, "user:dave", 1)
            self.assertEqual((event["offset"], event["data"]), (offset, {"type": "Invoice", "amount": 12}))
            await ws.close()

        run(scenario())

    def test_publishing_to_a_user_topic_reaches_every_connection_of_that_user_and_no_other_user(self):
        node = self.node

        async def scenario():
            alice_token, bob_token = node.token("alice2", "prosumer"), node.token("bob2", "prosumer")
            alice_a, _ = await node.connect(alice_token)
            alice_b, _ = await node.connect(alice_token)
            bob, _ = await node.connect(bob_token)
            offset = node.publish("user:alice2", {"type": "TokensMinted", "amount": 5})
            for ws in (alice_a, alice_b):
                [event] = await receive_events(ws, "user:alice2", 1)
                self.assertEqual((event["offset"], event["data"]), (offset, {"type": "TokensMinted", "amount": 5}))
            # Bob's next frame must be his own event, published after alice's: nothing of alice's came in between.
            bob_offset = node.publish("user:bob2", {"type": "TokensMinted", "amount": 7})
            frame = await recv_json(bob)
            self.assertEqual((frame["type"], frame["topic"], frame["offset"]), ("event", "user:bob2", bob_offset), frame)
            for ws in (alice_a, alice_b, bob):
                await ws.close()

        run(scenario())

    def test_ping_message_gets_pong_and_websocket_ping_gets_pong_frame(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("erin"))
            await send_json(ws, {"type": "ping"})
            self.assertEqual(await recv_json(ws), {"type": "pong"})
            pong_waiter = await ws.ping(b"are-you-there")
            await asyncio.wait_for(pong_waiter, FRAME_DEADLINE)
            await ws.close()

        run(scenario())

    def test_unsubscribe_stops_delivery_and_unsubscribing_again_is_not_subscribed(self):
        node = self.node
        topic = fresh_topic("news-")

        async def scenario():
            ws, _ = await node.connect(node.token("frank"))
            self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
            await send_json(ws, {"type": "unsubscribe", "data": {"topic": topic}})
            self.assertEqual(await recv_json(ws), {"type": "unsubscribed", "topic": topic})
            node.publish(topic, {"n": 1})
            await send_json(ws, {"type": "unsubscribe", "data": {"topic": topic}})
            frame = await recv_json(ws)  # the event must not come first
            self.assertEqual((frame["type"], frame.get("code")), ("error", "not_subscribed"), frame)
            await ws.close()

        run(scenario())

    def test_subscribers_on_both_io_threads_keep_receiving_as_others_leave_and_rejoin(self):
        # The harness runs 2 I/O threads and connections alternate between
        # them; a publish wakes only threads holding a subscriber of the topic.
        node = self.node
        topic = fresh_topic("spread-")

        async def scenario():
            clients = [(await node.connect(node.token(f"user{i}")))[0] for i in range(4)]
            for ws in clients:
                self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")

            async def publish_and_expect(n, receivers):
                offset = node.publish(topic, {"n": n})
                for ws in receivers:
                    event = (await receive_events(ws, topic, 1))[0]
                    self.assertEqual((event["offset"], event["data"]), (offset, {"n": n}))

            async def leave(ws):
                await send_json(ws, {"type": "unsubscribe", "data": {"topic": topic}})
                self.assertEqual(await recv_json(ws), {"type": "unsubscribed", "topic": topic})

            await publish_and_expect(1, clients)
            # Connections 0 and 2 share a thread: one leaving must not stop the other.
            await leave(clients[0])
            await publish_and_expect(2, clients[1:])
            await leave(clients[2])
            await publish_and_expect(3, [clients[1], clients[3]])
            self.assertEqual((await subscribe(clients[0], topic))["offset"], 3)
            await publish_and_expect(4, [clients[0], clients[1], clients[3]])
            # The one that stayed away got nothing meanwhile: its next frame answers this ping.
            await send_json(clients[2], {"type": "ping"})
            self.assertEqual(await recv_json(clients[2]), {"type": "pong"})
            for ws in clients:
                await ws.close()

        run(scenario())

    def test_filters_pass_exactly_the_events_matching_every_condition(self):
        node = self.node
        topic = fresh_topic("meter-")
        the_filter = {"event_types": ["TokensMinted", "MeterReadingReceived"],
                      "fields": {"meter_id": ["m-1", "m-2"], "site.region": "north"},
                      "min": {"amount": 1000}, "max": {"amount": 50000}}
        good = {"type": "TokensMinted", "meter_id": "m-1", "site": {"region": "north"}, "amount": 2000}
        cases = [  # (description, data, passes)
            ("all conditions hold", good, True),
            ("second event type", dict(good, type="MeterReadingReceived"), True),
            ("second listed meter", dict(good, meter_id="m-2"), True),
            ("amount at the inclusive minimum", dict(good, amount=1000), True),
            ("amount at the inclusive maximum", dict(good, amount=50000), True),
            ("fractional amount inside", dict(good, amount=1000.5), True),
            ("other event type", dict(good, type="PriceTick"), False),
            ("unlisted meter", dict(good, meter_id="m-3"), False),
            ("other region", dict(good, site={"region": "south"}), False),
            ("amount below min", dict(good, amount=999), False),
            ("amount above max", dict(good, amount=50001), False),
            ("amount missing", {k: v for k, v in good.items() if k != "amount"}, False),
            ("site missing", {k: v for k, v in good.items() if k != "site"}, False),
            ("type missing", {k: v for k, v in good.items() if k != "type"}, False),
            ("amount not a number", dict(good, amount="2000"), False),
            ("meter id of another type", dict(good, meter_id=1), False),
        ]

        async def scenario():
            ws, _ = await node.connect(node.token("gina"))
            confirmation = await subscribe(ws, topic, filter=the_filter)
            self.assertEqual(confirmation["type"], "subscribed", confirmation)
            expected = []
            for description, data, passes in cases:
                offset = node.publish(topic, dict(data, case=description))
                if passes:
                    expected.append((offset, description))
            sentinel = node.publish(topic, dict(good, case="sentinel"))
            expected.append((sentinel, "sentinel"))
            events = await receive_events(ws, topic, len(expected))
            self.assertEqual([(e["offset"], e["data"]["case"]) for e in events], expected)
            await ws.close()

        run(scenario())

    def test_malformed_filters_are_refused_with_bad_filter_and_the_connection_stays(self):
        node = self.node
        bad_filters = [
            ("not an object", ["TokensMinted"]),
            ("event_types not a list", {"event_types": "TokensMinted"}),
            ("min not numeric", {"min": {"amount": "ten"}}),
            ("unknown key", {"colour": "red"}),
            ("empty path segment", {"fields": {"site..region": "north"}}),
            ("33 conditions", {"fields": {f"f{i}": i for i in range(33)}}),
            ("257 values", {"fields": {"meter_id": [f"m-{i}" for i in range(257)]}}),
        ]

        async def scenario():
            ws, _ = await node.connect(node.token("hank"))
            for description, spec in bad_filters:
                with self.subTest(description):
                    frame = await subscribe(ws, fresh_topic("f-"), filter=spec)
                    self.assertEqual((frame["type"], frame.get("code")), ("error", "bad_filter"), frame)
            await send_json(ws, {"type": "ping"})
            self.assertEqual(await recv_json(ws), {"type": "pong"})
            await ws.close()

        run(scenario())

    def test_reconnecting_with_since_and_epoch_recovers_every_missed_event_once_then_live_events(self):
        node = self.node
        topic = fresh_topic("orders-")
        token = node.token("ivan")

        async def scenario():
            ws, _ = await node.connect(token)
            first = await subscribe(ws, topic)
            epoch = first["epoch"]
            for i in range(5):
                node.publish(topic, {"n": i})
            seen = await receive_events(ws, topic, 5)
            last = seen[-1]["offset"]
            self.assertEqual(last, 5)
            await ws.close()

            missed = [node.publish(topic, {"n": i}) for i in range(5, 10)]
            ws, _ = await node.connect(token)
            confirmation = await subscribe(ws, topic, since=last, epoch=epoch)
            self.assertEqual(confirmation["type"], "subscribed", confirmation)
            self.assertIs(confirmation["recovered"], True)
            self.assertEqual(confirmation["epoch"], epoch)
            self.assertEqual(confirmation["offset"], 10)
            replayed = await receive_events(ws, topic, len(missed))
            self.assertEqual([e["offset"] for e in replayed], missed)
            self.assertEqual([e["data"]["n"] for e in replayed], list(range(5, 10)))
            live = [node.publish(topic, {"n": i}) for i in range(10, 13)]
            events = await receive_events(ws, topic, 3)
            self.assertEqual([e["offset"] for e in events], live)
            await ws.close()

        run(scenario())

    def test_recovery_while_publishing_continues_has_no_gap_and_no_duplicate(self):
        node = self.node
        topic = fresh_topic("ticks-")
        token = node.token("judy")
        total = 300

        async def scenario():
            ws, _ = await node.connect(token)
            epoch = (await subscribe(ws, topic))["epoch"]
            node.publish(topic, {"n": 0})
            [first] = await receive_events(ws, topic, 1)
            await ws.close()

            started = threading.Event()

            def publish_many():
                for i in range(1, total):
                    node.publish(topic, {"n": i})
                    if i == 50:
                        started.set()

            publisher = asyncio.create_task(asyncio.to_thread(publish_many))
            await asyncio.wait_for(asyncio.to_thread(started.wait), FRAME_DEADLINE)
            ws, _ = await node.connect(token)
            confirmation = await subscribe(ws, topic, since=first["offset"], epoch=epoch)
            self.assertEqual(confirmation["type"], "subscribed", confirmation)
            self.assertIs(confirmation["recovered"], True)
            events = await receive_events(ws, topic, total - 1, timeout=60)
            await asyncio.wait_for(publisher, 60)
            self.assertEqual([e["offset"] for e in events], list(range(2, total + 1)))
            self.assertEqual([e["data"]["n"] for e in events], list(range(1, total)))
            await ws.close()

        run(scenario())

    def test_replay_after_since_applies_the_subscriptions_filter(self):
        node = self.node
        topic = fresh_topic("meter-")

        async def scenario():
            for i in range(6):
                node.publish(topic, {"type": "Reading" if i % 2 == 0 else "Other", "n": i})
            ws, _ = await node.connect(node.token("pia"))
            first = await subscribe(ws, topic)
            await ws.close()
            ws, _ = await node.connect(node.token("pia"))
            confirmation = await subscribe(ws, topic, since=1, epoch=first["epoch"],
                                           filter={"event_types": ["Reading"]})
            self.assertIs(confirmation["recovered"], True, confirmation)
            replayed = await receive_events(ws, topic, 2)
            self.assertEqual([(e["offset"], e["data"]["n"]) for e in replayed], [(3, 2), (5, 4)])
            node.publish(topic, {"type": "Other", "n": 6})
            live = node.publish(topic, {"type": "Reading", "n": 7})
            [event] = await receive_events(ws, topic, 1)
            self.assertEqual(event["offset"], live)
            await ws.close()

        run(scenario())

    def test_subscribing_again_replaces_the_filter_and_delivers_each_event_once(self):
        node = self.node
        topic = fresh_topic("prices-")

        async def scenario():
            ws, _ = await node.connect(node.token("quinn"))
            self.assertEqual((await subscribe(ws, topic, filter={"event_types": ["Never"]}))["type"], "subscribed")
            self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
            offsets = [node.publish(topic, {"type": "Tick", "n": i}) for i in range(3)]
            events = await receive_events(ws, topic, 3)
            self.assertEqual([e["offset"] for e in events], offsets)
            await send_json(ws, {"type": "ping"})
            self.assertEqual(await recv_json(ws), {"type": "pong"}, "no event was delivered twice")
            await ws.close()

        run(scenario())

    def test_since_older_than_the_history_is_not_recovered_and_replays_what_is_kept(self):
        node = self.node
        topic = fresh_topic("short:")  # history size 5

        async def scenario():
            node.publish(topic, {"n": 0})
            ws, _ = await node.connect(node.token("kim"))
            confirmation = await subscribe(ws, topic)
            self.assertEqual(confirmation["offset"], 1)
            epoch = confirmation["epoch"]
            node.publish(topic, {"n": 1})
            [event] = await receive_events(ws, topic, 1)
            self.assertEqual(event["offset"], 2)
            await ws.close()

            offsets = [node.publish(topic, {"n": i}) for i in range(2, 12)]
            self.assertEqual(offsets, list(range(3, 13)))
            ws, _ = await node.connect(node.token("kim"))
            confirmation = await subscribe(ws, topic, since=2, epoch=epoch)
            self.assertEqual(confirmation["type"], "subscribed", confirmation)
            self.assertIs(confirmation["recovered"], False, "offsets 3..7 fell out of a history of 5")
            self.assertEqual(confirmation["offset"], 12)
            replayed = await receive_events(ws, topic, 5)
            self.assertEqual([e["offset"] for e in replayed], list(range(8, 13)), "the node replays what it kept")
            live = node.publish(topic, {"n": 12})
            [event] = await receive_events(ws, topic, 1)
            self.assertEqual(event["offset"], live)
            await ws.close()

        run(scenario())

    def test_since_with_another_epoch_is_not_recovered(self):
        node = self.node
        topic = fresh_topic("orders-")

        async def scenario():
            for i in range(3):
                node.publish(topic, {"n": i})
            ws, _ = await node.connect(node.token("leo"))
            confirmation = await subscribe(ws, topic, since=1, epoch="not-the-epoch")
            self.assertEqual(confirmation["type"], "subscribed", confirmation)
            self.assertIs(confirmation["recovered"], False)
            self.assertNotEqual(confirmation["epoch"], "not-the-epoch")
            await ws.close()

        run(scenario())

    def test_connections_endpoint_counts_open_connections_and_users(self):
        node = self.node

        async def scenario():
            # Earlier tests' connections close asynchronously; wait for them to be gone.
            await asyncio.to_thread(wait_until, lambda: node.connections()["total_connections"] == 0, 10,
                                    what="no open connections")
            alice = node.token("mia", "prosumer")
            clients = [await node.connect(alice), await node.connect(alice), await node.connect(node.token("ned"))]
            for ws, _ in clients:
                self.assertEqual((await subscribe(ws, fresh_topic("c-")))["type"], "subscribed")
            counts = node.connections()
            self.assertEqual(counts["total_connections"], 3, counts)
            self.assertEqual(counts["active_users"], 2, counts)
            self.assertGreaterEqual(counts["subscriptions"], 3, counts)
            self.assertEqual(counts["server_id"], NODE_ID)
            self.assertIn("topics", counts)
            for ws, _ in clients:
                await ws.close()
            await asyncio.to_thread(wait_until, lambda: node.connections()["total_connections"] == 0, 10,
                                    what="the count to drop to 0 after the clients closed")

        run(scenario())

    def test_connections_endpoint_requires_an_admin(self):
        node = self.node
        self.assertEqual(node.http("GET", "/api/ws/connections").status, 401)
        self.assertEqual(node.http("GET", "/api/ws/connections", token=node.token("olga", "prosumer")).status, 403)


class GatewayHistoryTtl(NodeTestCase, unittest.TestCase):
    node_topics = [{"pattern": "brief:*", "access": "public", "history": {"size": 100, "ttl": 1}},
                   {"pattern": "none:*", "access": "public", "history": {"size": 0, "ttl": 600}}]

    async def resubscribe(self, ws, topic, **data):
        """The confirmation and the replayed offsets, up to the pong that follows them."""
        confirmation = await subscribe(ws, topic, **data)
        self.assertEqual(confirmation["type"], "subscribed", confirmation)
        await send_json(ws, {"type": "ping"})
        replayed = []
        while (frame := await recv_json(ws)) != {"type": "pong"}:
            self.assertEqual(frame["type"], "event", frame)
            replayed.append(frame["offset"])
        return confirmation, replayed

    def test_events_older_than_the_history_ttl_are_no_longer_recovered(self):
        node = self.node
        topic = fresh_topic("brief:")

        async def scenario():
            ws, _ = await node.connect(node.token("rob"))
            epoch = (await subscribe(ws, topic))["epoch"]
            for i in range(3):
                node.publish(topic, {"n": i})
            self.assertEqual([e["offset"] for e in await receive_events(ws, topic, 3)], [1, 2, 3])
            confirmation, replayed = await self.resubscribe(ws, topic, since=0, epoch=epoch)
            self.assertIs(confirmation["recovered"], True, "within the TTL the history covers everything")
            self.assertEqual(replayed, [1, 2, 3])
            deadline = time.monotonic() + 10
            while True:  # the TTL is one second; poll until the node has let the events go
                confirmation, replayed = await self.resubscribe(ws, topic, since=0, epoch=epoch)
                if not confirmation["recovered"]:
                    break
                self.assertLess(time.monotonic(), deadline, "events outlived a 1 s TTL by 10 s")
                await asyncio.sleep(0.2)
            self.assertLess(len(replayed), 3)
            await ws.close()

        run(scenario())

    def test_topic_with_history_size_0_never_recovers(self):
        node = self.node
        topic = fresh_topic("none:")

        async def scenario():
            ws, _ = await node.connect(node.token("sue"))
            epoch = (await subscribe(ws, topic))["epoch"]
            node.publish(topic, {"n": 0})
            await receive_events(ws, topic, 1)
            node.publish(topic, {"n": 1})
            await receive_events(ws, topic, 1)
            confirmation, replayed = await self.resubscribe(ws, topic, since=1, epoch=epoch)
            self.assertIs(confirmation["recovered"], False)
            self.assertEqual(replayed, [])
            self.assertEqual(confirmation["offset"], 2)
            await ws.close()

        run(scenario())


if __name__ == "__main__":
    unittest.main()
