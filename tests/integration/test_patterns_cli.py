"""Pattern features through the CLI: test-event-pattern against the daemon,
offline lint, and live tail-events."""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

from evbus_harness import EVBUS, Daemon, cli, entry

EVENT = {"version": "0", "id": "0cc35aee-07b3-415a-a941-9c1f1a357958",
         "detail-type": "Order Placed", "source": "com.shop",
         "account": "123456789012", "time": "2024-01-15T12:00:00Z",
         "region": "us-east-1", "resources": [],
         "detail": {"price": 250, "state": "NY", "ip": "10.0.0.7"}}


class PatternsCliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def t(self, pattern, event=EVENT):
        return self.d.cli_json("test-event-pattern", "--event-pattern",
                               json.dumps(pattern), "--event", json.dumps(event))

    def test_test_event_pattern(self):
        self.assertEqual(self.t({"source": ["com.shop"]}), {"Result": True})
        self.assertEqual(self.t({"detail": {"price": [{"numeric": [">", 300]}]}}),
                         {"Result": False})
        self.assertEqual(self.t({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}),
                         {"Result": True})
        self.assertEqual(self.t({"$or": [{"source": ["x"]},
                                         {"detail": {"state": ["NY"]}}]}),
                         {"Result": True})

    def test_test_event_pattern_errors(self):
        r = self.d.cli("test-event-pattern", "--event-pattern", '{"source":"x"}',
                       "--event", json.dumps(EVENT), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("An error occurred (InvalidEventPatternException) when calling "
                      "the TestEventPattern operation: Event pattern is not valid. "
                      "Reason: \"source\" must be an object or an array", r.stderr)
        event = dict(EVENT)
        del event["account"]
        r = self.d.cli("test-event-pattern", "--event-pattern", '{"source":["x"]}',
                       "--event", json.dumps(event), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ValidationException)", r.stderr)
        self.assertIn("Parameter Event is not valid.", r.stderr)
        # Longer than the API model takes (4096 UTF-16 units): the model's
        # ValidationException, for TestEventPattern and PutRule alike.
        long_pattern = json.dumps({"source": ["a" * 4085]})
        self.assertEqual(len(long_pattern), 4101)
        for verb in (["test-event-pattern", "--event",
                      json.dumps(EVENT)], ["put-rule", "--name", "long"]):
            r = self.d.cli(*verb, "--event-pattern", long_pattern, check=False)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("(ValidationException)", r.stderr)
            self.assertIn("at 'eventPattern' failed to satisfy constraint: "
                          "Member must have length less than or equal to "
                          "4096", r.stderr)

    def test_lint_offline(self):
        with tempfile.TemporaryDirectory() as tmp:
            good = os.path.join(tmp, "good.json")
            bad = os.path.join(tmp, "bad.json")
            with open(good, "w") as f:
                json.dump({"detail-type": [{"prefix": "Order"}]}, f)
            with open(bad, "w") as f:
                f.write('{"detail": {"n": [{"numeric": [">", 0, ">", 0]}]}}')
            r = cli("patterns", "lint", good, bad, check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn(good + ": OK", r.stdout)
            self.assertIn(bad + ": InvalidEventPatternException: Event pattern is "
                          "not valid. Reason: Bad numeric range operator: >", r.stdout)
            self.assertEqual(cli("patterns", "lint", good).returncode, 0)

    def test_help_of_the_sub_verbs_shows_the_line_format(self):
        for sub in ("check", "lint"):
            r = cli("patterns", sub, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("usage: evbus patterns check FILE.jsonl", r.stdout)
            self.assertIn('{"id": ANY, "pattern": "<pattern JSON as a string>"',
                          r.stdout)
            self.assertIn('{"id": ..., "match": true|false}', r.stdout)

    def test_tail_events_streams_matching_events(self):
        proc = subprocess.Popen(
            [EVBUS, "--endpoint", self.d.grpc, "tail-events", "--event-pattern",
             json.dumps({"detail": {"keep": [True]}}), "--max-items", "2",
             "--duration", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Keep putting until the stream has surely subscribed (bounded).
            ids = []
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline:
                out = self.d.cli_json("put-events", "--entries", json.dumps([
                    entry(detail={"keep": False}), entry(detail={"keep": True})]))
                ids.append(out["Entries"][1]["EventId"])
                time.sleep(0.1)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, 0, err)
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 2)
        for line in lines:
            event = json.loads(line)
            self.assertTrue(event["detail"]["keep"])
            self.assertIn(event["id"], ids)

    def test_tail_events_says_when_the_daemon_stops(self):
        d = Daemon().start()
        try:
            proc = subprocess.Popen(
                [EVBUS, "--endpoint", d.grpc, "tail-events", "--duration",
                 "30"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # Subscribed once an event comes through: events are put
                # from another thread until one arrives (bounded), since
                # the stream may subscribe after the first ones.
                arrived = threading.Event()

                def put_until_one_arrives():
                    deadline = time.monotonic() + 20
                    while not arrived.is_set() and time.monotonic() < deadline:
                        d.cli_json("put-events", "--entries",
                                   json.dumps([entry()]))
                        time.sleep(0.1)

                putter = threading.Thread(target=put_until_one_arrives)
                putter.start()
                got = proc.stdout.readline()
                arrived.set()
                putter.join()
                self.assertTrue(got)
                self.assertEqual(d.stop(), 0)
                out, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
            self.assertEqual(proc.returncode, 1, err)
            self.assertIn("evbusd is shutting down", err)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
