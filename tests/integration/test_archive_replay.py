"""Archive and replay round trip through the CLI, with a real receiver."""
import json
import time
import unittest

from evbus_harness import Daemon, entry
from receiver import Receiver

BUS_ARN = "arn:aws:events:us-east-1:000000000000:event-bus/default"


class ArchiveReplayTest(unittest.TestCase):

    def test_round_trip(self):
        d = Daemon().start()
        r = Receiver()
        try:
            out = d.cli_json("create-archive", "--archive-name", "orders-archive",
                             "--event-source-arn", BUS_ARN, "--event-pattern",
                             json.dumps({"source": ["shop"]}))
            self.assertEqual(out["ArchiveArn"],
                             "arn:aws:events:us-east-1:000000000000:archive/orders-archive")
            err = d.cli("create-archive", "--archive-name", "orders-archive",
                        "--event-source-arn", BUS_ARN, check=False)
            self.assertIn("Archive orders-archive already exists.", err.stderr)
            # Archive rules are managed: visible, but not deletable by accident.
            rule = d.cli_json("describe-rule", "--name", "Events-Archive-orders-archive")
            self.assertEqual(rule["ManagedBy"], "evbus.archive")
            # Nor changed: the archive would archive other events, or stop.
            for args in (["put-rule", "--name", "Events-Archive-orders-archive",
                          "--event-pattern", json.dumps({"source": ["zz"]})],
                         ["put-targets", "--rule", "Events-Archive-orders-archive",
                          "--targets", json.dumps([{"Id": "x", "Arn": "log:x"}])],
                         ["disable-rule", "--name", "Events-Archive-orders-archive"],
                         ["enable-rule", "--name", "Events-Archive-orders-archive"]):
                err = d.cli(*args, check=False)
                self.assertEqual(err.returncode, 1, args)
                self.assertIn("(ManagedRuleException)", err.stderr)
                self.assertIn("Rule Events-Archive-orders-archive is managed by "
                              "evbus.archive and cannot be changed.", err.stderr)
            self.assertEqual(d.cli_json("describe-rule", "--name",
                                        "Events-Archive-orders-archive"), rule)
            # An archive does not take over a rule of the user's that has the
            # name its rule would have.
            d.cli("put-rule", "--name", "Events-Archive-clash", "--event-pattern",
                  json.dumps({"source": ["clash"]}))
            err = d.cli("create-archive", "--archive-name", "clash",
                        "--event-source-arn", BUS_ARN, check=False)
            self.assertEqual(err.returncode, 1)
            self.assertIn("Rule Events-Archive-clash already exists on EventBus "
                          "default.", err.stderr)
            self.assertIn("clash", d.cli_json("describe-rule", "--name",
                                              "Events-Archive-clash")["EventPattern"])
            missing = d.cli("describe-archive", "--archive-name", "clash",
                            check=False)
            self.assertEqual(missing.returncode, 1)

            ids = [e["EventId"] for e in d.cli_json("put-events", "--entries", json.dumps(
                [entry(source="shop", detail={"i": i},
                       Time="2026-01-01T00:00:%02dZ" % i) for i in range(5)] +
                [entry(source="other")]))["Entries"]]
            shop_ids = ids[:5]
            a = d.cli_json("describe-archive", "--archive-name", "orders-archive")
            self.assertEqual(a["EventCount"], 5)
            self.assertGreater(a["SizeBytes"], 0)

            # A rule that sees replays only; deliveries carry replay-name.
            d.cli("put-rule", "--name", "replayed", "--event-pattern",
                  json.dumps({"replay-name": [{"exists": True}]}))
            d.cli("put-targets", "--rule", "replayed", "--targets",
                  json.dumps([{"Id": "h", "Arn": r.url("/replayed")}]))
            err = d.cli("start-replay", "--replay-name", "r1",
                        "--event-source-arn", a["ArchiveArn"],
                        "--event-start-time", "2026-01-01T00:00:03Z",
                        "--event-end-time", "2026-01-01T00:00:01Z",
                        "--destination", json.dumps({"Arn": BUS_ARN}), check=False)
            self.assertIn("Parameter EventEndTime is not valid. Reason: EventStartTime "
                          "must be before EventEndTime.", err.stderr)
            d.cli("create-event-bus", "--name", "elsewhere")
            err = d.cli("start-replay", "--replay-name", "r0",
                        "--event-source-arn", a["ArchiveArn"],
                        "--event-start-time", "2026-01-01T00:00:00Z",
                        "--event-end-time", "2026-01-01T00:01:00Z",
                        "--destination", json.dumps(
                            {"Arn": "arn:aws:events:us-east-1:000000000000:event-bus/elsewhere"}),
                        check=False)
            self.assertIn("Cross event bus replay is not permitted.", err.stderr)

            out = d.cli_json("start-replay", "--replay-name", "r1",
                             "--event-source-arn", a["ArchiveArn"],
                             "--event-start-time", "2026-01-01T00:00:01Z",
                             "--event-end-time", "2026-01-01T00:00:04Z",
                             "--destination", json.dumps({"Arn": BUS_ARN}))
            self.assertEqual(out["State"], "STARTING")
            deadline = time.monotonic() + 20
            replay = {}
            while time.monotonic() < deadline:
                replay = d.cli_json("describe-replay", "--replay-name", "r1")
                if replay["State"] == "COMPLETED":
                    break
                time.sleep(0.1)
            self.assertEqual(replay["State"], "COMPLETED")
            self.assertEqual(replay["EventsReplayed"], 3)   # seconds 1, 2, 3
            self.assertTrue(r.wait_for(
                lambda reqs: len([x for x in reqs if x["path"] == "/replayed"]) == 3))
            got = [json.loads(x["body"]) for x in r.received("/replayed")]
            self.assertEqual(sorted(e["id"] for e in got), sorted(shop_ids[1:4]))
            for e in got:
                self.assertEqual(e["replay-name"], "r1")
                keys = list(e.keys())
                self.assertEqual(keys.index("replay-name"), keys.index("region") + 1)
            # Replayed events are not archived again.
            self.assertEqual(d.cli_json("describe-archive", "--archive-name",
                                        "orders-archive")["EventCount"], 5)
            err = d.cli("cancel-replay", "--replay-name", "r1", check=False)
            self.assertIn("(IllegalStatusException)", err.stderr)
            self.assertEqual([x["ReplayName"] for x in
                              d.cli_json("list-replays")["Replays"]], ["r1"])

            d.cli("delete-archive", "--archive-name", "orders-archive")
            err = d.cli("describe-archive", "--archive-name", "orders-archive",
                        check=False)
            self.assertIn("Archive orders-archive does not exist.", err.stderr)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()
            r.close()


if __name__ == "__main__":
    unittest.main()
