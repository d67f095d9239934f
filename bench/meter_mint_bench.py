"""Mint throughput of the meter plugin against the Solana emulator (tools/solana_sim).

Registers WALLETS meters (each its own wallet, so each batch owes one mint per wallet and
creates its token accounts the first time), submits BATCH readings, and times the batch
that opens when the last one is stored (batch_size = BATCH) until BatchMintingCompleted
reaches an admin's WebSocket: readings minted and confirmed per second, transactions and
mints per transaction. Twice: the first batch creates the token accounts, the second finds
them. Balances are checked on chain afterwards.

usage: EVENTNODE_BINARY=build/release/bin/eventnode python3 bench/meter_mint_bench.py [--batch 1000] [--wallets 100]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "meter"))

from harness import BASE_UNITS, Keypair, MeterNode, SolanaSim, Watcher, now_ms  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--wallets", type=int, default=100)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="meter-mint-bench-")
    sim = SolanaSim(Keypair(), workdir)
    node = MeterNode(sim, mint={"batch_size": args.batch, "interval_ms": 3_600_000, "poll_interval_ms": 50,
                                "listener_grace_ms": 0}).start()
    try:
        token = node.token("bench-owner", "prosumer")
        accounts = []
        for w in range(args.wallets):
            answer = node.register(token, f"mint-bench-{w}", Keypair().address)
            accounts.append(answer.json()["meter"]["token_account"])
        admin = Watcher(node, node.admin_token())
        base = now_ms() - 3_600_000
        expected = {}
        for round_number in (1, 2):
            sent_before = node.status()["minting"]["transactions_sent"]
            for i in range(args.batch):
                n = round_number * args.batch + i
                kwh = 1 + (n % 997) / 1000
                w = n % args.wallets
                answer = node.submit(token, f"mint-bench-{w}", kwh, base + n)
                assert answer.status == 200, answer.body
                expected[accounts[w]] = expected.get(accounts[w], 0) + round(kwh * BASE_UNITS)
                if i == args.batch - 1:
                    started = time.monotonic()  # the batch opens with this reading
            batches = admin.wait_events("BatchMintingCompleted", round_number, timeout=600)
            elapsed = time.monotonic() - started
            batch = batches[round_number - 1]
            transactions = node.status()["minting"]["transactions_sent"] - sent_before
            assert batch["successful_mints"] == args.batch, batch
            print(f"RESULT batch={round_number} readings={args.batch} wallets={args.wallets} "
                  f"accounts={'created' if round_number == 1 else 'existing'} transactions={transactions} "
                  f"mints_per_tx={args.wallets / transactions:.1f} seconds={elapsed:.2f} "
                  f"readings_per_s={args.batch / elapsed:.0f}", flush=True)
        for account, units in expected.items():
            held = sim.token_account(account)[2]
            assert held == units, f"{account}: {held} != {units}"
        print(f"CHECK balances of {len(expected)} token accounts equal their readings' kWh x 10^9")
        admin.close()
    finally:
        node.stop()
        node.finish()
        sim.stop()


if __name__ == "__main__":
    main()
