"""Durability: an acknowledged PutEvents survives kill -9.

Concurrent callers put events through the real CLI while the daemon is
killed with SIGKILL mid-load. After a restart on the same data directory,
every event id that any caller saw acknowledged must be in the event log,
and the store must open cleanly. Three kill cycles on one data directory.
"""
import json
import os
import threading
import time
import unittest

from evbus_harness import Daemon, cli, entry

CALLERS = 8
LOAD_SECONDS = 1.5
CYCLES = 3


class CrashDurabilityTest(unittest.TestCase):

    def test_acknowledged_events_survive_kill9(self):
        d = Daemon()
        acked = set()
        lock = threading.Lock()
        try:
            for cycle in range(CYCLES):
                d.start()
                endpoint = d.grpc
                stop = threading.Event()
                failures = []

                def caller(n):
                    batch = [entry(detail={"caller": n, "cycle": cycle, "i": i,
                                           "pad": "x" * 900})
                             for i in range(10)]
                    payload = json.dumps(batch)
                    deadline = time.monotonic() + 30
                    while not stop.is_set() and time.monotonic() < deadline:
                        r = cli("--endpoint", endpoint, "--cli-read-timeout", "5",
                                "put-events", "--entries", payload, check=False)
                        if r.returncode != 0:
                            failures.append(r.stderr)
                            continue
                        out = json.loads(r.stdout)
                        ids = [e["EventId"] for e in out["Entries"]]
                        if out["FailedEntryCount"] != 0 or len(ids) != 10:
                            failures.append(r.stdout)
                            continue
                        with lock:
                            acked.update(ids)

                threads = [threading.Thread(target=caller, args=(n,))
                           for n in range(CALLERS)]
                for t in threads:
                    t.start()
                time.sleep(LOAD_SECONDS)
                d.kill9()          # mid-load: calls are in flight
                stop.set()
                for t in threads:
                    t.join(timeout=60)
                    self.assertFalse(t.is_alive())
                # Calls that failed did so because the daemon died.
                with lock:
                    before = len(acked)
                self.assertGreater(before, 0, "no call was acknowledged")

            # Restart on the same directory: opens cleanly, nothing lost.
            d.start()
            self.assertEqual(d.http_get("/readyz"), (200, "ready\n"))
            events = d.cli_json("list-events", "--max-items", "1000000",
                                timeout=120)["Events"]
            stored = {e["EventId"] for e in events}
            missing = acked - stored
            self.assertEqual(missing, set(),
                             "%d of %d acknowledged events lost" %
                             (len(missing), len(acked)))
            # Every stored envelope is intact JSON with its own id.
            for e in events:
                self.assertEqual(e["Event"]["id"], e["EventId"])
                self.assertEqual(len(e["Event"]["detail"]["pad"]), 900)
            # And the daemon still takes writes after recovery.
            r = d.cli_json("put-events", "--entries", json.dumps([entry()]))
            self.assertEqual(r["FailedEntryCount"], 0)
            print("acknowledged %d events over %d kill -9 cycles; all present"
                  % (len(acked), CYCLES))
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_acknowledged_metric_data_survives_kill9(self):
        """PutMetricData answers after a synced write: kill -9 right after
        the acknowledgement loses nothing."""
        d = Daemon(extra_args=["--clock", "manual", "--clock-start",
                               "2026-03-01T12:00:30Z"]).start()
        try:
            for value in ("3", "4"):
                d.cli("put-metric-data", "--namespace", "Custom/Crash",
                      "--metric-name", "Jobs", "--value", value)
            d.kill9()
            d.start()
            stats = d.cli_json("get-metric-statistics", "--namespace",
                               "Custom/Crash", "--metric-name", "Jobs",
                               "--start-time", "2026-03-01T12:00:00Z",
                               "--end-time", "2026-03-01T12:01:00Z",
                               "--period", "60", "--statistics", "Sum",
                               "SampleCount")
            self.assertEqual(len(stats["Datapoints"]), 1, stats)
            self.assertEqual(stats["Datapoints"][0]["Sum"], 7)
            self.assertEqual(stats["Datapoints"][0]["SampleCount"], 2)
        finally:
            d.cleanup()

    def test_acknowledged_clock_advance_fires_every_tick_despite_kill9(self):
        """`clock advance` answers once the ticks it made due are written:
        a kill -9 right after it does not turn them into ticks missed while
        down (--missed-ticks latest would keep one)."""
        d = Daemon(extra_args=["--clock", "manual", "--clock-start",
                               "2026-03-01T00:00:00Z"]).start()
        try:
            d.cli("put-rule", "--name", "tick", "--schedule-expression",
                  "rate(1 minute)")
            d.cli("put-targets", "--rule", "tick", "--targets",
                  json.dumps([{"Id": "log", "Arn": "log:ticks"}]))
            d.cli("clock", "advance", "2000m")
            d.kill9()
            d.start()
            ids = set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(ids) < 2000:
                out = d.cli("logs", "tail", "ticks", "--max-items",
                            "10000").stdout
                ids = {json.loads(line.split(" ", 1)[1])["id"]
                       for line in out.splitlines() if " {" in line}
                time.sleep(0.2)
            self.assertEqual(len(ids), 2000)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
