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


if __name__ == "__main__":
    unittest.main()
