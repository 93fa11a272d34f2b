"""TLS on the gRPC listener (--grpc-tls-cert / --grpc-tls-key, mutual TLS
with --grpc-tls-client-ca), as a user meets it through the CLI.

The certificates are made for each run by Debian's openssl command: a CA,
a server certificate for 127.0.0.1 and evbus.test, a client CA with a
client certificate, and a second CA nobody trusts.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from evbus_harness import (EVBUS, Daemon, entry, make_ca, make_cert,
                            openssl, refused_start)

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
                  "EVBUS_TLS_SERVER_NAME", "EVBUS_TOKEN_FILE",
                  "GRPC_VERBOSITY"):
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
        with open(self.d.data_dir + ".ready") as f:
            ready = json.load(f)
        self.assertTrue(ready["grpc_tls"])
        self.assertEqual(ready["http_url"], "http://" + self.d.http)
        # The certificates of these tests last two days: evbusd says so.
        self.assertIn("grpc_tls_cert %s expires at " % self.server[1],
                      self.d.log())
        self.assertIn("(replace the file before then: evbusd takes the new "
                      "one as it serves)",
                      self.d.log())

    def test_a_plaintext_client_is_refused_with_a_hint(self):
        r = self.run_cli("list-rules")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Could not connect to the endpoint %s" % self.d.grpc,
                      r.stderr)
        self.assertIn("(if evbusd serves TLS, give --tls-ca FILE or "
                      "$EVBUS_TLS_CA)", r.stderr)
        # gRPC's own log lines are not repeated.
        self.assertNotIn("ssl_transport_security", r.stderr)

    def test_failed_handshakes_do_not_flood_the_log(self):
        # Anyone may connect and fail a handshake; gRPC logs each failure.
        host, port = self.d.grpc.rsplit(":", 1)
        before = self.d.log()
        for _ in range(200):
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\n\r\n")
                try:
                    s.recv(16)
                except OSError:
                    pass
        r = self.run_cli("--tls-ca", self.ca[1], "list-rules")
        self.assertEqual(r.returncode, 0, r.stderr)
        added = self.d.log()[len(before):]
        self.assertLessEqual(added.count("gRPC: "), 21, added[-2000:])
        # gRPC's own format ("E1129 12:47:51.008 ...") no longer appears.
        self.assertIsNone(re.search(r"^[EIWD]\d{4} ", added, re.M),
                          added[-2000:])

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
        r = self.run_cli("--tls-ca", self.ca[1], "list-rules", env_extra={
            "EVBUS_TLS_SERVER_NAME": "evbus.test"})
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
        self.assertIn("evbus: --tls-cert needs its key: --tls-key FILE or "
                      "$EVBUS_TLS_KEY", r.stderr)
        # Values from the environment are named as such.
        r = self.run_cli("list-rules", env_extra={
            "EVBUS_TLS_CA": os.path.join(self.work, "none")})
        self.assertEqual(r.returncode, 2)
        self.assertIn("evbus: $EVBUS_TLS_CA: cannot read", r.stderr)
        r = self.run_cli("list-rules", env_extra={
            "EVBUS_TLS_CA": self.ca[1], "EVBUS_TLS_KEY": self.client[0]})
        self.assertEqual(r.returncode, 2)
        self.assertIn("evbus: $EVBUS_TLS_KEY needs a certificate: --tls-cert "
                      "FILE or $EVBUS_TLS_CERT", r.stderr)
        r = self.run_cli("--tls-ca", self.server[0], "list-rules")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tls-ca: %s: holds no PEM certificate" %
                      self.server[0], r.stderr)
        r = self.run_cli("--tls-ca", self.ca[1], "--tls-cert", self.client[1],
                         "--tls-key", self.stranger[0], "list-rules")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tls-key: %s: the key does not belong to the "
                      "certificate of --tls-cert" % self.stranger[0], r.stderr)
        # VERB --help needs none of them, nor do the verbs that never call
        # evbusd.
        r = self.run_cli("--tls-ca", os.path.join(self.work, "none"),
                         "list-rules", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_cli("describe-schedule-expression", "--expression",
                         "rate(5 minutes)", "--count", "1", env_extra={
                             "EVBUS_TLS_CA": os.path.join(self.work, "none"),
                             "EVBUS_TLS_CERT": self.client[1]})
        self.assertEqual(r.returncode, 0, r.stderr)
        patterns = os.path.join(self.work, "patterns.json")
        with open(patterns, "w") as f:
            json.dump({"source": ["a"]}, f)
        r = self.run_cli("patterns", "lint", patterns, env_extra={
            "EVBUS_TLS_CA": os.path.join(self.work, "none")})
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_verb_option_value_that_looks_global_stays_the_verb_s(self):
        r = self.run_cli("--tls-ca", self.ca[1], "put-rule", "--name",
                         "described", "--description", "--tls",
                         "--event-pattern", json.dumps({"source": ["x"]}))
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_cli("--tls-ca", self.ca[1], "describe-rule", "--name",
                         "described")
        self.assertEqual(json.loads(r.stdout)["Description"], "--tls")
        # The same for --help.
        r = self.run_cli("--tls-ca", self.ca[1], "put-rule", "--name",
                         "helped", "--description", "--help",
                         "--event-pattern", json.dumps({"source": ["x"]}))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("usage:", r.stdout)


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
        # Pairs OpenSSL will not present: refused at start with its reason,
        # not when gRPC starts listening after the store is open.
        weak = os.path.join(self.work, "weak")
        openssl("req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout",
                weak + ".key", "-out", weak + ".crt", "-days", "2", "-subj",
                "/CN=weak", "-addext", "subjectAltName=IP:127.0.0.1")
        message, files = refused_start("--grpc-tls-cert", weak + ".crt",
                                       "--grpc-tls-key", weak + ".key")
        self.assertIn("grpc_tls_cert: %s.crt with grpc_tls_key %s.key: "
                      "OpenSSL refuses the certificate (ee key too small)" %
                      (weak, weak), message)
        self.assertEqual(files, [])
        k1 = os.path.join(self.work, "k1")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:secp256k1", "-nodes", "-keyout",
                k1 + ".key", "-out", k1 + ".crt", "-days", "2", "-subj",
                "/CN=k1")
        message, files = refused_start("--http-tls-cert", k1 + ".crt",
                                       "--http-tls-key", k1 + ".key")
        self.assertIn("the key is on elliptic curve secp256k1, which TLS "
                      "clients do not offer", message)
        self.assertEqual(files, [])
        message, files = refused_start("--grpc-tls-cert", crt,
                                       "--grpc-tls-key", key,
                                       "--grpc-tls-client-ca", weak + ".crt")
        self.assertIn("grpc_tls_client_ca: %s.crt: certificate 1 has a key "
                      "of 80 bits of security" % weak, message)
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
