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

    def test_never_attempted_deliveries_survive_kill9_with_their_events(self):
        """Tasks not yet attempted refer to their event in the event log
        (docs/storage_format.md, `queue`); after kill -9 the dispatcher reads
        each event back and delivers it whole."""
        r = Receiver()
        d = Daemon()
        try:
            d.start()
            conn = d.cli_json(
                "create-connection", "--name", "slow", "--authorization-type",
                "API_KEY", "--auth-parameters", json.dumps(
                    {"ApiKeyAuthParameters": {"ApiKeyName": "k",
                                              "ApiKeyValue": "v"}}))["ConnectionArn"]
            # Two deliveries a second: most of the events below are still
            # waiting for their first attempt when evbusd is killed.
            dest = d.cli_json(
                "create-api-destination", "--name", "slow", "--connection-arn",
                conn, "--invocation-endpoint", r.url("/slow"), "--http-method",
                "POST", "--invocation-rate-limit-per-second",
                "2")["ApiDestinationArn"]
            d.cli("put-rule", "--name", "slow", "--event-pattern",
                  json.dumps({"source": ["slow.test"]}))
            d.cli("put-targets", "--rule", "slow", "--targets",
                  json.dumps([{"Id": "d", "Arn": dest}]))
            out = d.cli_json("put-events", "--entries", json.dumps(
                [entry(source="slow.test", detail={"i": i}) for i in range(8)]))
            self.assertEqual(out["FailedEntryCount"], 0)
            acked = {e["EventId"] for e in out["Entries"]}
            self.assertTrue(r.wait_for(
                lambda reqs: any(x["path"] == "/slow" for x in reqs)))
            d.kill9()
            before = len(r.received("/slow"))
            self.assertLess(before, 8, "all delivered before the kill")
            d.start()
            self.assertTrue(r.wait_for(
                lambda reqs: {json.loads(x["body"])["id"] for x in reqs
                              if x["path"] == "/slow"} >= acked, timeout=60),
                "not every acknowledged event was delivered after the restart")
            bodies = [json.loads(x["body"]) for x in r.received("/slow")]
            self.assertEqual({b["detail"]["i"] for b in bodies}, set(range(8)))
            for b in bodies:
                self.assertEqual(b["source"], "slow.test")
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()
            r.close()


if __name__ == "__main__":
    unittest.main()
