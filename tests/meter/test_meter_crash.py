"""Exactly-once minting across a kill -9 and an emulator that stops answering
(issue 17, "Exactly once" and "Proof"). Balances are read from the chain: a
reading minted twice or lost shows in them."""
import collections
import shutil
import tempfile
import unittest

from harness import BASE_UNITS, Keypair, MeterNode, SolanaSim, Watcher, metric_value, now_ms, wait_until


class MeterCrashTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="meter-crash-")
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

    def fill(self, users=5, meters_per_user=4, readings_per_meter=5):
        """Registers meters, each with its own wallet (so a batch holds many mints and several
        transactions), submits readings; returns {token account: expected base units}."""
        expected = collections.Counter()
        base = now_ms() - 3_600_000
        n = 0
        for u in range(users):
            user = f"crash-{u}"
            token = self.node.token(user, "prosumer")
            for m in range(meters_per_user):
                meter = f"{user}-m{m}"
                answer = self.node.register(token, meter, Keypair().address)
                self.assertEqual(answer.status, 201, answer.body)
                account = answer.json()["meter"]["token_account"]
                for r in range(readings_per_meter):
                    n += 1
                    kwh = round(1 + (n * 7919 % 9000) / 100, 2)
                    self.assertEqual(self.node.submit(token, meter, kwh, base + n * 1000).status, 200)
                    expected[account] += round(kwh * BASE_UNITS)
        return expected, n

    def assert_balances(self, expected):
        for account, units in expected.items():
            held = self.sim.token_account(account)
            self.assertIsNotNone(held, f"token account {account} was never created")
            self.assertEqual(held[2], units, f"balance of {account}: minted {held[2] / units:.2f}× what was owed")

    def wait_minted(self, count, timeout=90):
        return wait_until(lambda: self.node.status()["readings"]["minted"] >= count and self.node.status(), timeout,
                          interval=0.2, what=f"{count} readings minted")

    def test_kill_9_after_sends_before_confirmation_mints_each_reading_once(self):
        # Transactions land, but their status cannot be read: the node is killed with them sent, unconfirmed.
        self.node = MeterNode(self.sim, mint={"batch_size": 1000, "interval_ms": 2000}).start()
        self.sim.control("rpc/fault", {"mode": "error", "methods": ["getSignatureStatuses"], "duration_ms": 600_000})
        landed_before = self.sim.stats()["transactions_landed"]
        expected, readings = self.fill()
        wait_until(lambda: self.sim.stats()["transactions_landed"] > landed_before, 60, interval=0.1,
                   what="mint transactions landed")
        self.node.kill9()
        self.sim.control("rpc/clear")
        self.node.start()
        status = self.wait_minted(readings)
        self.assertEqual(status["readings"]["minted"], readings)
        self.assert_balances(expected)
        # Nothing was sent again to mint twice: every landed transaction of ours confirmed once.
        self.assertEqual(status["readings"]["pending"] + status["readings"]["batched"], 0)
        self.end_node()

    def test_kill_9_with_a_transaction_stored_but_never_landed_builds_it_anew_once_expired(self):
        # sendTransaction never reaches the chain: the node stores each transaction, sends, hears nothing.
        self.node = MeterNode(self.sim, mint={"batch_size": 1000, "interval_ms": 1000}).start()
        self.sim.control("rpc/fault", {"mode": "drop", "methods": ["sendTransaction"], "duration_ms": 600_000})
        expected, readings = self.fill(users=2, meters_per_user=3, readings_per_meter=2)
        wait_until(lambda: self.node.status()["minting"]["transactions_sent"] >= 1, 60, interval=0.1,
                   what="a transaction stored and sent")
        self.node.kill9()
        landed_before = self.sim.stats()["transactions_landed"]
        # Its blockhash expires (lastValidBlockHeight is slot + 150 on the emulator).
        self.sim.control("slot/advance", {"slots": 400})
        self.sim.control("rpc/clear")
        self.node.start()
        status = self.wait_minted(readings)
        self.assertEqual(status["readings"]["minted"], readings)
        self.assert_balances(expected)
        self.assertGreater(self.sim.stats()["transactions_landed"], landed_before)
        self.end_node()

    def test_failed_mints_count_as_failed_and_are_retried_in_a_later_batch(self):
        # A fresh emulator whose mint authority has no lamports: every mint fails its preflight
        # (the fee cannot be paid) until the authority is funded.
        self.sim.stop()
        self.sim = SolanaSim(self.authority, self.workdir, fund=False)
        # A batch as soon as all 8 readings wait (and again each time they are back after failing).
        self.node = MeterNode(self.sim, mint={"batch_size": 8, "interval_ms": 600_000, "max_attempts": 10}).start()
        admin = Watcher(self.node, self.node.admin_token())
        self.watchers = [admin]
        expected, readings = self.fill(users=2, meters_per_user=2, readings_per_meter=2)
        failed = admin.wait_events("BatchMintingCompleted", 2, timeout=30)
        for batch in failed[:2]:
            self.assertEqual((batch["total_readings"], batch["successful_mints"], batch["failed_mints"]),
                             (readings, 0, readings), batch)
        self.sim.fund()
        self.wait_minted(readings)
        self.assert_balances(expected)
        batches = admin.wait_events("BatchMintingCompleted", len(admin.events("BatchMintingCompleted")), timeout=5)
        self.assertEqual(batches[-1]["successful_mints"], readings)
        self.assertEqual(sum(b["successful_mints"] for b in batches), readings)
        self.assertEqual(self.node.status()["readings"]["abandoned"], 0)
        self.end_node()

    def test_a_reading_whose_mint_fails_max_attempts_times_is_abandoned_and_reported(self):
        self.sim.stop()
        self.sim = SolanaSim(self.authority, self.workdir, fund=False)
        self.node = MeterNode(self.sim, mint={"batch_size": 3, "interval_ms": 600_000, "max_attempts": 2}).start()
        admin = Watcher(self.node, self.node.admin_token())
        self.watchers = [admin]
        _, readings = self.fill(users=1, meters_per_user=1, readings_per_meter=3)
        batches = admin.wait_events("BatchMintingCompleted", 2, timeout=30)
        self.assertEqual([b["failed_mints"] for b in batches[:2]], [readings, readings])
        status = wait_until(lambda: self.node.status()["readings"]["abandoned"] == readings and self.node.status(),
                            10, what="the readings abandoned")
        self.assertEqual(status["readings"]["pending"], 0)
        self.assertIn("readings abandoned after 2 failed mints", self.node.log())
        self.assertEqual(metric_value(self.node.metrics(), 'eventnode_meter_readings{state="abandoned"}'), readings)
        self.end_node()

    def test_the_emulator_stops_answering_mid_batch_the_node_says_why_and_completes_later(self):
        self.node = MeterNode(self.sim, mint={"batch_size": 1000, "interval_ms": 1000, "rpc_timeout_ms": 500}).start()
        admin = Watcher(self.node, self.node.admin_token())
        self.watchers = [admin]
        self.sim.control("rpc/fault", {"mode": "hang", "duration_ms": 600_000})
        expected, readings = self.fill(users=2, meters_per_user=2, readings_per_meter=3)
        # The node stays up, /healthz says why, readings wait.
        status, overall, meter = wait_until(
            lambda: (lambda h: h if h[2].get("health") == "degraded" else None)(self.node.health()), 30,
            interval=0.2, what="/healthz to say the meter is degraded")
        self.assertEqual(status, 200)
        self.assertEqual(overall, "degraded")
        self.assertIn("solana rpc", meter["reason"])
        self.assertIn("readings wait to be minted", meter["reason"])
        waiting = self.node.status()["readings"]
        self.assertEqual(waiting["minted"], 0)
        self.assertEqual(waiting["pending"] + waiting["batched"], readings)
        self.assertEqual(admin.events("BatchMintingCompleted"), [])
        self.sim.control("rpc/clear")
        self.wait_minted(readings)
        self.assert_balances(expected)
        batches = admin.wait_events("BatchMintingCompleted", 1, timeout=30)
        self.assertEqual(sum(b["successful_mints"] for b in batches), readings)
        wait_until(lambda: self.node.health()[2].get("health") == "ok", 30, what="/healthz ok again")
        self.end_node()


if __name__ == "__main__":
    unittest.main()
