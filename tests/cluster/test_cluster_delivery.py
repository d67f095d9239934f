"""Two gateways and one role process act as one node through a real redis-server
(issue 16, first Proof bullet): what is published over HTTP on gateway 1 and by
the role process (over HTTP and from a plugin) reaches a client on gateway 2,
user- and admin-targeted events reach only their user and the admins, one topic
has one offset sequence and one epoch cluster-wide, filters and topic access work
as on one node, a client recovers on the other gateway with since+epoch,
`server:<id>` reaches one gateway's clients, and scope=cluster adds up the live
servers. Clients are python3-websockets."""
import unittest

from cluster_harness import (EVENT_DEADLINE, ClusterNode, RedisServer, fresh_topic, next_frame_of, open_relay,
                             open_ws, recv_json, redis_broker, run, send_json, start_all, stop_all, subscribe,
                             wait_until)
from node_harness import receive_events


class ClusterDelivery(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        broker = redis_broker(cls.redis.url)
        cls.g1 = ClusterNode("gateway-1", broker, role="gateway")
        cls.g2 = ClusterNode("gateway-2", broker, role="gateway")
        cls.role = ClusterNode("relay-1", broker, role="relay", plugins=[{"name": "relay"}])
        cls.nodes = [cls.g1, cls.g2, cls.role]
        try:
            start_all(cls.nodes)
        except BaseException:
            cls.redis.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            stop_all(cls.nodes)
        finally:
            cls.redis.cleanup()

    def test_a_client_on_gateway_2_gets_what_gateway_1_and_the_role_process_publish_once_in_one_sequence(self):
        topic = fresh_topic("prices-")

        async def scenario():
            ws2, _ = await open_ws(self.g2, self.g2.token("carol", "prosumer"))
            ws1, _ = await open_ws(self.g1, self.g1.token("dan", "prosumer"))
            on2 = await subscribe(ws2, topic)
            on1 = await subscribe(ws1, topic)
            self.assertEqual((on2["type"], on2["offset"]), ("subscribed", 0), on2)
            self.assertEqual((on1["type"], on1["offset"]), ("subscribed", 0), on1)
            self.assertEqual(on1["epoch"], on2["epoch"], "one topic has one epoch on every gateway")

            published = []
            offsets = []
            for i, node in enumerate([self.g1, self.g1, self.role, self.g2, self.role, self.g1]):
                data = {"type": "PriceTick", "n": i, "via": node.node_id}
                offsets.append(node.publish(topic, data))
                published.append(data)
            relay = await open_relay(self.role, self.role.token("svc", "admin"))
            plugin_data = {"type": "PriceTick", "n": 6, "via": "relay plugin"}
            await send_json(relay, {"op": "publish", "topic": topic, "data": plugin_data})
            published.append(plugin_data)
            self.assertEqual(offsets, [1, 2, 3, 4, 5, 6],
                             "offsets come from Redis: one sequence whichever process publishes")

            for ws, where in ((ws2, "gateway-2"), (ws1, "gateway-1")):
                events = await receive_events(ws, topic, 7, timeout=EVENT_DEADLINE)
                self.assertEqual([e["offset"] for e in events], list(range(1, 8)), where)
                self.assertEqual([e["data"] for e in events], published, where)
            # Nothing twice: the next frame after the seven is the next publication.
            sentinel = {"type": "Sentinel"}
            self.assertEqual(self.role.publish(topic, sentinel), 8)
            for ws, where in ((ws2, "gateway-2"), (ws1, "gateway-1")):
                frame = await recv_json(ws, EVENT_DEADLINE)
                self.assertEqual((frame.get("offset"), frame.get("data")), (8, sentinel),
                                 f"{where}: an event was delivered twice, or out of order: {frame}")
            # The epoch given when the topic was still empty is the topic's epoch: a resubscription with it recovers.
            again = await subscribe(ws1, topic, since=6, epoch=on2["epoch"])
            self.assertEqual((again["type"], again["recovered"], again["epoch"]), ("subscribed", True, on2["epoch"]),
                             again)
            for ws in (ws1, ws2, relay):
                await ws.close()

        run(scenario())

    def test_user_and_admin_targeted_events_reach_their_clients_on_gateway_2_and_no_one_else(self):
        async def scenario():
            alice, greeting = await open_ws(self.g2, self.g2.token("alice", "prosumer"))
            self.assertIn("user:alice", greeting["topics"])
            bob, _ = await open_ws(self.g2, self.g2.token("bob", "prosumer"))
            root, root_greeting = await open_ws(self.g2, self.g2.token("root", "admin"))
            self.assertIn("admins", root_greeting["topics"])
            relay = await open_relay(self.role, self.role.token("svc", "admin"))

            # user:alice over HTTP on gateway 1, then from the role process's plugin (sendToUser).
            invoice = {"type": "Invoice", "amount": 12}
            self.g1.publish("user:alice", invoice)
            await send_json(relay, {"op": "to_user", "user": "alice", "data": {"type": "TokensMinted", "amount": 5}})
            got = await receive_events(alice, "user:alice", 2, timeout=EVENT_DEADLINE)
            self.assertEqual([e["data"] for e in got], [invoice, {"type": "TokensMinted", "amount": 5}])
            self.assertEqual(got[1]["offset"], got[0]["offset"] + 1, "one user topic, one sequence")

            # admins over HTTP on the role process, then from its plugin (sendToAdmins).
            alert = {"type": "BatchMintingCompleted", "count": 3}
            self.role.publish("admins", alert)
            await send_json(relay, {"op": "to_admins", "data": {"type": "Alert", "level": "warn"}})
            got = await receive_events(root, "admins", 2, timeout=EVENT_DEADLINE)
            self.assertEqual([e["data"] for e in got], [alert, {"type": "Alert", "level": "warn"}])

            # A broadcast from the role process reaches all three. It was published after the targeted
            # events had reached gateway 2, so had bob or alice been given what is not theirs, it would
            # have come before it.
            answer = self.role.http("POST", "/api/ws/broadcast", {"data": {"type": "Maintenance"}},
                                    token=self.role.admin_token())
            self.assertEqual(answer.status, 200, answer.body)
            for ws, who in ((bob, "bob"), (alice, "alice"), (root, "root")):
                frame = await recv_json(ws, EVENT_DEADLINE)
                self.assertEqual((frame.get("topic"), frame.get("data")), ("broadcast", {"type": "Maintenance"}),
                                 f"{who} got something not meant for them before the broadcast: {frame}")
            for ws in (alice, bob, root, relay):
                await ws.close()

        run(scenario())

    def test_filters_and_topic_access_work_as_on_one_node(self):
        topic = fresh_topic("meter-events-")

        async def scenario():
            alice, _ = await open_ws(self.g2, self.g2.token("alice", "prosumer"))
            confirmation = await subscribe(alice, topic, filter={"event_types": ["TokensMinted"],
                                                                 "min": {"amount": 1000}})
            self.assertEqual(confirmation["type"], "subscribed", confirmation)
            sent = [{"type": "MeterReadingReceived", "amount": 5000},
                    {"type": "TokensMinted", "amount": 500},
                    {"type": "TokensMinted", "amount": 2000},
                    {"type": "TokensMinted", "amount": 1000},
                    {"type": "TokensMinted"},
                    {"type": "TokensMinted", "amount": 9000, "last": True}]
            for i, data in enumerate(sent):
                (self.g1 if i % 2 else self.role).publish(topic, data)
            got = await receive_events(alice, topic, 3, timeout=EVENT_DEADLINE)
            self.assertEqual([e["data"] for e in got], [sent[2], sent[3], sent[5]])
            self.assertEqual([e["offset"] for e in got], [3, 4, 6], "filtered events keep their offsets")

            for forbidden in ("user:bob", "admins", "secret:plans"):
                refusal = await subscribe(alice, forbidden)
                self.assertEqual((refusal["type"], refusal.get("code")), ("error", "forbidden"),
                                 f"{forbidden}: {refusal}")
            root, _ = await open_ws(self.g2, self.g2.token("root", "admin"))
            secret = fresh_topic("secret:")
            self.assertEqual((await subscribe(root, secret))["type"], "subscribed")
            self.g1.publish(secret, {"type": "Plan"})
            [event] = await receive_events(root, secret, 1, timeout=EVENT_DEADLINE)
            self.assertEqual(event["data"], {"type": "Plan"})
            await alice.close()
            await root.close()

        run(scenario())

    def test_a_client_recovers_on_the_other_gateway_with_since_and_epoch(self):
        topic = fresh_topic("orders-")
        short = fresh_topic("short:")

        async def scenario():
            token = self.g1.token("erin", "prosumer")
            ws, _ = await open_ws(self.g1, token)
            confirmation = await subscribe(ws, topic)
            epoch = confirmation["epoch"]
            for i in range(3):
                self.role.publish(topic, {"n": i})
            seen = await receive_events(ws, topic, 3, timeout=EVENT_DEADLINE)
            await ws.close()

            missed = [{"n": i} for i in range(3, 8)]
            for i, data in enumerate(missed):
                (self.role if i % 2 else self.g1).publish(topic, data)

            ws, _ = await open_ws(self.g2, token)
            again = await subscribe(ws, topic, since=seen[-1]["offset"], epoch=epoch)
            self.assertEqual(again["type"], "subscribed", again)
            self.assertEqual((again["recovered"], again["epoch"], again["offset"]), (True, epoch, 8), again)
            replay = await receive_events(ws, topic, 5, timeout=EVENT_DEADLINE)
            self.assertEqual([e["offset"] for e in replay], [4, 5, 6, 7, 8])
            self.assertEqual([e["data"] for e in replay], missed)
            self.g1.publish(topic, {"n": 8})
            [live] = await receive_events(ws, topic, 1, timeout=EVENT_DEADLINE)
            self.assertEqual((live["offset"], live["data"]), (9, {"n": 8}), "live continues after the replay")

            # Another epoch: not recovered.
            wrong = await subscribe(ws, topic, since=3, epoch="not-" + epoch)
            self.assertEqual((wrong["type"], wrong["recovered"], wrong["epoch"]), ("subscribed", False, epoch), wrong)
            await ws.close()

            # History no longer holding the gap (short:* keeps 5; 300 events, so even a trim that keeps
            # whole blocks of a stream has dropped the first ones): not recovered.
            answer = self.g1.http("POST", "/api/v1/publish", [{"topic": short, "data": {"n": i}} for i in range(300)],
                                  token=self.g1.admin_token())
            self.assertEqual(answer.status, 200, answer.body)
            self.assertEqual(answer.json()["offsets"], list(range(1, 301)), answer.body[:300])
            ws, _ = await open_ws(self.g2, token)
            first = await subscribe(ws, short)
            self.assertEqual(first["type"], "subscribed", first)
            # Gateway 2 may still be hearing the tail of the 300 from Redis: those reach this client live,
            # after the first confirmation and before the second.
            await send_json(ws, {"type": "subscribe", "data": {"topic": short, "since": 1, "epoch": first["epoch"]}})
            gone, live = await next_frame_of(ws, lambda f: f.get("type") != "event",
                                             what=f"the answer to the resubscription to {short}")
            self.assertEqual([(f["topic"], f["offset"] > first["offset"]) for f in live], [(short, True)] * len(live),
                             "only live events of the topic came between the two answers")
            self.assertEqual((gone["type"], gone["recovered"]), ("subscribed", False), gone)
            await ws.close()

        run(scenario())

    def test_a_server_target_reaches_only_the_clients_of_that_gateway(self):
        async def scenario():
            token = self.g1.token("frank", "prosumer")
            on1, greeting1 = await open_ws(self.g1, token)
            on2, greeting2 = await open_ws(self.g2, token)
            self.assertIn("server:gateway-1", greeting1["topics"], greeting1)
            self.assertIn("server:gateway-2", greeting2["topics"], greeting2)
            self.assertNotIn("server:gateway-2", greeting1["topics"], greeting1)

            notice = {"type": "Drain", "in_seconds": 30}
            self.role.publish("server:gateway-2", notice)
            [event] = await receive_events(on2, "server:gateway-2", 1, timeout=EVENT_DEADLINE)
            self.assertEqual(event["data"], notice)
            self.g2.publish("user:frank", {"type": "After"})
            for ws, where in ((on1, "gateway-1"), (on2, "gateway-2")):
                frame = await recv_json(ws, EVENT_DEADLINE)
                self.assertEqual((frame.get("topic"), frame.get("data")), ("user:frank", {"type": "After"}),
                                 f"{where}: {frame}")
            await on1.close()
            await on2.close()

        run(scenario())

    def test_scope_cluster_adds_up_the_live_servers(self):
        async def scenario():
            clients = []
            for node, user in ((self.g1, "u1"), (self.g1, "u2"), (self.g2, "u1"), (self.g2, "u3"), (self.g2, "u4")):
                ws, _ = await open_ws(node, node.token(user, "prosumer"))
                clients.append(ws)
            await subscribe(clients[2], fresh_topic("counted-"))

            def counted():
                view = self.role.cluster()
                servers = {s["server_id"]: s for s in view.get("servers", [])}
                if set(servers) != {"gateway-1", "gateway-2", "relay-1"}:
                    return None
                if (servers["gateway-1"]["total_connections"], servers["gateway-2"]["total_connections"],
                        servers["relay-1"]["total_connections"]) != (2, 3, 0):
                    return None
                return view

            view = wait_until(counted, EVENT_DEADLINE, interval=0.2,
                              what="scope=cluster to count 2 connections on gateway-1 and 3 on gateway-2")
            self.assertEqual(view["scope"], "cluster")
            servers = {s["server_id"]: s for s in view["servers"]}
            self.assertEqual(view["total_connections"], 5)
            self.assertEqual(view["active_users"], sum(s["active_users"] for s in view["servers"]))
            self.assertEqual((servers["gateway-1"]["active_users"], servers["gateway-2"]["active_users"]), (2, 3))
            self.assertEqual((servers["gateway-1"]["role"], servers["relay-1"]["role"]), ("gateway", "relay"))
            for server in view["servers"]:
                for key in ("address", "updated_at", "subscriptions"):
                    self.assertIn(key, server, server)
            self.assertIn(str(self.g2.port), str(servers["gateway-2"]["address"]))
            self.assertGreaterEqual(servers["gateway-2"]["subscriptions"], 1)
            self.assertEqual(self.g1.cluster()["total_connections"], 5, "every server sees the same cluster")
            local = self.g2.connections()
            self.assertEqual(local["total_connections"], 3, f"without scope, this server only: {local}")
            for ws in clients:
                await ws.close()

        run(scenario())


if __name__ == "__main__":
    unittest.main()
