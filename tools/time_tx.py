#!/usr/bin/env python3
"""TIME Coin transactions, built exactly as the utxo plugin expects them (issue 4).

    txid = lowercase hex of SHA3-256(SHA3-256(data))
    data = version u32 LE ‖ input count u32 LE
           ‖ per input (prev txid UTF-8 ‖ vout u32 LE ‖ public_key bytes ‖ sequence u32 LE)
           ‖ output count u32 LE ‖ per output (amount u64 LE ‖ address UTF-8)
           ‖ lock_time u32 LE ‖ timestamp i64 LE

The signature is not part of the txid (the plugin does not verify signatures).

Vectors, derivable by hand (the bytes) and checked by `time_tx.py check`:

1. version 1, no inputs, no outputs, lock_time 0, timestamp 0:
     data = 01000000 00000000 00000000 00000000 0000000000000000   (24 bytes)
     txid = f1b46fcfd64bfec0cec61f8a1283b1ff5ae78f96f159e9562ccd847307af0234
2. version 1; one input: prev txid "ab", vout 1, public_key [1, 2], sequence 0xFFFFFFFF;
   one output: amount 1000 to "TIME0" + 40 × "0"; lock_time 0; timestamp 1700000000 (0x6553F100):
     data = 01000000 01000000 6162 01000000 0102 ffffffff
            01000000 e803000000000000 54494d4530 + 40 × 30
            00000000 00f1536500000000
     txid = 2b5ae5300b165be6cdeb028778510db40ae19e2e64d96a78ad3e16c12a84867a

Both txids were also computed outside Python: `xxd -r -p | openssl dgst -sha3-256 -binary | openssl dgst -sha3-256`.

CLI:
    time_tx.py address SEED [--mainnet]          an address derived from SEED
    time_tx.py build --input TXID:VOUT ... --output ADDRESS:AMOUNT ... [--timestamp T] [--lock-time N]
    time_tx.py txid FILE|-                       recompute a transaction's txid
    time_tx.py check                             verify the vectors above
"""
import argparse
import hashlib
import json
import struct
import sys
import time

SEQUENCE_FINAL = 0xFFFFFFFF
PREFIX = {"testnet": "TIME0", "mainnet": "TIME1"}


def address(seed, network="testnet"):
    """A well-formed address: the network prefix and 40 lowercase hex characters derived from `seed`."""
    return PREFIX[network] + hashlib.sha3_256(str(seed).encode()).hexdigest()[:40]


def public_key(seed):
    """32 stand-in public key bytes derived from `seed` (no key pair behind them)."""
    return list(hashlib.sha256(f"pk:{seed}".encode()).digest())


def tx_data(tx):
    """The bytes the txid is hashed from."""
    out = [struct.pack("<II", tx["version"], len(tx["inputs"]))]
    for i in tx["inputs"]:
        out += [i["previous_output"]["txid"].encode(), struct.pack("<I", i["previous_output"]["vout"]),
                bytes(i["public_key"]), struct.pack("<I", i["sequence"])]
    out.append(struct.pack("<I", len(tx["outputs"])))
    for o in tx["outputs"]:
        out += [struct.pack("<Q", o["amount"]), o["address"].encode()]
    out.append(struct.pack("<Iq", tx["lock_time"], tx["timestamp"]))
    return b"".join(out)


def compute_txid(tx):
    return hashlib.sha3_256(hashlib.sha3_256(tx_data(tx)).digest()).hexdigest()


def make_tx(inputs, outputs, timestamp=None, lock_time=0, version=1, key_seed="wallet"):
    """A transaction with its txid. `inputs`: (txid, vout) pairs; `outputs`: (address, amount) pairs."""
    tx = {
        "version": version,
        "inputs": [{"previous_output": {"txid": txid, "vout": vout}, "public_key": public_key(key_seed),
                    "signature": [0] * 64, "sequence": SEQUENCE_FINAL} for txid, vout in inputs],
        "outputs": [{"amount": amount, "address": addr} for addr, amount in outputs],
        "lock_time": lock_time,
        "timestamp": int(time.time()) if timestamp is None else timestamp,
    }
    return dict({"txid": compute_txid(tx)}, **tx)


def _vector(inputs, outputs, timestamp, key):
    tx = make_tx(inputs, outputs, timestamp=timestamp)
    for i in tx["inputs"]:
        i["public_key"] = key
    tx["txid"] = compute_txid(tx)
    return tx


VECTORS = [
    (_vector([], [], 0, []),
     "01000000" "00000000" "00000000" "00000000" "0000000000000000",
     "f1b46fcfd64bfec0cec61f8a1283b1ff5ae78f96f159e9562ccd847307af0234"),
    (_vector([("ab", 1)], [("TIME0" + "0" * 40, 1000)], 1700000000, [1, 2]),
     "01000000" "01000000" "6162" "01000000" "0102" "ffffffff"
     "01000000" "e803000000000000" "54494d4530" + "30" * 40 + "00000000" "00f1536500000000",
     "2b5ae5300b165be6cdeb028778510db40ae19e2e64d96a78ad3e16c12a84867a"),
]


def check():
    """Verifies the documented bytes and txid of each vector; returns the txids."""
    txids = []
    for n, (tx, data_hex, expected) in enumerate(VECTORS, 1):
        data = tx_data(tx)
        if data.hex() != data_hex:
            raise AssertionError(f"vector {n}: data {data.hex()} != documented {data_hex}")
        txid = hashlib.sha3_256(hashlib.sha3_256(bytes.fromhex(data_hex)).digest()).hexdigest()
        if txid != expected:
            raise AssertionError(f"vector {n}: txid {txid} != documented {expected}")
        if tx["txid"] != txid:
            raise AssertionError(f"vector {n}: make_tx txid {tx['txid']} != {txid}")
        txids.append(txid)
    return txids


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build and check TIME Coin transactions.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("address")
    p.add_argument("seed")
    p.add_argument("--mainnet", action="store_true")
    p = sub.add_parser("build")
    p.add_argument("--input", action="append", default=[], metavar="TXID:VOUT")
    p.add_argument("--output", action="append", default=[], metavar="ADDRESS:AMOUNT")
    p.add_argument("--timestamp", type=int)
    p.add_argument("--lock-time", type=int, default=0)
    p = sub.add_parser("txid")
    p.add_argument("file")
    sub.add_parser("check")
    args = parser.parse_args(argv)

    if args.command == "address":
        print(address(args.seed, "mainnet" if args.mainnet else "testnet"))
    elif args.command == "build":
        inputs = [(t, int(v)) for t, v in (s.rsplit(":", 1) for s in args.input)]
        outputs = [(a, int(v)) for a, v in (s.rsplit(":", 1) for s in args.output)]
        print(json.dumps(make_tx(inputs, outputs, timestamp=args.timestamp, lock_time=args.lock_time)))
    elif args.command == "txid":
        tx = json.load(sys.stdin if args.file == "-" else open(args.file))
        txid = compute_txid(tx)
        print(txid if tx.get("txid") in (None, txid) else f"{txid} (the transaction says {tx['txid']})")
    else:
        for n, txid in enumerate(check(), 1):
            print(f"vector {n}: {txid}")
        print("ok")


if __name__ == "__main__":
    main()
