"""Pending deliveries survive kill -9: events queued for a receiver that is
down are all delivered after a restart once it is back."""
import json
import time
import unittest

from evbus_harness import Daemon, entry
from receiver import Receiver


class DeliveryCrashTest(unittest.TestCase):

    def test_pending_deliveries_survive_kill9(self):
        r = Receiver()
        d = Daemon()
        try:
            d.start()
            r.script("/hook", [], default=(503, {}, 0))   # the receiver is down
            d.cli("put-rule", "--name", "crash", "--event-pattern",
                  json.dumps({"source": ["crash.test"]}))
            d.cli("put-targets", "--rule", "crash", "--targets",
                  json.dumps([{"Id": "t", "Arn": r.url("/hook")}]))
            acked = set()
            for b in range(10):
                out = d.cli_json("put-events", "--entries", json.dumps(
                    [entry(source="crash.test", detail={"b": b, "i": i})
                     for i in range(10)]))
                self.assertEqual(out["FailedEntryCount"], 0)
                acked.update(e["EventId"] for e in out["Entries"])
            # Every event was tried at least once and failed.
            self.assertTrue(r.wait_for(
                lambda reqs: {json.loads(x["body"])["id"] for x in reqs} >= acked))
            d.kill9()
            r.script("/hook", [], default=(200, {}, 0))   # the receiver is back
            d.start()
            self.assertTrue(r.wait_for(
                lambda reqs: {json.loads(x["body"])["id"] for x in reqs
                              if x["status"] == 200} >= acked, timeout=60),
                "not every acknowledged event was delivered after the restart")
            delivered = {json.loads(x["body"])["id"]
                         for x in r.received("/hook", status=200)}
            self.assertEqual(delivered, acked)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()
            r.close()


if __name__ == "__main__":
    unittest.main()
