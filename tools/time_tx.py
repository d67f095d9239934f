#!/usr/bin/env python3
"""TIME Coin transactions, built exactly as the utxo plugin expects them (issue 4).

    txid = lowercase hex of SHA3-256(SHA3-256(data))
    data = version u32 LE ‖ input count u32 LE
           ‖ per input (prev txid UTF-8 ‖ vout u32 LE ‖ public_key bytes ‖ sequence u32 LE)
           ‖ output count u32 LE ‖ per output (amount u64 LE ‖ address UTF-8)
           ‖ lock_time u32 LE ‖ timestamp i64 LE

Signatures are not part of the txid. Each input carries a 32-byte Ed25519 public key and a
64-byte Ed25519 signature, by that key, of `data` above; the key owns the address made of the
network prefix and the first 40 hex characters of the key, and only that address's outputs can
be spent with it. Keys here come from seeds: the private key is SHA3-256 of the seed's UTF-8
bytes, so `address("alice")` and the key that signs for it are the same everywhere (tests, the
benchmark, the C++ tests' TestSigner).

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

3. vector 2 with the key of seed "alice" (private bytes SHA3-256("alice")) as its public key:
     public_key = 5c4a5832d8e73a6b6c314ae6770b6657f42397f732eb19f60f5a9bbc2a492015
     address    = TIME05c4a5832d8e73a6b6c314ae6770b6657f42397f7
     txid       = cd85bf1c816d13af320f1621bb9d1fbdc6d3294f5fea35a6c12001febaf64748
     signature  = eadbf98b9bb9ed9e6e48ccdabec4d716bed1b45f37b4e81416d6b47ca379f5ad
                  9a589591c139602ad48967b70e568c002d5b01d7b9ed37bc66ce85431da38407

The txids were also computed outside Python: `xxd -r -p | openssl dgst -sha3-256 -binary | openssl dgst -sha3-256`;
the signature with `openssl pkeyutl -sign -rawin` (Ed25519 signatures are deterministic).

CLI:
    time_tx.py address SEED [--mainnet]          the address SEED's key owns
    time_tx.py build --input TXID:VOUT ... --output ADDRESS:AMOUNT ... [--key SEED ...] [--timestamp T] [--lock-time N]
                                                 signed by SEED's key (one --key for all inputs, or one per input)
    time_tx.py txid FILE|-                       recompute a transaction's txid
    time_tx.py check                             verify the vectors above
"""
import argparse
import hashlib
import json
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SEQUENCE_FINAL = 0xFFFFFFFF
PREFIX = {"testnet": "TIME0", "mainnet": "TIME1"}


_KEYS = {}   # seed -> (private key, public key bytes)
_SEEDS = {}  # address -> the seed whose key owns it


def _key(seed):
    seed = str(seed)
    if seed not in _KEYS:
        private = Ed25519PrivateKey.from_private_bytes(hashlib.sha3_256(seed.encode()).digest())
        _KEYS[seed] = (private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    return _KEYS[seed]


def public_key(seed):
    """The 32 bytes of `seed`'s Ed25519 public key, as a list (the JSON form)."""
    return list(_key(seed)[1])


def address(seed, network="testnet"):
    """The address `seed`'s key owns: the network prefix and the key's first 40 hex characters."""
    owned = PREFIX[network] + _key(seed)[1].hex()[:40]
    _SEEDS[owned] = str(seed)
    return owned


def seed_of(owned_address):
    """The seed whose key owns `owned_address`, if address() made it in this process; else None."""
    return _SEEDS.get(owned_address)


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
    """A signed transaction with its txid. `inputs`: (txid, vout) pairs; `outputs`: (address, amount)
    pairs; `key_seed`: the seed whose key signs every input, or a list with one seed per input."""
    seeds = key_seed if isinstance(key_seed, (list, tuple)) else [key_seed] * len(inputs)
    if len(seeds) != len(inputs):
        raise ValueError(f"{len(seeds)} key seeds for {len(inputs)} inputs")
    tx = {
        "version": version,
        "inputs": [{"previous_output": {"txid": txid, "vout": vout}, "public_key": public_key(seed),
                    "signature": [], "sequence": SEQUENCE_FINAL} for (txid, vout), seed in zip(inputs, seeds)],
        "outputs": [{"amount": amount, "address": addr} for addr, amount in outputs],
        "lock_time": lock_time,
        "timestamp": int(time.time()) if timestamp is None else timestamp,
    }
    data = tx_data(tx)
    for tx_input, seed in zip(tx["inputs"], seeds):
        tx_input["signature"] = list(_key(seed)[0].sign(data))
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


SIGNED_VECTOR = {
    "public_key": "5c4a5832d8e73a6b6c314ae6770b6657f42397f732eb19f60f5a9bbc2a492015",
    "address": "TIME05c4a5832d8e73a6b6c314ae6770b6657f42397f7",
    "txid": "cd85bf1c816d13af320f1621bb9d1fbdc6d3294f5fea35a6c12001febaf64748",
    "signature": "eadbf98b9bb9ed9e6e48ccdabec4d716bed1b45f37b4e81416d6b47ca379f5ad"
                 "9a589591c139602ad48967b70e568c002d5b01d7b9ed37bc66ce85431da38407",
}


def check():
    """Verifies the documented bytes, txids and signature of the vectors; returns the txids."""
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
    signed = make_tx([("ab", 1)], [("TIME0" + "0" * 40, 1000)], timestamp=1700000000, key_seed="alice")
    got = {"public_key": bytes(signed["inputs"][0]["public_key"]).hex(), "address": address("alice"),
           "txid": signed["txid"], "signature": bytes(signed["inputs"][0]["signature"]).hex()}
    if got != SIGNED_VECTOR:
        raise AssertionError(f"vector 3: {got} != documented {SIGNED_VECTOR}")
    txids.append(signed["txid"])
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
    p.add_argument("--key", action="append", default=[], metavar="SEED",
                   help="the seed whose key signs: once for every input, or once per input")
    p = sub.add_parser("txid")
    p.add_argument("file")
    sub.add_parser("check")
    args = parser.parse_args(argv)

    if args.command == "address":
        print(address(args.seed, "mainnet" if args.mainnet else "testnet"))
    elif args.command == "build":
        inputs = [(t, int(v)) for t, v in (s.rsplit(":", 1) for s in args.input)]
        outputs = [(a, int(v)) for a, v in (s.rsplit(":", 1) for s in args.output)]
        keys = args.key if len(args.key) > 1 else (args.key[0] if args.key else "wallet")
        print(json.dumps(make_tx(inputs, outputs, timestamp=args.timestamp, lock_time=args.lock_time, key_seed=keys)))
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
