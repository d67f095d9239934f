"""Authenticated masternodes (docs/utxo.md "Masternode P2P"): every masternode has an Ed25519 key,
made with the openssl CLI, and every one's public key is configured. Payments finalize as before;
a connection that cannot prove it holds the key of the masternode it claims to be is closed. The
handshakes here are signed by Python's `cryptography`, an implementation nobody here wrote."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from harness import (MAGIC, Cluster, Masternode, RawPeer, free_port, frame, handshake, make_p2p_key, payment,
                     time_tx, wait_until)


def fresh(name):
    return time_tx.address(f"{name}-{uuid.uuid4()}")


def signed_dial(key, dialer, acceptor, timestamp=None, nonce=None):
    """A dial handshake from `dialer` to `acceptor`, signed with `key` as p2p_auth.hpp describes."""
    body = handshake(dialer)
    body["timestamp"] = int(time.time()) if timestamp is None else timestamp
    body["nonce"] = nonce or os.urandom(32).hex()
    message = f"eventnode-p2p-v1 dial testnet {dialer} {acceptor} {body['timestamp']} {body['nonce']}"
    body["signature"] = key.sign(message.encode()).hex()
    return body


class AuthenticatedMasternodes(unittest.TestCase):
    """mn1…mn4 running and mn5 configured (with a key) but never started: the tests dial as mn5."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(4, ghosts=1, authenticated=True).start()
        cls.mn1 = cls.cluster[0]
        cls.mn5_key = load_pem_private_key(cls.cluster.key_files["mn5"].read_bytes(), password=None)
        cls.mn1_public = Ed25519PublicKey.from_public_bytes(
            bytes.fromhex(next(m["public_key"] for m in cls.cluster.masternodes if m["id"] == "mn1")))

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()

    def closed_with(self, data, reason):
        peer = RawPeer(self.mn1.p2p_port)
        try:
            peer.send(data)
            self.assertTrue(peer.closed_by_peer(5.0), f"mn1 kept a connection that should fail with: {reason}")
        finally:
            peer.close()
        wait_until(lambda: reason in self.mn1.log(), 10, 0.05, f"mn1 to log {reason!r}")

    def test_payments_finalize_between_authenticated_masternodes(self):
        for node in self.cluster:
            self.assertIn("p2p peers are authenticated public_key=", node.log())
        [coin] = self.cluster.fund(fresh("payer"), [100])
        tx = payment([coin], [(fresh("payee"), 100)])
        status, body = self.mn1.submit(tx)
        self.assertEqual(status, 202, body)
        for mn_id, body in self.cluster.wait_finalized(tx["txid"]).items():
            self.assertGreaterEqual(body["approvals"], 4, (mn_id, body))

    def test_the_key_holder_is_answered_with_a_signature_of_its_nonce_and_a_replay_is_closed(self):
        dial = signed_dial(self.mn5_key, "mn5", "mn1")
        peer = RawPeer(self.mn1.p2p_port)
        try:
            peer.send(MAGIC["testnet"] + frame(dial))
            magic, answer = peer.read_handshake()
            self.assertEqual((magic, answer["node_id"]), (MAGIC["testnet"], "mn1"), answer)
            self.assertEqual(len(answer["nonce"]), 64, answer)
            # Raises InvalidSignature unless mn1 signed our nonce and its own with its configured key.
            self.mn1_public.verify(bytes.fromhex(answer["signature"]),
                                   f"eventnode-p2p-v1 accept testnet mn1 mn5 {dial['nonce']} {answer['nonce']}".encode())
            peer.send(frame("Ping"))
            self.assertFalse(peer.closed_by_peer(1.0), "mn1 closed an authenticated connection")
        finally:
            peer.close()
        # The same bytes again, as someone who recorded them would send them.
        self.closed_with(MAGIC["testnet"] + frame(dial), "handshake nonce was used before (a replayed handshake)")

    def test_connections_that_cannot_prove_their_key_are_closed_and_the_cluster_goes_on(self):
        mallory = Ed25519PrivateKey.generate()
        cases = [
            ("no signature, as a masternode without keys sends", handshake("mn5"),
             "handshake nonce must be 64 hex characters"),
            ("signed by another key", signed_dial(mallory, "mn5", "mn1"),
             "handshake signature does not verify under mn5's configured public key"),
            ("signed for another masternode", signed_dial(self.mn5_key, "mn5", "mn2"),
             "handshake signature does not verify under mn5's configured public key"),
            ("an old handshake", signed_dial(self.mn5_key, "mn5", "mn1", timestamp=int(time.time()) - 600),
             "s from this masternode's clock (at most 60 s)"),
        ]
        for what, dial, reason in cases:
            with self.subTest(what):
                self.closed_with(MAGIC["testnet"] + frame(dial), reason)
        self.test_payments_finalize_between_authenticated_masternodes()


class BadKeyConfiguration(unittest.TestCase):
    """A masternode whose keys are configured wrong does not start, and says what to fix."""

    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="utxo-bad-keys-"))
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)
        self.keys = {mn: make_p2p_key(self.folder, mn) for mn in ("mn1", "mn2")}

    def refused(self, masternodes, p2p, expected):
        node = Masternode("mn1", free_port(), masternodes, p2p=p2p)
        try:
            with self.assertRaises(AssertionError) as raised:
                node.start()
            self.assertIn(expected, str(raised.exception))
        finally:
            node.finish(False, "mn1")

    def encrypted_key(self):
        pem = self.folder / "encrypted.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-aes256", "-pass", "pass:secret", "-out",
                        str(pem)], check=True, capture_output=True)
        return pem

    def masternodes(self, **public_keys):
        return [dict({"id": mn, "address": f"127.0.0.1:{free_port()}"},
                     **({"public_key": public_keys[mn]} if mn in public_keys else {})) for mn in ("mn1", "mn2")]

    def test_each_bad_form_is_refused_naming_it(self):
        (pem1, public1), (pem2, public2) = self.keys["mn1"], self.keys["mn2"]
        cases = [
            ("a key on one masternode only", self.masternodes(mn1=public1), {"private_key_file": str(pem1)},
             "masternodes[1]: mn2 has no public_key; once one masternode has a key, every one needs one"),
            ("a public key that is not 64 hex characters", self.masternodes(mn1=public1[:-2], mn2=public2),
             {"private_key_file": str(pem1)}, "masternodes[0].public_key: the public_key of mn1 must be 64 hex characters"),
            ("public keys but no private key", self.masternodes(mn1=public1, mn2=public2), {},
             "p2p.private_key_file is needed: the masternodes have public keys"),
            ("a private key file that is not there", self.masternodes(mn1=public1, mn2=public2),
             {"private_key_file": str(self.folder / "missing.pem")}, "cannot read the private key file"),
            ("a private key file that is not a key", self.masternodes(mn1=public1, mn2=public2),
             {"private_key_file": str(self.folder)}, "is not an unencrypted PEM Ed25519 private key"),
            ("an encrypted private key (the node would have to prompt for it)",
             self.masternodes(mn1=public1, mn2=public2), {"private_key_file": str(self.encrypted_key())},
             "is not an unencrypted PEM Ed25519 private key"),
            ("another masternode's private key", self.masternodes(mn1=public1, mn2=public2),
             {"private_key_file": str(pem2)}, f"holds the key {public2}, but masternodes lists {public1} for mn1"),
        ]
        for what, masternodes, p2p, expected in cases:
            with self.subTest(what):
                self.refused(masternodes, p2p, expected)


if __name__ == "__main__":
    unittest.main()
