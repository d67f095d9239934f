"""Connection caps (HTTP 503 before the upgrade) and inbound rate limits."""
import asyncio
import json
import time
import unittest

import websockets
import websockets.exceptions

from node_harness import (REJECTED, NodeTestCase, RawWebSocket, expect_close, fresh_topic, metric_value,
                          receive_events, recv_json, rejected_status, run, send_json, subscribe, wait_until)

MESSAGES_PER_SECOND = 5


async def refused_status(node, token):
    try:
        ws = await websockets.connect(node.ws_url(token), open_timeout=10, ping_interval=None)
    except REJECTED as error:
        return rejected_status(error)
    await ws.close()
    return 101


class GatewayConnectionLimit(NodeTestCase, unittest.TestCase):
    node_limits = {"max_connections": 3}

    def test_connection_beyond_max_connections_gets_503_and_a_slot_frees_when_one_closes(self):
        node = self.node
        token = node.token("alice")

        async def scenario():
            clients = [await node.connect(token) for _ in range(3)]
            self.assertEqual(await refused_status(node, token), 503)
            raw = RawWebSocket(node.port, f"/ws?token={token}")
            try:
                self.assertEqual(raw.status, 503)
                self.assertEqual(json.loads(raw.body)["error"]["code"], "too_many_connections")
            finally:
                raw.close()
            # The clients that got in are unaffected.
            for ws, _ in clients:
                await send_json(ws, {"type": "ping"})
                self.assertEqual(await recv_json(ws), {"type": "pong"})
            await clients[0][0].close()
            await asyncio.to_thread(wait_until, lambda: node.connections()["total_connections"] == 2, 10,
                                    what="the closed connection to be counted out")
            again, greeting = await node.connect(token)
            self.assertEqual(greeting["type"], "connected")
            for ws in [again] + [ws for ws, _ in clients[1:]]:
                await ws.close()

        run(scenario())


class GatewayPerIpLimit(NodeTestCase, unittest.TestCase):
    node_limits = {"max_connections_per_ip": 2}

    def test_connection_beyond_the_per_ip_cap_gets_503_too_many_connections_per_ip(self):
        node = self.node
        token = node.token("alice")

        async def scenario():
            clients = [await node.connect(token) for _ in range(2)]
            self.assertEqual(await refused_status(node, token), 503)
            raw = RawWebSocket(node.port, f"/ws?token={token}")
            try:
                self.assertEqual(raw.status, 503)
                self.assertEqual(json.loads(raw.body)["error"]["code"], "too_many_connections_per_ip")
            finally:
                raw.close()
            for ws, _ in clients:
                await ws.close()

        run(scenario())


class GatewayRateLimit(NodeTestCase, unittest.TestCase):
    node_limits = {"messages_per_second": MESSAGES_PER_SECOND}

    def test_messages_beyond_messages_per_second_get_rate_limited_and_the_connection_stays(self):
        node = self.node
        burst = MESSAGES_PER_SECOND + 3  # under twice the limit: refused, not closed

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            # A burst takes milliseconds, but a fixed one-second window may split it; then try another.
            for attempt in range(3):
                for _ in range(burst):
                    await send_json(ws, {"type": "ping"})
                answers = [await recv_json(ws) for _ in range(burst)]
                limited = [a for a in answers if a.get("type") == "error"]
                pongs = [a for a in answers if a == {"type": "pong"}]
                self.assertEqual(len(limited) + len(pongs), burst, answers)
                if limited:
                    break
                # The burst straddled a window boundary; let that window pass (time, not an event, is awaited).
                await asyncio.sleep(1.1)
            self.assertTrue(limited, "no rate_limited error in three bursts")
            for frame in limited:
                self.assertEqual(frame.get("code"), "rate_limited", frame)
            self.assertGreaterEqual(len(pongs), MESSAGES_PER_SECOND, "messages within the limit are answered")

            deadline = time.monotonic() + 5
            while True:  # once the second has passed, the connection answers again
                await send_json(ws, {"type": "ping"})
                answer = await recv_json(ws)
                if answer == {"type": "pong"}:
                    break
                self.assertEqual(answer.get("code"), "rate_limited", answer)
                self.assertLess(time.monotonic(), deadline, "still rate limited after 5 seconds")
                # Pacing, not waiting for an event: dropped messages count too, and the burst plus
                # the probes of one second must stay within twice the limit, or the node closes with 1008.
                await asyncio.sleep(0.6)
            await ws.close()

        run(scenario())

    def test_more_than_twice_messages_per_second_closes_with_1008(self):
        node = self.node

        async def scenario():
            ws, _ = await node.connect(node.token("alice"))
            # Five times the limit: even split across two windows, one half is over twice the limit.
            try:
                for _ in range(5 * MESSAGES_PER_SECOND):
                    await send_json(ws, {"type": "ping"})
            except websockets.exceptions.ConnectionClosed:
                pass  # closed mid-burst; expect_close reports the code
            self.assertEqual(await expect_close(ws), 1008)

        run(scenario())


class GatewayUserRateLimit(NodeTestCase, unittest.TestCase):
    node_limits = {"user_events_per_minute": 3}

    def test_user_events_beyond_the_per_minute_limit_are_kept_in_history_and_the_user_told_once(self):
        node = self.node
        sentinel_topic = fresh_topic("sentinel-")

        async def scenario():
            alice, _ = await node.connect(node.token("alice"))
            bob, _ = await node.connect(node.token("bob"))
            self.assertEqual((await subscribe(alice, sentinel_topic))["type"], "subscribed")
            answers = [node.http("POST", "/api/v1/publish", {"topic": "user:alice", "data": {"n": i}},
                                 token=node.admin_token()) for i in range(5)]
            # The publisher is told which were not delivered, and why.
            self.assertEqual([a.status for a in answers], [200, 200, 200, 429, 429], [a.body for a in answers])
            self.assertEqual(answers[3].json()["error"]["code"], "rate_limited")
            self.assertIn("user_events_per_minute", answers[3].json()["error"]["message"])
            batch = node.http("POST", "/api/v1/publish", [{"topic": "user:alice", "data": {"n": 5}},
                                                          {"topic": "user:bob", "data": {"n": 0}}],
                              token=node.admin_token()).json()
            self.assertEqual(batch["offsets"][0], None, batch)
            self.assertEqual(batch["refused"][0]["index"], 0, batch)
            self.assertEqual(batch["refused"][0]["code"], "rate_limited", batch)
            for i in range(1, 3):
                node.publish("user:bob", {"n": i})
            sentinel = node.publish(sentinel_topic, {"type": "Sentinel"})
            frames = []
            while not frames or frames[-1].get("topic") != sentinel_topic:
                frames.append(await recv_json(alice))
            events = [f["data"]["n"] for f in frames if f["type"] == "event" and f["topic"] == "user:alice"]
            errors = [f.get("code") for f in frames if f["type"] == "error"]
            self.assertEqual(events, [0, 1, 2], frames)
            self.assertEqual(errors, ["user_rate_limited"], frames)
            self.assertEqual(frames[-1]["offset"], sentinel)
            # Not lost: kept in the user's history, and the notice says where to fetch them from.
            notice = next(f for f in frames if f["type"] == "error")
            self.assertIn("since=3", notice["message"], notice)
            confirmation = await subscribe(alice, "user:alice", since=3)
            self.assertEqual((confirmation["type"], confirmation["recovered"]), ("subscribed", True), confirmation)
            kept = await receive_events(alice, "user:alice", 3)
            self.assertEqual([(e["offset"], e["data"]["n"]) for e in kept], [(4, 3), (5, 4), (6, 5)], kept)
            bob_events = await receive_events(bob, "user:bob", 3)  # the limit is per user
            self.assertEqual([e["data"]["n"] for e in bob_events], [0, 1, 2])
            text = node.metrics()
            self.assertGreaterEqual(metric_value(text, 'eventnode_drops_total{reason="user_rate_limited"}'), 2, text)
            for ws in (alice, bob):
                await ws.close()

        run(scenario())


if __name__ == "__main__":
    unittest.main()
