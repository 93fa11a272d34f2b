"""Metrics, alarms and topics end to end with real parts: a failing
function raises AWS/Lambda Errors, an alarm (Sum > 0 over 60 s, manual
clock) goes to ALARM and emails the operator through a real SMTP server
(Debian's aiosmtpd), recovery sends the OK email; an HTTP subscriber gets
SNS's envelope with retries; custom metrics through put-metric-data."""
import email
import email.policy
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from evbus_harness import Daemon, sns_signature_verifies
from receiver import Receiver

START = "2026-03-01T12:00:00Z"
SOURCE = os.environ.get("EVBUS_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
SINK = os.path.join(SOURCE, "server", "topics", "testdata", "smtp_sink.py")

HANDLER = r'''
import os
def lambda_handler(event, context):
    if event.get("fail"):
        raise Exception("site %s is down" % os.environ.get("site"))
    return {"ok": True}
'''


class SmtpSink:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="evbus-smtp-")
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, self.dir],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.port = int(self.proc.stdout.readline().strip())

    def messages(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "*.eml"))):
            with open(path, "rb") as f:
                out.append(email.message_from_bytes(
                    f.read(), policy=email.policy.default))
        return out

    def wait(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages()
            if len(msgs) >= count:
                return msgs
            time.sleep(0.1)
        return self.messages()

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class AlarmsTopicsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.smtp = SmtpSink()
        cls.d = Daemon(extra_args=[
            "--clock", "manual", "--clock-start", START,
            "--smtp-url", "smtp://127.0.0.1:%d?starttls=off" % cls.smtp.port,
            "--smtp-from", "alarms@evbus.test"]).start()
        cls.work = tempfile.mkdtemp(prefix="evbus-alarm-")
        with open(os.path.join(cls.work, "app.py"), "w") as f:
            f.write(HANDLER)
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.close()
        cls.d.cleanup()
        cls.smtp.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def advance(self, duration):
        self.d.cli("clock", "advance", duration)

    def invoke(self, payload):
        return self.d.cli_json("invoke", "--function-name", "health-check",
                               "--payload", json.dumps(payload), "/dev/null")

    def wait_state(self, name, state, timeout=20):
        deadline = time.monotonic() + timeout
        alarm = None
        while time.monotonic() < deadline:
            alarm = self.d.cli_json("describe-alarms", "--alarm-names",
                                    name)["MetricAlarms"][0]
            if alarm["StateValue"] == state:
                return alarm
            time.sleep(0.1)
        self.fail("alarm %s is %s, not %s" % (name, alarm["StateValue"], state))

    def test_failing_function_alarm_emails_and_recovers(self):
        d = self.d
        d.cli_json("create-function", "--function-name", "health-check",
                   "--runtime", "python3", "--handler", "app.lambda_handler",
                   "--code", self.work, "--environment",
                   '{"Variables":{"site":"https://intranet.example"}}')
        topic = d.cli_json("create-topic", "--name", "ops",
                           "--attributes", "DisplayName=Ops")["TopicArn"]
        self.assertEqual(topic, "arn:aws:sns:us-east-1:000000000000:ops")
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "email",
                   "--notification-endpoint", "oncall@example.test")
        d.cli("put-metric-alarm", "--alarm-name", "health-check-errors",
              "--namespace", "AWS/Lambda", "--metric-name", "Errors",
              "--dimensions", "Name=FunctionName,Value=health-check",
              "--statistic", "Sum", "--period", "60",
              "--evaluation-periods", "1", "--threshold", "0",
              "--comparison-operator", "GreaterThanThreshold",
              "--alarm-actions", topic, "--ok-actions", topic)
        alarm = self.wait_state("health-check-errors", "INSUFFICIENT_DATA")
        self.assertEqual(alarm["StateReason"], "Unchecked: Initial alarm creation")

        meta = self.invoke({"fail": True})
        self.assertEqual(meta["FunctionError"], "Unhandled")
        self.advance("1m")
        alarm = self.wait_state("health-check-errors", "ALARM")
        self.assertIn("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (",
                      alarm["StateReason"])
        self.assertIn("was greater than the threshold (0.0)", alarm["StateReason"])
        msgs = self.smtp.wait(1)
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["Subject"],
                         'ALARM: "health-check-errors" in US East (N. Virginia)')
        self.assertIn("alarms@evbus.test", m["From"])
        self.assertIn("Ops", m["From"])
        self.assertEqual(m["To"], "oncall@example.test")
        body = m.get_content()
        self.assertIn('has entered the ALARM state, because "Threshold Crossed',
                      body)
        self.assertIn("MetricName:", body)
        self.assertIn("Errors", body)
        self.assertIn("GreaterThanThreshold 0.0", body)

        # No repeat while the state holds.
        self.invoke({"fail": True})
        self.advance("1m")
        time.sleep(1)
        self.assertEqual(len(self.smtp.messages()), 1)

        # Recovery: a successful run (Errors 0) → OK, and the OK email.
        self.advance("1m")
        self.invoke({})
        self.advance("1m")
        self.wait_state("health-check-errors", "OK")
        msgs = self.smtp.wait(2)
        self.assertEqual(len(msgs), 2)
        self.assertTrue(msgs[1]["Subject"].startswith('OK: "health-check-errors"'))

        history = d.cli_json("describe-alarm-history", "--alarm-name",
                             "health-check-errors", "--history-item-type",
                             "StateUpdate")["AlarmHistoryItems"]
        summaries = [h["HistorySummary"] for h in history]
        self.assertIn("Alarm updated from INSUFFICIENT_DATA to ALARM", summaries)
        self.assertIn("Alarm updated from ALARM to OK", summaries)
        # The state change also reached the default bus.
        events = d.cli_json("list-events")["Events"]
        changes = [e for e in events
                   if e["Event"].get("detail-type")
                   == "CloudWatch Alarm State Change"]
        self.assertGreaterEqual(len(changes), 2, events)

        # The metric store answers CloudWatch queries.
        stats = d.cli_json("get-metric-statistics", "--namespace", "AWS/Lambda",
                           "--metric-name", "Invocations", "--dimensions",
                           "Name=FunctionName,Value=health-check",
                           "--start-time", "2026-03-01T11:00:00Z",
                           "--end-time", "2026-03-01T13:00:00Z",
                           "--period", "3600", "--statistics", "Sum")
        self.assertEqual(sum(p["Sum"] for p in stats["Datapoints"]), 3)

    def test_http_subscription_envelope_and_retries(self):
        d = self.d
        topic = d.cli_json("create-topic", "--name", "hooks")["TopicArn"]
        self.receiver.script("/sns", [(500, {}, 0)])
        sub = d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "http",
                         "--notification-endpoint",
                         self.receiver.url("/sns"))["SubscriptionArn"]
        msg_id = d.cli_json("publish", "--topic-arn", topic, "--subject",
                            "Deploy", "--message", "v2 is live",
                            "--message-attributes",
                            '{"env":{"DataType":"String","StringValue":"prod"}}'
                            )["MessageId"]
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/sns" for r in rs)))
        deadline = time.monotonic() + 30
        while (len(self.receiver.received("/sns", 200)) == 0
               and time.monotonic() < deadline):
            self.advance("30s")
            time.sleep(0.3)
        ok = self.receiver.received("/sns", 200)
        self.assertEqual(len(ok), 1)
        env = json.loads(ok[0]["body"])
        self.assertEqual(env["Type"], "Notification")
        self.assertEqual(env["MessageId"], msg_id)
        self.assertEqual(env["TopicArn"], topic)
        self.assertEqual(env["Subject"], "Deploy")
        self.assertEqual(env["Message"], "v2 is live")
        self.assertEqual(env["MessageAttributes"]["env"],
                         {"Type": "String", "Value": "prod"})
        headers = {k.lower(): v for k, v in ok[0]["headers"].items()}
        self.assertEqual(headers["x-amz-sns-message-type"], "Notification")
        self.assertEqual(headers["x-amz-sns-subscription-arn"], sub)
        self.assertEqual(headers["x-amz-sns-topic-arn"], topic)
        # EventBridge's API-destination Range header is not SNS's.
        self.assertNotIn("range", headers)
        # Signed as SNS signs (SignatureVersion 1: SHA1withRSA), with the
        # certificate served at SigningCertURL: verify it with openssl.
        self.assertEqual(env["SignatureVersion"], "1")
        self.assertIn(self.d.http, env["SigningCertURL"])
        ok, out = sns_signature_verifies(env)
        self.assertTrue(ok, out)
        # The failed first try and the retry carry the same message id.
        first = self.receiver.received("/sns", 500)[0]
        self.assertEqual(json.loads(first["body"])["MessageId"], msg_id)

    def test_http_retries_follow_the_delivery_policy(self):
        d = self.d
        # SNS's default: 3 retries, 20 s apart.
        topic = d.cli_json("create-topic", "--name", "policy-default")["TopicArn"]
        self.receiver.script("/pol-default", [], default=(500, {}, 0))
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "http",
                   "--notification-endpoint", self.receiver.url("/pol-default"))
        d.cli_json("publish", "--topic-arn", topic, "--message", "m")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/pol-default" for r in rs)))
        self.advance("15s")
        time.sleep(0.5)
        self.assertEqual(len(self.receiver.received("/pol-default")), 1)
        for n in (2, 3, 4):
            # (Once the last try's outcome is recorded: the next one is due
            # 20 s after it.)
            time.sleep(0.5)
            self.advance("6s" if n == 2 else "20s")
            self.assertTrue(self.receiver.wait_for(
                lambda rs, n=n: len([r for r in rs
                                     if r["path"] == "/pol-default"]) >= n),
                [r["path"] for r in self.receiver.received()][-10:])
        self.advance("60s")
        time.sleep(0.5)
        self.assertEqual(len(self.receiver.received("/pol-default")), 4)
        # A topic's DeliveryPolicy with numRetries 0: one try.
        policy = json.dumps({"http": {"defaultHealthyRetryPolicy": {
            "numRetries": 0}}})
        topic = d.cli_json("create-topic", "--name", "policy-none",
                           "--attributes", json.dumps(
                               {"DeliveryPolicy": policy}))["TopicArn"]
        self.receiver.script("/pol-none", [], default=(500, {}, 0))
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "http",
                   "--notification-endpoint", self.receiver.url("/pol-none"))
        d.cli_json("publish", "--topic-arn", topic, "--message", "m")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/pol-none" for r in rs)))
        for _ in range(3):
            self.advance("30s")
            time.sleep(0.2)
        self.assertEqual(len(self.receiver.received("/pol-none")), 1)
        r = d.cli("create-topic", "--name", "policy-bad", "--attributes",
                  json.dumps({"DeliveryPolicy": json.dumps({"http": {
                      "defaultHealthyRetryPolicy": {"numRetries": 101}}})}),
                  check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("DeliveryPolicy: numRetries must be an integer from 0 "
                      "to 100", r.stderr)

    def test_signature_version_2_signs_with_sha256(self):
        d = self.d
        r = d.cli("create-topic", "--name", "sv7", "--attributes",
                  "SignatureVersion=7", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("SignatureVersion: Invalid value. Valid values are 1 "
                      "and 2.", r.stderr)
        topic = d.cli_json("create-topic", "--name", "sv2", "--attributes",
                           "SignatureVersion=2")["TopicArn"]
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "http",
                   "--notification-endpoint", self.receiver.url("/sv2"))
        d.cli_json("publish", "--topic-arn", topic, "--message", "two")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/sv2" for r in rs)))
        env = json.loads(self.receiver.received("/sv2")[0]["body"])
        self.assertEqual(env["SignatureVersion"], "2")
        ok, out = sns_signature_verifies(env)
        self.assertTrue(ok, out)

    def test_retries_stop_when_the_subscription_or_topic_goes(self):
        d = self.d
        topic = d.cli_json("create-topic", "--name", "going")["TopicArn"]
        subs = {}
        for path in ("/gone-sub", "/gone-topic"):
            self.receiver.script(path, [], default=(500, {}, 0))
            subs[path] = d.cli_json(
                "subscribe", "--topic-arn", topic, "--protocol", "http",
                "--notification-endpoint",
                self.receiver.url(path))["SubscriptionArn"]
        d.cli_json("publish", "--topic-arn", topic, "--message", "m")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: {r["path"] for r in rs} >= {"/gone-sub", "/gone-topic"}))
        d.cli("unsubscribe", "--subscription-arn", subs["/gone-sub"])
        self.advance("30s")
        # The topic's other subscription still retries until the topic goes.
        self.assertTrue(self.receiver.wait_for(
            lambda rs: len([r for r in rs if r["path"] == "/gone-topic"]) >= 2))
        d.cli("delete-topic", "--topic-arn", topic)
        seen = {p: len(self.receiver.received(p)) for p in subs}
        for _ in range(6):
            self.advance("30s")
            time.sleep(0.2)
        self.assertEqual(len(self.receiver.received("/gone-sub")), 1)
        self.assertEqual(
            {p: len(self.receiver.received(p)) for p in subs}, seen)

    def test_filter_policy_and_errors(self):
        d = self.d
        topic = d.cli_json("create-topic", "--name", "filtered")["TopicArn"]
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "http",
                   "--notification-endpoint", self.receiver.url("/prod"),
                   "--attributes", json.dumps(
                       {"FilterPolicy": '{"env":["prod"]}'}))
        for env in ("dev", "prod"):
            d.cli_json("publish", "--topic-arn", topic, "--message", env,
                       "--message-attributes", json.dumps(
                           {"env": {"DataType": "String", "StringValue": env}}))
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/prod" for r in rs)))
        time.sleep(0.5)
        bodies = [json.loads(r["body"])["Message"]
                  for r in self.receiver.received("/prod")]
        self.assertEqual(bodies, ["prod"])
        # Subscribing again: the same subscription with the same attributes
        # (the policy compared as JSON) or none; other attributes refused.
        first = d.cli_json("subscribe", "--topic-arn", topic, "--protocol",
                           "http", "--notification-endpoint",
                           self.receiver.url("/prod"), "--attributes",
                           json.dumps({"FilterPolicy": '{ "env": ["prod"] }'}))
        again = d.cli_json("subscribe", "--topic-arn", topic, "--protocol",
                           "http", "--notification-endpoint",
                           self.receiver.url("/prod"))
        self.assertEqual(first["SubscriptionArn"], again["SubscriptionArn"])
        r = d.cli("subscribe", "--topic-arn", topic, "--protocol", "http",
                  "--notification-endpoint", self.receiver.url("/prod"),
                  "--attributes", json.dumps(
                      {"FilterPolicy": '{"env":["dev"]}'}), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Invalid parameter: Attributes Reason: Subscription "
                      "already exists with different attributes", r.stderr)
        # SNS's own limits on filter policies.
        for policy, scope, message in (
                ({"a": {"b": ["x"]}}, None,
                 "Invalid parameter: Filter policy scope MessageAttributes "
                 "does not support nested filter policy"),
                ({k: ["x"] for k in "abcdef"}, None,
                 "Invalid parameter: FilterPolicy: Filter policy can not "
                 "have more than 5 keys"),
                ({"a": list(range(10)), "b": list(range(16))}, "MessageBody",
                 "Invalid parameter: FilterPolicy: Filter policy is too "
                 "complex"),
                ({"a": [{"wildcard": "x*"}]}, None,
                 "Invalid parameter: FilterPolicy: Unrecognized match type "
                 "wildcard")):
            attributes = {"FilterPolicy": json.dumps(policy)}
            if scope:
                attributes["FilterPolicyScope"] = scope
            r = d.cli("subscribe", "--topic-arn", topic, "--protocol", "http",
                      "--notification-endpoint", self.receiver.url("/limits"),
                      "--attributes", json.dumps(attributes), check=False)
            self.assertEqual(r.returncode, 1, policy)
            self.assertIn(message, r.stderr)
        r = d.cli("publish", "--topic-arn", "arn:aws:sns:us-east-1:000000000000:nope",
                  "--message", "x", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("NotFound", r.stderr)
        r = d.cli("put-metric-alarm", "--alarm-name", "bad", "--namespace", "X",
                  "--metric-name", "Y", "--statistic", "Sum", "--period", "45",
                  "--evaluation-periods", "1", "--threshold", "1",
                  "--comparison-operator", "GreaterThanThreshold", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Period", r.stderr)

    def test_bad_json_members_are_errors_not_crashes(self):
        for args, member in [
            (("put-metric-data", "--namespace", "X", "--metric-data",
              '[{"MetricName": 5, "Value": 1}]'), "MetricName"),
            (("put-metric-data", "--namespace", "X", "--metric-data",
              '[{"MetricName": "m", "StatisticValues": {"Sum": "x"}}]'), "Sum"),
            (("get-metric-data", "--start-time", "2026-03-01T00:00:00Z",
              "--end-time", "2026-03-02T00:00:00Z", "--metric-data-queries",
              '[{"Id": 1}]'), "Id"),
            (("publish", "--topic-arn", "x", "--message", "m",
              "--message-attributes", '{"a": {"DataType": 5}}'), "DataType"),
        ]:
            r = self.d.cli(*args, check=False)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(member, r.stderr)

    def test_put_metric_data_and_set_alarm_state(self):
        d = self.d
        d.cli("put-metric-data", "--namespace", "Custom/Shop", "--metric-name",
              "Orders", "--value", "5", "--dimensions", "Name=Store,Value=7")
        d.cli("put-metric-data", "--namespace", "Custom/Shop", "--metric-name",
              "Orders", "--value", "7", "--dimensions", "Name=Store,Value=7")
        listed = d.cli_json("list-metrics", "--namespace", "Custom/Shop")
        self.assertEqual(listed["Metrics"][0]["Dimensions"],
                         [{"Name": "Store", "Value": "7"}])
        now = d.cli_json("clock", "get")["Time"]
        data = d.cli_json(
            "get-metric-data", "--start-time", "2026-03-01T00:00:00Z",
            "--end-time", "2026-03-02T00:00:00Z", "--metric-data-queries",
            json.dumps([{"Id": "o", "MetricStat": {
                "Metric": {"Namespace": "Custom/Shop", "MetricName": "Orders",
                           "Dimensions": [{"Name": "Store", "Value": "7"}]},
                "Period": 60, "Stat": "Sum"}}]))
        self.assertEqual(data["MetricDataResults"][0]["Values"], [12.0], now)
        r = d.cli("put-metric-data", "--namespace", "AWS/Lambda",
                  "--metric-name", "Errors", "--value", "1", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("InvalidParameterValue", r.stderr)
        d.cli("put-metric-alarm", "--alarm-name", "orders-low",
              "--namespace", "Custom/Shop", "--metric-name", "Orders",
              "--statistic", "Sum", "--period", "60", "--evaluation-periods",
              "1", "--threshold", "1", "--comparison-operator",
              "LessThanThreshold")
        d.cli("set-alarm-state", "--alarm-name", "orders-low", "--state-value",
              "ALARM", "--state-reason", "testing purposes")
        alarm = self.wait_state("orders-low", "ALARM")
        self.assertEqual(alarm["StateReason"], "testing purposes")
        r = d.cli("set-alarm-state", "--alarm-name", "orders-low",
                  "--state-value", "BROKEN", "--state-reason", "x", check=False)
        self.assertIn("stateValue", r.stderr)
        d.cli("delete-alarms", "--alarm-names", "orders-low")
        self.assertEqual(d.cli_json("describe-alarms", "--alarm-names",
                                    "orders-low")["MetricAlarms"], [])


class CompositeAlarmTest(unittest.TestCase):
    """A composite alarm (PutCompositeAlarm) follows its rule over two metric
    alarms and emails through the real SMTP server on each transition."""

    def setUp(self):
        # A daemon on a manual clock, emailing the "page" topic's subscriber
        # through a real SMTP server.
        self.smtp = SmtpSink()
        self.addCleanup(self.smtp.close)
        self.d = Daemon(extra_args=[
            "--clock", "manual", "--clock-start", START,
            "--smtp-url", "smtp://127.0.0.1:%d?starttls=off" % self.smtp.port,
            "--smtp-from", "alarms@evbus.test"]).start()
        self.addCleanup(self.d.cleanup)
        self.topic = self.d.cli_json("create-topic",
                                     "--name", "page")["TopicArn"]
        self.d.cli_json("subscribe", "--topic-arn", self.topic, "--protocol",
                        "email", "--notification-endpoint",
                        "oncall@example.test")

    def test_composite_alarm_follows_its_rule_and_emails(self):
        d, smtp, topic = self.d, self.smtp, self.topic
        for name in ("errors", "deploying"):
            d.cli("put-metric-alarm", "--alarm-name", name,
                  "--namespace", "Custom/App", "--metric-name", name,
                  "--statistic", "Sum", "--period", "60",
                  "--evaluation-periods", "1", "--threshold", "0",
                  "--comparison-operator", "GreaterThanThreshold")
        d.cli("put-composite-alarm", "--alarm-name", "page",
              "--alarm-rule", 'ALARM("errors") AND NOT ALARM(deploying)',
              "--alarm-description", "errors, unless deploying",
              "--alarm-actions", topic, "--ok-actions", topic)

        def composite():
            out = d.cli_json("describe-alarms", "--alarm-names", "page",
                             "--alarm-types", "CompositeAlarm")
            self.assertEqual(out["MetricAlarms"], [])
            return out["CompositeAlarms"][0]

        def wait_composite(state):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                c = composite()
                if c["StateValue"] == state:
                    return c
                time.sleep(0.1)
            self.fail("composite alarm is %s, not %s" % (c, state))

        # Evaluated at once: neither child is in ALARM.
        c = wait_composite("OK")
        self.assertEqual(c["AlarmRule"],
                         'ALARM("errors") AND NOT ALARM(deploying)')
        mails = smtp.wait(1)
        self.assertEqual(mails[0]["Subject"],
                         'OK: "page" in US East (N. Virginia)')
        # Without --alarm-types: metric alarms only, as the aws CLI.
        self.assertEqual(d.cli_json("describe-alarms", "--alarm-names",
                                    "page")["CompositeAlarms"], [])

        # The errors metric breaches: errors → ALARM, and page with it.
        d.cli("put-metric-data", "--namespace", "Custom/App",
              "--metric-name", "errors", "--value", "3")
        d.cli("clock", "advance", "1m")
        c = wait_composite("ALARM")
        self.assertIn(":alarm:errors transitioned to ALARM at ",
                      c["StateReason"])
        data = json.loads(c["StateReasonData"])
        self.assertTrue(data["triggeringAlarms"][0]["arn"].endswith(
            ":alarm:errors"))
        mails = smtp.wait(2)
        self.assertEqual(len(mails), 2)
        self.assertEqual(mails[1]["Subject"],
                         'ALARM: "page" in US East (N. Virginia)')
        body = mails[1].get_content()
        self.assertIn("transitioned to ALARM at", body)
        self.assertIn("Alarm Rule:", body)
        self.assertNotIn("Monitored Metric", body)

        # A deployment starts: page goes back to OK at once.
        d.cli("set-alarm-state", "--alarm-name", "deploying",
              "--state-value", "ALARM", "--state-reason", "deploy 42")
        c = wait_composite("OK")
        self.assertIn(":alarm:deploying transitioned to ALARM at ",
                      c["StateReason"])
        mails = smtp.wait(3)
        self.assertEqual(len(mails), 3)
        self.assertTrue(mails[2]["Subject"].startswith('OK: "page"'))

        parents = d.cli_json("describe-alarms", "--parents-of-alarm-name",
                             "errors")
        self.assertEqual([a["AlarmName"] for a in
                          parents["CompositeAlarms"]], ["page"])
        history = d.cli_json("describe-alarm-history", "--alarm-name",
                             "page", "--alarm-types", "CompositeAlarm",
                             "--history-item-type", "StateUpdate")
        self.assertEqual(len(history["AlarmHistoryItems"]), 3)
        self.assertEqual(history["AlarmHistoryItems"][0]["AlarmType"],
                         "CompositeAlarm")
        # The state changes reached the default bus with the rule.
        events = [e["Event"] for e in d.cli_json("list-events")["Events"]
                  if e["Event"]["resources"] == [c["AlarmArn"]]]
        self.assertEqual(len(events), 3)
        self.assertEqual(events[0]["detail"]["configuration"]["alarmRule"],
                         c["AlarmRule"])

        # A named alarm cannot go alone; with its parent it can.
        r = d.cli("delete-alarms", "--alarm-names", "errors", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("composite alarms [page] name them", r.stderr)
        r = d.cli("put-composite-alarm", "--alarm-name", "bad",
                  "--alarm-rule", "ALARM(nope)", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Could not save the composite alarm as alarms [nope]"
                      " in the alarm rule do not exist", r.stderr)
        d.cli("delete-alarms", "--alarm-names", "errors", "page")
        left = d.cli_json("describe-alarms", "--alarm-types",
                          "MetricAlarm", "CompositeAlarm")
        self.assertEqual([a["AlarmName"] for a in left["MetricAlarms"]],
                         ["deploying"])
        self.assertEqual(left["CompositeAlarms"], [])

    def test_suppressed_actions_wait_for_the_suppressor(self):
        """ActionsSuppressor: the ALARM email waits out the WaitPeriod on the
        daemon's clock, then goes out."""
        d, smtp, topic = self.d, self.smtp, self.topic
        # errors breaches on missing data: ALARM at its first minute.
        d.cli("put-metric-alarm", "--alarm-name", "errors",
              "--namespace", "Custom/App", "--metric-name", "errors",
              "--statistic", "Sum", "--period", "60",
              "--evaluation-periods", "1", "--threshold", "0",
              "--comparison-operator", "GreaterThanThreshold",
              "--treat-missing-data", "breaching")
        d.cli("put-metric-alarm", "--alarm-name", "maintenance",
              "--namespace", "Custom/App", "--metric-name", "maintenance",
              "--statistic", "Sum", "--period", "60",
              "--evaluation-periods", "1", "--threshold", "0",
              "--comparison-operator", "GreaterThanThreshold")
        d.cli("put-composite-alarm", "--alarm-name", "quiet",
              "--alarm-rule", "ALARM(errors)",
              "--actions-suppressor", "maintenance",
              "--actions-suppressor-wait-period", "120",
              "--actions-suppressor-extension-period", "60",
              "--alarm-actions", topic)

        def composite():
            return d.cli_json("describe-alarms", "--alarm-names", "quiet",
                              "--alarm-types",
                              "CompositeAlarm")["CompositeAlarms"][0]

        def wait_for(check, what):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                c = composite()
                if check(c):
                    return c
                time.sleep(0.1)
            self.fail("composite alarm %s: not %s" % (c, what))

        # errors → ALARM, quiet with it: its actions wait for the
        # suppressor (120 s), and no email goes out yet.
        d.cli("clock", "advance", "1m")
        c = wait_for(lambda c: c["StateValue"] == "ALARM", "ALARM")
        self.assertEqual(c["ActionsSuppressedBy"], "WaitPeriod")
        self.assertEqual(c["ActionsSuppressor"], "maintenance")
        self.assertEqual(c["ActionsSuppressorWaitPeriod"], 120)
        time.sleep(0.5)
        self.assertEqual(len(smtp.messages()), 0)
        # The suppressor stays out of ALARM: once the period is over,
        # the ALARM action runs.
        d.cli("clock", "advance", "2m")
        mails = smtp.wait(1)
        self.assertEqual(mails[0]["Subject"],
                         'ALARM: "quiet" in US East (N. Virginia)')
        c = wait_for(lambda c: "ActionsSuppressedBy" not in c,
                     "free of suppression")
        self.assertEqual(c["StateValue"], "ALARM")
        # The state-change events on the default bus: the transition
        # (suppressed) and the end of the wait.
        events = [e["Event"] for e in d.cli_json("list-events")["Events"]
                  if e["Event"]["resources"] == [c["AlarmArn"]]]
        self.assertEqual(
            [e["detail"]["state"].get("actionsSuppressedBy")
             for e in events if e["detail"]["state"]["value"] == "ALARM"],
            ["WaitPeriod", None])
        # The one at the end of the wait says what held the actions back.
        self.assertEqual(events[-1]["detail"]["previousState"]["value"],
                         "ALARM")
        self.assertEqual(
            events[-1]["detail"]["previousState"]["actionsSuppressedBy"],
            "WaitPeriod")
        self.assertIn("reason", events[-1]["detail"]["previousState"])
        self.assertEqual(
            events[-1]["detail"]["configuration"]["actionsSuppressor"],
            "maintenance")
        # The suppressor is kept while the composite alarm names it.
        r = d.cli("delete-alarms", "--alarm-names", "maintenance",
                  check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("name them", r.stderr)


class EmailDurabilityTest(unittest.TestCase):
    """A down SMTP relay does not lose the message: the delivery stays in
    the durable queue and is retried until the relay is back."""

    def test_message_waits_for_the_relay(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        d = Daemon(extra_args=["--clock", "manual", "--clock-start", START,
                               "--smtp-url",
                               "smtp://127.0.0.1:%d?starttls=off" % port]).start()
        out_dir = tempfile.mkdtemp(prefix="evbus-smtp-")
        sink = None
        try:
            topic = d.cli_json("create-topic", "--name", "t")["TopicArn"]
            d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "email",
                       "--notification-endpoint", "ops@example.test")
            d.cli_json("publish", "--topic-arn", topic, "--subject", "Later",
                       "--message", "sent while the relay was down")
            time.sleep(1)  # the first attempt fails: nothing listens
            self.assertEqual(glob.glob(os.path.join(out_dir, "*.eml")), [])
            sink = subprocess.Popen(["/usr/bin/python3", SINK, out_dir,
                                     "--port", str(port)],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            self.assertEqual(int(sink.stdout.readline()), port)
            deadline = time.monotonic() + 30
            while (not glob.glob(os.path.join(out_dir, "*.eml"))
                   and time.monotonic() < deadline):
                d.cli("clock", "advance", "1m")
                time.sleep(0.3)
            mails = glob.glob(os.path.join(out_dir, "*.eml"))
            self.assertEqual(len(mails), 1)
            # Nothing was dead-lettered on the way.
            self.assertEqual(d.cli_json(
                "list-dead-letters", "--event-bus-name", "aws.sns",
                "--rule", "t")["DeadLetters"], [])
            with open(mails[0], "rb") as f:
                m = email.message_from_bytes(f.read(),
                                             policy=email.policy.default)
            self.assertEqual(m["Subject"], "Later")
        finally:
            d.cleanup()
            if sink is not None:
                sink.kill()
                sink.wait(timeout=10)
                sink.stdout.close()
            shutil.rmtree(out_dir, ignore_errors=True)


class SubscriptionConfirmationTest(unittest.TestCase):
    """evbusd --sns-confirm-subscriptions: http and email subscribers get
    SNS's confirmation message and receive nothing until they confirm."""

    def test_confirmation_flow(self):
        import urllib.request
        smtp = SmtpSink()
        receiver = Receiver()
        d = Daemon(extra_args=[
            "--sns-confirm-subscriptions", "--clock", "manual", "--smtp-url",
            "smtp://127.0.0.1:%d?starttls=off" % smtp.port]).start()
        try:
            topic = d.cli_json("create-topic", "--name", "c")["TopicArn"]
            sub = d.cli_json("subscribe", "--topic-arn", topic, "--protocol",
                             "http", "--notification-endpoint",
                             receiver.url("/c"))
            self.assertEqual(sub["SubscriptionArn"], "pending confirmation")
            self.assertTrue(receiver.wait_for(
                lambda rs: any(r["path"] == "/c" for r in rs)))
            confirm = json.loads(receiver.received("/c")[0]["body"])
            self.assertEqual(confirm["Type"], "SubscriptionConfirmation")
            self.assertEqual(confirm["TopicArn"], topic)
            headers = {k.lower(): v for k, v in
                       receiver.received("/c")[0]["headers"].items()}
            self.assertEqual(headers["x-amz-sns-message-type"],
                             "SubscriptionConfirmation")
            listed = d.cli_json("list-subscriptions-by-topic", "--topic-arn",
                                topic)["Subscriptions"]
            self.assertEqual(listed[0]["SubscriptionArn"], "PendingConfirmation")
            d.cli_json("publish", "--topic-arn", topic, "--message", "early")
            time.sleep(0.5)
            self.assertEqual(len(receiver.received("/c")), 1,
                             "nothing is delivered before confirmation")
            # The endpoint confirms by visiting SubscribeURL (a GET on the
            # daemon's HTTP listener), as SNS endpoints do.
            self.assertIn(d.http, confirm["SubscribeURL"])
            with urllib.request.urlopen(confirm["SubscribeURL"], timeout=10) as r:
                xml = r.read().decode()
            self.assertIn("<ConfirmSubscriptionResult><SubscriptionArn>" + topic,
                          xml)
            # Following the link again answers the same.
            with urllib.request.urlopen(confirm["SubscribeURL"], timeout=10) as r:
                again = r.read().decode()
            self.assertEqual(re.sub(r"<RequestId>.*</RequestId>", "", again),
                             re.sub(r"<RequestId>.*</RequestId>", "", xml))
            d.cli_json("publish", "--topic-arn", topic, "--message", "later")
            self.assertTrue(receiver.wait_for(lambda rs: any(
                '"later"' in r["body"] for r in rs if r["path"] == "/c")))
            # Email: the confirmation mail carries the link.
            d.cli_json("subscribe", "--topic-arn", topic, "--protocol",
                       "email", "--notification-endpoint", "a@example.test")
            mails = smtp.wait(1)
            self.assertEqual(mails[0]["Subject"],
                             "AWS Notification - Subscription Confirmation")
            self.assertIn("Action=ConfirmSubscription", mails[0].get_content())
            r = d.cli("confirm-subscription", "--topic-arn", topic, "--token",
                      "wrong", check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("InvalidParameter", r.stderr)
            # Tokens are good for 3 days.
            token = re.search(r"Token=([0-9a-f]+)",
                              mails[0].get_content()).group(1)
            d.cli("clock", "advance", "73h")
            r = d.cli("confirm-subscription", "--topic-arn", topic, "--token",
                      token, check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("Invalid parameter: Invalid token", r.stderr)
        finally:
            d.cleanup()
            receiver.close()
            smtp.close()


if __name__ == "__main__":
    unittest.main()
