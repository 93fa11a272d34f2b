"""The gRPC token (--grpc-token-file) as a user meets it through the CLI.

Every method's refusal is checked by server/api/grpc/call_authorizer_test.cc;
this covers the CLI's --token-file and $EVBUS_TOKEN_FILE, the errors a user
sees, the config-file key, a bad token file at start, and the AWS endpoint
(which authenticates with SigV4, not the token) still answering.
"""
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from evbus_harness import EVBUS, Daemon, entry, refused_start

TOKEN = "tok-" + "0123456789abcdef" * 2


class GrpcTokenTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="evbus-token-")
        cls.token_file = os.path.join(cls.work, "token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(cls.token_file, 0o600)
        cls.d = Daemon(extra_args=["--grpc-token-file", cls.token_file]).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_cli(self, *args, env_token_file=None):
        env = dict(os.environ)
        env.pop("EVBUS_TOKEN_FILE", None)
        if env_token_file is not None:
            env["EVBUS_TOKEN_FILE"] = env_token_file
        return subprocess.run([EVBUS, "--endpoint", self.d.grpc] + list(args),
                              capture_output=True, text=True, timeout=30,
                              env=env)

    def test_without_the_token_the_cli_is_refused(self):
        r = self.run_cli("list-rules")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("An error occurred (MissingAuthenticationTokenException) "
                      "when calling the ListRules operation: Missing "
                      "Authentication Token", r.stderr)
        wrong = os.path.join(self.work, "wrong")
        with open(wrong, "w") as f:
            f.write("x" * 32)
        r = self.run_cli("--token-file", wrong, "list-rules")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("(UnrecognizedClientException) when calling the "
                      "ListRules operation: The security token included in "
                      "the request is invalid.", r.stderr)

    def test_with_the_token_everything_works(self):
        # --token-file before or after the verb, or $EVBUS_TOKEN_FILE.
        r = self.run_cli("--token-file", self.token_file, "put-rule",
                         "--name", "tok-rule", "--event-pattern",
                         json.dumps({"source": ["com.example.test"]}))
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_cli("put-events", "--entries", json.dumps([entry()]),
                         "--token-file", self.token_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["FailedEntryCount"], 0)
        r = self.run_cli("list-rules", env_token_file=self.token_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tok-rule",
                      [x["Name"] for x in json.loads(r.stdout)["Rules"]])
        # The event was stored (tail and list go through the token too).
        r = self.run_cli("list-events", env_token_file=self.token_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["Events"]), 1)

    def test_stacks_apply_with_the_token(self):
        # `evbus apply` sends the token; without it the plan is refused.
        stack = os.path.join(self.work, "stack.yaml")
        with open(stack, "w") as f:
            f.write("stack: tok\nbuses:\n  - name: tokbus\n")
        r = self.run_cli("apply", "-f", stack, "--dry-run")
        self.assertEqual(r.returncode, 1)
        self.assertIn("MissingAuthenticationTokenException", r.stderr)
        r = self.run_cli("--token-file", self.token_file, "apply", "-f", stack)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_cli("describe-event-bus", "--name", "tokbus",
                         env_token_file=self.token_file)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_cli_details(self):
        # The error says where the token goes.
        r = self.run_cli("list-rules")
        self.assertIn("(evbusd needs its token: --token-file FILE or "
                      "$EVBUS_TOKEN_FILE)", r.stderr)
        # An option that only starts like --token-file is not it.
        r = self.run_cli("--token-files", self.token_file, "list-rules")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown option --token-files", r.stderr)
        # VERB --help needs no token, even a broken one.
        r = self.run_cli("list-rules", "--help",
                         env_token_file=os.path.join(self.work, "none"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: evbus list-rules", r.stdout)
        # The daemon says what it requires, and that the AWS endpoint is
        # still open.
        log = self.d.log()
        self.assertIn("gRPC: every call needs the token of %s (server "
                      "reflection off)" % self.token_file, log)
        self.assertIn("the AWS endpoint still accepts any caller", log)

    def test_a_bad_token_file_for_the_cli_names_it(self):
        short = os.path.join(self.work, "short")
        with open(short, "w") as f:
            f.write("abc\n")
        r = self.run_cli("--token-file", short, "list-rules")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--token-file: %s: the token must be 16 to 512 "
                      "characters long (it is 3)" % short, r.stderr)
        r = self.run_cli("list-rules",
                         env_token_file=os.path.join(self.work, "none"))
        self.assertEqual(r.returncode, 2)
        # Named as the user gave it: here, the environment variable.
        self.assertIn("$EVBUS_TOKEN_FILE: cannot read", r.stderr)

    def test_the_aws_endpoint_does_not_need_the_token(self):
        host, port = self.d.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("POST", "/", body=b"{}", headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "AWSEvents.ListEventBuses"})
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        self.assertEqual(r.status, 200, body)
        self.assertIn(b'"Name":"default"', body.replace(b" ", b""))


class GrpcTokenStartTest(unittest.TestCase):

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="evbus-token-")
        self.d = None

    def tearDown(self):
        if self.d is not None:
            self.d.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def test_bad_token_files_stop_evbusd_before_it_writes(self):
        short = self.write("short", "0123456789\n")
        message, files = refused_start("--grpc-token-file", short)
        self.assertIn("grpc_token_file: %s: the token must be 16 to 512 "
                      "characters long (it is 10)" % short, message)
        self.assertEqual(files, [])
        message, files = refused_start(
            "--grpc-token-file", os.path.join(self.work, "missing"))
        self.assertIn("grpc_token_file: cannot read", message)
        self.assertEqual(files, [])

    def test_a_stack_at_start_is_applied_with_the_token(self):
        token_file = self.write("token", TOKEN)
        stack = self.write("stack.yaml",
                           "stack: boot\nbuses:\n  - name: bootbus\n")
        self.d = Daemon(extra_args=["--grpc-token-file", token_file,
                                    "--stack", stack]).start()
        r = self.d.cli("--token-file", token_file, "describe-event-bus",
                       "--name", "bootbus")
        self.assertEqual(json.loads(r.stdout)["Name"], "bootbus")

    def test_config_file_key_and_a_warning_for_a_readable_file(self):
        token_file = self.write("token", TOKEN, 0o644)
        config = self.write("evbusd.json",
                            json.dumps({"grpc_token_file": token_file}))
        self.d = Daemon(extra_args=["--config", config]).start()
        self.assertIn("can be read by other users (mode 0644): make it "
                      "0600", self.d.log())
        r = self.d.cli("list-rules", check=False)
        self.assertIn("MissingAuthenticationTokenException", r.stderr)
        r = self.d.cli("--token-file", token_file, "list-rules")
        self.assertEqual(json.loads(r.stdout)["Rules"], [])


if __name__ == "__main__":
    unittest.main()
