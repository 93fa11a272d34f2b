"""Schedules through the CLI with evbusd --clock manual: rule schedules and
Scheduler schedules fire as the clock moves, exactly once, across kill -9."""
import json
import time
import unittest

from evbus_harness import Daemon, cli
from receiver import Receiver

START = "2026-03-02T00:00:00Z"   # a Monday


def wait_count(receiver, path, n, timeout=20):
    return receiver.wait_for(
        lambda reqs: len([x for x in reqs if x["path"] == path]) >= n, timeout)


class ScheduleTest(unittest.TestCase):

    def setUp(self):
        self.r = Receiver()
        self.d = Daemon(extra_args=["--clock", "manual", "--clock-start", START]).start()

    def tearDown(self):
        self.d.cleanup()
        self.r.close()

    def advance(self, duration):
        return self.d.cli_json("clock", "advance", duration)

    def test_clock_verbs(self):
        self.assertEqual(self.d.cli_json("clock", "get"),
                         {"Time": "2026-03-02T00:00:00.000Z", "Mode": "manual"})
        self.assertEqual(self.advance("90m")["Time"], "2026-03-02T01:30:00.000Z")
        r = self.d.cli("clock", "set", "2026-01-01T00:00:00Z", check=False)
        self.assertEqual(r.returncode, 1)
        r = self.d.cli("clock", "set", "2026-01-01T00:00:00Z", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("never moves backwards", r.stderr)
        real = Daemon().start()
        try:
            r = real.cli("clock", "advance", "1h", check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("--clock manual", r.stderr)
        finally:
            real.cleanup()

    def test_rule_rate_five_minutes_over_an_hour_is_twelve_deliveries(self):
        self.d.cli("put-rule", "--name", "every5", "--schedule-expression",
                   "rate(5 minutes)")
        self.d.cli("put-targets", "--rule", "every5", "--targets",
                   json.dumps([{"Id": "h", "Arn": self.r.url("/tick")}]))
        self.advance("60m")
        self.assertTrue(wait_count(self.r, "/tick", 12))
        time.sleep(0.5)
        got = [json.loads(x["body"]) for x in self.r.received("/tick")]
        self.assertEqual(len(got), 12)
        e = got[0]
        self.assertEqual(e["detail-type"], "Scheduled Event")
        self.assertEqual(e["source"], "aws.events")
        self.assertEqual(e["resources"],
                         ["arn:aws:events:us-east-1:000000000000:rule/every5"])
        self.assertEqual(e["detail"], {})
        self.assertEqual(sorted(x["time"] for x in got)[-1], "2026-03-02T01:00:00Z")

    def test_rule_schedule_validation(self):
        for bad in ("rate(1 minutes)", "rate(10 seconds)", "cron(0 1 * * * *)",
                    "cron(INVALID)"):
            r = self.d.cli("put-rule", "--name", "bad", "--schedule-expression",
                           bad, check=False)
            self.assertEqual(r.returncode, 1, bad)
            self.assertIn("Parameter ScheduleExpression is not valid.", r.stderr)

    def test_cron_last_friday_and_nth_weekday(self):
        # Last Friday of March 2026 is the 27th; 2nd Tuesday is the 10th.
        self.d.cli("put-rule", "--name", "lastfri", "--schedule-expression",
                   "cron(0 9 ? * 6L *)")
        self.d.cli("put-targets", "--rule", "lastfri", "--targets",
                   json.dumps([{"Id": "h", "Arn": self.r.url("/lastfri")}]))
        self.d.cli("put-rule", "--name", "secondtue", "--schedule-expression",
                   "cron(30 8 ? * 3#2 *)")
        self.d.cli("put-targets", "--rule", "secondtue", "--targets",
                   json.dumps([{"Id": "h", "Arn": self.r.url("/secondtue")}]))
        self.advance("31d")
        self.assertTrue(wait_count(self.r, "/lastfri", 1))
        self.assertTrue(wait_count(self.r, "/secondtue", 1))
        time.sleep(0.3)
        self.assertEqual([json.loads(x["body"])["time"]
                          for x in self.r.received("/lastfri")],
                         ["2026-03-27T09:00:00Z"])
        self.assertEqual([json.loads(x["body"])["time"]
                          for x in self.r.received("/secondtue")],
                         ["2026-03-10T08:30:00Z"])

    def test_scheduler_at_with_delete_fires_once(self):
        out = self.d.cli_json(
            "create-schedule", "--name", "once", "--schedule-expression",
            "at(2026-03-02T10:15:00)", "--schedule-expression-timezone",
            "Europe/Berlin", "--flexible-time-window", '{"Mode":"OFF"}',
            "--action-after-completion", "DELETE", "--target",
            json.dumps({"Arn": self.r.url("/once"), "Input": '{"job":"backup"}'}))
        self.assertEqual(out["ScheduleArn"],
                         "arn:aws:scheduler:us-east-1:000000000000:schedule/default/once")
        self.advance("9h14m")            # 09:14 UTC = 10:14 Berlin: not yet
        time.sleep(0.3)
        self.assertEqual(self.r.received("/once"), [])
        self.advance("2m")
        self.assertTrue(wait_count(self.r, "/once", 1))
        self.assertEqual(self.r.received("/once")[0]["body"], '{"job":"backup"}')
        r = self.d.cli("get-schedule", "--name", "once", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ResourceNotFoundException)", r.stderr)
        self.advance("1d")
        time.sleep(0.3)
        self.assertEqual(len(self.r.received("/once")), 1)

    def test_scheduler_disabled_end_date_and_eventbridge_target(self):
        self.d.cli("create-event-bus", "--name", "jobs")
        self.d.cli("put-rule", "--name", "on-job", "--event-bus-name", "jobs",
                   "--event-pattern", json.dumps({"source": ["my.scheduler"]}))
        self.d.cli("put-targets", "--rule", "on-job", "--event-bus-name", "jobs",
                   "--targets", json.dumps([{"Id": "h", "Arn": self.r.url("/job")}]))
        self.d.cli("create-schedule", "--name", "hourly", "--schedule-expression",
                   "rate(1 hour)", "--end-date", "2026-03-02T03:30:00Z",
                   "--flexible-time-window", '{"Mode":"OFF"}', "--target",
                   json.dumps({"Arn": "bus:jobs", "Input": '{"n": 1}',
                               "EventBridgeParameters": {"DetailType": "Job Due",
                                                         "Source": "my.scheduler"}}))
        self.d.cli("create-schedule", "--name", "off", "--schedule-expression",
                   "rate(1 hour)", "--state", "DISABLED",
                   "--flexible-time-window", '{"Mode":"OFF"}', "--target",
                   json.dumps({"Arn": self.r.url("/off")}))
        self.advance("6h")
        self.assertTrue(wait_count(self.r, "/job", 3))
        time.sleep(0.5)
        jobs = [json.loads(x["body"]) for x in self.r.received("/job")]
        self.assertEqual(len(jobs), 3)                  # 01:00, 02:00, 03:00
        self.assertEqual(jobs[0]["detail-type"], "Job Due")
        self.assertEqual(jobs[0]["detail"], {"n": 1})
        self.assertEqual(self.r.received("/off"), [])
        names = [s["Name"] for s in self.d.cli_json("list-schedules")["Schedules"]]
        self.assertEqual(sorted(names), ["hourly", "off"])
        r = self.d.cli("create-schedule", "--name", "hourly", "--schedule-expression",
                       "rate(1 hour)", "--flexible-time-window", '{"Mode":"OFF"}',
                       "--target", json.dumps({"Arn": "log:x"}), check=False)
        self.assertIn("(ConflictException)", r.stderr)
        r = self.d.cli("create-schedule", "--name", "x", "--schedule-expression",
                       "at(2026-03-02T10:15:00Z)", "--flexible-time-window",
                       '{"Mode":"OFF"}', "--target", json.dumps({"Arn": "log:x"}),
                       check=False)
        self.assertIn("Invalid Schedule Expression at(2026-03-02T10:15:00Z).", r.stderr)

    def test_schedule_groups(self):
        self.d.cli("create-schedule-group", "--name", "team-a")
        self.d.cli("create-schedule", "--name", "s", "--group-name", "team-a",
                   "--schedule-expression", "rate(1 day)", "--flexible-time-window",
                   '{"Mode":"OFF"}', "--target", json.dumps({"Arn": "log:x"}))
        groups = [g["Name"] for g in self.d.cli_json("list-schedule-groups")["ScheduleGroups"]]
        self.assertEqual(groups, ["default", "team-a"])
        self.d.cli("delete-schedule-group", "--name", "team-a")
        self.assertEqual(self.d.cli_json("list-schedules")["Schedules"], [])
        r = self.d.cli("delete-schedule-group", "--name", "default", check=False)
        self.assertEqual(r.returncode, 1)

    def test_tick_fires_exactly_once_across_kill9(self):
        def ticks():
            # Distinct ticks (a delivery may be repeated after kill -9: that
            # is at-least-once delivery of the same event, not a second tick).
            return sorted({json.loads(x["body"])["time"]
                           for x in self.r.received("/hourly")})
        self.d.cli("put-rule", "--name", "hourly", "--schedule-expression",
                   "rate(1 hour)")
        self.d.cli("put-targets", "--rule", "hourly", "--targets",
                   json.dumps([{"Id": "h", "Arn": self.r.url("/hourly")}]))
        self.advance("1h")                 # the 01:00 tick fires
        self.assertTrue(wait_count(self.r, "/hourly", 1))
        self.d.kill9()                      # right after the fire time
        self.d.extra_args = ["--clock", "manual", "--clock-start",
                             "2026-03-02T01:00:00Z"]
        self.d.start()
        time.sleep(0.5)
        self.assertEqual(ticks(), ["2026-03-02T01:00:00Z"])   # not fired again
        ids = {json.loads(x["body"])["id"] for x in self.r.received("/hourly")}
        self.assertEqual(len(ids), 1)
        self.advance("59m")
        time.sleep(0.3)
        self.assertEqual(ticks(), ["2026-03-02T01:00:00Z"])
        self.advance("1m")                 # 02:00
        self.assertTrue(self.r.wait_for(
            lambda reqs: len({json.loads(x["body"])["time"] for x in reqs
                              if x["path"] == "/hourly"}) == 2))
        self.assertEqual(ticks(), ["2026-03-02T01:00:00Z", "2026-03-02T02:00:00Z"])


class DescribeScheduleExpressionTest(unittest.TestCase):

    def test_offline_next_fire_times(self):
        out = json.loads(cli("describe-schedule-expression", "--expression",
                             "cron(0 2 ? * SUN *)", "--timezone", "Europe/Berlin",
                             "--start", "2026-03-20T00:00:00Z", "--count", "3").stdout)
        # 2026-03-29 is the spring-forward Sunday: 02:00 does not exist there.
        self.assertEqual(out["NextFireTimes"],
                         ["2026-03-22T02:00:00+01:00", "2026-04-05T02:00:00+02:00",
                          "2026-04-12T02:00:00+02:00"])
        r = cli("describe-schedule-expression", "--expression", "rate(1 minutes)",
                check=False)
        self.assertEqual(r.returncode, 1)


if __name__ == "__main__":
    unittest.main()
