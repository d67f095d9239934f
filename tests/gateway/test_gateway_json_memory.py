"""A 16 MB JSON body that is flat rather than deep: before readJson counted
values, two of them posted at once raised the node's peak RSS by about a
gigabyte (nlohmann spends 16 to 100 bytes per value, and `[{},{},...]` holds a
value every 3 bytes). Now the parse stops at the value limit, the answer is a
400 that names it, the peak grows by a small fraction of that, and the node
and its other clients carry on."""
import json
import os
import threading
import unittest
import urllib.error
import urllib.request

from node_harness import NodeTestCase, fresh_topic, receive_events, run, subscribe

BODY_BYTES = 16 * 1024 * 1024 - 4096  # just under server.max_http_body_bytes (16 MiB)
WHY = "more than 500000 values"
# Measured with this test before the limit (a release build, jemalloc, the
# bodies accepted and published): the peak RSS grew by 572 MB for `[0,...]` and
# 996 MB for `[{},...]`. With it: 78 MB and 109 MB, the bodies themselves and
# the 500,000 values parsed before the refusal. The bound leaves room for
# allocator slack on a busy machine and is still a third of the smaller figure.
MAX_PEAK_GROWTH_MB = 200
# Under AddressSanitizer (ctest's asan preset sets ASAN_OPTIONS) every allocation
# carries redzones and freed memory waits in a quarantine of up to 256 MB, so RSS
# there measures the sanitizer as much as the node: measured under ASan, 106 MB
# for `[0,...]` and 191 MB for `[{},...]`, a hair under the release bound. Twice
# that keeps a busy machine from failing the run, and is still far below what
# the unbounded parse took.
if os.environ.get("ASAN_OPTIONS"):
    MAX_PEAK_GROWTH_MB = 400
SHAPES = {"zeros": b"0", "empty objects": b"{}"}


def flat_publish_body(topic, item):
    head = ('{"topic":"' + topic + '","data":[').encode()
    count = (BODY_BYTES - len(head) - 2) // (len(item) + 1)
    return head + b",".join([item] * count) + b"]}"


def memory_mb(pid):
    """(VmRSS, VmHWM) of the process, in MB, from /proc/<pid>/status."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def reset_peak(pid):
    # Writing 5 to clear_refs resets VmHWM to the current RSS (proc(5)), so each shape's peak is its own.
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


class GatewayJsonMemory(NodeTestCase, unittest.TestCase):

    def post_raw(self, raw, token):
        request = urllib.request.Request(f"http://127.0.0.1:{self.node.port}/api/v1/publish", data=raw, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_two_flat_16_mb_bodies_at_once_are_refused_by_value_count_without_a_memory_spike(self):
        node = self.node
        pid = node.process.pid
        topic = fresh_topic("flat")
        token = node.admin_token()

        async def scenario():
            ws, _ = await node.connect(node.token("watcher"))
            await subscribe(ws, topic)
            for shape, item in SHAPES.items():
                body = flat_publish_body(topic, item)
                with self.subTest(shape=shape):
                    reset_peak(pid)
                    rss_before, peak_before = memory_mb(pid)
                    answers = [None, None]

                    def post(slot):
                        answers[slot] = self.post_raw(body, token)

                    threads = [threading.Thread(target=post, args=(slot,)) for slot in range(2)]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join(timeout=120)
                    rss_after, peak_after = memory_mb(pid)
                    growth = peak_after - peak_before
                    print(f"\n{shape}: {len(body) / 1e6:.1f} MB body twice at once: peak RSS "
                          f"{peak_before:.0f} -> {peak_after:.0f} MB (+{growth:.0f}), "
                          f"RSS after {rss_after:.0f} MB (was {rss_before:.0f})")
                    for status, answer in answers:
                        self.assertEqual((status, answer["error"]["code"]), (400, "bad_json"), answer)
                        self.assertIn(WHY, answer["error"]["message"])
                    self.assertLess(growth, MAX_PEAK_GROWTH_MB, f"{shape}: the peak RSS grew by {growth:.0f} MB")

            self.assertEqual(node.http("GET", "/healthz").status, 200)
            node.publish(topic, {"after": True})
            events = await receive_events(ws, topic, 1)
            self.assertEqual(events[0]["data"], {"after": True}, "the watcher still receives, and nothing refused")
            await ws.close()

        run(scenario())


if __name__ == "__main__":
    unittest.main()
