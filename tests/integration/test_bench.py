"""Smoke test of the benchmark tools (bench/): each verb the performance
numbers come from runs briefly against real parts and prints sane JSON.
This checks that the tools work from a clean clone, not how fast evbus is
(docs/performance.md has the numbers and the commands)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from evbus_harness import BIN_DIR, EVBUSD, Daemon

BENCH = os.path.join(BIN_DIR, "evbus-bench")
SOURCE_DIR = os.environ.get(
    "EVBUS_SOURCE_DIR",
    os.path.join(os.path.dirname(__file__), "..", ".."))


def bench(*args, timeout=120):
    out = subprocess.run([BENCH, *args], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise AssertionError("evbus-bench %s: rc=%d\n%s" %
                             (" ".join(args), out.returncode, out.stderr))
    return json.loads(out.stdout)


class BenchToolsTest(unittest.TestCase):

    def test_match_on_generated_data(self):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, os.path.join(
                SOURCE_DIR, "bench", "data", "gen_bench_data.py"),
                "--out-dir", d, "--events", "500", "--mixed", "300"],
                check=True, capture_output=True, timeout=120)
            for rules in ("rules-exact-prefix.json", "rules-mixed-10k.json"):
                # By default, as evbusd routes: the literal prefilter first
                # (verified never to reject a matching event).
                # --trusted 0: every event flattened (and validated).
                # --flatten-only 1: flattening alone (evbusd's parse),
                # every event.
                for extra in (["--verify", "500"],
                              ["--trusted", "0", "--verify", "500"],
                              ["--flatten-only", "1"]):
                    r = bench("match", "--rules", os.path.join(d, rules),
                              "--events", os.path.join(d, "events.jsonl"),
                              "--seconds", "0.2", *extra)
                    self.assertEqual(r["parse_errors"], 0)
                    self.assertGreater(r["events_per_second"], 0)
                    self.assertEqual(r["trusted"],
                                     0 if "--trusted" in extra else 1)
                    self.assertEqual(r["prefilter"],
                                     rules == "rules-exact-prefix.json")
                    if extra[0] == "--flatten-only":
                        self.assertEqual(r["matches"], 0)
                    else:
                        self.assertGreater(r["matches"], 0)

    def test_http_limit(self):
        r = bench("http-limit", "--connections", "4", "--duration", "0.5")
        self.assertGreater(r["requests"], 0)

    def test_put_events_with_a_rule_delivers_everything(self):
        d = Daemon().start()
        try:
            for client in ("0", "1"):
                r = bench("put-events", "--endpoint", d.grpc,
                          "--concurrency", "8", "--batch", "10",
                          "--payload-bytes", "200", "--duration", "1",
                          "--rules", "3", "--client-threads", client)
                self.assertEqual(r["errors"], 0)
                self.assertGreater(r["events"], 0)
                # Every acknowledged event reached the receiver (at least
                # once).
                self.assertGreaterEqual(r["delivered"], r["events"])
            # The benchmark removes its rules afterwards.
            self.assertEqual(d.cli_json("list-rules")["Rules"], [])
        finally:
            d.cleanup()

    def test_restart_with_queued_deliveries(self):
        r = bench("restart", "--evbusd", EVBUSD, "--events", "2000",
                  "--concurrency", "4", timeout=300)
        self.assertTrue(r["all_delivered"])
        self.assertEqual(r["delivered"], 2000)


if __name__ == "__main__":
    unittest.main()
