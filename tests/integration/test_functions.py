"""Functions through the CLI against a real evbusd: Python and Node
handlers run as child processes (as uids of their own when the test runs as
root),
synchronously and asynchronously, warm reuse, errors, throttles, isolation,
restart, a rule with a function target, retries and the dead letter."""
import json
import os
import shutil
import tempfile
import time
import unittest

from evbus_harness import Daemon, entry
from receiver import Receiver

START = "2026-03-01T00:00:00Z"

PY_APP = r'''
import json, os, urllib.request
calls = 0
def lambda_handler(event, context):
    global calls
    calls += 1
    print("event", json.dumps(event))
    if "report" in os.environ:
        req = urllib.request.Request(os.environ["report"],
            data=json.dumps({"event": event, "calls": calls}).encode(),
            method="POST")
        urllib.request.urlopen(req, timeout=5).read()
    detail = event.get("detail", {}) if isinstance(event, dict) else {}
    if isinstance(event, dict) and (event.get("fail") or detail.get("fail")):
        raise RuntimeError("health check failed for " + os.environ.get("site", "?"))
    return {"calls": calls, "pid": os.getpid(), "uid": os.getuid(),
            "leak": os.environ.get("EVBUS_IT_SECRET"),
            "site": os.environ.get("site"), "tmp": os.environ.get("TMPDIR"),
            "request_id": context.aws_request_id}
'''

NODE_APP = r'''
exports.handler = async (event, context) => {
  console.log('node got', JSON.stringify(event));
  if (event.fail) throw new Error('node failure');
  return {node: true, n: event.n, fn: context.functionName};
};
'''


class FunctionsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        os.environ["EVBUS_IT_SECRET"] = "must-not-leak"
        cls.d = Daemon(extra_args=["--clock", "manual", "--clock-start",
                                   START]).start()
        cls.work = tempfile.mkdtemp(prefix="evbus-fn-")
        cls.code = os.path.join(cls.work, "py")
        os.makedirs(cls.code)
        with open(os.path.join(cls.code, "app.py"), "w") as f:
            f.write(PY_APP)
        cls.node_code = os.path.join(cls.work, "node")
        os.makedirs(cls.node_code)
        with open(os.path.join(cls.node_code, "index.js"), "w") as f:
            f.write(NODE_APP)
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.close()
        cls.d.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)
        os.environ.pop("EVBUS_IT_SECRET", None)

    def create(self, name, *extra, code=None, runtime="python3.11",
               handler="app.lambda_handler"):
        return self.d.cli_json("create-function", "--function-name", name,
                               "--runtime", runtime, "--handler", handler,
                               "--code", code or self.code, *extra)

    def invoke(self, name, payload, *extra):
        out = os.path.join(self.work, "out-%s.json" % name)
        meta = self.d.cli_json("invoke", "--function-name", name,
                               "--payload", json.dumps(payload), *extra, out)
        with open(out) as f:
            body = f.read()
        return meta, (json.loads(body) if body else None)

    def test_sync_invoke_warm_reuse_isolation_and_errors(self):
        created = self.create("hc", "--environment",
                              '{"Variables":{"site":"http://intranet"}}',
                              "--timeout", "10")
        self.assertEqual(created["Timeout"], 10)
        self.assertEqual(created["MemorySize"], 128)
        self.assertEqual(created["Environment"]["Variables"]["site"],
                         "http://intranet")
        meta, first = self.invoke("hc", {"n": 1})
        self.assertEqual(meta["StatusCode"], 200)
        self.assertNotIn("FunctionError", meta)
        self.assertEqual(first["site"], "http://intranet")
        self.assertIsNone(first["leak"], "evbusd's environment leaked")
        if os.geteuid() == 0:
            self.assertNotEqual(first["uid"], 0, "functions must not run as root")
        meta, second = self.invoke("hc", {"n": 2})
        self.assertEqual(second["calls"], 2, "warm environment not reused")
        self.assertEqual(second["pid"], first["pid"])
        meta, err = self.invoke("hc", {"fail": True}, "--log-type", "Tail")
        self.assertEqual(meta["FunctionError"], "Unhandled")
        self.assertEqual(err["errorType"], "RuntimeError")
        self.assertIn("health check failed for http://intranet",
                      err["errorMessage"])
        self.assertTrue(err["stackTrace"])
        import base64
        tail = base64.b64decode(meta["LogResult"]).decode()
        self.assertIn("REPORT RequestId", tail)
        logs = self.d.cli("logs", "tail", "hc").stdout
        self.assertIn("START RequestId: " + first["request_id"], logs)
        self.assertIn("Init Duration", logs)
        self.assertIn('event {"n": 1}', logs)

    @unittest.skipUnless(os.geteuid() == 0,
                         "functions run as evbusd's own user unless root")
    def test_functions_cannot_read_the_store(self):
        """A connection's secret is in the store's WAL; a function (another
        user) can pass through the data directory but not list it or read
        the store's files."""
        self.d.cli_json("create-connection", "--name", "vault",
                        "--authorization-type", "API_KEY", "--auth-parameters",
                        '{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key",'
                        '"ApiKeyValue":"SUPERSECRET-7f3a"}}')
        peek = os.path.join(self.work, "peek")
        os.makedirs(peek)
        with open(os.path.join(peek, "app.py"), "w") as f:
            f.write(
                "import os\n"
                "def handler(event, context):\n"
                "    d = event['dir']\n"
                "    try:\n"
                "        names = os.listdir(d)\n"
                "        listed = True\n"
                "    except PermissionError:\n"
                "        names, listed = event['names'], False\n"
                "    hits, denied = [], 0\n"
                "    for n in names:\n"
                "        try:\n"
                "            with open(os.path.join(d, n), 'rb') as f:\n"
                "                if b'SUPERSECRET-7f3a' in f.read():\n"
                "                    hits.append(n)\n"
                "        except PermissionError:\n"
                "            denied += 1\n"
                "    return {'listed': listed, 'hits': hits, 'denied': denied}\n")
        self.create("peek", code=peek, handler="app.handler")
        names = [n for n in os.listdir(self.d.data_dir)
                 if os.path.isfile(os.path.join(self.d.data_dir, n))]
        meta, out = self.invoke("peek", {"dir": self.d.data_dir,
                                         "names": names})
        self.assertNotIn("FunctionError", meta, out)
        self.assertFalse(out["listed"])
        self.assertEqual(out["hits"], [])
        self.assertEqual(out["denied"], len(names))

    @unittest.skipUnless(os.geteuid() == 0,
                         "functions run as evbusd's own user unless root")
    def test_functions_are_isolated_from_each_other(self):
        """QA J F2: each function runs as a uid of its own, so another
        function can neither read its environment, code or files, nor signal
        it, nor take or answer its invocations through its Runtime API."""
        victim = os.path.join(self.work, "victim")
        os.makedirs(victim)
        with open(os.path.join(victim, "app.py"), "w") as f:
            f.write(
                "import os\n"
                "def handler(event, context):\n"
                "    return {'uid': os.getuid(), 'gid': os.getgid(),\n"
                "            'pid': os.getpid(), 'cwd': os.getcwd(),\n"
                "            'root': os.environ['LAMBDA_TASK_ROOT'],\n"
                "            'api': os.environ['AWS_LAMBDA_RUNTIME_API'],\n"
                "            'secret': os.environ.get('VICTIM_SECRET')}\n")
        probe = os.path.join(self.work, "probe")
        os.makedirs(probe)
        with open(os.path.join(probe, "app.py"), "w") as f:
            f.write(
                "import os, signal, urllib.request, urllib.error\n"
                "def attempt(f):\n"
                "    try:\n"
                "        f()\n"
                "        return 'allowed'\n"
                "    except PermissionError:\n"
                "        return 'denied'\n"
                "    except OSError as e:\n"
                "        return 'error %s' % e\n"
                "def handler(event, context):\n"
                "    v = event['victim']\n"
                "    out = {'uid': os.getuid()}\n"
                "    out['environ'] = attempt(lambda: open(\n"
                "        '/proc/%d/environ' % v['pid'], 'rb').read())\n"
                "    out['kill'] = attempt(lambda: os.kill(v['pid'], 0))\n"
                "    out['code'] = attempt(lambda: open(\n"
                "        os.path.join(v['root'], 'app.py')).read())\n"
                "    out['list_code'] = attempt(lambda: os.listdir(v['root']))\n"
                "    out['cwd'] = attempt(lambda: os.listdir(v['cwd']))\n"
                "    out['unstarted'] = attempt(lambda: os.listdir(\n"
                "        event['unstarted']))\n"
                "    own = os.path.join(os.environ['LAMBDA_TASK_ROOT'], 'app.py')\n"
                "    out['own_code_write'] = attempt(lambda: open(own, 'a'))\n"
                "    out['own_code_read'] = attempt(lambda: open(own).read())\n"
                "    url = 'http://%s/2018-06-01/runtime/invocation/next' % v['api']\n"
                "    try:\n"
                "        urllib.request.urlopen(url, timeout=3).read()\n"
                "        out['runtime_api'] = 200\n"
                "    except urllib.error.HTTPError as e:\n"
                "        out['runtime_api'] = e.code\n"
                "    except Exception as e:\n"
                "        out['runtime_api'] = repr(e)\n"
                "    return out\n")
        self.create("victim", "--environment",
                    '{"Variables":{"VICTIM_SECRET":"s3cr3t-F2"}}',
                    code=victim, handler="app.handler")
        self.create("probe", code=probe, handler="app.handler")
        # A function that has not started yet: its code is closed to all.
        self.create("sleeper", code=victim, handler="app.handler")
        sleeper_root = os.path.join(self.d.data_dir, "functions", "code",
                                    "sleeper")
        sleeper_code = os.path.join(sleeper_root, os.listdir(sleeper_root)[0])
        meta, v = self.invoke("victim", {})
        self.assertNotIn("FunctionError", meta, v)
        self.assertEqual(v["secret"], "s3cr3t-F2")
        meta, p = self.invoke("probe", {"victim": v,
                                        "unstarted": sleeper_code})
        self.assertNotIn("FunctionError", meta, p)
        # Uids of their own, from --function-uids (default 70000-99999).
        for uid in (v["uid"], p["uid"]):
            self.assertGreaterEqual(uid, 70000)
            self.assertLessEqual(uid, 99999)
        self.assertNotEqual(v["uid"], p["uid"])
        self.assertEqual(v["gid"], v["uid"])
        self.assertEqual(p["environ"], "denied")
        self.assertEqual(p["kill"], "denied")
        self.assertEqual(p["code"], "denied")
        self.assertEqual(p["list_code"], "denied")
        self.assertEqual(p["cwd"], "denied")
        self.assertEqual(p["unstarted"], "denied")
        # Its own code it reads but cannot change (Lambda's /var/task is
        # read-only).
        self.assertEqual(p["own_code_read"], "allowed")
        self.assertEqual(p["own_code_write"], "denied")
        self.assertEqual(p["runtime_api"], 403)
        # The victim still gets its own invocations, in the same warm
        # environment.
        meta, again = self.invoke("victim", {})
        self.assertNotIn("FunctionError", meta, again)
        self.assertEqual(again["pid"], v["pid"])
        # A process outside every environment (root, here) is refused too.
        import urllib.error
        import urllib.request
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(
                "http://%s/2018-06-01/runtime/invocation/next" % v["api"],
                timeout=5)
        self.assertEqual(ctx.exception.code, 403)
        self.assertIn(b"AccessDeniedException", ctx.exception.read())

    def test_node_handler(self):
        self.create("js", code=self.node_code, runtime="nodejs20.x",
                    handler="index.handler")
        meta, out = self.invoke("js", {"n": 5})
        self.assertEqual(out, {"node": True, "n": 5, "fn": "js"})
        meta, err = self.invoke("js", {"fail": True})
        self.assertEqual(meta["FunctionError"], "Unhandled")
        self.assertEqual(err["errorType"], "Error")
        self.assertEqual(err["errorMessage"], "node failure")

    def test_bad_input_and_throttles(self):
        r = self.d.cli("create-function", "--function-name", "bad",
                       "--runtime", "python3", "--handler", "app.h",
                       "--code", self.code, "--timeout", "901", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ValidationException", r.stderr)
        self.assertIn("'timeout'", r.stderr)
        r = self.d.cli("invoke", "--function-name", "missing", "--payload",
                       "{}", "/dev/null", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ResourceNotFoundException", r.stderr)
        self.create("zero", "--reserved-concurrency", "0")
        r = self.d.cli("invoke", "--function-name", "zero", "--payload", "{}",
                       "/dev/null", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("TooManyRequestsException", r.stderr)
        metrics = self.d.http_get("/metrics")[1]
        self.assertIn('evbus_function_throttles_total{function="zero"} 1',
                      metrics)

    def test_rule_target_async_retries_and_dead_letter(self):
        self.create("react", "--environment", json.dumps(
            {"Variables": {"report": self.receiver.url("/react")}}))
        self.d.cli("put-rule", "--name", "to-fn", "--event-pattern",
                   '{"source":["com.example.fn"]}')
        self.d.cli("put-targets", "--rule", "to-fn", "--targets",
                   '[{"Id":"f","Arn":"function:react"}]')
        self.d.put_events([entry(source="com.example.fn",
                                 detail={"ok": 1})])
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/react" and '"ok": 1' in r["body"]
                           for r in rs), timeout=30))
        # A failing event: first run, then two retries about a minute
        # apart (manual clock), then the dead letter.
        self.d.put_events([entry(source="com.example.fn",
                                 detail={"fail": True})])
        failing = lambda rs: [r for r in rs if r["path"] == "/react"
                              and '"fail": true' in r["body"]]
        self.assertTrue(self.receiver.wait_for(lambda rs: len(failing(rs)) >= 1))
        for expected in (2, 3):
            deadline = time.monotonic() + 30
            while (len(failing(self.receiver.requests)) < expected
                   and time.monotonic() < deadline):
                self.d.cli("clock", "advance", "2m")
                time.sleep(0.3)
            self.assertEqual(len(failing(self.receiver.requests)), expected)
        dead = []
        deadline = time.monotonic() + 20
        while not dead and time.monotonic() < deadline:
            dead = self.d.cli_json("list-dead-letters", "--event-bus-name",
                                   "aws.lambda", "--rule", "react")["DeadLetters"]
            time.sleep(0.2)
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["RETRY_ATTEMPTS"], 2)
        self.assertEqual(dead[0]["EXHAUSTED_RETRY_CONDITION"],
                         "MaximumRetryAttempts")
        self.assertEqual(dead[0]["Event"]["detail"], {"fail": True})
        self.d.cli("clock", "advance", "10m")
        time.sleep(1)
        self.assertEqual(len(failing(self.receiver.requests)), 3,
                         "a dead-lettered event must not run again")
        # Invoke --invocation-type Event is queued too.
        meta = self.d.cli_json("invoke", "--function-name", "react",
                               "--invocation-type", "Event", "--payload",
                               '{"async": 7}', "/dev/null")
        self.assertEqual(meta["StatusCode"], 202)
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any('"async": 7' in r["body"] for r in rs), timeout=30))

    def test_a_data_dir_under_tmp_is_reported(self):
        # As root, functions get a private /tmp unless the data directory is
        # itself under /tmp (their code would vanish with it): evbusd says so.
        if os.geteuid() != 0 or not self.d.data_dir.startswith("/tmp/"):
            self.skipTest("needs root and a data dir under /tmp")
        self.assertIn("functions get no private /tmp", self.d.log())

    def test_queued_events_do_not_run_on_a_new_function_of_the_same_name(self):
        # An asynchronous event whose first run failed waits for its retry.
        # The function is deleted and created again: the retry belongs to
        # the old function and is not run by the new one.
        self.create("phoenix", "--environment", json.dumps(
            {"Variables": {"report": self.receiver.url("/phoenix-old")}}))
        self.d.cli_json("invoke", "--function-name", "phoenix",
                        "--invocation-type", "Event", "--payload",
                        '{"fail": true, "n": 1}', "/dev/null")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/phoenix-old" for r in rs), timeout=30))
        self.d.cli("delete-function", "--function-name", "phoenix")
        self.create("phoenix", "--environment", json.dumps(
            {"Variables": {"report": self.receiver.url("/phoenix-new")}}))
        for _ in range(4):  # past both retries (about a minute apart)
            self.d.cli("clock", "advance", "2m")
            time.sleep(0.3)
        self.d.cli_json("invoke", "--function-name", "phoenix",
                        "--invocation-type", "Event", "--payload",
                        '{"n": 2}', "/dev/null")
        self.assertTrue(self.receiver.wait_for(
            lambda rs: any(r["path"] == "/phoenix-new" for r in rs), timeout=30))
        time.sleep(0.5)
        new = [r["body"] for r in self.receiver.requests
               if r["path"] == "/phoenix-new"]
        self.assertEqual(len(new), 1, new)
        self.assertIn('"n": 2', new[0])
        self.assertEqual(len([r for r in self.receiver.requests
                              if r["path"] == "/phoenix-old"]), 1)


class FunctionRestartTest(unittest.TestCase):

    def test_function_survives_restart_and_code_folder_removal(self):
        work = tempfile.mkdtemp(prefix="evbus-fn-")
        d = Daemon().start()
        try:
            code = os.path.join(work, "code")
            os.makedirs(code)
            with open(os.path.join(code, "app.py"), "w") as f:
                f.write("def h(event, context):\n    return {'v': 1}\n")
            d.cli_json("create-function", "--function-name", "keep",
                       "--runtime", "python3", "--handler", "app.h",
                       "--code", code)
            shutil.rmtree(code)  # the code was copied into the data dir
            self.assertEqual(d.stop(), 0)
            d.start()
            out = os.path.join(work, "out.json")
            meta = d.cli_json("invoke", "--function-name", "keep", out)
            self.assertEqual(meta["StatusCode"], 200)
            with open(out) as f:
                self.assertEqual(json.load(f), {"v": 1})
            names = [f["FunctionName"] for f in
                     d.cli_json("list-functions")["Functions"]]
            self.assertEqual(names, ["keep"])
            d.cli("delete-function", "--function-name", "keep")
            r = d.cli("get-function", "--function-name", "keep", check=False)
            self.assertIn("ResourceNotFoundException", r.stderr)
        finally:
            d.cleanup()
            shutil.rmtree(work, ignore_errors=True)


class RelativeDataDirTest(unittest.TestCase):
    """`evbusd --data-dir ./data` (the README's form): functions still find
    their code and runtime although each environment runs in its own
    working directory."""

    def test_relative_data_dir(self):
        work = tempfile.mkdtemp(prefix="evbus-rel-")
        os.chmod(work, 0o755)
        d = Daemon(data_dir=os.path.relpath(os.path.join(work, "data"))).start()
        try:
            code = os.path.join(work, "code")
            os.makedirs(code)
            with open(os.path.join(code, "app.py"), "w") as f:
                f.write("def h(event, context):\n    return {'ok': 1}\n")
            d.cli_json("create-function", "--function-name", "rel",
                       "--runtime", "python3", "--handler", "app.h",
                       "--code", code)
            out = os.path.join(work, "out.json")
            meta = d.cli_json("invoke", "--function-name", "rel", out)
            self.assertNotIn("FunctionError", meta)
            with open(out) as f:
                self.assertEqual(json.load(f), {"ok": 1})
        finally:
            d.cleanup()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
