"""Issue 18, item 4: a POST /api/utxo/transactions body with 10,000 self-signed inputs spending
outpoints that do not exist took 16.9 s of the node's CPU, and could be replayed forever. Now the
counts are checked before anything else, the ledger before any signature, and each client IP has a
budget of signature checks: the body gets a quick 400 naming the limit, replays get 429, and the node
keeps serving everyone else.

The attacker connects from 127.0.0.2 (all of 127/8 is loopback on Linux), the honest wallet from
127.0.0.1, so the per-IP budget tells them apart. The node runs the documented defaults
(docs/utxo.md "Limits"): 256 inputs and 256 outputs per transaction, 500 signature checks a
second per client with a burst of 1000."""
import http.client
import json
import os
import time
import unittest

from harness import Cluster, new_txid, payment, self_signed, time_tx, wait_until

ATTACKER = "127.0.0.2"
MAX_INPUTS = 256  # the defaults, set explicitly: harness.py turns the budget off unless a test sets it
CHECKS_PER_SECOND = 500
CHECKS_BURST = 1000
# The old code took 16.9 s for this body (23 s measured again); the new one takes 0.2–0.5 s here. The
# bound is there to catch the quadratic cost coming back, not to time the node (bench/ does that):
# 3 s leaves room for a 2-core machine under load (one run at load 11 took over 1 s). Under
# AddressSanitizer (ctest's asan preset sets ASAN_OPTIONS) everything runs several times slower,
# parsing the 6 MB body included (2.9 s seen): the bound scales with it and still sits far below
# what the old code took there.
QUICK = 10.0 if os.environ.get("ASAN_OPTIONS") else 3.0


def post(node, body, source=ATTACKER, timeout=60.0):
    """POST /api/utxo/transactions from `source`; (status, JSON body, headers, seconds taken)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout, source_address=(source, 0))
    try:
        started = time.monotonic()
        conn.request("POST", "/api/utxo/transactions", body=body, headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        text = answer.read()
        elapsed = time.monotonic() - started
        return answer.status, json.loads(text), {k.lower(): v for k, v in answer.getheaders()}, elapsed
    finally:
        conn.close()


def cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CheapRejection(unittest.TestCase):

    def setUp(self):
        self.cluster = Cluster(1, max_inputs_per_transaction=MAX_INPUTS, max_outputs_per_transaction=MAX_INPUTS,
                               signature_checks_per_second=CHECKS_PER_SECOND,
                               signature_checks_burst=CHECKS_BURST).start()
        self.node = self.cluster[0]

    def tearDown(self):
        self.cluster.cleanup()

    def assert_refused(self, answer, status, code, words, what):
        got, body, _, elapsed = answer
        self.assertEqual(got, status, f"{what}: {body}")
        self.assertEqual(body["error"]["code"], code, f"{what}: {body}")
        for word in words:
            self.assertIn(word, body["error"]["message"], f"{what}: {body}")
        self.assertLess(elapsed, QUICK, f"{what}: answered in {elapsed:.2f} s")

    def assert_serves_others(self):
        """The node is up, and another wallet's payment (from 127.0.0.1) still finalizes."""
        status, _ = self.node.call("GET", "/healthz")
        self.assertEqual(status, 200)
        payer = time_tx.address(f"honest-{new_txid()[:8]}")
        [coin] = self.cluster.fund(payer, [50])
        tx = payment([coin], [(time_tx.address("honest-payee"), 50)])
        status, body, _, elapsed = post(self.node, json.dumps(tx).encode(), source="127.0.0.1")
        self.assertIn(status, (200, 202), body)
        self.assertLess(elapsed, QUICK, f"an honest payment answered in {elapsed:.2f} s")
        self.cluster.wait_finalized(tx["txid"])

    def test_ten_thousand_inputs_get_a_quick_400_naming_the_limit_and_replays_get_429(self):
        body = json.dumps(self_signed(10_000)).encode()
        cpu_before = cpu_seconds(self.node.process.pid)
        first = post(self.node, body)
        cpu_used = cpu_seconds(self.node.process.pid) - cpu_before
        self.assert_refused(first, 400, "invalid_transaction",
                            ["10000 inputs", str(MAX_INPUTS), "max_inputs_per_transaction"], "10,000 inputs")
        self.assertLess(cpu_used, QUICK, "CPU the node spent on the 10,000-input body")
        print(f"\n10,000-input body: {first[0]} in {first[3] * 1000:.0f} ms, node CPU {cpu_used * 1000:.0f} ms",
              flush=True)

        # A request costs a check per input it declares: 10,000 put the client 9,000 in debt, which
        # the refill repays in 18 s. The replay is refused before it is parsed.
        replay = post(self.node, body)
        self.assert_refused(replay, 429, "rate_limited", ["signature_checks_per_second", "127.0.0.2", "retry in"],
                            "the first replay")
        retry_after = int(replay[2]["retry-after"])
        expected = (10_000 - CHECKS_BURST) / CHECKS_PER_SECOND
        self.assertTrue(expected - 2 <= retry_after <= expected + 1, f"Retry-After {retry_after}, about {expected}")
        # Refused by the budget before it is parsed: many more replays cost next to nothing.
        cpu_before = cpu_seconds(self.node.process.pid)
        for _ in range(20):
            self.assert_refused(post(self.node, body), 429, "rate_limited", ["retry in"], "a replay over budget")
        print(f"20 replays over budget: node CPU {(cpu_seconds(self.node.process.pid) - cpu_before) * 1000:.0f} ms",
              flush=True)

        self.assert_serves_others()
        # The budget refills: once Retry-After has passed, the client is heard again.
        wait_until(lambda: post(self.node, body)[0] == 400, retry_after + 5, 0.5, "the budget to refill")

    def test_unknown_outpoints_are_refused_before_any_signature_is_checked(self):
        # At the cap, with distinct keys (no two inputs share a signature): the old order verified
        # all 256 signatures before it looked the outpoints up.
        prev = new_txid()
        inputs = [(prev, vout) for vout in range(MAX_INPUTS)]
        tx = time_tx.make_tx(inputs, [(time_tx.address("nobody"), 1)], key_seed=[f"k{i}" for i in range(MAX_INPUTS)])
        answer = post(self.node, json.dumps(tx).encode())
        self.assert_refused(answer, 400, "invalid_transaction", ["input 0", "does not exist"], "unknown outpoints")
        # Bad signatures on unknown outpoints get the same answer: the signatures were never looked at.
        for tx_input in tx["inputs"]:
            tx_input["signature"] = [0] * 64
        answer = post(self.node, json.dumps(tx).encode())
        self.assert_refused(answer, 400, "invalid_transaction", ["does not exist"], "unknown outpoints, bad signatures")

    def test_a_transaction_at_the_caps_is_accepted_and_one_past_them_refused(self):
        payer = time_tx.address(f"many-{new_txid()[:8]}")
        coins = self.cluster.fund(payer, [1] * (MAX_INPUTS + 1))
        payees = [(time_tx.address(f"payee-{i}"), 1) for i in range(MAX_INPUTS)]
        too_many = payment(coins, payees[:1])
        answer = post(self.node, json.dumps(too_many).encode(), source="127.0.0.1")
        self.assert_refused(answer, 400, "invalid_transaction", [f"{MAX_INPUTS + 1} inputs"], "one input too many")
        at_caps = payment(coins[:MAX_INPUTS], payees)
        status, body, _, elapsed = post(self.node, json.dumps(at_caps).encode(), source="127.0.0.1")
        self.assertEqual(status, 202, body)
        self.assertLess(elapsed, QUICK, f"a transaction at the caps answered in {elapsed:.2f} s")
        self.cluster.wait_finalized(at_caps["txid"])


if __name__ == "__main__":
    unittest.main()
