"""TLS: with server.tls the node serves wss:// and https:// through Poco
NetSSL; python3-websockets and urllib verify its certificate."""
import asyncio
import json
import shutil
import ssl
import subprocess
import tempfile
import unittest
from pathlib import Path
import urllib.request

import websockets

from node_harness import FRAME_DEADLINE, Node, recv_json, run, wait_until


def make_certificate(folder):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem"), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)


class TlsTest(unittest.TestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="eventnode-tls-"))
        make_certificate(self.folder)
        self.node = Node(server={"tls": {"enabled": True, "cert": str(self.folder / "cert.pem"),
                                         "key": str(self.folder / "key.pem")}})
        self.context = ssl.create_default_context(cafile=str(self.folder / "cert.pem"))

    def tearDown(self):
        if self.node.process is not None:
            self.node.signal(15)
            self.assertEqual(self.node.wait_exit(), 0)
        self.node.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)

    def https(self, method, path, body=None, token=None):
        request = urllib.request.Request(f"https://127.0.0.1:{self.node.port}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, context=self.context, timeout=10) as answer:
            return answer.status, json.loads(answer.read())

    def start(self):
        # The harness's health check speaks plain HTTP; this one speaks TLS.
        self.node._log = open(self.node.log_path, "wb")
        self.node.process = subprocess.Popen([str(self.node.binary), "--config", str(self.node.config_path)],
                                             stdout=self.node._log, stderr=subprocess.STDOUT)

        def healthy():
            try:
                return self.https("GET", "/healthz")[0] == 200
            except OSError:
                return False
        wait_until(healthy, 30, interval=0.05, what="GET https://…/healthz")

    def test_wss_clients_receive_events_published_over_https(self):
        self.start()
        token = self.node.token("alice")
        admin = self.node.token("ops", "admin")

        async def scenario():
            ws = await websockets.connect(f"wss://127.0.0.1:{self.node.port}/ws?token={token}&subscriptions=prices",
                                          ssl=self.context, open_timeout=FRAME_DEADLINE, ping_interval=None)
            self.assertEqual((await recv_json(ws))["type"], "connected")
            self.assertEqual((await recv_json(ws))["type"], "subscribed")
            big = "x" * 100_000  # many TLS records, several writes
            for i in range(5):
                status, answer = await asyncio.to_thread(self.https, "POST", "/api/v1/publish",
                                                         {"topic": "prices", "data": {"i": i, "pad": big}}, admin)
                self.assertEqual((status, answer["offset"]), (200, i + 1))
            for i in range(5):
                event = await recv_json(ws)
                self.assertEqual((event["offset"], event["data"]["i"], len(event["data"]["pad"])), (i + 1, i, len(big)))
            await ws.close()
        run(scenario())

    def test_plain_http_on_the_tls_port_gets_no_answer(self):
        self.start()
        with self.assertRaises(Exception):
            urllib.request.urlopen(f"http://127.0.0.1:{self.node.port}/healthz", timeout=5).read()


if __name__ == "__main__":
    unittest.main()
