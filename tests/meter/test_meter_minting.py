"""Minting for real (issue 17, "Minting" and "Proof"): 500 readings from 20 users
and 50 meters against the Solana emulator, where LiteSVM executes the SPL Token
and ATA programs. Every owner's token accounts end with exactly the sum of their
validated kWh × 10^9; each user receives their own events and nothing of
others'; admins receive every BatchMintingCompleted with the right counts; the
seed's filter lets a TokensMinted without a meter id and a BatchMintingCompleted through."""
import collections
import shutil
import random
import tempfile
import unittest

from harness import (BASE_UNITS, Keypair, MeterNode, SolanaSim, Watcher, metric_value, now_ms, wait_until)

USERS = 20
METERS = 50
READINGS = 500


class MeterMintingTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="meter-mint-")
        self.authority = Keypair()
        self.sim = SolanaSim(self.authority, self.workdir)
        self.node = None
        self.watchers = []

    def end_node(self):
        """Stops the node by SIGTERM (it must exit 0) and removes its folder."""
        code = self.node.stop()
        self.assertEqual(code, 0, self.node.log()[-3000:])
        self.node.finish()
        self.node = None

    def tearDown(self):
        for watcher in self.watchers:
            watcher.close()
        if self.node is not None:  # the test did not reach its end: keep the node's folder
            self.node.kill()
            self.node.finish(keep=True, label="meter node of a failed test")
        self.sim.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


    def test_500_readings_of_20_users_mint_exactly_their_validated_energy(self):
        rng = random.Random(17)
        self.node = MeterNode(self.sim, mint={"batch_size": 100, "interval_ms": 1000}).start()
        users = [f"user-{u:02d}" for u in range(USERS)]
        tokens = {user: self.node.token(user, "prosumer") for user in users}
        # Each user has a wallet of their own; some meters pay into a second wallet of their owner.
        main_wallet = {user: Keypair().address for user in users}
        meters = {}
        for m in range(METERS):
            owner = users[m % USERS]
            wallet = main_wallet[owner] if m % 3 else Keypair().address
            meter_id = f"meter-{m:02d}"
            answer = self.node.register(tokens[owner], meter_id, wallet)
            self.assertEqual(answer.status, 201, answer.body)
            meters[meter_id] = (owner, wallet, answer.json()["meter"]["token_account"])
        watchers = {user: Watcher(self.node, tokens[user]) for user in users}
        admin = Watcher(self.node, self.node.admin_token())
        self.watchers = list(watchers.values()) + [admin]

        expected_wallet = collections.Counter()
        expected_user = collections.Counter()
        valid = collections.Counter()
        base = now_ms() - 3_600_000
        meter_ids = sorted(meters)
        refused = 0
        for i in range(READINGS):
            meter_id = meter_ids[i % METERS]
            owner, wallet, _ = meters[meter_id]
            # About one in twenty is over max_kwh: answered, told, and never minted.
            kwh = round(rng.uniform(100.5, 200), 3) if i % 20 == 7 else round(rng.uniform(0.001, 100), 3)
            answer = self.node.submit(tokens[owner], meter_id, kwh, base + i * 1000)
            if kwh > 100:
                self.assertEqual(answer.status, 422, answer.body)
                refused += 1
                continue
            self.assertEqual(answer.status, 200, answer.body)
            units = round(kwh * BASE_UNITS)
            expected_wallet[wallet] += units
            expected_user[owner] += units
            valid[owner] += 1
        accepted = READINGS - refused

        # Admins: every batch, with counts that add up to every accepted reading, none failed.
        def all_batched():
            done = admin.events("BatchMintingCompleted")
            return done if sum(b["successful_mints"] for b in done) >= accepted else None
        batches = wait_until(all_batched, 120, interval=0.2, what="batches covering every reading")
        self.assertEqual(sum(b["total_readings"] for b in batches), accepted)
        self.assertEqual(sum(b["failed_mints"] for b in batches), 0)
        self.assertGreaterEqual(len(batches), accepted // 100)
        for batch in batches:
            self.assertEqual(set(batch), {"type", "batch_id", "total_readings", "successful_mints", "failed_mints",
                                          "timestamp"})
            self.assertLessEqual(batch["total_readings"], 100)
            self.assertEqual(batch["successful_mints"] + batch["failed_mints"], batch["total_readings"])
        self.assertEqual(len({b["batch_id"] for b in batches}), len(batches))

        # The chain: each token account holds exactly its owner's validated kWh × 10^9.
        accounts = {wallet: account for _, wallet, account in meters.values()}
        for wallet, units in expected_wallet.items():
            mint, owner, amount = self.sim.token_account(accounts[wallet])
            self.assertEqual((mint, owner), (self.sim.info["mint"], wallet))
            self.assertEqual(amount, units, f"balance of {wallet}")
        for user in users:
            self.assertEqual(sum(self.sim.token_account(accounts[w])[2] for w in {meters[m][1] for m in meters
                                                                                  if meters[m][0] == user}),
                             expected_user[user])

        # Each user: their own readings and mints, nothing of anyone else's.
        for user, watcher in watchers.items():
            minted = wait_until(lambda: (sum(e["tokens_minted"] for e in watcher.events("TokensMinted"))
                                         >= expected_user[user]) and watcher.events("TokensMinted"),
                                30, what=f"{user}'s TokensMinted")
            self.assertEqual(sum(e["tokens_minted"] for e in minted), expected_user[user])
            self.assertEqual(len(watcher.events("MeterReadingReceived")), valid[user])
            self.assertEqual(len(watcher.events("MeterReadingValidationFailed")),
                             sum(1 for i in range(7, READINGS, 20) if meters[meter_ids[i % METERS]][0] == user))
            for event in watcher.events():
                self.assertEqual(event["user_id"], user, event)
            self.assertEqual(watcher.events("BatchMintingCompleted"), [], "a batch total reached a user")
            for event in minted:
                self.assertEqual(set(event), {"type", "user_id", "wallet_address", "meter_id", "kwh_amount",
                                              "tokens_minted", "transaction_signature", "timestamp"})
                self.assertIsInstance(event["tokens_minted"], int)
                self.assertEqual(event["tokens_minted"], round(event["kwh_amount"] * BASE_UNITS))
                landed = self.sim.rpc("getSignatureStatuses", [[event["transaction_signature"]],
                                                               {"searchTransactionHistory": True}])["value"][0]
                self.assertIsNotNone(landed, event)
                self.assertIsNone(landed["err"])

        # Several mints share a transaction (as many as fit 1,232 bytes).
        signatures = [e["transaction_signature"] for w in watchers.values() for e in w.events("TokensMinted")]
        self.assertLess(len(set(signatures)), len(signatures))
        status = self.node.status()
        self.assertEqual(status["readings"]["minted"], accepted)
        self.assertEqual(status["readings"]["pending"], 0)
        self.end_node()

    def test_a_loaded_solana_listener_confirms_the_mints_over_the_bus(self):
        listener = {"name": "solana_listener", "enabled": True,
                    "config": {"rpc_url": self.sim.info["rpc_url"], "ws_url": self.sim.info["ws_url"],
                               "commitment": "confirmed", "programs": [{"id": self.sim.info["token_program"]}],
                               "reconcile_interval_seconds": 2, "rpc_timeout_ms": 2000}}
        # Polling would start only after a minute: every confirmation must come from the listener.
        self.node = MeterNode(self.sim, extra_plugins=[listener],
                              mint={"batch_size": 5, "interval_ms": 600_000, "listener_grace_ms": 60_000}).start()
        gina = self.node.token("gina", "prosumer")
        expected = 0
        for m in range(5):
            answer = self.node.register(gina, f"g-{m}", Keypair().address if m % 2 else self.authority.address)
            self.assertEqual(answer.status, 201, answer.body)
        base = now_ms() - 60_000
        for i in range(10):
            kwh = 1.5 + i
            self.assertEqual(self.node.submit(gina, f"g-{i % 5}", kwh, base + i).status, 200)
            expected += round(kwh * BASE_UNITS)
        status = wait_until(lambda: self.node.status()["readings"]["minted"] == 10 and self.node.status(), 60,
                            interval=0.2, what="10 readings minted")
        self.assertGreater(status["minting"]["settled_by_listener"], 0)
        self.assertEqual(status["minting"]["settled_by_polling"], 0)
        metrics = self.node.metrics()
        self.assertEqual(metric_value(metrics, 'eventnode_meter_transactions_settled_total{by="listener"}'),
                         status["minting"]["settled_by_listener"])
        self.assertEqual(metric_value(metrics, 'eventnode_meter_readings{state="minted"}'), 10)
        meters = self.node.http("GET", "/api/meters", token=gina).json()["meters"]
        total = sum(self.sim.token_account(a)[2] for a in {m["token_account"] for m in meters})
        self.assertEqual(total, expected)
        self.end_node()

    def test_the_seeds_filter_passes_mints_without_a_meter_and_batch_totals(self):
        # Two readings make a batch; the interval never comes.
        self.node = MeterNode(self.sim, mint={"batch_size": 2, "interval_ms": 600_000}).start()
        frank = self.node.token("frank", "prosumer")
        wallet = Keypair().address
        for meter in ("f-1", "f-2"):
            self.assertEqual(self.node.register(frank, meter, wallet).status, 201)
        seed_filter = {"event_types": ["TokensMinted", "BatchMintingCompleted"], "meters": ["f-1"], "min_amount": 50}
        filtered = Watcher(self.node, frank)
        everything = Watcher(self.node, frank)
        admin = Watcher(self.node, self.node.admin_token())
        self.watchers = [filtered, everything, admin]
        self.assertEqual(filtered.subscribe("user:frank", filter=seed_filter)["type"], "subscribed")
        admin_filter = {"event_types": ["BatchMintingCompleted"], "meters": ["f-1"], "min_amount": 50}
        self.assertEqual(admin.subscribe("admins", filter=admin_filter)["type"], "subscribed")
        base = now_ms() - 600_000
        batches = [[("f-1", 30), ("f-2", 40)],   # one mint of 70 kWh over two meters: meter_id null, passes
                   [("f-2", 60), ("f-2", 10)],   # 70 kWh of meter f-2: not f-1, filtered out
                   [("f-1", 20), ("f-1", 25)]]   # 45 kWh of f-1: under min_amount, filtered out
        offset = 0
        for number, readings in enumerate(batches, start=1):
            for meter, kwh in readings:
                offset += 1
                self.assertEqual(self.node.submit(frank, meter, kwh, base + offset).status, 200)
            everything.wait_events("TokensMinted", number, timeout=60)
            admin.wait_events("BatchMintingCompleted", number, timeout=60)
        minted = everything.events("TokensMinted")
        self.assertEqual([(e["meter_id"], e["kwh_amount"]) for e in minted], [(None, 70), ("f-2", 70), ("f-1", 45)])
        # The filtered subscriber: the mint without a meter id, nothing else (no readings: not a listed type).
        self.assertEqual([(e["type"], e["meter_id"], e["tokens_minted"]) for e in filtered.events()],
                         [("TokensMinted", None, 70 * BASE_UNITS)])
        # The admins' filter passes every batch total: they carry neither a meter id nor an amount.
        self.assertEqual([b["total_readings"] for b in admin.events("BatchMintingCompleted")], [2, 2, 2])
        self.end_node()


if __name__ == "__main__":
    unittest.main()
