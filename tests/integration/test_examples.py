"""examples/ run as a new user would run them: the website health check
stack applied by `evbusd --stack`, against a local page, with the manual
clock; breaking the page raises the alarm and the email reaches a local
SMTP server (Debian's aiosmtpd)."""
import email
import email.policy
import glob
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from evbus_harness import Daemon

SOURCE = os.environ.get("EVBUS_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(SOURCE, "examples")
SINK = os.path.join(SOURCE, "server", "topics", "testdata", "smtp_sink.py")


class Page:
    """A page whose content the test controls."""

    def __init__(self):
        self.body = b"<p>Status: ALL SYSTEMS GO</p>"
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WebsiteHealthCheckTest(unittest.TestCase):

    def setUp(self):
        self.page = Page()
        self.mail_dir = tempfile.mkdtemp(prefix="evbus-mail-")
        self.smtp = subprocess.Popen(["/usr/bin/python3", SINK, self.mail_dir],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        port = int(self.smtp.stdout.readline().strip())
        os.environ["SITE_URL"] = self.page.url
        os.environ["ALERT_EMAIL"] = "oncall@example.test"
        self.d = Daemon(extra_args=[
            "--clock", "manual", "--clock-start", "2026-03-01T12:00:00Z",
            "--stack", os.path.join(EXAMPLES, "website-health-check",
                                    "stack.yaml"),
            "--smtp-url", "smtp://127.0.0.1:%d?starttls=off" % port]).start()

    def tearDown(self):
        self.d.cleanup()
        self.smtp.kill()
        self.smtp.wait(timeout=10)
        self.smtp.stdout.close()
        self.page.close()
        shutil.rmtree(self.mail_dir, ignore_errors=True)
        for k in ("SITE_URL", "ALERT_EMAIL"):
            os.environ.pop(k, None)

    def mails(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.mail_dir, "*.eml"))):
            with open(p, "rb") as f:
                out.append(email.message_from_bytes(
                    f.read(), policy=email.policy.default))
        return out

    def wait(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        return predicate()

    def state(self):
        return self.d.cli_json("describe-alarms", "--alarm-names",
                               "health-check-failed")["MetricAlarms"][0]["StateValue"]

    def test_health_check_alarm_emails_when_the_site_breaks(self):
        d = self.d
        # The stack is there, and applying it again changes nothing.
        again = d.cli_json("apply", "-f", os.path.join(
            EXAMPLES, "website-health-check", "stack.yaml"))
        self.assertTrue(again["Plan"])
        self.assertEqual({p["Action"] for p in again["Plan"]}, {"unchanged"},
                         again["Plan"])
        # Every 5 minutes the check runs and passes.
        d.cli("clock", "advance", "5m")
        logs = self.wait(lambda: "Check passed" in d.cli(
            "logs", "tail", "health-check").stdout)
        self.assertTrue(logs)
        # The page breaks: the next run fails, the alarm fires, email sent.
        self.page.body = b"<p>502 Bad Gateway</p>"
        d.cli("clock", "advance", "5m")
        self.assertTrue(self.wait(lambda: "Validation failed" in d.cli(
            "logs", "tail", "health-check").stdout))
        for _ in range(10):
            d.cli("clock", "advance", "1m")
            if self.wait(lambda: self.state() == "ALARM", timeout=3):
                break
        self.assertEqual(self.state(), "ALARM")
        # The first evaluation (a passing check, notBreaching) sent the OK
        # notification; the failure sends the ALARM one.
        alarm_mails = self.wait(lambda: [
            m for m in self.mails() if m["Subject"].startswith("ALARM:")])
        self.assertEqual(len(alarm_mails), 1)
        m = alarm_mails[0]
        self.assertEqual(m["Subject"],
                         'ALARM: "health-check-failed" in US East (N. Virginia)')
        self.assertEqual(m["To"], "oncall@example.test")
        self.assertIn("The website health check failed", m.get_content())


if __name__ == "__main__":
    unittest.main()


class OwnerTagTest(unittest.TestCase):
    """The chapter's owner-tag automation, as an evbus stack and as the SAM
    template, fed a CloudTrail-shaped RunInstances event."""

    def setUp(self):
        from receiver import Receiver
        self.receiver = Receiver()
        self.work = tempfile.mkdtemp(prefix="evbus-ownertag-")
        self.d = Daemon(extra_args=["--allow-reserved-sources"]).start()

    def tearDown(self):
        self.d.cleanup()
        self.receiver.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def run_example(self, stack_file):
        d = self.d
        plan = d.cli_json("apply", "-f", stack_file)["Plan"]
        actions = {(p["Kind"], p["Name"]): p["Action"] for p in plan}
        self.assertEqual(actions[("function", "ownertag")], "create", plan)
        with open(os.path.join(EXAMPLES, "owner-tag",
                               "cloudtrail-event.json")) as f:
            entries = json.load(f)
        d.put_events(entries)
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/tags" for r in rs), timeout=30),
            d.cli("logs", "tail", "ownertag").stdout)
        call = json.loads(self.receiver.received("/tags")[0]["body"])
        self.assertEqual(call, {
            "Resources": ["i-0abc123def4567890", "i-0fed987cba6543210"],
            "Tags": [{"Key": "Owner", "Value": "alice"}]})
        return plan

    def test_stack_file(self):
        os.environ["TAGGING_URL"] = self.receiver.url("/tags")
        try:
            self.run_example(os.path.join(EXAMPLES, "owner-tag", "stack.yaml"))
        finally:
            os.environ.pop("TAGGING_URL", None)

    def test_sam_template_applies_unchanged(self):
        # The template as written, only its TaggingUrl default pointed at
        # this test's receiver.
        src = os.path.join(EXAMPLES, "owner-tag")
        shutil.copytree(os.path.join(src, "function"),
                        os.path.join(self.work, "function"))
        with open(os.path.join(src, "template.yaml")) as f:
            text = f.read().replace("http://127.0.0.1:8081/tags",
                                    self.receiver.url("/tags"))
        path = os.path.join(self.work, "template.yaml")
        with open(path, "w") as f:
            f.write(text)
        plan = self.run_example(path)
        self.assertTrue(any(p["Action"] == "skip" for p in plan), plan)
        self.assertTrue(any(p["Kind"] == "rule" for p in plan), plan)
        strict = self.d.cli("apply", "-f", path, "--strict", check=False)
        self.assertEqual(strict.returncode, 1)


class WebhookFanoutTest(unittest.TestCase):

    def test_fanout_transformer_and_dead_letter(self):
        from receiver import Receiver
        receiver = Receiver()
        receiver.script("/analytics", [], default=(500, {}, 0))
        d = Daemon().start()
        env = {"BILLING_URL": receiver.url("/billing"),
               "SHIPPING_URL": receiver.url("/shipping"),
               "ANALYTICS_URL": receiver.url("/analytics")}
        os.environ.update(env)
        try:
            d.cli_json("apply", "-f",
                       os.path.join(EXAMPLES, "webhook-fanout", "stack.yaml"))
            with open(os.path.join(EXAMPLES, "webhook-fanout",
                                   "order.json")) as f:
                d.put_events(json.load(f))
            self.assertTrue(receiver.wait_for(lambda rs: {
                r["path"] for r in rs} >= {"/billing", "/shipping"}))
            billing = json.loads(receiver.received("/billing")[0]["body"])
            self.assertEqual(billing["detail"]["orderId"], "o-1001")
            shipping = json.loads(receiver.received("/shipping")[0]["body"])
            self.assertEqual(shipping, {"order": "o-1001", "ship_to": "Ada",
                                        "items": [{"sku": "book-1", "qty": 2}]})
            dead = []
            deadline = time.monotonic() + 60
            while not dead and time.monotonic() < deadline:
                dead = d.cli_json("list-dead-letters", "--rule", "order-placed",
                                  "--event-bus-name", "orders")["DeadLetters"]
                time.sleep(0.5)
            self.assertEqual(len(dead), 1)
            self.assertEqual(dead[0]["TargetId"], "analytics")
            self.assertEqual(len(receiver.received("/analytics")), 3)
        finally:
            for k in env:
                os.environ.pop(k, None)
            d.cleanup()
            receiver.close()
