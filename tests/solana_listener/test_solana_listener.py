"""solana_listener against the Solana emulator (issue 6): live mints, a dropped socket
with 200 transactions landing meanwhile, notifications silently paused, a restart that
backfills from the stored cursor, malformed and oversized notifications, RPC errors,
watched signatures (confirmed, failed, expired, a notification lost with its socket, a
malformed request) and a followed account. Each test checks what a client of the node
checks: every transaction once, in slot order; every watch answered once."""
import base64
import unittest

from harness import ListenerNode, SolanaSim, install_simulator, wait_until

TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


def setUpModule():
    install_simulator()


class ListenerTest(unittest.TestCase):
    def setUp(self):
        self.sim = SolanaSim()
        self.addCleanup(self.sim.stop)
        self.program = self.sim.info["token_program"]
        self.topic = f"solana:program:{self.program}"

    def start_node(self, **config):
        node = ListenerNode(self.sim, [self.program], **config)
        self.addCleanup(node.cleanup)
        node.start()
        node.wait_cursor(self.program)
        return node

    def assert_once_in_slot_order(self, events, expected_signatures):
        signatures = [e["signature"] for e in events]
        self.assertEqual(len(signatures), len(set(signatures)), "a transaction was published twice")
        self.assertEqual(set(signatures), set(expected_signatures))
        slots = [e["slot"] for e in events]
        self.assertEqual(slots, sorted(slots), "events out of slot order")

    def test_live_mints_are_published_with_their_instructions(self):
        node = self.start_node()
        minted = self.sim.mint(5, checked="alternate")["signatures"]
        events = node.events(self.topic, 5)
        self.assert_once_in_slot_order(events, minted)
        for event in events:
            self.assertEqual(event["type"], "SolanaTransaction")
            self.assertEqual(event["program"], self.program)
            self.assertEqual(event["source"], "live")
            self.assertIsNone(event["err"])
            self.assertTrue(event["logs"], event)
        # p-token logs no instruction names; the listener reads them from the instruction data.
        names = {i.get("name") for e in events for i in e["instructions"]}
        self.assertTrue({"MintTo", "MintToChecked"} <= names, names)
        # The same event on the transaction's own topic.
        single = node.events(f"solana:tx:{minted[0]}", 1)
        self.assertEqual(single[0]["signature"], minted[0])
        # The status tells how long the RPC node took to answer those getTransaction calls.
        naming = node.status()["naming_rpc"]
        self.assertGreaterEqual(naming["samples"], 1, naming)
        self.assertGreater(naming["p50_ms"], 0, naming)
        self.assertLessEqual(naming["p50_ms"], naming["p99_ms"], naming)
        self.assertLessEqual(naming["p99_ms"], naming["max_ms"], naming)

    def test_live_mints_share_one_kept_alive_rpc_connection(self):
        # A connection per getTransaction costs a TCP handshake and a teardown on each live
        # token event, on both sides, and leaves a TIME-WAIT socket behind every time.
        node = self.start_node()
        before = self.sim.control("stats")["rpc_connections_total"]
        # 50 ms apart, so even a slow (sanitized, loaded) node names them in separate calls rather than
        # one batch: the calls must be many for "one connection for all of them" to mean anything.
        self.sim.mint(30, interval_ms=50)
        node.events(self.topic, 30, settle=0)
        self.assertGreaterEqual(node.status()["naming_rpc"]["samples"], 10)
        opened = self.sim.control("stats")["rpc_connections_total"] - before
        self.assertLessEqual(opened, 1, f"{opened} connections for the getTransaction calls of 30 live mints")

    def test_an_rpc_connection_closed_while_idle_is_dialled_again_without_an_error(self):
        # Providers close kept-alive connections after an idle timeout; the next call
        # finds the socket closed and must dial again, not fail or publish without names.
        node = self.start_node()
        first = self.sim.mint(1)["signatures"][0]
        node.events(f"solana:tx:{first}", 1, settle=0)
        errors = node.status()["rpc_errors"]
        self.assertGreaterEqual(self.sim.control("rpc/close_idle")["closed"], 1)
        second = self.sim.mint(1)["signatures"][0]
        event = node.events(f"solana:tx:{second}", 1, settle=0)[0]
        self.assertIn("MintTo", {i.get("name") for i in event["instructions"]}, event)
        self.assertEqual(node.status()["rpc_errors"], errors)

    def test_a_failed_transaction_is_published_with_its_error(self):
        node = self.start_node()
        failed = self.sim.control("fail")["signatures"][0]
        events = node.events(self.topic, 1)
        self.assertEqual(events[0]["signature"], failed)
        self.assertIsNotNone(events[0]["err"])

    def test_200_transactions_landing_while_the_socket_is_down_are_each_published_once_in_slot_order(self):
        node = self.start_node()
        before = self.sim.mint(3)["signatures"]
        node.events(self.topic, 3)
        # Freeze the socket (no pong either), land 200, then drop it: the listener must
        # notice, reconnect, resubscribe and backfill the gap over RPC.
        self.sim.control("ws/pause", {"mode": "drop"})
        during = self.sim.mint(200)["signatures"]
        self.sim.control("ws/drop")
        self.sim.control("ws/resume")
        after = self.sim.mint(3)["signatures"]
        events = node.events(self.topic, 206, timeout=60)
        self.assert_once_in_slot_order(events, before + during + after)
        self.assertGreaterEqual(sum(1 for e in events if e["source"] == "backfill"), 200)
        self.assertGreaterEqual(node.status()["pubsub"]["reconnects"], 1)

    def test_notifications_silently_paused_are_caught_up_within_a_reconcile_interval(self):
        node = self.start_node(reconcile_interval_seconds=3)
        self.sim.control("ws/pause", {"mode": "drop"})
        landed = self.sim.mint(50)["signatures"]
        # The socket stays up and answers pings: only reconciliation can find these.
        events = node.events(self.topic, 50, timeout=3 * 2 + 10)
        self.assert_once_in_slot_order(events, landed)
        self.assertEqual(node.status()["pubsub"]["reconnects"], 0)

    def test_a_socket_that_stops_answering_pings_is_replaced_and_the_gap_backfilled(self):
        node = self.start_node(ping_interval_seconds=1, pong_timeout_seconds=1)
        self.sim.control("ws/freeze")  # the emulator stops reading: no pong, no notification
        landed = self.sim.mint(10)["signatures"]
        wait_until(lambda: node.status()["pubsub"]["reconnects"] >= 1, 10, interval=0.1,
                   what="a reconnect after the missing pong")
        self.sim.control("ws/thaw")
        events = node.events(self.topic, 10)
        self.assert_once_in_slot_order(events, landed)

    def test_healthz_says_pubsub_is_down_while_it_is_and_metrics_show_the_link(self):
        node = self.start_node()
        self.sim.mint(2)
        node.events(self.topic, 2)
        text = node.metrics()
        self.assertIn("eventnode_solana_listener_pubsub_connected 1\n", text)
        published = 0
        for source in ("live", "backfilled"):
            series = f'eventnode_solana_listener_events_published_total{{program="{self.program}",source="{source}"}} '
            self.assertIn(series, text)
            published += int(text.split(series, 1)[1].split("\n", 1)[0])
        self.assertEqual(published, 2, "each mint counted once, live or backfilled")

        def listener_health():
            answer = node.http("GET", "/healthz").json()
            return answer, answer["plugins"][0]

        self.assertEqual(listener_health()[1]["health"], "ok")
        # The Solana node goes away: every redial is refused, and /healthz says so while the node serves on.
        self.sim.stop()
        answer, plugin = wait_until(lambda: (lambda a, p: (a, p) if p["health"] == "degraded" else None)(
            *listener_health()), 15, 0.1, "a degraded health while PubSub is down")
        self.assertEqual(answer["status"], "degraded")
        self.assertIn("pubsub disconnected for", plugin["reason"])
        # Scrapes read a snapshot up to 500 ms old (plugin::ScrapeSnapshot), so the gauge may lag health a little.
        wait_until(lambda: "eventnode_solana_listener_pubsub_connected 0\n" in node.metrics(), 5, 0.1,
                   "the pubsub_connected gauge to read 0")
        self.assertEqual(node.http("GET", "/healthz").status, 200, "degraded, not down")

    def test_a_restart_backfills_from_the_stored_cursor(self):
        node = self.start_node()
        first = self.sim.mint(3)["signatures"]
        node.events(self.topic, 3)
        wait_until(lambda: node.status()["programs"][self.program]["cursor"]["signature"] == first[-1], 10,
                   interval=0.1, what="the cursor at the last mint")
        node.kill9()
        missed = self.sim.mint(20)["signatures"]
        node.start()
        events = node.events(self.topic, 20)
        self.assert_once_in_slot_order(events, missed)
        self.assertTrue(all(e["source"] == "backfill" for e in events))

    def test_a_crash_right_after_live_events_does_not_publish_them_again(self):
        # A reconcile interval longer than the test: no walk moves the cursor past
        # the live events, so only the remembered signatures keep them from a repeat.
        node = self.start_node(reconcile_interval_seconds=300)
        live = self.sim.mint(5)["signatures"]
        node.events(self.topic, 5)
        node.kill9()
        missed = self.sim.mint(5)["signatures"]
        node.start()
        events = node.events(self.topic, 5, settle=1.5)
        self.assert_once_in_slot_order(events, missed)
        self.assertFalse(set(live) & {e["signature"] for e in events}, "a live event was published again")

    def test_malformed_and_oversized_notifications_are_counted_and_nothing_is_lost(self):
        node = self.start_node(max_message_bytes=1024 * 1024)
        for kind in ("malformed", "bad_fields", "unknown_subscription"):
            self.sim.control("ws/inject", {"kind": kind})
        self.sim.control("ws/inject", {"kind": "oversized", "bytes": 2 * 1024 * 1024})
        landed = self.sim.mint(5)["signatures"]
        events = node.events(self.topic, 5)
        self.assert_once_in_slot_order(events, landed)
        status = wait_until(lambda: node.status()["malformed"] >= 2 and node.status(), 10, interval=0.1,
                            what="the malformed notifications counted")
        self.assertGreaterEqual(status["malformed"], 2, status)
        self.assertIsNone(node.process.poll(), "the node died")

    def test_rpc_errors_and_timeouts_during_a_backfill_only_delay_it(self):
        node = self.start_node()
        self.sim.control("ws/pause", {"mode": "drop"})
        self.sim.control("rpc/fault", {"mode": "error", "duration_ms": 2500})
        landed = self.sim.mint(30)["signatures"]
        self.sim.control("ws/drop")
        self.sim.control("ws/resume")
        events = node.events(self.topic, 30, timeout=40)
        self.assert_once_in_slot_order(events, landed)
        self.assertGreaterEqual(node.status()["rpc_errors"], 1)
        self.sim.control("ws/pause", {"mode": "drop"})
        self.sim.control("rpc/fault", {"mode": "hang", "duration_ms": 3000})
        more = self.sim.mint(10)["signatures"]
        self.sim.control("ws/resume")
        events = node.events(self.topic, 40, timeout=40)
        self.assert_once_in_slot_order(events, landed + more)

    def test_a_watched_signature_gets_its_outcome_once(self):
        node = self.start_node()
        minted = self.sim.mint(1)["signatures"][0]
        node.publish("solana:watch", {"signature": minted, "commitment": "confirmed"})
        outcome = [e for e in node.events(f"solana:tx:{minted}", 2, settle=1.0) if e["type"] == "SolanaSignatureStatus"]
        self.assertEqual(len(outcome), 1, outcome)
        self.assertEqual(outcome[0]["status"], "confirmed")
        self.assertIsNone(outcome[0]["err"])

    def watch_outcomes(self, node, signature, settle=1.0):
        events = node.events(f"solana:tx:{signature}", 1, settle=settle)
        return [e for e in events if e["type"] == "SolanaSignatureStatus"]

    def test_a_watched_failed_transaction_is_reported_failed_with_its_error(self):
        node = self.start_node()
        failed = self.sim.control("fail", {"count": 1})
        signature = failed["signatures"][0]
        node.publish("solana:watch", {"signature": signature, "commitment": "confirmed"})
        outcome = self.watch_outcomes(node, signature)
        self.assertEqual(len(outcome), 1, outcome)
        self.assertEqual(outcome[0]["status"], "failed")
        self.assertEqual(outcome[0]["err"], {"InstructionError": [0, {"Custom": 4}]})
        self.assertEqual(outcome[0]["slot"], failed["slots"][0])

    def test_a_watched_signature_that_never_lands_expires_once(self):
        node = self.start_node(watch_timeout_seconds=2)
        never = base58(bytes(range(64)))
        node.publish("solana:watch", {"signature": never, "commitment": "confirmed"})
        outcome = self.watch_outcomes(node, never, settle=2.5)
        self.assertEqual(len(outcome), 1, outcome)
        self.assertEqual(outcome[0]["status"], "expired")
        self.assertIsNone(outcome[0]["err"])
        self.assertEqual(node.status()["watching"], 0)

    def test_a_watch_whose_notification_is_lost_with_its_socket_still_gets_its_outcome_once(self):
        node = self.start_node()
        signature = self.sim.mint(1)["signatures"][0]
        # The notification is dropped, and the status check fails, so neither tells the node...
        self.sim.control("ws/pause", {"mode": "drop"})
        self.sim.control("rpc/fault", {"mode": "error", "methods": ["getSignatureStatuses"], "duration_ms": 1500})
        node.publish("solana:watch", {"signature": signature, "commitment": "confirmed"})
        wait_until(lambda: node.status()["watching"] == 1, 10, interval=0.05, what="the watch to be registered")
        # ...then the socket dies; after the reconnect the node asks again.
        self.sim.control("ws/drop")
        self.sim.control("ws/resume")
        outcome = self.watch_outcomes(node, signature, settle=3.0)
        self.assertEqual(len(outcome), 1, outcome)
        self.assertEqual(outcome[0]["status"], "confirmed")
        self.assertEqual(node.status()["watching"], 0)

    def test_a_malformed_watch_request_is_logged_with_what_it_needs_and_nothing_else_changes(self):
        node = self.start_node()
        for bad in ({"signature": "not base58 0OIl"}, {"signature": base58(bytes(32))},
                    {"signature": base58(bytes(64)), "commitment": "soon"}, ["not", "an", "object"]):
            node.publish("solana:watch", bad)
        wait_until(lambda: node.log().count("refused solana:watch request") >= 4, 10, interval=0.05,
                   what="four refusals in the log")
        self.assertIn('it needs {"signature": base58 of 64 bytes', node.log())
        self.assertEqual(node.status()["watching"], 0)
        landed = self.sim.mint(2)["signatures"]
        self.assert_once_in_slot_order(node.events(self.topic, 2), landed)

    def test_a_followed_account_is_published_after_each_change_with_its_data(self):
        account = self.sim.info["recipient_token_account"]
        node = self.start_node(accounts=[account])
        minted = self.sim.mint(2, amount=7)
        events = node.events(f"solana:account:{account}", 2)
        self.assertEqual([e["type"] for e in events], ["SolanaAccount"] * 2)
        self.assertEqual([e["account"] for e in events], [account] * 2)
        self.assertEqual([e["slot"] for e in events], minted["slots"])
        # The SPL token account's amount, a u64 at byte 64, grows by 7 with each mint.
        amounts = []
        for event in events:
            data, encoding = event["value"]["data"]
            self.assertEqual(encoding, "base64")
            amounts.append(int.from_bytes(base64.b64decode(data)[64:72], "little"))
            self.assertEqual(event["value"]["owner"], TOKEN)
        self.assertEqual(amounts[1] - amounts[0], 7)
        self.assertEqual(amounts[1], int(minted["balance"]))


BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data):
    """Bitcoin-alphabet base58, as Solana writes signatures and keys."""
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


if __name__ == "__main__":
    unittest.main()
