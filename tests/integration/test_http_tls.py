"""HTTPS on the HTTP listener (--http-tls-cert / --http-tls-key): health,
metrics and the AWS endpoint over TLS, plain and untrusted clients refused,
links in SNS messages pointing at https, and bad files refused at start.

The certificates are made per run by Debian's openssl command.
"""
import http.client
import json
import os
import shutil
import ssl
import tempfile
import unittest

from evbus_harness import Daemon, make_ca, make_cert, refused_start
from receiver import Receiver


class HttpTlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="evbus-https-")
        cls.ca = make_ca(cls.work, "ca")
        cls.server = make_cert(cls.work, "evbusd", cls.ca, "IP:127.0.0.1")
        cls.receiver = Receiver()
        cls.d = Daemon(extra_args=["--http-tls-cert", cls.server[1],
                                   "--http-tls-key", cls.server[0]]).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.receiver.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def https(self, method, path, body=None, headers=None, context=None):
        host, port = self.d.http.rsplit(":", 1)
        if context is None:
            context = ssl.create_default_context(cafile=self.ca[1])
        conn = http.client.HTTPSConnection(host, int(port), timeout=10,
                                           context=context)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def test_health_metrics_and_the_aws_endpoint_over_https(self):
        self.assertEqual(self.https("GET", "/healthz"), (200, "ok\n"))
        self.assertEqual(self.https("GET", "/readyz"), (200, "ready\n"))
        status, text = self.https("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("evbus_put_events_requests_total", text)
        status, text = self.https(
            "POST", "/", body=b"{}",
            headers={"Content-Type": "application/x-amz-json-1.1",
                     "X-Amz-Target": "AWSEvents.ListEventBuses"})
        self.assertEqual(status, 200, text)
        self.assertEqual(json.loads(text)["EventBuses"][0]["Name"], "default")
        # The log and the ready file say HTTPS is on.
        self.assertIn("HTTP: HTTPS only, with %s" % self.server[1],
                      self.d.log())
        self.assertIn(", https %s" % self.d.http, self.d.log())
        with open(self.d.data_dir + ".ready") as f:
            ready = json.load(f)
        self.assertEqual(ready["http_url"], "https://" + self.d.http)
        self.assertFalse(ready["grpc_tls"])

    def test_plain_and_untrusted_clients_are_refused(self):
        host, port = self.d.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        with self.assertRaises((http.client.HTTPException, OSError)):
            conn.request("GET", "/healthz")
            conn.getresponse().read()
        conn.close()
        # The system's CAs do not know this certificate.
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.https("GET", "/healthz",
                       context=ssl.create_default_context())
        # TLS 1.2 only with forward-secret AEAD suites: a client offering
        # only CBC ones is refused.
        cbc = ssl.create_default_context(cafile=self.ca[1])
        cbc.maximum_version = ssl.TLSVersion.TLSv1_2
        cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384")
        with self.assertRaises(ssl.SSLError):
            self.https("GET", "/healthz", context=cbc)
        gcm = ssl.create_default_context(cafile=self.ca[1])
        gcm.maximum_version = ssl.TLSVersion.TLSv1_2
        self.assertEqual(self.https("GET", "/healthz", context=gcm),
                         (200, "ok\n"))
        # The listener still serves after them.
        self.assertEqual(self.https("GET", "/healthz"), (200, "ok\n"))

    def test_sns_messages_link_to_the_https_endpoint(self):
        d = self.d
        topic = d.cli_json("create-topic", "--name", "tls-hooks")["TopicArn"]
        d.cli_json("subscribe", "--topic-arn", topic, "--protocol", "http",
                   "--notification-endpoint", self.receiver.url("/sns"))
        d.cli_json("publish", "--topic-arn", topic, "--message", "hello")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/sns" for r in rs), timeout=30))
        message = json.loads(self.receiver.received("/sns")[0]["body"])
        self.assertTrue(message["SigningCertURL"].startswith(
            "https://%s/" % d.http), message)
        self.assertTrue(message["UnsubscribeURL"].startswith(
            "https://%s/" % d.http), message)
        # The signing certificate is served there.
        status, pem = self.https(
            "GET", message["SigningCertURL"].split(d.http, 1)[1])
        self.assertEqual(status, 200)
        self.assertIn("BEGIN CERTIFICATE", pem)
        # The UnsubscribeURL works over https.
        status, text = self.https(
            "GET", message["UnsubscribeURL"].split(d.http, 1)[1])
        self.assertEqual(status, 200, text)
        subs = d.cli_json("list-subscriptions-by-topic", "--topic-arn",
                          topic)["Subscriptions"]
        self.assertEqual(subs, [])


class HttpTlsStartTest(unittest.TestCase):

    def test_bad_files_stop_evbusd_before_it_writes(self):
        work = tempfile.mkdtemp(prefix="evbus-https-")
        try:
            ca = make_ca(work, "ca")
            key, crt = make_cert(work, "evbusd", ca, "IP:127.0.0.1")
            other_key, _ = make_cert(work, "other", ca)
            message, files = refused_start("--http-tls-cert", crt,
                                           "--http-tls-key", other_key)
            self.assertIn("http_tls_key: %s: the key does not belong to the "
                          "certificate of http_tls_cert (%s)" %
                          (other_key, crt), message)
            self.assertEqual(files, [])
            message, files = refused_start("--http-tls-key", key)
            self.assertIn("http_tls_cert: needed with http_tls_key", message)
            message, files = refused_start("--http-tls-cert", key,
                                           "--http-tls-key", key)
            self.assertIn("http_tls_cert: %s: holds no PEM certificate" % key,
                          message)
            self.assertEqual(files, [])
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
