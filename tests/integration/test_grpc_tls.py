"""TLS on the gRPC listener (--grpc-tls-cert / --grpc-tls-key, mutual TLS
with --grpc-tls-client-ca), as a user meets it through the CLI.

The certificates are made for each run by Debian's openssl command: a CA,
a server certificate for 127.0.0.1 and evbus.test, a client CA with a
client certificate, and a second CA nobody trusts.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from evbus_harness import (EVBUS, Daemon, entry, make_ca, make_cert,
                            refused_start)

TOKEN = "tok-" + "0123456789abcdef" * 2


class GrpcTlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="evbus-tls-")
        cls.ca = make_ca(cls.work, "server-ca")
        cls.other_ca = make_ca(cls.work, "other-ca")
        cls.client_ca = make_ca(cls.work, "client-ca")
        cls.server = make_cert(cls.work, "evbusd", cls.ca,
                               "IP:127.0.0.1,DNS:evbus.test")
        cls.client = make_cert(cls.work, "client", cls.client_ca)
        cls.stranger = make_cert(cls.work, "stranger", cls.other_ca)
        cls.d = Daemon(extra_args=["--grpc-tls-cert", cls.server[1],
                                   "--grpc-tls-key", cls.server[0]]).start()
        cls.mutual = Daemon(extra_args=[
            "--grpc-tls-cert", cls.server[1], "--grpc-tls-key", cls.server[0],
            "--grpc-tls-client-ca", cls.client_ca[1]]).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.mutual.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_cli(self, *args, daemon=None, env_extra=None):
        env = dict(os.environ)
        for k in ("EVBUS_TLS_CA", "EVBUS_TLS_CERT", "EVBUS_TLS_KEY",
                  "EVBUS_TOKEN_FILE", "GRPC_VERBOSITY"):
            env.pop(k, None)
        env.update(env_extra or {})
        d = daemon or self.d
        return subprocess.run([EVBUS, "--endpoint", d.grpc] + list(args),
                              capture_output=True, text=True, timeout=30,
                              env=env)

    def test_the_cli_works_over_tls(self):
        ca = self.ca[1]
        r = self.run_cli("--tls-ca", ca, "put-rule", "--name", "tls-rule",
                         "--event-pattern",
                         json.dumps({"source": ["com.example.test"]}))
        self.assertEqual(r.returncode, 0, r.stderr)
        # After the verb, or from $EVBUS_TLS_CA.
        r = self.run_cli("put-events", "--entries", json.dumps([entry()]),
                         "--tls-ca", ca)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["FailedEntryCount"], 0)
        r = self.run_cli("list-rules", env_extra={"EVBUS_TLS_CA": ca})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tls-rule",
                      [x["Name"] for x in json.loads(r.stdout)["Rules"]])
        r = self.run_cli("list-events", "--tls-ca=" + ca)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["Events"]), 1)
        self.assertIn("gRPC: TLS with %s" % self.server[1], self.d.log())

    def test_a_plaintext_client_is_refused_with_a_hint(self):
        r = self.run_cli("list-rules")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Could not connect to the endpoint %s" % self.d.grpc,
                      r.stderr)
        self.assertIn("(if evbusd serves TLS, give --tls-ca FILE or "
                      "$EVBUS_TLS_CA)", r.stderr)
        # gRPC's own log lines are not repeated.
        self.assertNotIn("ssl_transport_security", r.stderr)

    def test_an_untrusted_certificate_or_name_is_refused(self):
        r = self.run_cli("--tls-ca", self.other_ca[1], "list-rules")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("certificate verify failed", r.stderr)
        self.assertIn("(TLS: check that evbusd serves TLS", r.stderr)
        # The system's CAs do not know this one either.
        r = self.run_cli("--tls", "list-rules")
        self.assertEqual(r.returncode, 1, r.stderr)
        # The certificate names 127.0.0.1 and evbus.test, not elsewhere.
        r = self.run_cli("--tls-ca", self.ca[1], "--tls-server-name",
                         "elsewhere.test", "list-rules")
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.run_cli("--tls-ca", self.ca[1], "--tls-server-name",
                         "evbus.test", "list-rules")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_mutual_tls_needs_a_client_certificate_of_its_ca(self):
        ca = ["--tls-ca", self.ca[1]]
        r = self.run_cli(*ca, "list-rules", daemon=self.mutual)
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.run_cli(*ca, "--tls-cert", self.stranger[1], "--tls-key",
                         self.stranger[0], "list-rules", daemon=self.mutual)
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.run_cli(*ca, "--tls-cert", self.client[1], "--tls-key",
                         self.client[0], "list-rules", daemon=self.mutual)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_cli("list-rules", daemon=self.mutual, env_extra={
            "EVBUS_TLS_CA": self.ca[1], "EVBUS_TLS_CERT": self.client[1],
            "EVBUS_TLS_KEY": self.client[0]})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("clients need a certificate of %s" % self.client_ca[1],
                      self.mutual.log())

    def test_bad_files_for_the_cli_name_the_option(self):
        r = self.run_cli("--tls-ca", self.ca[1], "--tls-cert", self.client[1],
                         "list-rules")
        self.assertEqual(r.returncode, 2)
        self.assertIn("evbus: --tls-cert needs --tls-key", r.stderr)
        r = self.run_cli("--tls-ca", self.server[0], "list-rules")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tls-ca: %s: holds no PEM certificate" %
                      self.server[0], r.stderr)
        r = self.run_cli("--tls-ca", self.ca[1], "--tls-cert", self.client[1],
                         "--tls-key", self.stranger[0], "list-rules")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tls-key: %s: the key does not belong to the "
                      "certificate of --tls-cert" % self.stranger[0], r.stderr)
        # VERB --help needs none of them.
        r = self.run_cli("--tls-ca", os.path.join(self.work, "none"),
                         "list-rules", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)


class GrpcTlsStartTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="evbus-tls-")
        cls.ca = make_ca(cls.work, "ca")
        cls.server = make_cert(cls.work, "evbusd", cls.ca, "IP:127.0.0.1")
        cls.other = make_cert(cls.work, "other", cls.ca, "IP:127.0.0.1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_bad_files_stop_evbusd_before_it_writes(self):
        key, crt = self.server
        message, files = refused_start("--grpc-tls-cert", crt,
                                       "--grpc-tls-key", self.other[0])
        self.assertIn("grpc_tls_key: %s: the key does not belong to the "
                      "certificate of grpc_tls_cert (%s)" %
                      (self.other[0], crt), message)
        self.assertEqual(files, [])
        message, files = refused_start("--grpc-tls-cert", crt)
        self.assertIn("grpc_tls_key: needed with grpc_tls_cert", message)
        self.assertEqual(files, [])
        message, files = refused_start("--grpc-tls-client-ca", self.ca[1])
        self.assertIn("grpc_tls_client_ca: needs grpc_tls_cert and "
                      "grpc_tls_key", message)
        missing = os.path.join(self.work, "missing.crt")
        message, files = refused_start("--grpc-tls-cert", missing,
                                       "--grpc-tls-key", key)
        self.assertIn("grpc_tls_cert: cannot read %s" % missing, message)
        self.assertEqual(files, [])
        message, files = refused_start("--grpc-tls-cert", crt,
                                       "--grpc-tls-key", key,
                                       "--grpc-tls-client-ca", key)
        self.assertIn("grpc_tls_client_ca: %s: holds no PEM certificate" % key,
                      message)
        self.assertEqual(files, [])

    def test_config_file_with_a_token_and_a_readable_key(self):
        key = os.path.join(self.work, "readable.key")
        shutil.copy(self.server[0], key)
        os.chmod(key, 0o644)
        token_file = os.path.join(self.work, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN)
        os.chmod(token_file, 0o600)
        config = os.path.join(self.work, "evbusd.json")
        with open(config, "w") as f:
            json.dump({"grpc_tls_cert": self.server[1], "grpc_tls_key": key,
                       "grpc_token_file": token_file}, f)
        d = Daemon(extra_args=["--config", config]).start()
        try:
            self.assertIn("grpc_tls_key %s can be read by other users (mode "
                          "0644): make it 0600" % key, d.log())
            r = d.cli("--tls-ca", self.ca[1], "list-rules", check=False)
            self.assertIn("MissingAuthenticationTokenException", r.stderr)
            r = d.cli("--tls-ca", self.ca[1], "--token-file", token_file,
                      "list-rules")
            self.assertEqual(json.loads(r.stdout)["Rules"], [])
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
