"""`evbus apply`: validation before any change, idempotence, --dry-run and
--prune (what a stack created and no longer declares is deleted; without
--prune it is kept)."""
import json
import os
import shutil
import tempfile
import unittest

from evbus_harness import Daemon

FULL = """stack: demo
buses:
  - name: shop
connections:
  - name: crm
    authorization_type: API_KEY
    auth_parameters:
      ApiKeyAuthParameters: {ApiKeyName: x-api-key, ApiKeyValue: s3cret}
api_destinations:
  - name: crm-hook
    connection: crm
    endpoint: http://127.0.0.1:9/hook
    rate_limit_per_second: 5
functions:
  - name: greeter
    runtime: python3
    handler: app.h
    code: ./fn
topics:
  - name: news
    subscriptions:
      - {protocol: http, endpoint: "http://127.0.0.1:9/news"}
rules:
  - name: keep
    bus: shop
    pattern: {source: [shop]}
    targets: [{id: log, arn: "log:kept"}]
  - name: drop
    bus: shop
    pattern: {source: [other]}
    targets:
      - {id: fn, arn: "function:greeter"}
      - {id: crm, arn: "arn:aws:events:us-east-1:000000000000:api-destination/crm-hook"}
alarms:
  - name: drop-alarm
    namespace: Custom/Demo
    metric: M
    statistic: Sum
    period: 60
    evaluation_periods: 1
    threshold: 1
    comparison: GreaterThanThreshold
"""

SMALLER = """stack: demo
buses:
  - name: shop
rules:
  - name: keep
    bus: shop
    pattern: {source: [shop]}
    targets: [{id: log, arn: "log:kept"}]
"""


class StackApplyTest(unittest.TestCase):

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="evbus-stack-")
        os.chmod(self.work, 0o755)
        os.makedirs(os.path.join(self.work, "fn"))
        with open(os.path.join(self.work, "fn", "app.py"), "w") as f:
            f.write("def h(event, context):\n    return 'hi'\n")
        self.d = Daemon().start()

    def tearDown(self):
        self.d.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def write(self, text):
        path = os.path.join(self.work, "stack.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def plan(self, *args):
        out = self.d.cli_json("apply", *args)
        return {(p["Kind"], p["Name"]): p["Action"] for p in out["Plan"]}

    def test_apply_is_idempotent_and_prune_deletes_what_is_gone(self):
        path = self.write(FULL)
        dry = self.plan("-f", path, "--dry-run")
        self.assertEqual(set(dry.values()), {"create"})
        self.assertEqual(self.d.cli_json("list-functions")["Functions"], [])
        first = self.plan("-f", path)
        self.assertEqual(first[("rule", "shop/drop")], "create")
        again = self.plan("-f", path)
        self.assertEqual(set(again.values()), {"unchanged"}, again)

        path = self.write(SMALLER)
        kept = self.plan("-f", path)  # without --prune: nothing deleted
        self.assertNotIn("delete", kept.values())
        names = [f["FunctionName"] for f in
                 self.d.cli_json("list-functions")["Functions"]]
        self.assertEqual(names, ["greeter"])

        dry = self.plan("-f", path, "--prune", "--dry-run")
        self.assertEqual(dry[("function", "greeter")], "delete")
        self.assertEqual(dry[("rule", "shop/drop")], "delete")
        pruned = self.plan("-f", path, "--prune")
        self.assertEqual(pruned[("alarm", "drop-alarm")], "delete")
        self.assertEqual(pruned[("topic", "news")], "delete")
        self.assertEqual(pruned[("api-destination", "crm-hook")], "delete")
        self.assertEqual(pruned[("connection", "crm")], "delete")
        self.assertEqual(self.d.cli_json("list-connections")["Connections"], [])
        self.assertEqual(self.d.cli_json("list-functions")["Functions"], [])
        rules = [r["Name"] for r in self.d.cli_json(
            "list-rules", "--event-bus-name", "shop")["Rules"]]
        self.assertEqual(rules, ["keep"])
        self.assertEqual(self.d.cli_json("list-topics")["Topics"], [])
        self.assertEqual(self.d.cli_json("describe-alarms")["MetricAlarms"], [])
        # Pruning again finds nothing more to delete.
        self.assertNotIn("delete", self.plan("-f", path, "--prune").values())

    def test_prune_deletes_only_what_the_stack_created(self):
        # A bus made by hand and a bus another stack created are used by this
        # stack, not owned: removing them from the file and pruning leaves
        # them (and the hand-made bus's rule) alone.
        self.d.cli("create-event-bus", "--name", "handmade")
        self.d.cli("put-rule", "--name", "keepme", "--event-bus-name", "handmade",
                   "--event-pattern", json.dumps({"source": ["x"]}))
        other = self.write("stack: other-owner\nbuses:\n  - name: shared-bus\n")
        self.assertEqual(self.plan("-f", other)[("bus", "shared-bus")], "create")
        mine = self.write("stack: user-of-others\nbuses:\n  - name: handmade\n"
                          "  - name: shared-bus\n  - name: mine-only\n")
        first = self.plan("-f", mine)
        self.assertEqual(first[("bus", "handmade")], "unchanged")
        self.assertEqual(first[("bus", "shared-bus")], "unchanged")
        self.assertEqual(first[("bus", "mine-only")], "create")
        pruned = self.plan("-f", self.write("stack: user-of-others\n"), "--prune")
        self.assertEqual(pruned, {("bus", "mine-only"): "delete"})
        buses = {b["Name"] for b in self.d.cli_json("list-event-buses")["EventBuses"]}
        self.assertLessEqual({"handmade", "shared-bus"}, buses)
        self.assertNotIn("mine-only", buses)
        self.assertEqual([r["Name"] for r in self.d.cli_json(
            "list-rules", "--event-bus-name", "handmade")["Rules"]], ["keepme"])
        # The stack that created shared-bus still owns it.
        gone = self.plan("-f", self.write("stack: other-owner\n"), "--prune")
        self.assertEqual(gone, {("bus", "shared-bus"): "delete"})

    def test_prune_deletes_what_a_failed_apply_created(self):
        # The second rule is over the daemon's rule quota: the apply fails
        # after creating the bus and the first rule. Those are still the
        # stack's, so pruning them later deletes them.
        self.d.cleanup()
        self.d = Daemon(extra_args=["--max-rules-per-bus", "1"]).start()
        text = ("stack: partial\nbuses:\n  - name: half\nrules:\n"
                "  - name: one\n    bus: half\n    pattern: {source: [a]}\n"
                "  - name: two\n    bus: half\n    pattern: {source: [b]}\n")
        r = self.d.cli("apply", "-f", self.write(text), check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("LimitExceeded", r.stderr)
        pruned = self.plan("-f", self.write("stack: partial\n"), "--prune")
        self.assertEqual(pruned, {("rule", "half/one"): "delete",
                                  ("bus", "half"): "delete"})
        buses = {b["Name"] for b in self.d.cli_json("list-event-buses")["EventBuses"]}
        self.assertNotIn("half", buses)

    def test_composite_alarms_apply_update_and_prune(self):
        stack = """stack: pager
alarms:
  - name: page
    rule: ALARM(errors) AND NOT ALARM(deploying)
    description: errors unless deploying
  - name: errors
    namespace: App
    metric: Errors
    statistic: Sum
    period: 60
    evaluation_periods: 1
    threshold: 0
    comparison: GreaterThanThreshold
  - name: deploying
    namespace: App
    metric: Deploying
    statistic: Sum
    period: 60
    evaluation_periods: 1
    threshold: 0
    comparison: GreaterThanThreshold
"""
        # Declared before its children: metric alarms are applied first.
        path = self.write(stack)
        first = self.plan("-f", path)
        self.assertEqual(first[("alarm", "page")], "create")
        page = self.d.cli_json("describe-alarms", "--alarm-names", "page",
                               "--alarm-types", "CompositeAlarm")
        self.assertEqual(page["CompositeAlarms"][0]["StateValue"], "OK")
        self.assertEqual(set(self.plan("-f", path).values()), {"unchanged"})
        path = self.write(stack.replace("AND NOT ALARM(deploying)", ""))
        second = self.plan("-f", path)
        self.assertEqual(second[("alarm", "page")], "update")
        self.assertEqual(second[("alarm", "errors")], "unchanged")
        page = self.d.cli_json("describe-alarms", "--alarm-names", "page",
                               "--alarm-types", "CompositeAlarm")
        self.assertEqual(page["CompositeAlarms"][0]["AlarmRule"],
                         "ALARM(errors)")
        # A rule that does not parse stops the stack before any change.
        path = self.write(stack.replace("AND NOT", "AND AND"))
        r = self.d.cli("apply", "-f", path, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("alarms[0].rule: Error in AlarmRule", r.stderr)
        # Naming an alarm nobody has stops the stack before any change.
        path = self.write(stack.replace("NOT ALARM(deploying)",
                                        "NOT ALARM(nobody)").replace(
                                            "name: errors", "name: errors2"))
        r = self.d.cli("apply", "-f", path, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("stack.yaml:4: alarms[0].rule: the rule or actions "
                      "suppressor of alarm page names alarms that neither exist "
                      "nor are declared by the stack: [nobody]", r.stderr)
        self.assertIn("An error occurred while applying", r.stderr)
        r = self.d.cli("apply", "-f", path, "--dry-run", check=False)
        self.assertIn("An error occurred while planning", r.stderr)
        self.assertEqual(self.d.cli_json("describe-alarms", "--alarm-names",
                                         "errors2")["MetricAlarms"], [])
        # Pruning deletes the composite alarm and its children together.
        path = self.write("stack: pager\n")
        pruned = self.plan("-f", path, "--prune")
        self.assertEqual(pruned[("alarm", "page")], "delete")
        self.assertEqual(pruned[("alarm", "errors")], "delete")
        left = self.d.cli_json("describe-alarms", "--alarm-types",
                               "MetricAlarm", "CompositeAlarm")
        self.assertEqual(left["MetricAlarms"] + left["CompositeAlarms"], [])

    def test_metric_math_alarms_apply_and_update(self):
        stack = """stack: rates
alarms:
  - name: error-rate
    metrics:
      - {id: e, namespace: App, metric: Errors, period: 60, stat: Sum}
      - {id: r, namespace: App, metric: Requests, period: 60, stat: Sum}
      - {id: rate, expression: 100*e/r, label: Error rate}
    evaluation_periods: 1
    threshold: 5
    comparison: GreaterThanThreshold
"""
        path = self.write(stack)
        self.assertEqual(self.plan("-f", path)[("alarm", "error-rate")],
                         "create")
        alarm = self.d.cli_json("describe-alarms", "--alarm-names",
                                "error-rate")["MetricAlarms"][0]
        self.assertEqual([m["Id"] for m in alarm["Metrics"]], ["e", "r", "rate"])
        self.assertEqual(alarm["Metrics"][2]["Expression"], "100*e/r")
        self.assertEqual(set(self.plan("-f", path).values()), {"unchanged"})
        path = self.write(stack.replace("100*e/r", "1000*e/r"))
        self.assertEqual(self.plan("-f", path)[("alarm", "error-rate")],
                         "update")
        alarm = self.d.cli_json("describe-alarms", "--alarm-names",
                                "error-rate")["MetricAlarms"][0]
        self.assertEqual(alarm["Metrics"][2]["Expression"], "1000*e/r")

    def test_invalid_file_changes_nothing(self):
        path = self.write(FULL.replace("threshold: 1", "threshold: lots"))
        r = self.d.cli("apply", "-f", path, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.yaml:", r.stderr)
        self.assertIn("alarms[0].threshold", r.stderr)
        self.assertEqual(self.d.cli_json("list-functions")["Functions"], [])
        buses = [b["Name"] for b in
                 self.d.cli_json("list-event-buses")["EventBuses"]]
        self.assertEqual(buses, ["default"])

    def test_what_the_daemon_would_refuse_changes_nothing(self):
        head = ("stack: qa\nbuses:\n  - name: qa-bus\nrules:\n"
                "  - name: r\n    bus: qa-bus\n")
        cases = [
            (head + "    pattern: {source: [qa]}\n    targets:\n"
             "      - {id: a, arn: \"log:x\"}\n      - {id: b, arn: \"htp://x\"}\n",
             "stack.yaml:10: rules[0].targets[1].arn: Parameter Arn of "
             "target b is not valid: 'htp://x'"),
            (head + "    pattern: {\"source\": \"notarray\"}\n",
             "stack.yaml:7: rules[0].pattern: InvalidEventPatternException"),
            (head + "    schedule: rate(5 minutes)\n",
             "stack.yaml:7: rules[0].schedule: ScheduleExpression is supported "
             "only on the default event bus."),
            (head + "    pattern: {source: [qa]}\n    targets:\n"
             "      - id: a\n        arn: log:x\n        input: '{\"k\": 1}'\n"
             "        input_transformer: {input_template: '\"x\"'}\n",
             "stack.yaml:12: rules[0].targets[0].input_transformer: Only one "
             "of Input, InputPath, or InputTransformer"),
            (head + "    pattern: {source: [qa]}\n    targets:\n"
             "      - {id: a, arn: \"function:missing\"}\n",
             "stack.yaml:9: rules[0].targets[0].arn: function missing does not "
             "exist and the stack does not declare it"),
            # PutTargets' limits on the whole set (QA Q M4, L1).
            (head + "    pattern: {source: [qa]}\n    targets:\n" +
             "".join("      - {id: t%d, arn: \"log:x\"}\n" % i
                     for i in range(6)),
             "stack.yaml:9: rules[0].targets: a rule has at most 5 targets, "
             "this one 6 (LimitExceededException)"),
            (head + "    pattern: {source: [qa]}\n    targets:\n"
             "      - {id: a, arn: \"log:x\"}\n      - {id: a, arn: \"log:y\"}\n",
             "stack.yaml:10: rules[0].targets[1].id: target id a is declared "
             "twice in this rule"),
            # A rule on a bus neither declared nor there (PutRule's check).
            ("stack: qa\nbuses:\n  - name: qa-bus\nrules:\n"
             "  - name: r\n    bus: nob\n    pattern: {source: [qa]}\n",
             "stack.yaml:6: rules[0].bus: bus nob does not exist and the stack "
             "does not declare it"),
        ]
        for text, want in cases:
            path = self.write(text)
            for args in (["--dry-run"], []):
                r = self.d.cli("apply", "-f", path, *args, check=False)
                self.assertEqual(r.returncode, 1, (args, r.stdout))
                self.assertIn(want, r.stderr)
            buses = [b["Name"] for b in
                     self.d.cli_json("list-event-buses")["EventBuses"]]
            self.assertEqual(buses, ["default"], want)

    def test_updates_of_buses_topics_and_subscriptions_are_applied(self):
        text = """stack: upd
buses:
  - name: b3
    description: First
topics:
  - name: t3
    display_name: Ops
    subscriptions:
      - protocol: http
        endpoint: http://127.0.0.1:9/t3
        filter_policy: {sev: [high]}
"""
        path = self.write(text)
        self.plan("-f", path)
        path = self.write(text.replace("First", "Second")
                          .replace("Ops", "Oncall").replace("high", "low"))
        dry = self.plan("-f", path, "--dry-run")
        sub = ("subscription", "t3 http:http://127.0.0.1:9/t3")
        self.assertEqual(dry[("bus", "b3")], "update")
        self.assertEqual(dry[("topic", "t3")], "update")
        self.assertEqual(dry[sub], "update")
        self.assertEqual(self.d.cli_json("describe-event-bus", "--name",
                                         "b3")["Description"], "First")
        done = self.plan("-f", path)
        self.assertEqual((done[("bus", "b3")], done[("topic", "t3")], done[sub]),
                         ("update", "update", "update"))
        self.assertEqual(self.d.cli_json("describe-event-bus", "--name",
                                         "b3")["Description"], "Second")
        subs = self.d.cli_json("list-subscriptions-by-topic", "--topic-arn",
                               "t3")["Subscriptions"]
        self.assertEqual(len(subs), 1)  # replaced, not added
        # The plan compares with what the daemon holds: it now has the
        # declared display name and filter policy.
        self.assertEqual(set(self.plan("-f", path).values()), {"unchanged"})


if __name__ == "__main__":
    unittest.main()
