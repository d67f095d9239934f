"""kill -9 and restart on the same data dir: every finalized transaction and UTXO state is as it
was, a lock that outlived lock_timeout_seconds while the node was down is released (its
transaction rejected), and the restarted node takes part in finality again."""
import time
import unittest
import uuid

from harness import ClusterTestCase, payment, time_tx, variant, wait_until

LOCK_TIMEOUT = 2


def fresh(name):
    return time_tx.address(f"{name}-{uuid.uuid4()}")


def snapshot(node, txids, outpoints):
    return ({t: node.transaction(t) for t in txids}, {o: node.outpoint(*o) for o in outpoints})


class Restart(ClusterTestCase, unittest.TestCase):

    def test_kill_9_after_finality_and_while_pending_loses_nothing_and_releases_stale_locks(self):
        cluster = self.make_cluster(4, lock_timeout_seconds=LOCK_TIMEOUT)
        mn1, mn2, mn3, mn4 = cluster.nodes
        payer, payee = fresh("payer"), fresh("payee")
        coins = cluster.fund(payer, [500, 400, 300])

        # Finalized (and one of them confirmed) before anything dies.
        done = [payment([coins[0]], [(payee, 450), (payer, 50)]), payment([coins[1]], [(payee, 400)])]
        for tx in done:
            self.assertEqual(mn1.submit(tx)[0], 202)
        for tx in done:
            cluster.wait_finalized(tx["txid"])
        status, body = mn1.admin("POST", "/api/utxo/blocks", {"height": 3, "txids": [done[1]["txid"]]})
        self.assertEqual((status, body["confirmed"]), (200, [done[1]["txid"]]), body)
        txids = [tx["txid"] for tx in done]
        outpoints = [(c[0], c[1]) for c in coins[:2]] + [(done[0]["txid"], 0), (done[0]["txid"], 1),
                                                         (done[1]["txid"], 0)]
        before = {node.id: snapshot(node, txids, outpoints) for node in cluster}
        self.assertEqual(variant(before["mn1"][1][(coins[1][0], coins[1][1])]["state"]), "Confirmed")

        # A pending transaction: with mn3 and mn4 down it cannot reach 3 votes; mn1 dies holding its lock.
        mn4.kill9()
        mn3.kill9()
        pending = payment([coins[2]], [(payee, 300)])
        self.assertEqual(mn1.submit(pending)[0], 202)
        wait_until(lambda: variant(mn1.state_of(coins[2][0], 2)) in ("Locked", "SpentPending"), 5, 0.02,
                   "mn1 to lock the pending input")
        self.assertEqual(mn1.status_of(pending["txid"]), "pending")
        # mn2 must hold it too before mn1 dies (on a busy machine mn1's broadcast can still be queued),
        # or there is no lock on mn2 whose release this test checks.
        wait_until(lambda: mn2.status_of(pending["txid"]) == "pending", 5, 0.02, "mn2 to hold the pending payment")
        mn1.kill9()
        time.sleep(LOCK_TIMEOUT + 1.5)  # mn1 stays down for longer than the lock timeout: not a wait for an event
        for node in (mn1, mn3, mn4):
            cluster.restart(node, wait_links=False)
        cluster.wait_connected()

        for node in cluster:
            after = snapshot(node, txids, outpoints)
            for txid in txids:
                self.assertEqual(after[0][txid], before[node.id][0][txid],
                                 f"{node.id}: transaction {txid[:12]} changed across the restart")
            for outpoint in outpoints:
                self.assertEqual(after[1][outpoint], before[node.id][1][outpoint],
                                 f"{node.id}: outpoint {outpoint[0][:12]}:{outpoint[1]} changed across the restart")
        # The stale lock is gone on mn1 (restarted) and mn2 (stayed up); the transaction rejected.
        for node in (mn1, mn2):
            wait_until(lambda: node.state_of(coins[2][0], 2) == "Unspent", 5, 0.05,
                       f"{node.id}: the stale lock released")
            self.assertEqual(node.status_of(pending["txid"]), "rejected", node.id)
            self.assertIsNone(node.outpoint(pending["txid"], 0), node.id)

        # The restarted nodes vote again: the released input and a finalized output are spendable.
        onward = payment([coins[2], (done[0]["txid"], 0)], [(fresh("shop"), 750)])
        status, body = mn3.submit(onward)
        self.assertEqual(status, 202, body)
        bodies = cluster.wait_finalized(onward["txid"])
        self.assertTrue(all(b["approvals"] >= 3 for b in bodies.values()), bodies)
        self.stop_cluster(cluster)

    def test_what_a_wallet_was_told_is_on_disk_before_it_is_told(self):
        """kill -9 the instant the wallet sees TransactionFinalized: after the restart the node still
        says finalized (state is written before notifications go out)."""
        cluster = self.make_cluster(4, lock_timeout_seconds=LOCK_TIMEOUT)
        mn1 = cluster[0]
        payer = fresh("payer")
        coins = cluster.fund(payer, [10] * 5)
        wallet = cluster.wallet(mn1)
        wallet.subscribe([payer])
        txs = [payment([coin], [(fresh("payee"), 10)]) for coin in coins]
        for tx in txs:
            self.assertEqual(mn1.submit(tx)[0], 202)
        last = txs[-1]["txid"]
        wallet.wait_for(lambda m: m.get("type") == "TransactionFinalized" and m["txid"] == last, 15,
                        "the last TransactionFinalized")
        mn1.kill9()
        told = {m["txid"] for m in wallet.messages("TransactionFinalized")}
        cluster.restart(mn1)
        for tx in txs:
            if tx["txid"] in told:
                self.assertEqual(mn1.status_of(tx["txid"]), "finalized", tx["txid"])
                self.assertEqual(variant(mn1.state_of(tx["inputs"][0]["previous_output"]["txid"],
                                                      tx["inputs"][0]["previous_output"]["vout"])), "SpentFinalized")
                self.assertEqual(mn1.state_of(tx["txid"], 0), "Unspent")
        self.stop_cluster(cluster)

    def test_a_masternode_killed_mid_stream_gets_every_message_it_was_sent(self):
        """kill -9 mn4 while payments stream through the mesh, restart it: what its peers had written
        to it (some of it unread in its socket, or read but not yet committed, when it died) comes
        again, because a peer keeps every message until a Pong says it was committed. mn4 ends with
        every payment finalized, like the others."""
        cluster = self.make_cluster(4)
        mn1, mn2, mn3, mn4 = cluster.nodes
        payer = fresh("payer")
        coins = cluster.fund(payer, [10] * 120)
        txs = [payment([coin], [(fresh("payee"), 10)]) for coin in coins]
        for index, tx in enumerate(txs):
            if index == 40:
                mn4.kill9()  # mid-stream: earlier payments are still crossing the mesh
            status, body = mn1.submit(tx)
            self.assertEqual(status, 202, body)
        for tx in txs:
            cluster.wait_finalized(tx["txid"], nodes=[mn1, mn2, mn3])
        cluster.restart(mn4)
        for tx in txs:
            cluster.wait_finalized(tx["txid"], nodes=[mn4])
            self.assertEqual(mn4.state_of(tx["txid"], 0), "Unspent", tx["txid"])
        try:
            wait_until(lambda: all(p["outbound"]["queued"] == 0 and p["outbound"]["unconfirmed"] == 0
                                   for node in cluster for p in node.peers().values()),
                       10, 0.05, "every peer's queue confirmed")
        except AssertionError as error:
            raise AssertionError(f"{error}: " + "; ".join(f"{n.id}: {n.peers()}" for n in cluster))
        self.stop_cluster(cluster)

    def test_a_payment_only_its_killed_masternode_knew_of_is_announced_again_after_restart(self):
        """mn1 accepts a payment while its peers are down, so its broadcast and vote wait in memory,
        and is killed with -9: they are gone. Restarted, mn1 announces what it still has pending,
        and the payment finalizes everywhere instead of waiting out lock_timeout_seconds."""
        cluster = self.make_cluster(4)
        mn1, mn2, mn3, mn4 = cluster.nodes
        payer = fresh("payer")
        coins = cluster.fund(payer, [70])
        for node in (mn2, mn3, mn4):
            node.kill9()
        tx = payment([coins[0]], [(fresh("payee"), 70)])
        status, body = mn1.submit(tx)
        self.assertEqual(status, 202, body)
        mn1.kill9()
        for node in (mn2, mn3, mn4, mn1):
            cluster.restart(node, wait_links=False)
        cluster.wait_connected()
        bodies = cluster.wait_finalized(tx["txid"])
        self.assertTrue(all(b["approvals"] >= 3 for b in bodies.values()), bodies)
        self.stop_cluster(cluster)


if __name__ == "__main__":
    unittest.main()
