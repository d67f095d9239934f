"""Masternodes lost with kill -9: with 3 of 4 left a payment still reaches instant finality (3 votes
are the quorum of 4); with 2 of 4 nothing can finalize, and the lock is released after
lock_timeout_seconds with the transaction reported rejected."""
import time
import unittest
import uuid

from harness import FINALITY_DEADLINE, ClusterTestCase, payment, time_tx, variant, wait_until

LOCK_TIMEOUT = 3


def fresh(name):
    return time_tx.address(f"{name}-{uuid.uuid4()}")


class NodeLoss(ClusterTestCase, unittest.TestCase):

    def test_one_masternode_killed_mid_vote_three_finalize_two_down_nothing_finalizes(self):
        cluster = self.make_cluster(4, lock_timeout_seconds=LOCK_TIMEOUT)
        mn1, mn2, mn3, mn4 = cluster.nodes
        payer = fresh("payer")
        coins = cluster.fund(payer, [100, 200, 300])
        wallet = cluster.wallet(mn1)
        wallet.subscribe([payer])

        # 1. mn4 dies right after the submission: the other three still finalize.
        tx = payment([coins[0]], [(fresh("payee"), 100)])
        status, body = mn1.submit(tx)
        mn4.kill9()
        self.assertEqual(status, 202, body)
        bodies = cluster.wait_finalized(tx["txid"], nodes=[mn1, mn2, mn3])
        for mn_id, body in bodies.items():
            self.assertGreaterEqual(body["approvals"], 3, (mn_id, body))
        final = wallet.wait_for(lambda m: m.get("type") == "TransactionFinalized" and m["txid"] == tx["txid"],
                                FINALITY_DEADLINE, "TransactionFinalized with mn4 dead")
        self.assertGreaterEqual(final["votes"], 3, final)
        self.assertEqual(final["total_nodes"], 4, final)

        # And the next payment too, with mn4 already gone.
        tx = payment([coins[1]], [(fresh("payee"), 200)])
        self.assertEqual(mn2.submit(tx)[0], 202)
        cluster.wait_finalized(tx["txid"], nodes=[mn1, mn2, mn3])

        # 2. mn3 dies too: 2 approvals of 4 can never make 3. Nothing finalizes; after the lock
        # timeout the input is Unspent again and the transaction rejected on the nodes still up.
        mn3.kill9()
        # mn1 can tell it: 2 of 4 masternodes reachable cannot make the 3 votes of finality.
        health = wait_until(lambda: (lambda h: h if h["plugins"][0]["health"] == "degraded" else None)(
            mn1.http("GET", "/healthz").json()), 15, 0.1, "mn1's health degraded without a quorum")
        self.assertEqual(health["plugins"][0]["reason"],
                         "2 of 4 masternodes reachable; finalizing a transaction needs 3", health)
        self.assertIn('eventnode_utxo_peer_connected{peer="mn3",direction="outbound"} 0\n', mn1.metrics())
        self.assertIn("eventnode_utxo_quorum 3\n", mn1.metrics())
        stuck = payment([coins[2]], [(fresh("payee"), 300)])
        mark = len(wallet.messages())
        submitted = time.monotonic()
        status, body = mn1.submit(stuck)
        self.assertEqual(status, 202, body)
        locked = wait_until(lambda: variant(mn1.state_of(coins[2][0], 2)) in ("Locked", "SpentPending")
                            and mn1.state_of(coins[2][0], 2), 5, 0.02, "the input locked on mn1")
        self.assertIn(variant(locked), ("Locked", "SpentPending"), locked)
        cluster.wait_status(stuck["txid"], "rejected", nodes=[mn1, mn2], timeout=LOCK_TIMEOUT + 10)
        waited = time.monotonic() - submitted
        # locked_at is in whole seconds, so the release may come up to a second before the full timeout.
        self.assertGreaterEqual(waited, LOCK_TIMEOUT - 1.0, "released before lock_timeout_seconds")
        for node in (mn1, mn2):
            self.assertEqual(node.state_of(coins[2][0], 2), "Unspent", node.id)
            self.assertIsNone(node.outpoint(stuck["txid"], 0), node.id)
        released = wallet.wait_for(lambda m: m.get("type") == "UTXOStateChange"
                                   and m["outpoint"] == {"txid": coins[2][0], "vout": 2}
                                   and m["new_state"] == "Unspent", 5, "the release notified", since=mark)
        self.assertIn(variant(released["old_state"]), ("Locked", "SpentPending"), released)
        self.assertEqual([m for m in wallet.messages("TransactionFinalized", since=mark)], [],
                         "finalized with 2 of 4 masternodes")

        # 3. Both come back: the released input is spendable and the set finalizes again.
        cluster.restart(mn3, wait_links=False)
        cluster.restart(mn4, wait_links=False)
        cluster.wait_connected()
        wait_until(lambda: mn1.http("GET", "/healthz").json()["plugins"][0]["health"] == "ok", 15, 0.1,
                   "mn1's health ok with its peers back")
        # Whatever mn1 and mn2 had queued for mn3 and mn4 while they were down (the broadcast, the
        # votes) must not revive the rejected transaction: the wallet was told its input is Unspent.
        watch_until = time.monotonic() + 2.0
        while time.monotonic() < watch_until:  # a bounded observation window, not a wait for an event
            for node in (mn1, mn2):
                self.assertEqual(
                    (node.status_of(stuck["txid"]), node.state_of(coins[2][0], 2)), ("rejected", "Unspent"),
                    f"{node.id}: the transaction rejected at the lock timeout changed after mn3 and mn4 came back")
            time.sleep(0.1)
        retry = payment([coins[2]], [(fresh("payee"), 300)])
        status, body = mn1.submit(retry)
        self.assertEqual(status, 202, f"{body}; the input on each node: "
                         f"{[(n.id, n.state_of(coins[2][0], 2)) for n in cluster]}; the rejected transaction: "
                         f"{[(n.id, n.status_of(stuck['txid'])) for n in cluster]}")
        cluster.wait_finalized(retry["txid"])
        self.stop_cluster(cluster)


if __name__ == "__main__":
    unittest.main()
