"""The AWS-compatible HTTP endpoint under hostile input: deeply nested JSON
is refused (never a crash), idle connections do not stall the listener,
bodies are capped (gzip included) with the protocol's error, SNS takes
messages up to 256 KB, PutMetricData and Scheduler validate as AWS does."""
import gzip
import http.client
import json
import os
import socket
import time
import unittest
import urllib.parse

from evbus_harness import Daemon, entry

DEEP = 100000  # levels: a 200 KB Detail, under the 256 KB entry limit


def deep_array(n):
    return '{"a":' + "[" * n + "]" * n + "}"


class AwsEndpointLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    # -- helpers ---------------------------------------------------------

    def request(self, method, path, body=b"", headers=None, timeout=10):
        host, port = self.d.http.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def events(self, op, payload=None, raw=None, headers=None):
        h = {"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": "AWSEvents." + op}
        h.update(headers or {})
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", "/", body, h)

    def cloudwatch(self, op, payload=None, raw=None, headers=None):
        h = {"Content-Type": "application/x-amz-json-1.0",
             "X-Amz-Target": "GraniteServiceVersion20100801." + op}
        h.update(headers or {})
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", "/", body, h)

    def sns(self, params):
        body = urllib.parse.urlencode(params).encode()
        return self.request(
            "POST", "/", body,
            {"Content-Type": "application/x-www-form-urlencoded"})

    def assertAlive(self):
        self.assertIsNone(self.d.proc.poll(), self.d.log()[-2000:])
        self.assertEqual(self.d.http_get("/healthz"), (200, "ok\n"))

    def rss_kb(self):
        with open("/proc/%d/status" % self.d.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    # -- 1. nesting --------------------------------------------------------

    def test_deep_detail_is_malformed_over_http(self):
        status, _, body = self.events("PutEvents", {"Entries": [
            {"Source": "a", "DetailType": "b", "Detail": deep_array(DEEP)}]})
        self.assertEqual(status, 200, body)
        out = json.loads(body)
        self.assertEqual(out["FailedEntryCount"], 1)
        self.assertEqual(out["Entries"][0]["ErrorCode"], "MalformedDetail")
        self.assertEqual(out["Entries"][0]["ErrorMessage"],
                         "Detail is malformed.")
        self.assertAlive()

    def test_deep_detail_is_malformed_over_grpc(self):
        e = entry()
        e["Detail"] = deep_array(DEEP)
        out = self.d.put_events([e], check=False)
        self.assertIn("MalformedDetail", out.stdout + out.stderr)
        self.assertAlive()

    def test_deep_request_bodies_are_refused(self):
        deep = ('{"x":' + "[" * DEEP + "]" * DEEP + "}").encode()
        status, _, body = self.events("ListRules", raw=deep)
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"], "SerializationException")
        self.assertIn("nesting deeper than", json.loads(body)["message"])
        status, headers, body = self.cloudwatch("ListMetrics", raw=deep)
        self.assertEqual(status, 400, body)
        self.assertIn("nesting deeper than", json.loads(body)["message"])
        status, headers, body = self.request(
            "POST", "/schedules/deep", deep,
            {"Content-Type": "application/json"})
        self.assertEqual(status, 400, body)
        self.assertAlive()

    def test_deep_patterns_and_events_are_refused(self):
        n = 100000
        pattern = '{"a":' + '{"a":' * n + '["x"]' + "}" * n + "}"
        status, _, body = self.events("PutRule", {
            "Name": "deep", "EventPattern": pattern})
        self.assertEqual(status, 400, body)
        # Within the pattern length limit, deeper than patterns may nest.
        pattern = '{"a":' * 400 + '["x"]' + "}" * 400
        status, _, body = self.events("PutRule", {
            "Name": "deep", "EventPattern": pattern})
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"],
                         "InvalidEventPatternException")
        event = {"id": "1", "account": "1", "source": "s",
                 "time": "2022-01-01T00:00:00Z", "region": "r",
                 "detail-type": "t", "resources": []}
        text = json.dumps(event)[:-1] + ',"x":' + "[" * n + "]" * n + "}"
        status, _, body = self.events("TestEventPattern", {
            "EventPattern": '{"source":["s"]}', "Event": text})
        self.assertEqual(status, 400, body)
        # An input transformer's template and a target's Input.
        status, _, body = self.events("PutRule", {
            "Name": "shallow", "EventPattern": '{"source":["s"]}'})
        self.assertEqual(status, 200, body)
        status, _, body = self.events("PutTargets", {
            "Rule": "shallow", "Targets": [
                {"Id": "t", "Arn": "log:deep",
                 "Input": deep_array(4000)}]})  # within Input's 8192 chars
        self.assertIn(status, (200, 400), body)
        self.assertNotEqual(json.loads(body).get("FailedEntryCount", 1), 0)
        # An SNS filter policy.
        status, _, body = self.sns({"Action": "CreateTopic",
                                    "Name": "deep"})
        self.assertEqual(status, 200, body)
        arn = body.decode().split("<TopicArn>")[1].split("<")[0]
        status, _, body = self.sns({
            "Action": "Subscribe", "TopicArn": arn, "Protocol": "http",
            "Endpoint": "http://127.0.0.1:9/x",
            "Attributes.entry.1.key": "FilterPolicy",
            "Attributes.entry.1.value": '{"a":' + '{"a":' * 20000 + '["x"]' +
            "}" * 20000 + "}"})
        self.assertEqual(status, 400, body)
        self.assertIn(b"<ErrorResponse", body)
        self.assertAlive()

    # -- 2. idle connections, no Content-Length -----------------------------

    def test_idle_connections_do_not_stall_healthz(self):
        host, port = self.d.http.split(":")
        idle = [socket.create_connection((host, int(port)), timeout=5)
                for _ in range(64)]
        try:
            start = time.monotonic()
            self.assertEqual(self.d.http_get("/healthz", timeout=5),
                             (200, "ok\n"))
            self.assertLess(time.monotonic() - start, 1.0)
            start = time.monotonic()
            status, _, _ = self.events("ListRules", {})
            self.assertEqual(status, 200)
            self.assertLess(time.monotonic() - start, 1.0)
        finally:
            for s in idle:
                s.close()

    def test_post_without_content_length_has_an_empty_body(self):
        host, port = self.d.http.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/x-amz-json-1.1\r\n"
                      b"X-Amz-Target: AWSEvents.ListRules\r\n"
                      b"Connection: close\r\n\r\n")
            start = time.monotonic()
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            took = time.monotonic() - start
        self.assertLess(took, 1.0)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), data[:300])
        self.assertIn("Rules", json.loads(body))

    # -- 3. body caps, gzip --------------------------------------------------

    def test_gzip_bomb_is_refused_without_inflating_it(self):
        bomb = gzip.compress(b" " * (64 << 20), 9)  # 64 MiB in ~64 KB
        before = self.rss_kb()
        status, headers, body = self.events(
            "ListRules", raw=bomb, headers={"Content-Encoding": "gzip"})
        self.assertEqual(status, 413, body)
        self.assertEqual(json.loads(body)["__type"],
                         "RequestEntityTooLargeException")
        status, headers, body = self.cloudwatch(
            "ListMetrics", raw=bomb, headers={"Content-Encoding": "gzip"})
        self.assertEqual(status, 413, body)
        self.assertEqual(headers.get("x-amzn-query-error"),
                         "RequestEntityTooLargeException;Sender")
        # Inflated no further than the 1 MiB cap (it was 64 MiB and more).
        self.assertLess(self.rss_kb() - before, 32 * 1024)
        # A small gzip body still works.
        status, _, body = self.cloudwatch(
            "PutMetricData",
            raw=gzip.compress(json.dumps({"Namespace": "Gz", "MetricData": [
                {"MetricName": "m", "Value": 1}]}).encode()),
            headers={"Content-Encoding": "gzip"})
        self.assertEqual(status, 200, body)
        self.assertAlive()

    def test_plain_body_over_the_limit_is_413_with_a_body(self):
        big = b'{"x":"' + b"a" * (2 << 20) + b'"}'
        status, headers, body = self.events("ListRules", raw=big)
        self.assertEqual(status, 413, body)
        self.assertEqual(json.loads(body)["__type"],
                         "RequestEntityTooLargeException")
        self.assertAlive()

    # -- 4. SNS bodies ------------------------------------------------------

    def test_sns_publish_takes_256_kb_messages(self):
        status, _, body = self.sns({"Action": "CreateTopic", "Name": "big"})
        self.assertEqual(status, 200, body)
        arn = body.decode().split("<TopicArn>")[1].split("<")[0]
        for n in (10000, 100000, 262144):
            # JSON: URL encoding inflates it well beyond 8 KiB.
            msg = json.dumps({"data": "x" * (n - 12)})
            self.assertEqual(len(msg), n)
            status, _, body = self.sns({"Action": "Publish", "TopicArn": arn,
                                        "Message": msg})
            self.assertEqual(status, 200, (n, body[:300]))
            self.assertIn(b"<MessageId>", body)
        status, headers, body = self.sns({
            "Action": "Publish", "TopicArn": arn, "Message": "x" * 262145})
        self.assertEqual(status, 400, body)
        self.assertIn(b"<Code>InvalidParameter</Code>", body)
        self.assertIn(b"Message too long", body)
        # Beyond the form limit: the same XML error, never an empty 413.
        status, headers, body = self.sns({
            "Action": "Publish", "TopicArn": arn, "Message": "{" * 400000})
        self.assertEqual(status, 400, body)
        self.assertIn(b"<ErrorResponse", body)
        self.assertIn(b"Invalid parameter: Message too long", body)
        self.assertAlive()

    # -- 5. PutMetricData ---------------------------------------------------

    def test_put_metric_data_rejects_what_cloudwatch_rejects(self):
        def put(datum):
            return self.cloudwatch("PutMetricData", {
                "Namespace": "QA", "MetricData": [
                    dict({"MetricName": "m"}, **datum)]})

        for datum, where in (
                ({"Value": 1e300}, "MetricData.member.1.Value"),
                ({"Values": [1e300], "Counts": [1]},
                 "MetricData.member.1.Values.member.1"),
                ({"StatisticValues": {"SampleCount": 1, "Sum": 1e300,
                                      "Minimum": 1e300, "Maximum": 1e300}},
                 "MetricData.member.1.StatisticValues.Sum"),
                ({"Value": 1, "StorageResolution": 5},
                 "MetricData.member.1.StorageResolution")):
            status, headers, body = put(datum)
            self.assertEqual(status, 400, (datum, body))
            self.assertEqual(json.loads(body)["__type"],
                             "InvalidParameterValue")
            self.assertIn(where, json.loads(body)["message"])
        status, headers, body = put({"Value": 1, "Unit": "Bogus"})
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"], "ValidationError")
        self.assertIn("Value 'Bogus' at 'metricData.1.member.unit' failed to "
                      "satisfy constraint: Member must satisfy enum value set",
                      json.loads(body)["message"])
        for ok in ({"Value": 1, "StorageResolution": 1},
                   {"Value": 1, "StorageResolution": 60, "Unit": "Count"},
                   {"Value": 2.0 ** 360}):
            status, _, body = put(ok)
            self.assertEqual(status, 200, (ok, body))

    # -- 8. Scheduler names -------------------------------------------------

    def test_schedule_name_too_long_reports_the_length(self):
        target = {"Arn": "arn:aws:events:us-east-1:000000000000:"
                         "event-bus/default",
                  "RoleArn": "arn:aws:iam::000000000000:role/x",
                  "EventBridgeParameters": {"DetailType": "d",
                                            "Source": "s"}}
        status, headers, body = self.request(
            "POST", "/schedules/" + "a" * 65,
            json.dumps({"ScheduleExpression": "rate(5 minutes)",
                        "FlexibleTimeWindow": {"Mode": "OFF"},
                        "Target": target}).encode(),
            {"Content-Type": "application/json"})
        self.assertEqual(status, 400, body)
        self.assertIn("Value '%s' at 'name' failed to satisfy constraint: "
                      "Member must have length less than or equal to 64" %
                      ("a" * 65), json.loads(body)["message"])


if __name__ == "__main__":
    unittest.main()
