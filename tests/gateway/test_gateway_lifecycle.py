"""Closing from the node's side: SIGTERM and silent clients both close with 1001."""
import asyncio
import signal
import unittest

from node_harness import Node, NodeTestCase, expect_close, recv_json, run, send_json


class GatewayShutdown(unittest.TestCase):

    def setUp(self):
        self.node = Node().start()
        self.addCleanup(self.node.cleanup)

    def test_sigterm_closes_every_client_with_1001_and_the_node_exits_0(self):
        node = self.node

        async def scenario():
            token = node.token("alice")
            first, _ = await node.connect(token)
            second, _ = await node.connect(node.token("bob"))
            raw = node.raw(token)
            self.assertEqual(raw.recv_json()["type"], "connected")
            node.signal(signal.SIGTERM)
            codes = await asyncio.gather(expect_close(first), expect_close(second))
            self.assertEqual(codes, [1001, 1001])
            self.assertEqual(await asyncio.to_thread(raw.read_until_close), 1001)
            raw.close()
            self.assertEqual(await asyncio.to_thread(node.wait_exit), 0, node.log())

        run(scenario())


class GatewayHeartbeat(NodeTestCase, unittest.TestCase):
    node_server = {"heartbeat_interval": 1}

    def test_client_silent_for_two_heartbeat_intervals_is_closed_with_1001_and_a_ponging_one_stays(self):
        node = self.node

        async def scenario():
            lively, _ = await node.connect(node.token("bob"))  # python3-websockets answers pings by itself
            silent = node.raw(node.token("alice"))
            self.assertEqual(silent.recv_json()["type"], "connected")
            # Two intervals of silence, plus slack for the node's timer.
            self.assertEqual(await asyncio.to_thread(silent.read_until_close, 6), 1001)
            silent.close()
            await send_json(lively, {"type": "ping"})
            self.assertEqual(await recv_json(lively), {"type": "pong"})
            await lively.close()

        run(scenario())


if __name__ == "__main__":
    unittest.main()
