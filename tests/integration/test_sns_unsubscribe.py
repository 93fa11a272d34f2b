"""The unsubscribe links SNS messages carry, followed as a reader would:
the UnsubscribeURL of an http notification and the unsubscribe page linked
from an email (a real SMTP server, Debian's aiosmtpd), both unsigned while
the AWS endpoint requires SigV4 (--aws-credentials), as on SNS."""
import json
import os
import re
import shutil
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

import test_alarms_topics as alarms
from evbus_harness import Daemon, sns_signature_verifies
from receiver import Receiver


def get(url):
    """(status, body) of an unsigned GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class SnsUnsubscribeLinksTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="evbus-unsub-")
        creds = os.path.join(cls.work, "credentials")
        with open(creds, "w") as f:
            f.write("[default]\naws_access_key_id = AKIDUNSUB\n"
                    "aws_secret_access_key = unsub-secret\n")
        cls.smtp = alarms.SmtpSink()
        cls.receiver = Receiver()
        cls.d = Daemon(extra_args=[
            "--aws-credentials", creds,
            "--smtp-url", "smtp://127.0.0.1:%d?starttls=off" % cls.smtp.port,
            "--smtp-from", "sns@evbus.test"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.receiver.close()
        cls.smtp.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def subscriptions(self, topic):
        return [s["Endpoint"] for s in self.d.cli_json(
            "list-subscriptions-by-topic", "--topic-arn",
            topic)["Subscriptions"]]

    def test_the_links_work_unsigned(self):
        d = self.d
        topic = d.cli_json("create-topic", "--name", "links")["TopicArn"]
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "email",
                   "--notification-endpoint", "ops@example.test")
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "http",
                   "--notification-endpoint", self.receiver.url("/links"))
        before = len(self.smtp.messages())
        d.cli_json("publish", "--topic-arn", topic, "--subject", "Hello",
                   "--message", "first")

        # The email's link: the page removes the subscription.
        mails = [m for m in self.smtp.wait(before + 1)
                 if m["To"] == "ops@example.test"]
        self.assertEqual(len(mails), 1)
        body = mails[0].get_content()
        link = re.search(r"(http://\S+/unsubscribe\.html\?\S+)", body).group(1)
        self.assertIn("Endpoint=ops@example.test", link)
        self.assertRegex(link, r"&Token=[0-9a-f]{32}$")
        # The wrong endpoint: nothing removed.
        wrong = link.replace("ops@example.test", "other@example.test")
        self.assertEqual(get(wrong)[0], 404)
        # The subscription's ARN alone (it shows in /metrics), or with a
        # made-up token, is not the link.
        arn_only = link.split("&Token=")[0]
        status, page = get(arn_only)
        self.assertEqual(status, 403, page)
        self.assertIn("This link is not valid", page)
        self.assertEqual(get(arn_only + "&Token=" + "0" * 32)[0], 403)
        self.assertEqual(get(link.split("?")[0])[0], 403)
        self.assertIn("ops@example.test", self.subscriptions(topic))
        status, page = get(link)
        self.assertEqual(status, 200, page)
        self.assertIn("<h1>Subscription removed!</h1>", page)
        self.assertIn("ops@example.test will no longer receive messages "
                      "from topic %s." % topic, page)
        self.assertNotIn("ops@example.test", self.subscriptions(topic))
        self.assertEqual(get(link)[0], 404)  # once

        # The http notification's UnsubscribeURL.
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/links" for r in rs)))
        note = json.loads(self.receiver.received("/links")[0]["body"])
        url = note["UnsubscribeURL"]
        self.assertRegex(url, r"&Token=[0-9a-f]{32}$")
        status, text = get(url.split("&Token=")[0])
        self.assertEqual(status, 400, text)
        self.assertIn("MissingAuthenticationTokenException", text)
        status, xml = get(url)
        self.assertEqual(status, 200, xml)
        self.assertIn("<UnsubscribeResponse", xml)
        self.assertEqual(self.subscriptions(topic), [])

    def test_email_json_messages_are_signed(self):
        d = self.d
        topic = d.cli_json("create-topic", "--name", "ejson")["TopicArn"]
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol",
                   "email-json", "--notification-endpoint", "j@example.test")
        before = len(self.smtp.messages())
        d.cli_json("publish", "--topic-arn", topic, "--message", "signed")
        mails = self.smtp.wait(before + 1)
        body = [m for m in mails if m["To"] == "j@example.test"][-1] \
            .get_content()
        env = json.loads(body)
        self.assertEqual(env["Type"], "Notification")
        self.assertEqual(env["SignatureVersion"], "1")
        self.assertNotEqual(env["Signature"], "")
        # The signature verifies with the certificate at SigningCertURL.
        ok, out = sns_signature_verifies(env)
        self.assertTrue(ok, out)

    def test_what_metrics_show_does_not_unsubscribe(self):
        # /metrics needs no signature and labels topic deliveries with the
        # subscription's id: an ARN built from it is refused.
        d = self.d
        topic = d.cli_json("create-topic", "--name", "metered")["TopicArn"]
        sub = d.cli_json("subscribe", "--topic-arn", topic, "--protocol",
                         "http", "--notification-endpoint",
                         self.receiver.url("/metered"))["SubscriptionArn"]
        d.cli_json("publish", "--topic-arn", topic, "--message", "x")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/metered" for r in rs)))
        sub_id = sub.rsplit(":", 1)[1]
        status, metrics = get("http://%s/metrics" % d.http)
        self.assertIn('target="%s"' % sub_id, metrics)
        query = urllib.parse.urlencode({"Action": "Unsubscribe",
                                        "SubscriptionArn": sub})
        self.assertEqual(get("http://%s/?%s" % (d.http, query))[0], 400)
        query = urllib.parse.urlencode({"SubscriptionArn": sub})
        self.assertEqual(
            get("http://%s/unsubscribe.html?%s" % (d.http, query))[0], 403)
        self.assertEqual(len(self.subscriptions(topic)), 1)

    def test_other_actions_still_need_a_signature(self):
        query = urllib.parse.urlencode({"Action": "ListTopics"})
        status, text = get("http://%s/?%s" % (self.d.http, query))
        self.assertEqual(status, 400, text)
        self.assertIn("MissingAuthenticationTokenException", text)
        # Two actions in one link are not a link.
        status, text = get("http://%s/?Action=Unsubscribe&Action=ListTopics"
                           "&SubscriptionArn=x" % self.d.http)
        self.assertEqual(status, 400, text)
        self.assertIn("MissingAuthenticationTokenException", text)


if __name__ == "__main__":
    unittest.main()
