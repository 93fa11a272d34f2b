"""Hermetic tests for evbus's own Lambda runtime interface clients.

Each test starts an in-process fake Runtime API (ThreadingHTTPServer on
127.0.0.1:0), writes handler code into a temp dir, launches python/bootstrap.py
or nodejs/bootstrap.js as a real child process with a clean environment, feeds
it events and checks what it posts back. Every wait is bounded; the child is
always killed in tearDown.

    cd /work/main && /usr/bin/python3 -m unittest server/functions/runtimes/runtimes_test.py -v
"""
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import textwrap
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PY_BOOTSTRAP = os.path.join(HERE, "python", "bootstrap.py")
NODE_BOOTSTRAP = os.path.join(HERE, "nodejs", "bootstrap.js")
PYTHON = "/usr/bin/python3"
NODE = shutil.which("node")
WAIT = 15  # seconds: upper bound for any single wait
PREFIX = "/2018-06-01/runtime"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"


class FakeRuntimeAPI:
    """Serves queued events on /next one at a time; records every post."""

    def __init__(self, close_connections=False):
        self.close_connections = close_connections  # HTTP/1.0-style: client must reconnect
        self.events = queue.Queue()
        self.posts = queue.Queue()  # dicts: kind, request_id, headers, body
        self.stopping = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real Runtime API

            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=None):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                if api.close_connections:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self.reply(404, {"errorType": "NotFound"})
                while not api.stopping.is_set():
                    try:
                        request_id, body, headers = api.events.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    return self.reply(200, body, dict(headers, **{
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Content-Type": "application/json"}))
                self.close_connection = True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                m = re.fullmatch(PREFIX + r"/invocation/([^/]+)/(response|error)", self.path)
                if m:
                    kind, request_id = m.group(2), m.group(1)
                elif self.path == PREFIX + "/init/error":
                    kind, request_id = "init_error", None
                else:
                    return self.reply(404, {"errorType": "NotFound"})
                api.posts.put({"kind": kind, "request_id": request_id,
                               "headers": dict(self.headers), "body": json.loads(raw)})
                self.reply(202, {"status": "OK"})

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed child resets its idle keep-alive socket; not a failure

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class RuntimeTestCase(unittest.TestCase):
    CLOSE_CONNECTIONS = False

    def setUp(self):
        self.api = FakeRuntimeAPI(self.CLOSE_CONNECTIONS)
        self.tmp = tempfile.mkdtemp(prefix="evbus-rt-")
        self.task_root = os.path.join(self.tmp, "task")
        self.work_dir = os.path.join(self.tmp, "work")
        os.makedirs(self.task_root)
        os.makedirs(self.work_dir)
        self.proc = None
        self.counter = 0

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=WAIT)
            self.stdout_file.close()
            self.stderr_file.close()
        self.api.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers --------------------------------------------------------------
    def write(self, files):
        for name, text in files.items():
            p = os.path.join(self.task_root, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(textwrap.dedent(text))

    def start(self, runtime, handler, files):
        self.write(files)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": self.task_root,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "AWS_REGION": "us-east-1",
            "TZ": ":UTC",
            "MY_VAR": "hello-from-env",
        }
        if runtime == "python":
            argv = [PYTHON, "-u", PY_BOOTSTRAP]
        else:
            argv = [NODE, NODE_BOOTSTRAP]
        self.stdout_path = os.path.join(self.tmp, "stdout")
        self.stdout_file = open(self.stdout_path, "wb")
        self.stderr_file = open(os.path.join(self.tmp, "stderr"), "wb")
        self.proc = subprocess.Popen(argv, cwd=self.work_dir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.stdout_file, stderr=self.stderr_file)

    def invoke(self, event, timeout_ms=30000, raw=None, headers=None):
        """Queue one event and return the post it produced (response or error)."""
        self.counter += 1
        request_id = "req-%d-0000" % self.counter
        body = raw if raw is not None else json.dumps(event).encode()
        hdrs = {"Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + timeout_ms),
                "Lambda-Runtime-Invoked-Function-Arn": ARN,
                "Lambda-Runtime-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5daa6e4f9c1a2b;Sampled=1"}
        hdrs.update(headers or {})
        self.api.events.put((request_id, body, hdrs))
        post = self.next_post()
        self.assertEqual(post["request_id"], request_id, post)
        return post

    def next_post(self):
        try:
            return self.api.posts.get(timeout=WAIT)
        except queue.Empty:
            self.fail("runtime posted nothing within %ds; stdout:\n%s\nstderr:\n%s"
                      % (WAIT, self.output(), self.errors()))

    def wait_exit(self):
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.fail("runtime did not exit within %ds" % WAIT)

    def output(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def errors(self):
        with open(os.path.join(self.tmp, "stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_output(self, pattern):
        """Poll stdout until the regex matches (multiline); return the match."""
        deadline = time.time() + WAIT
        while time.time() < deadline:
            m = re.search(pattern, self.output(), re.M)
            if m:
                return m
            time.sleep(0.05)
        self.fail("stdout never matched %r; stdout:\n%s" % (pattern, self.output()))

    def assert_init_error(self, error_type, message_re):
        post = self.next_post()
        self.assertEqual(post["kind"], "init_error", post)
        body = post["body"]
        self.assertEqual(body["errorType"], error_type, body)
        self.assertRegex(body["errorMessage"], message_re)
        self.assertEqual(self.wait_exit(), 1)
        self.assertTrue(self.api.posts.empty())
        return body


TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class PythonRuntimeTest(RuntimeTestCase):
    APP = """
        import logging, os
        def lambda_handler(event, context):
            logging.getLogger().warning("warned %s", "here")
            logging.getLogger("quiet").info("info is below the default WARNING level")
            print("plain print")
            return {"event": event, "env": os.environ.get("MY_VAR"),
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                    "ctx": {"id": context.aws_request_id, "name": context.function_name,
                            "version": context.function_version,
                            "arn": context.invoked_function_arn,
                            "mem": context.memory_limit_in_mb,
                            "group": context.log_group_name, "stream": context.log_stream_name,
                            "remaining": context.get_remaining_time_in_millis(),
                            "cognito": context.identity.cognito_identity_id,
                            "custom": context.client_context.custom if context.client_context else None}}

        def fail(event, context):
            def inner():
                raise ValueError("bad input %s" % event["n"])
            inner()

        def unserialisable(event, context):
            return {1, 2}
        """

    def test_success_context_env_and_logging(self):
        self.start("python", "app.lambda_handler", {"app.py": self.APP})
        post = self.invoke({"k": [1, 2]}, headers={
            "Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId":"cid","cognitoIdentityPoolId":"pool"}',
            "Lambda-Runtime-Client-Context": '{"custom":{"a":"b"},"env":{},"client":{"app_title":"t"}}'})
        self.assertEqual(post["kind"], "response")
        result = post["body"]
        rid = post["request_id"]
        self.assertEqual(result["event"], {"k": [1, 2]})
        self.assertEqual(result["env"], "hello-from-env")
        self.assertTrue(result["trace"].startswith("Root=1-"))
        ctx = result["ctx"]
        self.assertEqual(ctx["id"], rid)
        self.assertEqual((ctx["name"], ctx["version"], ctx["arn"]), ("fn", "$LATEST", ARN))
        self.assertEqual(ctx["mem"], "256")
        self.assertEqual(ctx["group"], "/aws/lambda/fn")
        self.assertTrue(ctx["stream"].startswith("2024/01/01/[$LATEST]"))
        self.assertTrue(0 < ctx["remaining"] <= 30000, ctx)
        self.assertEqual((ctx["cognito"], ctx["custom"]), ("cid", {"a": "b"}))
        self.wait_output(r"^\[WARNING\]\t%s\t%s\twarned here$" % (TS, re.escape(rid)))
        self.wait_output(r"^plain print$")
        self.assertNotIn("below the default", self.output())
        # The loop continues on the same process: empty body -> None -> null.
        post = self.invoke(None, raw=b"")
        self.assertEqual(post["kind"], "response")
        self.assertIsNone(post["body"]["event"])
        self.assertIsNone(self.proc.poll())

    def test_nested_handler_path(self):
        self.start("python", "lib/sub/app.handler",
                   {"lib/sub/app.py": "def handler(e, c):\n    return e['x'] * 2\n"})
        post = self.invoke({"x": 21})
        self.assertEqual((post["kind"], post["body"]), ("response", 42))

    def test_exception_error_body_and_log(self):
        self.start("python", "app.fail", {"app.py": self.APP})
        post = self.invoke({"n": 7})
        self.assertEqual(post["kind"], "error")
        self.assertEqual(post["headers"].get("Lambda-Runtime-Function-Error-Type"), "Unhandled")
        body = post["body"]
        self.assertEqual(body["errorType"], "ValueError")
        self.assertEqual(body["errorMessage"], "bad input 7")
        self.assertEqual(body["requestId"], post["request_id"])
        trace = body["stackTrace"]
        self.assertEqual(len(trace), 2, trace)  # fail -> inner; no bootstrap frames
        self.assertIn("app.py", trace[0])
        self.assertIn("in fail", trace[0])
        self.assertIn('raise ValueError("bad input %s" % event["n"])', trace[1])
        self.assertFalse(any("bootstrap.py" in t for t in trace))
        self.wait_output(r"^\[ERROR\] ValueError: bad input 7\rTraceback \(most recent call last\):"
                         r"\r  File \".*app\.py\", line \d+, in fail\r")
        # The runtime survives a handler error.
        self.assertEqual(self.invoke({"n": 8})["body"]["errorMessage"], "bad input 8")

    def test_marshal_error(self):
        self.start("python", "app.unserialisable", {"app.py": self.APP})
        post = self.invoke({})
        self.assertEqual(post["kind"], "error")
        self.assertEqual(post["body"]["errorType"], "Runtime.MarshalError")
        self.assertIn("Unable to marshal response: ", post["body"]["errorMessage"])

    def test_handler_not_found(self):
        self.start("python", "app.nope", {"app.py": self.APP})
        body = self.assert_init_error("Runtime.HandlerNotFound", r"^Handler 'nope' missing on module 'app'$")
        self.assertEqual(body["requestId"], "")
        self.assertIn("[ERROR] Runtime.HandlerNotFound: Handler 'nope' missing on module 'app'",
                      self.output())

    def test_bad_handler_name(self):
        self.start("python", "app", {"app.py": self.APP})
        self.assert_init_error("Runtime.MalformedHandlerName",
                               r"^Bad handler 'app': not enough values to unpack \(expected 2, got 1\)$")

    def test_import_error(self):
        self.start("python", "app.handler", {"app.py": "import does_not_exist\n"})
        self.assert_init_error("Runtime.ImportModuleError",
                               r"^Unable to import module 'app': No module named 'does_not_exist'$")

    def test_missing_module(self):
        self.start("python", "missing.handler", {})
        self.assert_init_error("Runtime.ImportModuleError", r"^Unable to import module 'missing': ")

    def test_syntax_error(self):
        self.start("python", "app.handler", {"app.py": "def handler(e, c)\n    return 1\n"})
        body = self.assert_init_error("Runtime.UserCodeSyntaxError", r"^Syntax error in module 'app': ")
        self.assertEqual(len(body["stackTrace"]), 1)


@unittest.skipUnless(NODE, "node not on PATH")
class NodeRuntimeTest(RuntimeTestCase):
    def test_async_handler_context_and_logging(self):
        self.start("nodejs", "index.handler", {"index.js": """
            exports.handler = async (event, context) => {
              console.log('hello %s', 'node', {a: 1});
              console.warn('careful');
              await new Promise((r) => setTimeout(r, 5));
              return { event, env: process.env.MY_VAR, trace: process.env._X_AMZN_TRACE_ID,
                       ctx: { id: context.awsRequestId, name: context.functionName,
                              version: context.functionVersion, arn: context.invokedFunctionArn,
                              mem: context.memoryLimitInMB, group: context.logGroupName,
                              stream: context.logStreamName,
                              remaining: context.getRemainingTimeInMillis() } };
            };
            """})
        post = self.invoke({"n": 1})
        self.assertEqual(post["kind"], "response")
        rid = post["request_id"]
        result = post["body"]
        self.assertEqual(result["event"], {"n": 1})
        self.assertEqual(result["env"], "hello-from-env")
        self.assertTrue(result["trace"].startswith("Root=1-"))
        ctx = result["ctx"]
        self.assertEqual((ctx["id"], ctx["name"], ctx["version"], ctx["arn"]),
                         (rid, "fn", "$LATEST", ARN))
        self.assertEqual((ctx["mem"], ctx["group"]), ("256", "/aws/lambda/fn"))
        self.assertTrue(0 < ctx["remaining"] <= 30000, ctx)
        self.wait_output(r"^%s\t%s\tINFO\thello node \{ a: 1 \}$" % (TS, re.escape(rid)))
        self.wait_output(r"^%s\t%s\tWARN\tcareful$" % (TS, re.escape(rid)))
        # Second invoke on the same process; undefined result -> null.
        self.assertEqual(self.invoke(None, raw=b"")["body"]["event"], None)

    def test_callback_handler(self):
        self.start("nodejs", "cb.handler", {"cb.js": """
            exports.handler = function (event, context, callback) {
              setTimeout(() => callback(null, { doubled: event.x * 2 }), 10);
            };
            """})
        post = self.invoke({"x": 4})
        self.assertEqual((post["kind"], post["body"]), ("response", {"doubled": 8}))
        post = self.invoke({"x": 5})
        self.assertEqual(post["body"], {"doubled": 10})

    def test_callback_error(self):
        self.start("nodejs", "cb.handler", {"cb.js": """
            exports.handler = (event, context, callback) => callback(new RangeError('too big'));
            """})
        post = self.invoke({})
        self.assertEqual(post["kind"], "error")
        self.assertEqual((post["body"]["errorType"], post["body"]["errorMessage"]),
                         ("RangeError", "too big"))

    def test_esm_mjs_handler(self):
        self.start("nodejs", "src/app.nested.run", {"src/app.mjs": """
            export const nested = { run: async (event) => ({ esm: true, got: event.v }) };
            """})
        post = self.invoke({"v": "x"})
        self.assertEqual((post["kind"], post["body"]), ("response", {"esm": True, "got": "x"}))

    def test_esm_js_with_type_module(self):
        self.start("nodejs", "index.handler", {
            "package.json": '{"type": "module"}',
            "index.js": "export async function handler() { return import.meta.url.startsWith('file:'); }\n"})
        post = self.invoke({})
        self.assertEqual((post["kind"], post["body"]), ("response", True))

    def test_thrown_error_body(self):
        self.start("nodejs", "index.handler", {"index.js": """
            class ValidationError extends Error { constructor(m) { super(m); this.name = 'ValidationError'; } }
            exports.handler = async () => { throw new ValidationError('Validation failed'); };
            """})
        post = self.invoke({})
        self.assertEqual(post["kind"], "error")
        self.assertEqual(post["headers"].get("Lambda-Runtime-Function-Error-Type"), "Unhandled")
        body = post["body"]
        self.assertEqual((body["errorType"], body["errorMessage"]), ("ValidationError", "Validation failed"))
        self.assertNotIn("stackTrace", body)  # Node's key is "trace"
        self.assertEqual(body["trace"][0], "ValidationError: Validation failed")
        self.assertIn("index.js", body["trace"][1])
        self.wait_output(r"^%s\t%s\tERROR\tInvoke Error" % (TS, re.escape(post["request_id"])))
        self.assertIsNone(self.proc.poll())

    def test_non_error_throwable(self):
        self.start("nodejs", "index.handler", {"index.js": "exports.handler = async () => { throw 'plain'; };\n"})
        body = self.invoke({})["body"]
        self.assertEqual((body["errorType"], body["errorMessage"], body["trace"]), ("string", "plain", []))

    def test_handler_not_found(self):
        self.start("nodejs", "index.nope", {"index.js": "exports.handler = async () => 1;\n"})
        body = self.assert_init_error("Runtime.HandlerNotFound", r"^index\.nope is undefined or not exported$")
        self.assertIsInstance(body["trace"], list)

    def test_handler_not_a_function(self):
        self.start("nodejs", "index.value", {"index.js": "exports.value = 3;\n"})
        self.assert_init_error("Runtime.HandlerNotFound", r"^index\.value is not a function$")

    def test_import_error_and_malformed(self):
        self.start("nodejs", "missing.handler", {})
        self.assert_init_error("Runtime.ImportModuleError", r"Cannot find module 'missing'")

    def test_malformed_handler_name(self):
        self.start("nodejs", "../escape.handler", {})
        self.assert_init_error("Runtime.MalformedHandlerName", r"not a valid handler name")

    def test_syntax_error(self):
        self.start("nodejs", "index.handler", {"index.js": "exports.handler = async () => {;\n"})
        self.assert_init_error("Runtime.UserCodeSyntaxError", r"SyntaxError")

    def test_unhandled_rejection_fails_invoke_and_exits(self):
        self.start("nodejs", "index.handler", {"index.js": """
            exports.handler = (event, context, callback) => { Promise.reject(new Error('lost')); };
            """})
        post = self.invoke({})
        self.assertEqual(post["kind"], "error")
        self.assertEqual(post["body"]["errorType"], "Runtime.UnhandledPromiseRejection")
        self.assertEqual(post["body"]["errorMessage"], "Error: lost")
        self.assertEqual(self.wait_exit(), 128)


class ReconnectTest(RuntimeTestCase):
    """The fake API closes the connection after every reply; both clients reconnect."""
    CLOSE_CONNECTIONS = True

    def test_python_reconnects(self):
        self.start("python", "app.handler", {"app.py": "def handler(e, c):\n    return e\n"})
        for i in range(3):
            self.assertEqual(self.invoke({"i": i})["body"], {"i": i})

    @unittest.skipUnless(NODE, "node not on PATH")
    def test_node_reconnects(self):
        self.start("nodejs", "index.handler", {"index.js": "exports.handler = async (e) => e;\n"})
        for i in range(3):
            self.assertEqual(self.invoke({"i": i})["body"], {"i": i})


if __name__ == "__main__":
    unittest.main()
