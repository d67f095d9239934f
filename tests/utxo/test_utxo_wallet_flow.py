"""What a wallet sees on /ws/utxo-protocol when a payment goes through 4 masternodes: the new
transaction, its input's lock, the votes, instant finality and the block confirmation, in that
order, only on the connections subscribed to the transaction's addresses."""
import time
import unittest
import uuid

from harness import (FINALITY_DEADLINE, Cluster, about, fields, payment, time_tx, variant, wait_until)


def fresh(name):
    return time_tx.address(f"{name}-{uuid.uuid4()}")


def outpoint_is(body, txid, vout):
    """The outpoint field of a GET /outpoints answer, as {"txid","vout"} or "txid:vout"."""
    value = body["outpoint"]
    return value == {"txid": txid, "vout": vout} or value == f"{txid}:{vout}"


class WalletFlow(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(4).start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()

    def test_a_payment_reaches_the_wallet_in_order_finalizes_everywhere_and_confirms(self):
        cluster = self.cluster
        mn1, mn2 = cluster[0], cluster[1]
        payer, payee = fresh("payer"), fresh("payee")
        [(genesis, _, _)] = cluster.fund(payer, [1000])
        wallet = cluster.wallet(mn1)
        confirmed = wallet.subscribe([payer, payee])
        self.assertEqual(sorted(confirmed["addresses"]), sorted([payer, payee]), confirmed)
        bystander = cluster.wallet(mn1)
        bystander.subscribe([fresh("bystander")])

        tx = payment([(genesis, 0)], [(payee, 700), (payer, 300)])
        txid = tx["txid"]
        before = int(time.time())
        status, body = mn1.submit(tx)
        self.assertEqual(status, 202, body)
        self.assertEqual((body["txid"], body["status"]), (txid, "pending"), body)

        final = wallet.wait_for(lambda m: m.get("type") == "TransactionFinalized" and m.get("txid") == txid,
                                FINALITY_DEADLINE, "TransactionFinalized")
        after = int(time.time())
        seq = [m for m in wallet.messages() if about(txid)(m)]
        upto = seq[:seq.index(final) + 1]
        self.assertEqual([m["type"] for m in upto],
                         ["NewTransaction", "UTXOStateChange", "UTXOStateChange", "UTXOStateChange",
                          "TransactionFinalized"], upto)

        new_tx = upto[0]
        self.assertEqual(new_tx["inputs"], [{"txid": genesis, "vout": 0}], new_tx)
        self.assertEqual(new_tx["outputs"], [{"address": payee, "amount": 700, "vout": 0},
                                             {"address": payer, "amount": 300, "vout": 1}], new_tx)
        self.assertIn("block_height", new_tx)
        self.assertIsNone(new_tx["block_height"], new_tx)
        self.assertIsInstance(new_tx["timestamp"], int, new_tx)

        changes = upto[1:4]
        self.assertEqual([(variant(c["old_state"]), variant(c["new_state"])) for c in changes],
                         [("Unspent", "Locked"), ("Locked", "SpentPending"), ("SpentPending", "SpentFinalized")],
                         changes)
        for c in changes:
            self.assertEqual(c["outpoint"], {"txid": genesis, "vout": 0}, c)
            self.assertEqual((c["address"], c["amount"]), (payer, 1000), c)
            self.assertTrue(before - 1 <= c["timestamp"] <= after + 1, c)
        # Each change starts where the previous one ended.
        self.assertEqual(changes[1]["old_state"], changes[0]["new_state"], changes)
        self.assertEqual(changes[2]["old_state"], changes[1]["new_state"], changes)
        locked, pending, finalized = (fields(c["new_state"]) for c in changes)
        self.assertEqual(locked["txid"], txid, locked)
        self.assertTrue(before - 1 <= locked["locked_at"] <= after + 1, locked)
        self.assertEqual((pending["txid"], pending["total_nodes"]), (txid, 4), pending)
        self.assertIsInstance(pending["votes"], int, pending)
        self.assertTrue(before - 1 <= pending["spent_at"] <= after + 1, pending)
        self.assertEqual(finalized["txid"], txid, finalized)
        self.assertGreaterEqual(finalized["votes"], 3, finalized)
        self.assertTrue(before - 1 <= finalized["finalized_at"] <= after + 1, finalized)

        self.assertGreaterEqual(final["votes"], 3, final)
        self.assertEqual(final["total_nodes"], 4, final)
        self.assertTrue(before - 1 <= final["finalized_at"] <= after + 1, final)

        # Every masternode finalized it by itself, and knows the new outputs.
        bodies = cluster.wait_finalized(txid)
        for mn_id, body in bodies.items():
            self.assertGreaterEqual(body["approvals"], 3, (mn_id, body))
            self.assertEqual((body["total_nodes"], body["quorum"]), (4, 3), (mn_id, body))
            self.assertEqual(body["transaction"]["txid"], txid, (mn_id, body))
            self.assertEqual(body["transaction"]["outputs"], tx["outputs"], (mn_id, body))
        for node in cluster:
            out = wait_until(lambda: node.outpoint(txid, 0), 5, 0.05, f"{node.id}: the payee's output")
            self.assertTrue(outpoint_is(out, txid, 0), out)
            self.assertEqual((out["address"], out["amount"], out["state"]), (payee, 700, "Unspent"), (node.id, out))
            self.assertEqual(node.state_of(txid, 1), "Unspent", node.id)
            spent = node.state_of(genesis, 0)
            self.assertEqual((variant(spent), fields(spent)["txid"]), ("SpentFinalized", txid), (node.id, spent))
            info = node.address_info(payee)
            self.assertEqual(info["address"], payee, info)
            self.assertEqual(info["balance"], 700, (node.id, info))
            self.assertEqual([(u["amount"], u["state"]) for u in info["utxos"]], [(700, "Unspent")], (node.id, info))

        # The payee can spend it at once, through another masternode.
        onward = payment([(txid, 0)], [(fresh("shop"), 650)])
        status, body = mn2.submit(onward)
        self.assertEqual(status, 202, body)
        cluster.wait_finalized(onward["txid"])
        wallet.wait_for(lambda m: m.get("type") == "TransactionFinalized" and m.get("txid") == onward["txid"],
                        FINALITY_DEADLINE, "the onward payment finalized (the wallet follows the payee)")

        # A block confirms the first one.
        status, body = mn1.admin("POST", "/api/utxo/blocks", {"height": 10, "txids": [txid]})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["confirmed"], body["skipped"]), ([txid], []), body)
        confirmation = wallet.wait_for(lambda m: m.get("type") == "TransactionConfirmed" and m.get("txid") == txid,
                                       FINALITY_DEADLINE, "TransactionConfirmed")
        self.assertEqual(confirmation["block_height"], 10, confirmation)
        self.assertIsInstance(confirmation["confirmed_at"], int, confirmation)
        change = wallet.wait_for(lambda m: m.get("type") == "UTXOStateChange"
                                 and variant(m.get("new_state")) == "Confirmed"
                                 and m.get("outpoint") == {"txid": genesis, "vout": 0},
                                 FINALITY_DEADLINE, "the SpentFinalized→Confirmed state change")
        self.assertEqual(variant(change["old_state"]), "SpentFinalized", change)
        self.assertEqual(fields(change["new_state"])["txid"], txid, change)
        self.assertEqual(fields(change["new_state"])["block_height"], 10, change)
        self.assertEqual(mn1.status_of(txid), "confirmed")
        self.assertEqual(variant(mn1.state_of(genesis, 0)), "Confirmed")

        # A block naming an unknown transaction skips it with a reason.
        unknown = time_tx.make_tx([], [])["txid"]
        status, body = mn1.admin("POST", "/api/utxo/blocks", {"height": 11, "txids": [unknown]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["confirmed"], [], body)
        self.assertEqual([s["txid"] for s in body["skipped"]], [unknown], body)
        self.assertTrue(body["skipped"][0]["reason"], body)

        # Each notification came once, and nothing reached the wallet subscribed elsewhere.
        wallet.ping()
        for kind in ("NewTransaction", "TransactionFinalized", "TransactionConfirmed"):
            self.assertEqual(len([m for m in wallet.messages(kind) if m["txid"] == txid]), 1, kind)
        bystander.ping()
        self.assertEqual([m["type"] for m in bystander.messages()], ["SubscriptionConfirmed", "Pong"],
                         bystander.messages())

    def test_ping_answers_pong_and_unsubscribe_stops_delivery_for_that_address_only(self):
        cluster = self.cluster
        kept, dropped = fresh("kept"), fresh("dropped")
        wallet = cluster.wallet(cluster[0])
        wallet.subscribe([kept, dropped])
        self.assertEqual(wallet.ping(), {"type": "Pong"})
        watcher = cluster.wallet(cluster[0])
        watcher.subscribe([dropped])
        wallet.unsubscribe(dropped)
        mark = len(wallet.messages())

        [(coin, _, _)] = cluster.fund(fresh("stranger"), [50])
        to_dropped = payment([(coin, 0)], [(dropped, 50)])
        self.assertEqual(cluster[0].submit(to_dropped)[0], 202)
        watcher.wait_for(lambda m: m.get("type") == "TransactionFinalized" and m["txid"] == to_dropped["txid"],
                         FINALITY_DEADLINE, "the watcher to see the payment finalized")
        wallet.ping()
        self.assertEqual([m for m in wallet.messages(since=mark) if m["type"] != "Pong"], [],
                         "an unsubscribed address still delivered")

        [(coin, _, _)] = cluster.fund(kept, [80])
        from_kept = payment([(coin, 0)], [(fresh("elsewhere"), 80)])
        self.assertEqual(cluster[0].submit(from_kept)[0], 202)
        wallet.wait_for(lambda m: m.get("type") == "TransactionFinalized" and m["txid"] == from_kept["txid"],
                        FINALITY_DEADLINE, "the still-subscribed address to deliver")


if __name__ == "__main__":
    unittest.main()
