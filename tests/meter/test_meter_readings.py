"""The meter's HTTP API and its events, with minting off (issue 17, "Meters and
readings" and "Events"): registration and listing, every validation failure,
ownership refusal, signature check and idempotent repeat, each watched by
outside WebSocket clients (python3-websockets) of the owner, of another user
and of the caller; bodies that are not JSON or miss a field."""
import unittest

from harness import Keypair, MeterNode, Watcher, b58encode, canonical_reading, now_ms, rfc3339, wait_until

READING_FIELDS = {"type", "user_id", "wallet_address", "meter_id", "kwh_amount", "timestamp"}
FAILED_FIELDS = READING_FIELDS | {"error_reason"}


class MeterReadingsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = MeterNode().start()
        cls.alice = cls.node.token("alice", "prosumer")
        cls.bob = cls.node.token("bob", "prosumer")
        cls.admin = cls.node.admin_token()
        cls.alice_wallet = Keypair().address
        cls.bob_wallet = Keypair().address
        cls.meter_key = Keypair()
        for token, meter, wallet, key in ((cls.alice, "alice-1", cls.alice_wallet, None),
                                          (cls.alice, "alice-signed", cls.alice_wallet, cls.meter_key.address),
                                          (cls.bob, "bob-1", cls.bob_wallet, None)):
            answer = cls.node.register(token, meter, wallet, key)
            assert answer.status == 201, answer.body
        cls.watch_alice = Watcher(cls.node, cls.alice)
        cls.watch_bob = Watcher(cls.node, cls.bob)
        cls.watch_admin = Watcher(cls.node, cls.admin)

    @classmethod
    def tearDownClass(cls):
        for watcher in (cls.watch_alice, cls.watch_bob, cls.watch_admin):
            watcher.close()
        code = cls.node.stop()
        cls.node.finish(keep=code != 0)
        assert code == 0, f"eventnode exited with {code}"

    @staticmethod
    def quiet(*watchers):
        """How many events each watcher has: compared before and after, nothing new should have come."""
        return [len(w.events()) for w in watchers]

    # --- meters ----------------------------------------------------------------------------
    def test_meters_are_listed_to_their_owner_and_all_of_them_to_admins(self):
        mine = {m["meter_id"] for m in self.node.http("GET", "/api/meters", token=self.alice).json()["meters"]}
        self.assertEqual(mine, {"alice-1", "alice-signed"})
        bobs = {m["meter_id"] for m in self.node.http("GET", "/api/meters", token=self.bob).json()["meters"]}
        self.assertEqual(bobs, {"bob-1"})
        every = {m["meter_id"] for m in self.node.http("GET", "/api/meters", token=self.admin).json()["meters"]}
        self.assertTrue({"alice-1", "alice-signed", "bob-1"} <= every)
        signed = [m for m in self.node.http("GET", "/api/meters", token=self.alice).json()["meters"]
                  if m["meter_id"] == "alice-signed"][0]
        self.assertEqual(signed["public_key"], self.meter_key.address)
        self.assertEqual(signed["user_id"], "alice")
        self.assertEqual(signed["wallet_address"], self.alice_wallet)

    def test_a_meter_id_belongs_to_whoever_registered_it_first(self):
        taken = self.node.register(self.bob, "alice-1", self.bob_wallet)
        self.assertEqual(taken.status, 409, taken.body)
        self.assertIn("alice-1", taken.json()["error"]["message"])
        again = self.node.register(self.alice, "alice-1", self.alice_wallet)
        self.assertEqual(again.status, 200, again.body)  # the same registration, retried

    def test_registration_names_the_field_that_is_missing_or_wrong(self):
        cases = [({"wallet_address": self.alice_wallet}, "meter_id"),
                 ({"meter_id": "x-1"}, "wallet_address"),
                 ({"meter_id": "x-1", "wallet_address": "not-an-address"}, "wallet_address"),
                 ({"meter_id": "x-1", "wallet_address": self.alice_wallet, "public_key": "abc"}, "public_key"),
                 ({"meter_id": "", "wallet_address": self.alice_wallet}, "meter_id")]
        for body, field in cases:
            with self.subTest(field=field, body=body):
                answer = self.node.http("POST", "/api/meters", body, token=self.alice)
                self.assertEqual(answer.status, 400, answer.body)
                self.assertIn(field, answer.json()["error"]["message"])

    def test_no_one_subscribes_to_another_users_meter_events_or_the_admins(self):
        for topic in ("user:alice", "admins"):
            with self.subTest(topic=topic):
                answer = self.watch_bob.subscribe(topic, filter={"event_types": ["MeterReadingReceived"]})
                self.assertEqual(answer["type"], "error", answer)
                self.assertEqual(answer["code"], "forbidden")

    def test_only_prosumers_and_admins_use_meters(self):
        consumer = self.node.token("carol", "consumer")
        self.assertEqual(self.node.register(consumer, "carol-1", self.alice_wallet).status, 403)
        self.assertEqual(self.node.submit(consumer, "alice-1", 1, now_ms()).status, 403)
        self.assertEqual(self.node.http("POST", "/api/meters/submit-reading", {}).status, 401)

    # --- readings --------------------------------------------------------------------------
    def test_an_accepted_reading_reaches_its_owner_alone_in_the_seeds_shape(self):
        at = now_ms() - 1000
        before = self.quiet(self.watch_bob, self.watch_admin)
        answer = self.node.submit(self.alice, "alice-1", 12.5, at)
        self.assertEqual(answer.status, 200, answer.body)
        body = answer.json()
        self.assertIs(body["success"], True)
        self.assertTrue(body["message"])
        self.assertTrue(body["reading_id"])
        events = wait_until(lambda: [e for e in self.watch_alice.events("MeterReadingReceived")
                                     if e["timestamp"] == rfc3339(at)], 10, what="MeterReadingReceived")
        self.assertEqual(len(events), 1)
        event = events[0]
        self.assertEqual(set(event), READING_FIELDS)
        self.assertEqual(event, {"type": "MeterReadingReceived", "user_id": "alice",
                                 "wallet_address": self.alice_wallet, "meter_id": "alice-1", "kwh_amount": 12.5,
                                 "timestamp": rfc3339(at)})
        self.assertEqual(self.quiet(self.watch_bob, self.watch_admin), before)

    def test_the_same_meter_and_time_again_is_the_same_reading_and_no_second_event(self):
        at = now_ms() - 2000
        first = self.node.submit(self.alice, "alice-1", 3, at)
        self.assertEqual(first.status, 200, first.body)
        wait_until(lambda: [e for e in self.watch_alice.events("MeterReadingReceived")
                            if e["timestamp"] == rfc3339(at)], 10, what="the first reading's event")
        again = self.node.submit(self.alice, "alice-1", 3, at)
        self.assertEqual(again.status, 200, again.body)
        self.assertIs(again.json()["success"], True)
        self.assertEqual(again.json()["reading_id"], first.json()["reading_id"])
        # A marker reading after the repeat: once its event is here, a second event of the repeat would be too.
        marker = self.node.submit(self.alice, "alice-1", 4, at + 1)
        self.assertEqual(marker.status, 200)
        wait_until(lambda: [e for e in self.watch_alice.events("MeterReadingReceived")
                            if e["timestamp"] == rfc3339(at + 1)], 10, what="the marker's event")
        same = [e for e in self.watch_alice.events("MeterReadingReceived") if e["timestamp"] == rfc3339(at)]
        self.assertEqual(len(same), 1)

    def expect_refusal(self, token, meter, kwh, at, reason_part, status=422, signature=None, told="alice"):
        watchers = {"alice": self.watch_alice, "bob": self.watch_bob}
        answer = self.node.submit(token, meter, kwh, at, signature=signature)
        self.assertEqual(answer.status, status, answer.body)
        body = answer.json()
        self.assertIs(body["success"], False)
        self.assertIn(reason_part, body["error"]["message"])
        told_watcher = watchers[told]
        events = wait_until(lambda: [e for e in told_watcher.events("MeterReadingValidationFailed")
                                     if e["meter_id"] == meter and e["kwh_amount"] == kwh], 10,
                            what=f"MeterReadingValidationFailed to {told}")
        self.assertEqual(set(events[-1]), FAILED_FIELDS)
        self.assertIn(reason_part, events[-1]["error_reason"])
        self.assertEqual(events[-1]["user_id"], told)
        for name, watcher in watchers.items():
            if name != told:
                self.assertFalse([e for e in watcher.events() if e.get("meter_id") == meter and e["kwh_amount"] == kwh],
                                 f"{name} saw {told}'s refusal")
        return events[-1]

    def test_each_validation_failure_is_answered_and_told_to_the_owner(self):
        now = now_ms()
        self.expect_refusal(self.alice, "alice-1", 0, now, "greater than 0")
        self.expect_refusal(self.alice, "alice-1", -2, now - 1, "greater than 0")
        self.expect_refusal(self.alice, "alice-1", 100.5, now - 2, "exceeds the maximum of 100")
        self.expect_refusal(self.alice, "alice-1", 1.25, now + 3600 * 1000, "in the future")
        self.expect_refusal(self.alice, "alice-1", 1.5, now - 8 * 24 * 3600 * 1000, "older than")
        event = self.expect_refusal(self.alice, "nobody-9", 2.5, now - 3, "not registered")
        self.assertIsNone(event["wallet_address"])

    def test_a_reading_for_someone_elses_meter_is_refused_and_told_to_the_owner_only(self):
        self.expect_refusal(self.bob, "alice-1", 7.75, now_ms(), "not registered to bob", status=403, told="alice")
        # An admin may submit for any meter; the event goes to the meter's owner.
        at = now_ms() - 5000
        answer = self.node.submit(self.admin, "bob-1", 8.25, at)
        self.assertEqual(answer.status, 200, answer.body)
        event = wait_until(lambda: [e for e in self.watch_bob.events("MeterReadingReceived") if e["kwh_amount"] == 8.25],
                           10, what="bob's reading submitted by an admin")[0]
        self.assertEqual(event["user_id"], "bob")

    def test_a_signed_meters_readings_need_its_signature_over_the_canonical_bytes(self):
        at = now_ms() - 10_000
        self.expect_refusal(self.alice, "alice-signed", 5.5, at, "meter_signature is missing")
        wrong_amount = b58encode(self.meter_key.sign(canonical_reading("alice-signed", 5.25, at)))
        self.expect_refusal(self.alice, "alice-signed", 5.75, at, "not the meter's Ed25519 signature",
                            signature=wrong_amount)
        other_key = b58encode(Keypair().sign(canonical_reading("alice-signed", 6.5, at)))
        self.expect_refusal(self.alice, "alice-signed", 6.5, at, "not the meter's Ed25519 signature",
                            signature=other_key)
        good = b58encode(self.meter_key.sign(canonical_reading("alice-signed", 6.25, at)))
        answer = self.node.submit(self.alice, "alice-signed", 6.25, at, signature=good)
        self.assertEqual(answer.status, 200, answer.body)
        wait_until(lambda: [e for e in self.watch_alice.events("MeterReadingReceived")
                            if e["meter_id"] == "alice-signed" and e["kwh_amount"] == 6.25], 10,
                   what="the signed reading's event")

    def test_a_body_that_is_not_json_or_misses_a_field_gets_400_naming_it(self):
        at = rfc3339(now_ms())
        cases = [({"kwh_amount": 1, "reading_timestamp": at}, "meter_id"),
                 ({"meter_id": "alice-1", "reading_timestamp": at}, "kwh_amount"),
                 ({"meter_id": "alice-1", "kwh_amount": "1", "reading_timestamp": at}, "kwh_amount"),
                 ({"meter_id": "alice-1", "kwh_amount": 1}, "reading_timestamp"),
                 ({"meter_id": "alice-1", "kwh_amount": 1, "reading_timestamp": "yesterday"}, "reading_timestamp")]
        before = self.quiet(self.watch_alice)
        for body, field in cases:
            with self.subTest(field=field):
                answer = self.node.submit(self.alice, None, None, None, raw=body)
                self.assertEqual(answer.status, 400, answer.body)
                self.assertIn(field, answer.json()["error"]["message"])
        request = self.node.http("POST", "/api/meters/submit-reading", None, token=self.alice)
        self.assertEqual(request.status, 400)
        deep = "[" * 100 + "]" * 100
        import urllib.request
        raw = urllib.request.Request(f"http://127.0.0.1:{self.node.port}/api/meters/submit-reading",
                                     data=deep.encode(), method="POST",
                                     headers={"Authorization": f"Bearer {self.alice}",
                                              "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(raw, timeout=10)
            self.fail("a body nested 100 deep was accepted")
        except urllib.error.HTTPError as error:
            self.assertEqual(error.code, 400)
            self.assertIn("nested deeper", error.read().decode())
        self.assertEqual(self.quiet(self.watch_alice), before, "a body that could not be read made an event")


class MeterFilterTest(unittest.TestCase):
    """The seed's filter on the user's own topic: event_types must match; meters and
    min_amount hold for events that carry no meter id or amount."""

    @classmethod
    def setUpClass(cls):
        cls.node = MeterNode().start()
        cls.dave = cls.node.token("dave", "prosumer")
        wallet = Keypair().address
        for meter in ("d-1", "d-2"):
            assert cls.node.register(cls.dave, meter, wallet).status == 201

    @classmethod
    def tearDownClass(cls):
        code = cls.node.stop()
        cls.node.finish(keep=code != 0)
        assert code == 0

    def test_unknown_event_types_and_malformed_filters_get_a_clear_error(self):
        watcher = Watcher(self.node, self.dave)
        try:
            for spec, part in (({"event_types": ["TokenMinted"], "meters": ["d-1"]}, "unknown event type 'TokenMinted'"),
                               ({"event_types": ["MeterReadingReceived", "Nope"]}, "unknown event type 'Nope'"),
                               ({"event_types": ["TokensMinted"], "min_amount": "5"}, "filter.min_amount"),
                               ({"event_types": ["TokensMinted"], "meters": "d-1"}, "filter.meters")):
                with self.subTest(spec=spec):
                    answer = watcher.subscribe("user:dave", filter=spec)
                    self.assertEqual(answer["type"], "error", answer)
                    self.assertEqual(answer["code"], "bad_filter")
                    self.assertIn(part, answer["message"])
        finally:
            watcher.close()

    def test_meters_and_min_amount_select_readings(self):
        watcher = Watcher(self.node, self.dave)
        try:
            answer = watcher.subscribe("user:dave", filter={"event_types": ["MeterReadingReceived"], "meters": ["d-1"],
                                                            "min_amount": 5})
            self.assertEqual(answer["type"], "subscribed", answer)
            base = now_ms() - 60_000
            for i, (meter, kwh) in enumerate((("d-1", 6), ("d-1", 4), ("d-2", 9), ("d-1", 5), ("d-2", 1))):
                self.assertEqual(self.node.submit(self.dave, meter, kwh, base + i).status, 200)
            # The refusal is another type: filtered out although it carries d-1.
            self.assertEqual(self.node.submit(self.dave, "d-1", 500, base + 10).status, 422)
            self.assertEqual(self.node.submit(self.dave, "d-1", 7, base + 11).status, 200)
            events = watcher.wait_events("MeterReadingReceived", 3, timeout=10)
            wait_until(lambda: len(watcher.events()) >= 3, 5)
            self.assertEqual([(e["meter_id"], e["kwh_amount"]) for e in watcher.events()],
                             [("d-1", 6), ("d-1", 5), ("d-1", 7)])
            self.assertEqual(len(events), 3)
        finally:
            watcher.close()


if __name__ == "__main__":
    unittest.main()
