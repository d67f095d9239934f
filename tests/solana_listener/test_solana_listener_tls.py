"""solana_listener over TLS (issue 6: "TLS (wss/https) through Poco NetSSL"): the emulator
serves https:// and wss:// with a certificate signed by a CA made for the test. A node
given that CA in tls_ca_file publishes live mints with their instruction names (so both
the PubSub socket and the getTransaction call went through TLS); a node that does not
trust the CA connects to nothing, says why in its status, and stays up; a CA file that
cannot be read stops the start with its name."""
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import ListenerNode, SolanaSim, install_simulator, wait_until


def setUpModule():
    install_simulator()


def make_certificates(folder):
    """A CA, and a server certificate for 127.0.0.1 signed by it (openssl, PEM files)."""
    def openssl(*args):
        done = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"openssl {' '.join(args)} failed: {done.stderr}")

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=eventnode test CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")
    Path(folder, "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return {"cert": Path(folder, "server.pem"), "key": Path(folder, "server.key"), "ca": Path(folder, "ca.pem")}


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="eventnode-solana-tls-")
        cls.tls = make_certificates(cls.folder)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        self.sim = SolanaSim(tls=self.tls)
        self.addCleanup(self.sim.stop)
        self.program = self.sim.info["token_program"]
        self.assertTrue(self.sim.info["rpc_url"].startswith("https://"), self.sim.info["rpc_url"])
        self.assertTrue(self.sim.info["ws_url"].startswith("wss://"), self.sim.info["ws_url"])

    def node(self, **config):
        node = ListenerNode(self.sim, [self.program], **config)
        self.addCleanup(node.cleanup)
        return node

    def test_a_node_that_trusts_the_ca_gets_live_mints_over_wss_and_https(self):
        node = self.node(tls_ca_file=str(self.tls["ca"]))
        node.start()
        node.wait_cursor(self.program)
        landed = self.sim.mint(3)["signatures"]
        events = node.events(f"solana:program:{self.program}", 3)
        self.assertEqual([e["signature"] for e in events], landed)
        self.assertTrue(all(e["source"] == "live" for e in events), events)
        # p-token logs no names: these come from getTransaction, over https.
        names = [i["name"] for e in events for i in e["instructions"]]
        self.assertTrue(names and all(name in ("MintTo", "MintToChecked") for name in names), names)
        self.assertEqual(node.status()["rpc_errors"], 0)

    def test_a_node_that_does_not_trust_the_ca_says_why_and_stays_up(self):
        node = self.node()
        node.start()
        status = wait_until(lambda: (s := node.status())["pubsub"]["last_error"] and s, 20, interval=0.1,
                            what="the PubSub dial to fail")
        self.assertRegex(status["pubsub"]["last_error"].lower(), "certificate|verif|ssl")
        self.assertFalse(status["pubsub"]["connected"])
        wait_until(lambda: node.status()["rpc_errors"] >= 1, 20, interval=0.1, what="the RPC walk to fail")
        self.assertIsNone(node.process.poll(), "the node died")
        self.assertEqual(node.http("GET", "/healthz").status, 200)

    def test_a_ca_file_that_cannot_be_read_stops_the_start_with_its_name(self):
        missing = Path(self.folder, "no-such-ca.pem")
        node = self.node(tls_ca_file=str(missing))
        with self.assertRaises(AssertionError) as failed:
            node.start()
        self.assertIn("tls_ca_file", str(failed.exception))
        self.assertIn(str(missing), str(failed.exception))


if __name__ == "__main__":
    unittest.main()
