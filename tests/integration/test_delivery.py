"""Rules, targets and durable delivery against real HTTP receivers."""
import json
import subprocess
import time
import unittest

from evbus_harness import EVBUS, Daemon, entry
from receiver import Receiver


def ok_bodies(receiver, path):
    return [json.loads(r["body"]) for r in receiver.received(path, status=200)]


class DeliveryTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()
        cls.r = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.r.close()

    def put_rule(self, name, pattern, bus=None):
        args = ["put-rule", "--name", name, "--event-pattern", json.dumps(pattern)]
        if bus:
            args += ["--event-bus-name", bus]
        return self.d.cli_json(*args)

    def put_targets(self, rule, targets, bus=None, check=True):
        args = ["put-targets", "--rule", rule, "--targets", json.dumps(targets)]
        if bus:
            args += ["--event-bus-name", bus]
        return self.d.cli(*args, check=check)

    def put(self, entries):
        out = self.d.cli_json("put-events", "--entries", json.dumps(entries))
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return [e["EventId"] for e in out["Entries"]]

    def test_fan_out_to_five_targets_delivers_every_acknowledged_event(self):
        self.put_rule("fanout", {"source": ["fanout.test"]})
        paths = ["/fan/%d" % i for i in range(5)]
        self.put_targets("fanout", [{"Id": "t%d" % i, "Arn": self.r.url(p)}
                                    for i, p in enumerate(paths)])
        acked = set()
        for batch in range(5):
            acked.update(self.put([entry(source="fanout.test",
                                         detail={"b": batch, "i": i})
                                   for i in range(10)]))
        self.put([entry(source="other.source")])  # matches nothing
        for p in paths:
            self.assertTrue(self.r.wait_for(
                lambda reqs, p=p: {json.loads(x["body"])["id"] for x in reqs
                                   if x["path"] == p} >= acked), p)
            got = {b["id"] for b in ok_bodies(self.r, p)}
            self.assertEqual(got, acked, p)
            req = self.r.received(p)[0]
            self.assertEqual(req["headers"]["Content-Type"],
                             "application/json; charset=utf-8")
            self.assertEqual(req["headers"]["User-Agent"],
                             "Amazon/EventBridge/ApiDestinations")
        # Counted once each response is back (just after the receiver saw it).
        want = 'evbus_invocations_total{bus="default",rule="fanout",target="t0"} 50'
        deadline = time.monotonic() + 10
        metrics = ""
        while time.monotonic() < deadline and want not in metrics:
            _, metrics = self.d.http_get("/metrics")
            time.sleep(0.05)
        self.assertTrue(want in metrics, "invocations metric never reached 50")
        self.assertIn('evbus_triggered_rules_total{bus="default",rule="fanout"} 50',
                      metrics)

    def test_rule_changes_apply_to_the_next_put(self):
        self.put_rule("live", {"source": ["live.a"]})
        self.put_targets("live", [{"Id": "t", "Arn": self.r.url("/live")}])
        self.put([entry(source="live.b")])
        self.put_rule("live", {"source": ["live.b"]})   # replace the pattern
        ids = self.put([entry(source="live.b")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(json.loads(x["body"])["id"] == ids[0]
                             for x in reqs if x["path"] == "/live")))
        self.d.cli("disable-rule", "--name", "live")
        self.assertEqual(self.d.cli_json("describe-rule", "--name", "live")["State"],
                         "DISABLED")
        before = len(self.r.received("/live"))
        self.put([entry(source="live.b")])
        time.sleep(0.5)
        self.assertEqual(len(self.r.received("/live")), before)

    def test_server_error_then_recovery_is_retried(self):
        self.r.script("/flaky", [(500, {}, 0), (503, {}, 0)])
        self.put_rule("flaky", {"source": ["flaky.test"]})
        self.put_targets("flaky", [{"Id": "t", "Arn": self.r.url("/flaky")}])
        ids = self.put([entry(source="flaky.test")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/flaky" and x["status"] == 200
                             for x in reqs), timeout=30))
        attempts = self.r.received("/flaky")
        self.assertEqual([a["status"] for a in attempts], [500, 503, 200])
        self.assertEqual(json.loads(attempts[-1]["body"])["id"], ids[0])
        # Backoff: the second retry waited longer than zero.
        self.assertGreater(attempts[1]["time"] - attempts[0]["time"], 0.4)

    def test_retry_after_is_respected(self):
        self.r.script("/throttle", [(429, {"Retry-After": "3"}, 0)])
        self.put_rule("throttle", {"source": ["throttle.test"]})
        self.put_targets("throttle", [{"Id": "t", "Arn": self.r.url("/throttle")}])
        self.put([entry(source="throttle.test")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/throttle" and x["status"] == 200
                             for x in reqs), timeout=30))
        a = self.r.received("/throttle")
        self.assertGreaterEqual(a[1]["time"] - a[0]["time"], 2.9)

    def test_missing_target_resources_dead_letter(self):
        # PutTargets accepts a function, topic or bus that does not exist
        # (EventBridge does not check); each delivery is dead-lettered with
        # NO_RESOURCE, not retried.
        self.put_rule("ghosts", {"source": ["ghost.test"]})
        self.put_targets("ghosts", [
            {"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:ghost-fn"},
            {"Id": "topic", "Arn": "arn:aws:sns:us-east-1:000000000000:ghost-topic"},
            {"Id": "bus", "Arn": "arn:aws:events:us-east-1:000000000000:event-bus/ghost-bus"}])
        ids = self.put([entry(source="ghost.test")])
        deadline = time.monotonic() + 20
        dls = []
        while time.monotonic() < deadline:
            dls = self.d.cli_json("list-dead-letters", "--rule", "ghosts")["DeadLetters"]
            if len(dls) == 3:
                break
            time.sleep(0.1)
        self.assertEqual(len(dls), 3, dls)
        for d in dls:
            self.assertEqual(d["EventId"], ids[0])
            self.assertEqual(d["ERROR_CODE"], "NO_RESOURCE", d)
            self.assertEqual(d["RETRY_ATTEMPTS"], 0, d)

    def test_permanent_failure_dead_letters_then_redrive(self):
        self.r.script("/broken", [], default=(400, {}, 0))
        self.put_rule("broken", {"source": ["broken.test"]})
        self.put_targets("broken", [{"Id": "bad", "Arn": self.r.url("/broken")}])
        ids = self.put([entry(source="broken.test"), entry(source="broken.test")])
        deadline = time.monotonic() + 20
        dls = []
        while time.monotonic() < deadline:
            dls = self.d.cli_json("list-dead-letters", "--rule", "broken")["DeadLetters"]
            if len(dls) == 2:
                break
            time.sleep(0.1)
        self.assertEqual(len(dls), 2)
        self.assertEqual({d["EventId"] for d in dls}, set(ids))
        d = dls[0]
        self.assertEqual(d["ERROR_CODE"], "ERROR_FROM_TARGET")
        self.assertIn("HTTP 400", d["ERROR_MESSAGE"])
        self.assertEqual(d["EXHAUSTED_RETRY_CONDITION"], "")
        self.assertEqual(d["RETRY_ATTEMPTS"], 0)
        self.assertEqual(d["TargetId"], "bad")
        self.assertEqual(d["RuleArn"],
                         "arn:aws:events:us-east-1:000000000000:rule/broken")
        self.assertEqual(d["Event"]["id"], d["EventId"])
        self.assertEqual(len(self.r.received("/broken")), 2)   # not retried
        # Fix the receiver, redrive: both arrive, the store empties.
        self.r.script("/broken", [], default=(200, {}, 0))
        out = self.d.cli_json("redrive-dead-letters", "--rule", "broken",
                              "--target-id", "bad")
        self.assertEqual(out, {"RedrivenCount": 2})
        self.assertTrue(self.r.wait_for(
            lambda reqs: {json.loads(x["body"])["id"] for x in reqs
                          if x["path"] == "/broken" and x["status"] == 200} == set(ids)))
        self.assertEqual(self.d.cli_json("list-dead-letters", "--rule",
                                         "broken")["DeadLetters"], [])

    def test_retry_policy_exhaustion_and_dead_letter_config(self):
        self.r.script("/down", [], default=(503, {}, 0))
        self.put_rule("exhaust", {"source": ["exhaust.test"]})
        self.put_targets("exhaust", [{
            "Id": "t", "Arn": self.r.url("/down"),
            "RetryPolicy": {"MaximumRetryAttempts": 1},
            "DeadLetterConfig": {"Arn": self.r.url("/dlq")}}])
        ids = self.put([entry(source="exhaust.test")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/dlq" for x in reqs), timeout=30))
        self.assertEqual(len(self.r.received("/down")), 2)  # 1 try + 1 retry
        dlq = self.r.received("/dlq")[0]
        self.assertEqual(json.loads(dlq["body"])["id"], ids[0])
        self.assertEqual(dlq["headers"]["X-Evbus-Error-Code"], "ERROR_FROM_TARGET")
        self.assertEqual(dlq["headers"]["X-Evbus-Exhausted-Retry-Condition"],
                         "MaximumRetryAttempts")
        self.assertEqual(dlq["headers"]["X-Evbus-Retry-Attempts"], "1")
        # As AWS/Events: sent to the DeadLetterConfig, so not a
        # FailedInvocation, in Prometheus as in the metric store.
        series = '{bus="default",rule="exhaust",target="t"}'
        _, metrics = self.d.http_get("/metrics")
        self.assertIn("evbus_dead_letter_invocations_total%s 1" % series, metrics)
        self.assertIn("evbus_failed_invocations_total%s 0" % series, metrics)

    def test_slow_target_does_not_delay_a_fast_one(self):
        self.r.script("/slow", [], default=(200, {}, 2.0))
        self.put_rule("speed", {"source": ["speed.test"]})
        self.put_targets("speed", [
            {"Id": "slow", "Arn": self.r.url("/slow"), "MaxConcurrency": 1},
            {"Id": "fast", "Arn": self.r.url("/fast")}])
        t0 = time.monotonic()
        ids = set(self.put([entry(source="speed.test", detail={"i": i})
                            for i in range(10)]))
        self.assertTrue(self.r.wait_for(
            lambda reqs: {json.loads(x["body"])["id"] for x in reqs
                          if x["path"] == "/fast"} == ids, timeout=10))
        # All ten reached the fast target while the slow one (one at a time,
        # 2 s each) had taken at most one or two.
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertLessEqual(len(self.r.received("/slow")), 2)

    def test_input_transformer_and_input_path(self):
        self.put_rule("shape", {"source": ["shape.test"]})
        self.put_targets("shape", [
            {"Id": "tpl", "Arn": self.r.url("/shape/tpl"),
             "InputTransformer": {
                 "InputPathsMap": {"instance": "$.detail.instance-id",
                                   "state": "$.detail.state"},
                 "InputTemplate": '"instance <instance> is in <state>"'}},
            {"Id": "json", "Arn": self.r.url("/shape/json"),
             "InputTransformer": {
                 "InputPathsMap": {"instance": "$.detail.instance-id",
                                   "n": "$.detail.n"},
                 "InputTemplate": '{"id": <instance>, "count": <n>, "rule": <aws.events.rule-name>}'}},
            {"Id": "path", "Arn": self.r.url("/shape/path"),
             "InputPath": "$.detail.instance-id"},
            {"Id": "const", "Arn": self.r.url("/shape/const"),
             "Input": '{"fixed": true}'},
        ])
        self.put([entry(source="shape.test",
                        detail={"instance-id": "i-1", "state": "RUNNING", "n": 5})])
        self.assertTrue(self.r.wait_for(
            lambda reqs: len({x["path"] for x in reqs
                              if x["path"].startswith("/shape/")}) == 4))
        body = lambda p: self.r.received(p)[0]["body"]
        self.assertEqual(body("/shape/tpl"), '"instance i-1 is in RUNNING"')
        self.assertEqual(body("/shape/json"),
                         '{"id":"i-1","count":5,"rule":"shape"}')
        self.assertEqual(body("/shape/path"), '"i-1"')
        self.assertEqual(body("/shape/const"), '{"fixed": true}')

    def test_log_target_and_logs_tail(self):
        self.put_rule("audit", {"detail-type": ["Audit"]})
        self.put_targets("audit", [{"Id": "log", "Arn": "log:audit-trail"}])
        ids = self.put([entry(detail_type="Audit", detail={"who": "me"})])
        deadline = time.monotonic() + 10
        out = ""
        while time.monotonic() < deadline and ids[0] not in out:
            out = self.d.cli("logs", "tail", "audit-trail").stdout
            time.sleep(0.1)
        self.assertIn(ids[0], out)
        self.assertRegex(out.splitlines()[0], r"^\d{4}-\d\d-\d\dT[\d:.]+Z \{")

    def test_logs_tail_prints_the_last_lines_and_knows_its_groups(self):
        self.put_rule("lines", {"detail-type": ["Line"]})
        self.put_targets("lines", [{"Id": "log", "Arn": "log:lines"}])
        ids = []
        for i in range(4):  # one at a time: log records keep arrival order
            ids += self.put([entry(detail_type="Line", detail={"n": i})])
            deadline = time.monotonic() + 10
            while (time.monotonic() < deadline and ids[-1] not in
                   self.d.cli("logs", "tail", "lines").stdout):
                time.sleep(0.05)
        out = self.d.cli("logs", "tail", "lines", "--max-items", "2").stdout
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertIn(ids[2], lines[0])
        self.assertIn(ids[3], lines[1])
        self.assertEqual(len(self.d.cli("logs", "tail", "lines", "--since",
                                         "1h").stdout.splitlines()), 4)
        # --follow prints the last --max-items, then keeps following: a
        # record put meanwhile is printed too.
        follow = subprocess.Popen(
            [EVBUS, "--endpoint", self.d.grpc, "logs", "tail", "lines",
             "--follow", "--max-items", "2", "--follow-seconds", "4"],
            stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        ids += self.put([entry(detail_type="Line", detail={"n": 4})])
        out, _ = follow.communicate(timeout=20)
        lines = out.splitlines()
        self.assertEqual(len(lines), 3, out)
        self.assertIn(ids[2], lines[0])
        self.assertIn(ids[3], lines[1])
        self.assertIn(ids[4], lines[2])
        self.assertEqual(self.d.cli("logs", "tail", "lines", "--since",
                                    "1700000000").returncode, 0)
        r = self.d.cli("logs", "tail", "no-such-group", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ResourceNotFoundException", r.stderr)
        self.assertIn("The specified log group does not exist.", r.stderr)
        # A group a rule delivers to exists before its first record.
        self.put_rule("quiet", {"detail-type": ["Never"]})
        self.put_targets("quiet", [{"Id": "log", "Arn": "log:quiet-group"}])
        self.assertEqual(self.d.cli("logs", "tail", "quiet-group").stdout, "")

    def test_dead_letters_go_with_their_rule_and_bus(self):
        self.d.cli("create-event-bus", "--name", "dl-bus")
        for bus in ("default", "dl-bus"):
            self.put_rule("dl-rule", {"source": ["dl.test"]}, bus=bus)
            self.put_targets("dl-rule", [{
                "Id": "t", "Arn": "http://127.0.0.1:1/x",
                "RetryPolicy": {"MaximumRetryAttempts": 0}}], bus=bus)
        self.put([entry(source="dl.test"),
                  entry(source="dl.test", EventBusName="dl-bus")])

        def letters(bus):
            return self.d.cli_json("list-dead-letters", "--rule", "dl-rule",
                                   "--event-bus-name", bus)["DeadLetters"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (letters("default") and
                                                   letters("dl-bus")):
            time.sleep(0.1)
        self.assertEqual(len(letters("default")), 1)
        self.assertEqual(len(letters("dl-bus")), 1)
        for bus in ("default", "dl-bus"):
            self.d.cli("remove-targets", "--rule", "dl-rule",
                       "--event-bus-name", bus, "--ids", "t")
        self.d.cli("delete-rule", "--name", "dl-rule")
        self.d.cli("delete-event-bus", "--name", "dl-bus")
        self.d.cli("create-event-bus", "--name", "dl-bus")
        for bus in ("default", "dl-bus"):
            self.put_rule("dl-rule", {"source": ["other"]}, bus=bus)
            self.assertEqual(letters(bus), [], bus)
        self.assertIn("dead letters are deleted with it",
                      self.d.cli("delete-rule", "--help").stdout)

    def test_a_retry_of_a_deleted_rule_does_not_reach_the_new_rule_of_its_name(self):
        # The first attempt is throttled (Retry-After: 3 s). Meanwhile the
        # rule is deleted and another rule takes its name, with a target of
        # the same id elsewhere: the retry belongs to the old rule and is
        # dropped, not sent to the new rule's target.
        self.r.script("/reborn-old", [(429, {"Retry-After": "3"}, 0)])
        self.put_rule("reborn", {"source": ["reborn.test"]})
        self.put_targets("reborn", [{"Id": "t", "Arn": self.r.url("/reborn-old")}])
        old = self.put([entry(source="reborn.test")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/reborn-old" for x in reqs)))
        self.d.cli("remove-targets", "--rule", "reborn", "--ids", "t")
        self.d.cli("delete-rule", "--name", "reborn")
        self.put_rule("reborn", {"source": ["reborn.test"]})
        self.put_targets("reborn", [{"Id": "t", "Arn": self.r.url("/reborn-new")}])
        time.sleep(4)  # past the throttled task's due time
        new = self.put([entry(source="reborn.test")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/reborn-new" for x in reqs)))
        time.sleep(0.3)
        got = [json.loads(x["body"])["id"] for x in self.r.received("/reborn-new")]
        self.assertEqual(got, new)
        self.assertEqual(len(self.r.received("/reborn-old")), 1)
        self.assertNotIn(old[0], got)

    def test_bus_target_forwards_the_event(self):
        self.d.cli("create-event-bus", "--name", "downstream")
        self.put_rule("forward", {"source": ["forward.test"]})
        self.put_targets("forward", [{"Id": "b", "Arn": "bus:downstream"}])
        self.put_rule("on-downstream", {"source": ["forward.test"]}, bus="downstream")
        self.put_targets("on-downstream", [{"Id": "h", "Arn": self.r.url("/downstream")}],
                         bus="downstream")
        ids = self.put([entry(source="forward.test")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/downstream" for x in reqs)))
        self.assertEqual(json.loads(self.r.received("/downstream")[0]["body"])["id"],
                         ids[0])

    def test_an_event_crosses_at_most_one_bus_hop(self):
        # A rule that sends its bus's events to the bus itself, and a chain
        # hop1 -> hop2 -> hop3: each event is forwarded once, never again.
        for bus in ("loop", "hop1", "hop2", "hop3"):
            self.d.cli("create-event-bus", "--name", bus)
        self.put_rule("self", {"source": ["loop.test"]}, bus="loop")
        self.put_targets("self", [{"Id": "again", "Arn": "bus:loop"},
                                  {"Id": "h", "Arn": self.r.url("/loop")}],
                         bus="loop")
        for src, dst in (("hop1", "hop2"), ("hop2", "hop3")):
            self.put_rule("fwd", {"source": ["hop.test"]}, bus=src)
            self.put_targets("fwd", [{"Id": "b", "Arn": "bus:" + dst},
                                     {"Id": "h", "Arn": self.r.url("/" + src)}],
                             bus=src)
        self.put_rule("end", {"source": ["hop.test"]}, bus="hop3")
        self.put_targets("end", [{"Id": "h", "Arn": self.r.url("/hop3")}],
                         bus="hop3")
        self.put([entry(source="loop.test", EventBusName="loop")])
        self.put([entry(source="hop.test", EventBusName="hop1")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: len([x for x in reqs if x["path"] == "/loop"]) >= 2
            and any(x["path"] == "/hop2" for x in reqs)))
        time.sleep(1.0)
        # The original and its one forwarded copy, with the same id.
        loop = [json.loads(x["body"])["id"] for x in self.r.received("/loop")]
        self.assertEqual(len(loop), 2, loop)
        self.assertEqual(loop[0], loop[1])
        self.assertEqual(len(self.r.received("/hop1")), 1)
        self.assertEqual(len(self.r.received("/hop2")), 1)
        self.assertEqual(self.r.received("/hop3"), [])
        status, text = self.d.http_get("/metrics")
        self.assertIn("evbus_bus_second_hops_total 2", text)

    def test_rule_and_target_errors(self):
        def err(*args):
            r = self.d.cli(*args, check=False)
            self.assertEqual(r.returncode, 1, (args, r.stdout, r.stderr))
            return r.stderr
        self.assertIn("(InvalidEventPatternException)", err(
            "put-rule", "--name", "x", "--event-pattern", '{"source":[]}'))
        self.assertIn("Parameter(s) EventPattern or ScheduleExpression must be specified.",
                      err("put-rule", "--name", "x"))
        self.assertIn("Value 'bad name' at 'name'", err(
            "put-rule", "--name", "bad name", "--event-pattern", '{"source":["a"]}'))
        self.assertIn("Event bus nobus does not exist.", err(
            "put-rule", "--name", "x", "--event-bus-name", "nobus",
            "--event-pattern", '{"source":["a"]}'))
        self.d.cli("create-event-bus", "--name", "custom")
        self.assertIn("ScheduleExpression is supported only on the default event bus.",
                      err("put-rule", "--name", "s", "--event-bus-name", "custom",
                          "--schedule-expression", "rate(5 minutes)"))
        self.assertIn("Rule nope does not exist on EventBus default.",
                      err("describe-rule", "--name", "nope"))
        self.put_rule("errs", {"source": ["errs"]})
        self.assertIn("Only one of Input, InputPath, or InputTransformer must be provided for target t.",
                      err("put-targets", "--rule", "errs", "--targets", json.dumps([
                          {"Id": "t", "Arn": self.r.url("/x"), "Input": "{}",
                           "InputPath": "$.detail"}])))
        self.assertIn("InputTemplate for target t contains invalid placeholder nope.",
                      err("put-targets", "--rule", "errs", "--targets", json.dumps([
                          {"Id": "t", "Arn": self.r.url("/x"),
                           "InputTransformer": {"InputPathsMap": {"a": "$.detail"},
                                                "InputTemplate": '"<nope>"'}}])))
        self.assertIn("targets.1.member.retryPolicy.maximumRetryAttempts", err(
            "put-targets", "--rule", "errs", "--targets", json.dumps([
                {"Id": "t", "Arn": self.r.url("/x"),
                 "RetryPolicy": {"MaximumRetryAttempts": 200}}])))
        self.assertIn("Parameter Arn of target t is not valid", err(
            "put-targets", "--rule", "errs", "--targets",
            json.dumps([{"Id": "t", "Arn": "sqs:whatever"}])))
        # As EventBridge: a target resource that does not exist yet is
        # accepted (see test_missing_target_resources_dead_letter).
        self.put_targets("errs", [{"Id": "t", "Arn": "bus:missing"}])
        self.d.cli("remove-targets", "--rule", "errs", "--ids", "t")
        self.put_targets("errs", [{"Id": "t%d" % i, "Arn": self.r.url("/x")}
                                  for i in range(5)])
        self.assertIn("(LimitExceededException)", err(
            "put-targets", "--rule", "errs", "--targets",
            json.dumps([{"Id": "t6", "Arn": self.r.url("/x")}])))
        self.assertIn("Rule can't be deleted since it has targets.",
                      err("delete-rule", "--name", "errs"))
        names = self.d.cli_json("list-rule-names-by-target", "--target-arn",
                                self.r.url("/x"))["RuleNames"]
        self.assertEqual(names, ["errs"])
        self.d.cli("remove-targets", "--rule", "errs", "--ids", "t0,t1,t2,t3,t4")
        self.assertEqual(self.d.cli_json("list-targets-by-rule", "--rule",
                                         "errs")["Targets"], [])
        self.d.cli("delete-rule", "--name", "errs")
        self.d.cli("delete-rule", "--name", "errs")   # idempotent
        r = self.d.cli("put-targets", "--rule", "errs", "--targets",
                       json.dumps([{"Id": "t", "Arn": self.r.url("/x"), "Bogus": 1}]),
                       check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn('Unknown parameter in Targets[0]: "Bogus"', r.stderr)

    def test_rules_survive_restart(self):
        self.put_rule("persist", {"source": ["persist.test"]})
        self.put_targets("persist", [{"Id": "t", "Arn": self.r.url("/persist")}])
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        rules = [r["Name"] for r in self.d.cli_json("list-rules", "--name-prefix",
                                                    "persist")["Rules"]]
        self.assertEqual(rules, ["persist"])
        ids = self.put([entry(source="persist.test")])
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/persist" and
                             json.loads(x["body"])["id"] == ids[0] for x in reqs)))


def deliver_one(test, d, r, name):
    """Rule NAME (source NAME.test) with a webhook at /NAME on receiver R;
    puts one event and waits until it is delivered."""
    d.cli_json("put-rule", "--name", name, "--event-pattern",
               json.dumps({"source": [name + ".test"]}))
    d.cli("put-targets", "--rule", name, "--targets",
          json.dumps([{"Id": "t", "Arn": r.url("/" + name)}]))
    out = d.cli_json("put-events", "--entries",
                     json.dumps([entry(source=name + ".test")]))
    test.assertEqual(out["FailedEntryCount"], 0, out)
    test.assertTrue(r.wait_for(
        lambda reqs: any(x["path"] == "/" + name for x in reqs)))


class LibcurlOnDemandTest(unittest.TestCase):
    """libcurl (and the ~25 libraries it brings) loads with the first
    webhook delivery, not at start-up (server/common/libcurl_on_demand.cc)."""

    def test_libcurl_is_loaded_by_the_first_delivery(self):
        d = Daemon().start()
        r = Receiver()
        try:
            def mapped():
                with open("/proc/%d/maps" % d.proc.pid) as f:
                    return "libcurl.so" in f.read()
            self.assertFalse(mapped(), "libcurl mapped before any delivery")
            deliver_one(self, d, r, "lazy")
            self.assertTrue(mapped(), "delivered without libcurl mapped?")
        finally:
            d.cleanup()
            r.close()


def thread_nices(pid):
    """{thread id: nice value} of a process, from /proc/PID/task."""
    import os
    nices = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except FileNotFoundError:
            continue  # the thread ended
        fields = stat[stat.rindex(")") + 2:].split()
        nices[int(tid)] = int(fields[16])  # stat field 19: nice
    return nices


class DeliveryPriorityTest(unittest.TestCase):
    """--delivery-nice: the webhook I/O thread runs that many nice steps
    below the rest of evbusd (docs/operations.md)."""

    def run_with(self, extra_args):
        d = Daemon(extra_args=extra_args).start()
        r = Receiver()
        try:
            deliver_one(self, d, r, "prio")
            nices = thread_nices(d.proc.pid)
            return nices[d.proc.pid], nices  # the main thread's, all
        finally:
            d.cleanup()
            r.close()

    def test_delivery_threads_run_at_the_configured_nice_value(self):
        base, nices = self.run_with(["--delivery-nice", "7"])
        if base >= 19:
            self.skipTest("the test runs at nice %d already" % base)
        lowered = sorted(n for n in nices.values() if n != base)
        # The webhook I/O thread; nothing else.
        self.assertEqual(lowered, [min(19, base + 7)], nices)

    def test_zero_keeps_every_thread_at_the_same_priority(self):
        base, nices = self.run_with(["--delivery-nice", "0"])
        self.assertEqual(set(nices.values()), {base}, nices)


if __name__ == "__main__":
    unittest.main()
