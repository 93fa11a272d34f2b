"""The real evbusd driven by the real evbus CLI: buses, PutEvents, the event
log, health endpoints, bad input, and shutdown."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from evbus_harness import EVBUSD, Daemon, cli, entry, refused_start


class DaemonCliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def put(self, entries, check=True):
        return self.d.cli("put-events", "--entries", json.dumps(entries),
                          check=check)

    def assert_serving(self):
        status, body = self.d.http_get("/healthz")
        self.assertEqual(status, 200)
        self.assertIsNotNone(self.d.cli_json("describe-event-bus"))

    def test_health_ready_metrics(self):
        self.assertEqual(self.d.http_get("/healthz"), (200, "ok\n"))
        self.assertEqual(self.d.http_get("/readyz"), (200, "ready\n"))
        self.put([entry()])
        status, text = self.d.http_get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn('evbus_put_events_requests_total{outcome="ok"}', text)
        self.assertIn("evbus_put_events_latency_seconds_bucket", text)
        self.assertIn('evbus_events_ingested_total{bus="default"}', text)
        self.assertIn("evbus_store_healthy 1", text)
        self.assertEqual(self.d.cli_json("health"), {"Status": "SERVING"})
        for service in ("evbus.v1.EventBusService", "evbus.v1.FunctionService",
                        "evbus.v1.TopicService", "evbus.v1.CloudWatchService"):
            self.assertEqual(self.d.cli_json("health", "--service", service),
                             {"Status": "SERVING"}, service)
        r = self.d.cli("health", "--service", "evbus.v1.Nope", check=False)
        self.assertEqual(r.returncode, 1)

    def test_default_bus(self):
        bus = self.d.cli_json("describe-event-bus")
        self.assertEqual(bus["Name"], "default")
        self.assertEqual(
            bus["Arn"], "arn:aws:events:us-east-1:000000000000:event-bus/default")
        r = self.d.cli("delete-event-bus", "--name", "default", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("An error occurred (ValidationException) when calling the "
                      "DeleteEventBus operation: Cannot delete event bus default.",
                      r.stderr)

    def test_bus_crud(self):
        out = self.d.cli_json("create-event-bus", "--name", "crud-bus",
                              "--description", "for the test")
        self.assertEqual(
            out["EventBusArn"],
            "arn:aws:events:us-east-1:000000000000:event-bus/crud-bus")
        r = self.d.cli("create-event-bus", "--name", "crud-bus", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ResourceAlreadyExistsException)", r.stderr)
        self.assertIn("Event bus crud-bus already exists.", r.stderr)
        names = [b["Name"] for b in
                 self.d.cli_json("list-event-buses", "--name-prefix", "crud")["EventBuses"]]
        self.assertEqual(names, ["crud-bus"])
        self.assertEqual(self.d.cli_json("describe-event-bus", "--name",
                                         "crud-bus")["Description"], "for the test")
        self.assertEqual(self.d.cli("delete-event-bus", "--name",
                                    "crud-bus").stdout, "")
        r = self.d.cli("describe-event-bus", "--name", "crud-bus", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ResourceNotFoundException)", r.stderr)
        self.assertIn("Event bus crud-bus does not exist.", r.stderr)

    def test_table_output(self):
        out = self.d.cli("list-event-buses", "--output", "table").stdout
        self.assertTrue(out.startswith("Name"), out)
        self.assertIn("default", out)

    def test_put_events_and_list_events(self):
        self.d.cli("create-event-bus", "--name", "orders")
        r = self.d.cli_json("put-events", "--entries", json.dumps([
            entry(detail={"order": 1}, EventBusName="orders",
                  Resources=["arn:aws:x:1"], Time="2026-01-02T03:04:05Z"),
            entry(detail={"order": 2},
                  EventBusName="arn:aws:events:us-east-1:000000000000:event-bus/orders"),
        ]))
        self.assertEqual(r["FailedEntryCount"], 0)
        ids = [e["EventId"] for e in r["Entries"]]
        self.assertEqual(len(ids), 2)
        events = self.d.cli_json("list-events", "--event-bus-name", "orders")["Events"]
        self.assertEqual([e["EventId"] for e in events], ids)
        env = events[0]["Event"]
        self.assertEqual(list(env.keys()), [
            "version", "id", "detail-type", "source", "account", "time",
            "region", "resources", "detail"])
        self.assertEqual(env["version"], "0")
        self.assertEqual(env["id"], ids[0])
        self.assertEqual(env["time"], "2026-01-02T03:04:05Z")
        self.assertEqual(env["resources"], ["arn:aws:x:1"])
        self.assertEqual(env["detail"], {"order": 1})
        self.assertEqual(env["account"], "000000000000")
        self.assertRegex(events[1]["Event"]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # Paging through --max-items.
        one = self.d.cli_json("list-events", "--event-bus-name", "orders",
                              "--max-items", "1")
        self.assertEqual(len(one["Events"]), 1)
        self.assertIn("NextToken", one)
        rest = self.d.cli_json("list-events", "--event-bus-name", "orders",
                               "--starting-token", one["NextToken"])
        self.assertEqual([e["EventId"] for e in rest["Events"]], ids[1:])
        # --next-token takes the NextToken it printed (--starting-token is
        # the aws-CLI-style alias), and both verbs' help say so.
        rest = self.d.cli_json("list-events", "--event-bus-name", "orders",
                               "--next-token", one["NextToken"])
        self.assertEqual([e["EventId"] for e in rest["Events"]], ids[1:])
        for verb in ("list-events", "list-dead-letters"):
            self.assertIn("--next-token T", self.d.cli(verb, "--help").stdout)

    def test_entries_from_file(self):
        path = os.path.join(self.d.data_dir + ".entries.json")
        with open(path, "w") as f:
            json.dump([entry()], f)
        try:
            r = self.d.cli_json("put-events", "--entries", "file://" + path)
            self.assertEqual(r["FailedEntryCount"], 0)
        finally:
            os.remove(path)

    def test_per_entry_errors(self):
        r = self.d.cli_json("put-events", "--entries", json.dumps([
            {"Source": "a.b", "DetailType": "t", "Detail": "{\"ok\":true}"},
            {"Source": "a.b", "DetailType": "t", "Detail": "{not json"},
            {"Source": "a.b", "DetailType": "t", "Detail": "[1,2]"},
            {"Source": "a.b", "DetailType": "t", "Detail": "\"str\""},
            {"DetailType": "t", "Detail": "{}"},
            {"Source": "a.b", "Detail": "{}"},
            {"Source": "a.b", "DetailType": "t"},
            {"Source": "aws.ec2", "DetailType": "t", "Detail": "{}"},
        ]))
        self.assertEqual(r["FailedEntryCount"], 7)
        e = r["Entries"]
        self.assertIn("EventId", e[0])
        for i in (1, 2, 3):
            self.assertEqual(e[i], {"ErrorCode": "MalformedDetail",
                                    "ErrorMessage": "Detail is malformed."})
        self.assertEqual(e[4], {"ErrorCode": "InvalidArgument", "ErrorMessage":
                                "Parameter Source is not valid. Reason: Source is a required argument."})
        self.assertEqual(e[5]["ErrorMessage"],
                         "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
        self.assertEqual(e[6]["ErrorMessage"],
                         "Parameter Detail is not valid. Reason: Detail is a required argument.")
        self.assertEqual(e[7]["ErrorCode"], "NotAuthorizedForSourceException")
        self.assert_serving()

    def test_whole_request_errors(self):
        r = self.put([entry()] * 11, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("An error occurred (ValidationException) when calling the "
                      "PutEvents operation: 1 validation error detected: Value '[PutEventsRequestEntry(",
                      r.stderr)
        self.assertIn("at 'entries' failed to satisfy constraint: Member must "
                      "have length less than or equal to 10", r.stderr)
        big = entry(detail={"pad": "x" * 262144})
        r = self.d.put_events([big], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ValidationException)", r.stderr)
        self.assertIn("Total size of the entries in the request is over the limit.",
                      r.stderr)
        r = self.put([], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Member must have length greater than or equal to 1", r.stderr)
        r = self.put([entry(EventBusName="bad bus!")], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Value 'bad bus!' at 'entries.1.member.eventBusName' failed "
                      "to satisfy constraint", r.stderr)
        self.assert_serving()

    def test_unknown_bus_is_acknowledged_and_counted(self):
        r = self.d.cli_json("put-events", "--entries",
                            json.dumps([entry(EventBusName="no-such-bus")]))
        self.assertEqual(r["FailedEntryCount"], 0)
        self.assertIn("EventId", r["Entries"][0])
        _, text = self.d.http_get("/metrics")
        line = [l for l in text.splitlines()
                if l.startswith("evbus_put_events_unknown_bus_total")][0]
        self.assertGreaterEqual(float(line.split()[-1]), 1)

    def test_invalid_bus_names(self):
        r = self.d.cli("create-event-bus", "--name", "has space", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Value 'has space' at 'name' failed to satisfy constraint: "
                      "Member must satisfy regular expression pattern", r.stderr)
        r = self.d.cli("create-event-bus", "--name", "x" * 257, check=False)
        self.assertIn("Member must have length less than or equal to 256", r.stderr)
        self.assert_serving()

    def test_usage_errors_exit_2(self):
        for args in (["put-events", "--entries", "[{"],
                     ["put-events", "--entries", "[{\"Sauce\":\"x\"}]"],
                     ["put-events", "--bogus", "1"],
                     ["put-events"],
                     ["no-such-verb"],
                     ["list-events", "--max-items", "0"],
                     ["list-events", "--start-time", "yesterday"],
                     ["put-events", "--entries", "file:///no/such/file.json"]):
            r = self.d.cli(*args, check=False)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
        r = self.d.cli("put-events", "--entries", "[{\"Sauce\":\"x\"}]", check=False)
        self.assertIn('Unknown parameter in Entries[0]: "Sauce"', r.stderr)
        r = self.d.cli("put-events", "--entries", "[{", check=False)
        self.assertIn("Error parsing parameter '--entries'", r.stderr)
        self.assert_serving()

    def test_unreachable_endpoint_exit_1(self):
        r = cli("--endpoint", "127.0.0.1:1", "--cli-read-timeout", "3",
                "describe-event-bus", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("127.0.0.1:1", r.stderr)


class StartupPagesTest(unittest.TestCase):
    """Once serving, evbusd releases the read-only file pages start-up
    touched (server/common/file_pages.h): its file-backed RSS drops, and it
    keeps serving (the pages fault back in)."""

    def released_line(self, d):
        for _ in range(100):
            for line in d.log().splitlines():
                if "start-up pages" in line:
                    return line
            time.sleep(0.05)
        return None

    def rss_file_kb(self, d):
        with open("/proc/%d/status" % d.proc.pid) as f:
            for line in f:
                if line.startswith("RssFile:"):
                    return int(line.split()[1])
        return -1

    def test_released_once_serving(self):
        d = Daemon().start()
        try:
            line = self.released_line(d)
            self.assertIsNotNone(line, d.log())
            if "start-up pages kept" in line:
                self.skipTest(line)
            before, after = [int(x) for x in line.split(
                "file-backed RSS ")[1].replace(" kB", "").split(" -> ")]
            self.assertLess(after, before, line)
            self.assertLess(self.rss_file_kb(d), before)
            out = d.cli_json("put-events", "--entries",
                             json.dumps([entry(source="pages.test")]))
            self.assertEqual(out["FailedEntryCount"], 0, out)
        finally:
            d.cleanup()

    def test_kept_when_turned_off(self):
        d = Daemon(extra_args=["--release_startup_pages=false"]).start()
        try:
            time.sleep(0.3)
            self.assertNotIn("start-up pages", d.log())
        finally:
            d.cleanup()


class RuleQuotaTest(unittest.TestCase):

    def test_max_rules_per_bus_is_configurable(self):
        # EventBridge's default quota is 300 rules per bus; evbusd's flag
        # sets it (here down to 2, so the test stays small).
        d = Daemon(extra_args=["--max-rules-per-bus", "2"]).start()
        try:
            for name in ("a", "b"):
                d.cli("put-rule", "--name", name, "--event-pattern",
                      '{"source":["%s"]}' % name)
            r = d.cli("put-rule", "--name", "c", "--event-pattern",
                      '{"source":["c"]}', check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("LimitExceededException", r.stderr)
            # Replacing an existing rule is not a new one.
            d.cli("put-rule", "--name", "a", "--event-pattern",
                  '{"source":["a2"]}')
        finally:
            d.cleanup()


class LifecycleTest(unittest.TestCase):

    def test_help_lists_every_flag_and_exits_zero(self):
        r = subprocess.run([EVBUSD, "--help"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("No flags matched", r.stdout + r.stderr)
        self.assertIn("evbusd --data-dir DIR", r.stdout)
        for flag in ("--data-dir", "--stack", "--aws-credentials", "--python",
                     "--node", "--max-rules-per-bus", "--clock-start",
                     "--release-startup-pages"):
            self.assertIn("  %s  " % flag, r.stdout)
        self.assertIn("rules per event bus (EventBridge's default quota) "
                      "(default: \"300\")", r.stdout)
        full = subprocess.run([EVBUSD, "--helpfull"], capture_output=True,
                              text=True, timeout=30)
        self.assertIn("max_rules_per_bus", full.stdout + full.stderr)

    def test_manual_clock_resumes_where_it_was(self):
        d = Daemon(extra_args=["--clock", "manual", "--clock-start",
                               "2026-03-01T12:00:00Z"]).start()
        try:
            d.cli("clock", "advance", "2h")
            self.assertEqual(d.stop(), 0)
            d.start()
            self.assertTrue(d.cli_json("clock", "get")["Time"].startswith(
                "2026-03-01T14:00:00"))
            self.assertIn("manual clock resumes at 2026-03-01T14:00:00", d.log())
            self.assertEqual(d.stop(), 0)
            # A later --clock-start wins over the stored time.
            d.extra_args[-1] = "2026-03-02T00:00:00Z"
            d.start()
            self.assertTrue(d.cli_json("clock", "get")["Time"].startswith(
                "2026-03-02T00:00:00"))
        finally:
            d.cleanup()

    def test_sigterm_exits_zero_quickly_and_data_survives(self):
        d = Daemon().start()
        try:
            ids = [e["EventId"] for e in d.cli_json(
                "put-events", "--entries", json.dumps([entry()] * 3))["Entries"]]
            t0 = time.monotonic()
            self.assertEqual(d.stop(), 0)
            self.assertLess(time.monotonic() - t0, 5.0)
            self.assertIn("stopped", d.log())
            d.start()
            got = [e["EventId"] for e in d.cli_json("list-events")["Events"]]
            self.assertEqual(got, ids)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_bad_flags_and_config(self):
        refused_start("--no-such-flag")
        self.assertIn("account", refused_start("--account", "12")[0])
        for bad in ("5-1", "0-10", "700000000", "a-b", "1-4294967295"):
            self.assertIn("function_uids: must be FIRST-LAST (1 <= FIRST <= "
                          "LAST < 4294967295) or none, not '%s'" % bad,
                          refused_start("--function-uids", bad)[0])
        # More free space asked for than the disk has: refused at start,
        # naming the flag, before anything is written.
        message, files = refused_start("--min-free-disk-mb", "1073741824")
        self.assertIn("--min-free-disk-mb", message)
        self.assertEqual(files, [])
        # A value out of range in the config file names the file; the same
        # key given as a flag does not.
        work = tempfile.mkdtemp(prefix="evbus-cfg-")
        try:
            path = os.path.join(work, "bad.json")
            with open(path, "w") as f:
                json.dump({"http_header_timeout_seconds": -5}, f)
            message, _ = refused_start("--config", path)
            self.assertIn("%s: http_header_timeout_seconds: must be between 0 "
                          "and 3600" % path, message)
            message, _ = refused_start(
                "--config", path, "--http-header-timeout-seconds", "-1")
            self.assertIn("evbusd: http_header_timeout_seconds: must be", message)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_http_connection_limits_are_flags(self):
        # An idle connection is closed after --http-keep-alive-seconds (the
        # default is 5 s).
        def idle_close_seconds(d):
            host, port = d.http.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=30) as s:
                start = time.monotonic()
                self.assertEqual(s.recv(1), b"")  # closed by evbusd
                return time.monotonic() - start
        d = Daemon(extra_args=["--http-keep-alive-seconds", "1",
                               "--http-read-timeout-seconds", "1"]).start()
        try:
            self.assertLess(idle_close_seconds(d), 3.5)
        finally:
            d.cleanup()
        d = Daemon(extra_args=["--http-max-connections", "1"]).start()
        try:
            # One connection at a time still serves one client after
            # another.
            status, body = d.http_get("/healthz")
            self.assertEqual((status, body.strip()), (200, "ok"))
        finally:
            d.cleanup()
        self.assertIn("http_max_connections: must be between 1 and 65536",
                      refused_start("--http-max-connections", "0")[0])

    def test_trickled_request_heads_do_not_stop_the_listener(self):
        # A "slowloris": every connection thread held by a client that sends
        # its request head a byte at a time, each byte within the read
        # timeout. Those connections are closed after
        # --http-header-timeout-seconds, and /healthz answers again.
        d = Daemon(extra_args=["--http-max-connections", "4",
                               "--http-header-timeout-seconds", "2"]).start()
        host, port = d.http.rsplit(":", 1)
        drippers = []
        try:
            for _ in range(6):
                s = socket.create_connection((host, int(port)), timeout=10)
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
                drippers.append(s)
            closed = set()
            start = time.monotonic()
            answered = None
            # Bounded: 40 rounds of 0.25 s.
            for _ in range(40):
                for i, s in enumerate(drippers):
                    if i in closed:
                        continue
                    try:
                        s.sendall(b"X")
                    except OSError:
                        closed.add(i)
                if answered is None:
                    try:
                        with socket.create_connection((host, int(port)),
                                                      timeout=0.25) as probe:
                            probe.sendall(b"GET /healthz HTTP/1.1\r\n"
                                          b"Host: x\r\nConnection: close\r\n\r\n")
                            if probe.recv(64).startswith(b"HTTP/1.1 200"):
                                answered = time.monotonic() - start
                    except OSError:
                        pass
                if answered is not None and len(closed) == len(drippers):
                    break
                time.sleep(0.25)
            self.assertIsNotNone(answered, "/healthz never answered")
            self.assertLess(answered, 8)
            self.assertEqual(len(closed), len(drippers))
            self.assertIn("sent no complete request", d.log())
            _, metrics = d.http_get("/metrics")
            closed = [float(line.split()[-1]) for line in metrics.splitlines()
                      if line.startswith("evbus_http_stalled_connections_closed_total")]
            self.assertEqual(len(closed), 1, metrics)
            self.assertGreaterEqual(closed[0], len(drippers))
        finally:
            for s in drippers:
                s.close()
            d.cleanup()
        self.assertIn("http_header_timeout_seconds: must be between 0 and 3600",
                      refused_start("--http-header-timeout-seconds", "-1")[0])

    def test_trickled_request_bodies_do_not_stop_the_listener(self):
        # "Slow POST": complete heads, then a body byte every 0.25 s, on
        # every connection thread. A body must arrive within the header
        # timeout plus a second per 500 bytes: the trickles are answered
        # 408 and closed, and /healthz, waiting meanwhile with its complete
        # request, is answered (not closed as stalled while it waited).
        d = Daemon(extra_args=["--http-max-connections", "4",
                               "--http-header-timeout-seconds", "2"]).start()
        host, port = d.http.rsplit(":", 1)
        drippers = []
        try:
            for _ in range(4):
                s = socket.create_connection((host, int(port)), timeout=10)
                s.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 100000\r\n\r\n")
                drippers.append(s)
            time.sleep(0.5)
            probe = socket.create_connection((host, int(port)), timeout=15)
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
            start = time.monotonic()
            answers = {}
            # Bounded: 60 rounds of 0.25 s.
            for _ in range(60):
                for i, s in enumerate(drippers):
                    if i in answers:
                        continue
                    try:
                        s.sendall(b"x")
                        s.setblocking(False)
                        try:
                            got = s.recv(100)
                            if got:
                                answers[i] = got
                        except BlockingIOError:
                            pass
                        finally:
                            s.setblocking(True)
                    except OSError:
                        answers[i] = b"closed"
                if len(answers) == len(drippers):
                    break
                time.sleep(0.25)
            self.assertEqual(len(answers), len(drippers), answers)
            self.assertTrue(all(a.startswith(b"HTTP/1.1 408") or a == b"closed"
                                for a in answers.values()), answers)
            reply = probe.recv(64)
            waited = time.monotonic() - start
            probe.close()
            self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply)
            self.assertLess(waited, 10)
        finally:
            for s in drippers:
                s.close()
            d.cleanup()

    def test_debug_log_level_traces_matching_and_delivery(self):
        d = Daemon(extra_args=["--log-level", "debug"]).start()
        try:
            d.cli("put-rule", "--name", "traced", "--event-pattern",
                  json.dumps({"source": ["trace.me"]}))
            d.cli("put-targets", "--rule", "traced", "--targets",
                  json.dumps([{"Id": "log", "Arn": "log:traced"}]))
            out = d.cli_json("put-events", "--entries", json.dumps(
                [entry(source="trace.me"), entry(source="not.me")]))
            hit, miss = [e["EventId"] for e in out["Entries"]]
            want = ["event %s on bus default matched rule traced (1 targets)" % hit,
                    "event %s on bus default matched no rule" % miss,
                    "delivery default/traced/log event %s attempt 1: ok" % hit]
            deadline = time.monotonic() + 10
            while (time.monotonic() < deadline and
                   not all(w in d.log() for w in want)):
                time.sleep(0.05)
            for w in want:
                self.assertIn(w, d.log())
        finally:
            d.cleanup()
        # At the default level, none of it.
        d = Daemon().start()
        try:
            d.cli_json("put-events", "--entries", json.dumps([entry()]))
            time.sleep(0.2)
            self.assertNotIn("matched no rule", d.log())
        finally:
            d.cleanup()

    def test_config_file(self):
        d = Daemon()
        path = d.data_dir + ".config.json"
        with open(path, "w") as f:
            json.dump({"account": "123456789012", "region": "eu-west-1",
                       "allow_reserved_sources": True}, f)
        d.extra_args = ["--config", path]
        try:
            d.start()
            bus = d.cli_json("describe-event-bus")
            self.assertEqual(
                bus["Arn"], "arn:aws:events:eu-west-1:123456789012:event-bus/default")
            r = d.cli_json("put-events", "--entries",
                           json.dumps([entry(source="aws.ec2")]))
            self.assertEqual(r["FailedEntryCount"], 0)
        finally:
            d.cleanup()
            os.remove(path)

    def test_larger_payload_limit_flag(self):
        d = Daemon(extra_args=["--max-request-bytes", "1048576"]).start()
        try:
            r = json.loads(d.put_events([entry(detail={"pad": "x" * 500000})]).stdout)
            self.assertEqual(r["FailedEntryCount"], 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
