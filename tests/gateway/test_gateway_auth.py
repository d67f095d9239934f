"""Who may connect and subscribe: tokens checked before the upgrade, topic rules after."""
import asyncio
import base64
import hashlib
import hmac
import json
import time
import unittest
import urllib.request

import websockets

from node_harness import (REJECTED, SECRET, NodeTestCase, RawWebSocket, expect_close, fresh_topic, receive_events,
                          recv_json, rejected_status, resign_token, run, tamper_token, send_json, subscribe)


def without_exp(token):
    """`token` signed again with SECRET and no exp claim."""
    header, payload, _ = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    del body["exp"]
    encoded = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    signing_input = f"{header}.{encoded}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


class GatewayAuth(NodeTestCase, unittest.TestCase):

    def refused_tokens(self):
        valid = self.node.token("alice", "prosumer")
        return [
            ("no token", None),
            ("not a JWT", "not-a-token"),
            ("signed with another secret", resign_token(valid, "another-secret-0123456789abcdef0123456789")),
            ("tampered subject", tamper_token(valid, sub="bob")),
            ("expired", resign_token(valid, SECRET, exp=int(time.time()) - 60)),
            ("without exp: it would never expire", without_exp(valid)),
            ("nbf 1e300: not valid for ages", resign_token(valid, SECRET, nbf=1e300)),
            ("issued an hour from now", resign_token(valid, SECRET, iat=int(time.time()) + 3600)),
        ]

    def test_missing_bad_or_expired_tokens_are_refused_with_401_before_the_upgrade(self):
        node = self.node

        async def attempt(token):
            try:
                ws = await websockets.connect(node.ws_url(token), open_timeout=10, ping_interval=None)
            except REJECTED as error:
                return rejected_status(error)
            await ws.close()
            return 101

        for description, token in self.refused_tokens():
            with self.subTest(description):
                self.assertEqual(run(attempt(token)), 401)

    def test_refusal_body_is_a_json_unauthorized_error(self):
        for description, token in self.refused_tokens():
            with self.subTest(description):
                raw = RawWebSocket(self.node.port, f"/ws?token={token}" if token else "/ws")
                try:
                    self.assertEqual(raw.status, 401)
                    body = json.loads(raw.body)
                    self.assertEqual(body["error"]["code"], "unauthorized", body)
                    self.assertIsInstance(body["error"]["message"], str)
                finally:
                    raw.close()

    def test_expired_token_refusal_says_the_token_expired(self):
        token = resign_token(self.node.token("alice", "prosumer"), SECRET, exp=int(time.time()) - 60)
        raw = RawWebSocket(self.node.port, f"/ws?token={token}")
        try:
            self.assertEqual(raw.status, 401)
            self.assertIn("expired", json.loads(raw.body)["error"]["message"])
        finally:
            raw.close()

    def test_a_websocket_is_closed_with_4001_when_its_token_expires(self):
        node = self.node
        token = resign_token(node.token("alice", "prosumer"), SECRET, exp=int(time.time()) + 2)

        async def scenario():
            ws, greeting = await node.connect(token)
            self.assertEqual(greeting["user"], "alice")
            started = time.monotonic()
            self.assertEqual(await expect_close(ws, timeout=10), 4001)
            self.assertLess(time.monotonic() - started, 6, "closed within a second or so of exp")
            # Another client, whose token lives on, is untouched.
            other, _ = await node.connect(node.token("bob", "prosumer"))
            self.assertEqual((await subscribe(other, fresh_topic("after-")))["type"], "subscribed")
            await other.close()

        run(scenario())

    def test_a_token_refreshed_in_band_keeps_the_connection_past_the_first_tokens_expiry(self):
        node = self.node
        # Every token is made before the clock starts: `node.token` runs the node's CLI, slow under ASan.
        alice = node.token("alice", "prosumer")
        bob = node.token("bob", "prosumer")
        alice_admin = node.token("alice", "prosumer", "admin")
        expired = resign_token(alice, SECRET, exp=int(time.time()) - 60)
        later_exp = int(time.time()) + 600
        later = resign_token(alice, SECRET, exp=later_exp)
        # Four refused refreshes a second apart come first: room for them and a slow machine.
        first_exp = int(time.time()) + 10
        token = resign_token(alice, SECRET, exp=first_exp)
        topic = fresh_topic("refreshed-")

        async def refresh(ws, new_token):
            await send_json(ws, {"type": "refresh", "data": {"token": new_token}})
            return await recv_json(ws)

        async def scenario():
            ws, _ = await node.connect(token)
            self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
            # Refused refreshes name the reason and leave the connection as it was. A signature check
            # costs: one attempt a second, the next one is not checked.
            refused = await refresh(ws, "not-a-token")
            self.assertEqual((refused["type"], refused["code"]), ("error", "unauthorized"), refused)
            self.assertIn("keeps its current token", refused["message"])
            hurried = await refresh(ws, later)
            self.assertEqual(hurried.get("code"), "rate_limited", hurried)
            await asyncio.sleep(1.1)
            someone_else = await refresh(ws, bob)
            self.assertEqual(someone_else.get("code"), "forbidden", someone_else)
            await asyncio.sleep(1.1)
            more_roles = await refresh(ws, alice_admin)
            self.assertEqual(more_roles.get("code"), "forbidden", more_roles)
            await asyncio.sleep(1.1)
            too_late = await refresh(ws, expired)
            self.assertEqual(too_late.get("code"), "unauthorized", too_late)
            self.assertIn("expired", too_late["message"])
            await asyncio.sleep(1.1)
            self.assertLess(time.time(), first_exp - 1, "the refusals took the first token's whole life")

            self.assertEqual(await refresh(ws, later), {"type": "refreshed", "expires_at": later_exp})
            # Past the first token's exp (and the check's second): still open, still subscribed.
            await asyncio.sleep(max(0.0, first_exp + 2 - time.time()))
            offset = await asyncio.get_running_loop().run_in_executor(None, node.publish, topic, {"n": 1})
            [event] = await receive_events(ws, topic, 1)
            self.assertEqual((event["offset"], event["data"]), (offset, {"n": 1}))
            await ws.close()

        run(scenario())

    def test_token_in_authorization_header_is_accepted(self):
        node = self.node

        async def scenario():
            ws = await websockets.connect(node.ws_url(), open_timeout=10, ping_interval=None,
                                          extra_headers={"Authorization": f"Bearer {node.token('alice', 'prosumer')}"})
            greeting = await recv_json(ws)
            self.assertEqual((greeting["type"], greeting["user"]), ("connected", "alice"))
            await ws.close()

        run(scenario())

    def test_invalid_upgrade_request_gets_400_bad_upgrade(self):
        token = self.node.token("alice")
        cases = [("no key", {"key": ""}), ("version 8", {"version": "8"})]
        for description, options in cases:
            with self.subTest(description):
                raw = RawWebSocket(self.node.port, handshake=False)
                try:
                    raw.handshake(f"/ws?token={token}", [], **options)
                    self.assertEqual(raw.status, 400)
                    self.assertEqual(json.loads(raw.body)["error"]["code"], "bad_upgrade")
                finally:
                    raw.close()

    def test_user_cannot_subscribe_to_another_users_topic_and_the_connection_stays_usable(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("alice", "prosumer"))
            frame = await subscribe(ws, "user:bob")
            self.assertEqual((frame["type"], frame["code"]), ("error", "forbidden"), frame)
            self.assertIsInstance(frame["message"], str)
            node.publish("user:bob", {"type": "Secret"})
            topic = fresh_topic("public-")
            self.assertEqual((await subscribe(ws, topic))["type"], "subscribed")
            offset = node.publish(topic, {"type": "Hello"})
            [event] = await receive_events(ws, topic, 1)  # bob's event never arrives in between
            self.assertEqual(event["offset"], offset)
            await ws.close()

        run(scenario())

    def test_query_subscription_to_another_users_topic_is_refused_and_the_rest_confirmed(self):
        node = self.node
        topic = fresh_topic("public-")

        async def scenario():
            ws, greeting = await node.connect(node.token("alice", "prosumer"), subscriptions=["user:bob", topic])
            self.assertEqual(greeting["type"], "connected")
            frames = [await recv_json(ws), await recv_json(ws)]
            kinds = sorted((f["type"], f.get("code") or f.get("topic")) for f in frames)
            self.assertEqual(kinds, [("error", "forbidden"), ("subscribed", topic)])
            await ws.close()

        run(scenario())

    def test_admin_topic_is_refused_to_users_and_delivered_to_admins(self):
        node = self.node

        async def scenario():
            user, _ = await node.connect(node.token("alice", "prosumer"))
            frame = await subscribe(user, "admins")
            self.assertEqual((frame["type"], frame["code"]), ("error", "forbidden"), frame)
            admin, greeting = await node.connect(node.token("root", "admin"))
            self.assertIn("admins", greeting["topics"])
            offset = node.publish("admins", {"type": "Alert"})
            [event] = await receive_events(admin, "admins", 1)
            self.assertEqual((event["offset"], event["data"]), (offset, {"type": "Alert"}))
            await send_json(user, {"type": "ping"})
            self.assertEqual(await recv_json(user), {"type": "pong"})  # no admins event came first
            await user.close()
            await admin.close()

        run(scenario())

    def test_publish_needs_an_admin_token(self):
        node = self.node
        body = {"topic": "x", "data": {}}
        self.assertEqual(node.http("POST", "/api/v1/publish", body).status, 401)
        self.assertEqual(node.http("POST", "/api/v1/publish", body, token=node.token("alice", "prosumer")).status, 403)


class GatewayNoTopicRule(NodeTestCase, unittest.TestCase):
    node_topics = [{"pattern": "user:{sub}", "access": "user"}, {"pattern": "open:*", "access": "public"},
                   {"pattern": "closed:*", "access": "deny"}]

    def test_topics_without_a_rule_or_with_deny_cannot_be_subscribed(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            for topic in ("elsewhere", "closed:x"):
                with self.subTest(topic):
                    frame = await subscribe(ws, topic)
                    self.assertEqual((frame["type"], frame.get("code")), ("error", "forbidden"), frame)
            self.assertEqual((await subscribe(ws, "open:x"))["type"], "subscribed")
            await ws.close()

        run(scenario())


API_KEY = "gateway-tests-api-key-0123456789"


class GatewayAnonymous(NodeTestCase, unittest.TestCase):
    node_auth = {"required": False, "api_keys": [API_KEY]}
    node_topics = [{"pattern": "user:{sub}", "access": "user"}, {"pattern": "members:*", "access": "authenticated"},
                   {"pattern": "*", "access": "public", "history": {"size": 100, "ttl": 600}}]

    def test_anonymous_client_is_greeted_without_a_user_and_only_follows_broadcast(self):
        node = self.node

        async def scenario():
            ws, greeting = await node.connect()
            self.assertEqual(greeting["type"], "connected")
            self.assertIsNone(greeting["user"])
            self.assertEqual(greeting["topics"], ["broadcast"])
            # Nothing to refresh, and a token does not turn it into someone's connection.
            await send_json(ws, {"type": "refresh", "data": {"token": node.token("alice", "prosumer")}})
            refused = await recv_json(ws)
            self.assertEqual(refused.get("code"), "bad_request", refused)
            self.assertIn("no token to refresh", refused["message"])
            await ws.close()

        run(scenario())

    def test_authenticated_topics_are_refused_to_anonymous_clients_and_open_to_token_holders(self):
        node = self.node
        topic = fresh_topic("members:")

        async def scenario():
            anonymous, _ = await node.connect()
            for refused in (topic, "user:alice"):
                with self.subTest(refused):
                    frame = await subscribe(anonymous, refused)
                    self.assertEqual((frame["type"], frame.get("code")), ("error", "forbidden"), frame)
            self.assertEqual((await subscribe(anonymous, fresh_topic("public-")))["type"], "subscribed")
            member, greeting = await node.connect(node.token("alice", "prosumer"))
            self.assertEqual(greeting["user"], "alice")
            self.assertEqual((await subscribe(member, topic))["type"], "subscribed")
            await anonymous.close()
            await member.close()

        run(scenario())

    def test_api_key_may_publish_and_a_batch_gets_one_offset_per_event(self):
        node = self.node
        first, second = fresh_topic("batch-"), fresh_topic("batch-")

        async def scenario():
            ws, _ = await node.connect(subscriptions=[first, second])
            for _ in range(2):
                self.assertEqual((await recv_json(ws))["type"], "subscribed")
            request = urllib.request.Request(
                f"http://127.0.0.1:{node.port}/api/v1/publish", method="POST",
                data=json.dumps([{"topic": first, "data": {"n": 0}}, {"topic": second, "data": {"n": 1}},
                                 {"topic": first, "data": {"n": 2}}]).encode(),
                headers={"Content-Type": "application/json", "X-API-Key": API_KEY})
            with urllib.request.urlopen(request, timeout=10) as answer:
                self.assertEqual(answer.status, 200)
                self.assertEqual(json.loads(answer.read())["offsets"], [1, 1, 2])
            frames = [await recv_json(ws) for _ in range(3)]
            # Order is promised per topic.
            self.assertEqual([(f["offset"], f["data"]["n"]) for f in frames if f["topic"] == first], [(1, 0), (2, 2)])
            self.assertEqual([(f["offset"], f["data"]["n"]) for f in frames if f["topic"] == second], [(1, 1)])
            await ws.close()

        run(scenario())

    def test_publish_without_credentials_is_refused_even_when_auth_is_optional(self):
        answer = self.node.http("POST", "/api/v1/publish", {"topic": "x", "data": {}})
        self.assertEqual(answer.status, 401, answer.body)
        error = answer.json()["error"]  # the one error shape of every route
        self.assertIsInstance(error["code"], str)
        self.assertIsInstance(error["message"], str)


if __name__ == "__main__":
    unittest.main()
