"""Renewed TLS certificates are taken while evbusd serves: on both
listeners, within seconds of the files changing (or at once on SIGHUP),
each new connection presents the new pair; a pair that fails the start-up
checks is refused and the listener keeps the one it has; the gRPC
listener's client CAs are renewed the same way.

The certificates are made per run by Debian's openssl command.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

from evbus_harness import EVBUS, Daemon, make_ca, make_cert


def der_of(cert_path):
    """SHA-256 of the first certificate of a PEM file."""
    with open(cert_path) as f:
        pem = f.read()
    first = pem[:pem.index("-----END CERTIFICATE-----") + 25]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def served(address, client=None):
    """SHA-256 of the certificate a listener presents to a new connection
    (ALPN h2, as gRPC clients offer; `client` a (key, cert) pair)."""
    host, port = address.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if client is not None:
        ctx.load_cert_chain(client[1], client[0])
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def install(pair, key_path, cert_path):
    """Replaces the live files as tools such as certbot do: new files
    renamed over the old ones."""
    for src, dst in ((pair[0], key_path), (pair[1], cert_path)):
        tmp = dst + ".new"
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dst)


def wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


class TlsReloadTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="evbus-tls-reload-")
        w = cls.work
        cls.ca = make_ca(w, "ca")
        cls.first = make_cert(w, "first", cls.ca, "IP:127.0.0.1")
        cls.second = make_cert(w, "second", cls.ca, "IP:127.0.0.1")
        cls.client_ca = make_ca(w, "client-ca")
        cls.new_client_ca = make_ca(w, "new-client-ca")
        cls.client = make_cert(w, "client", cls.client_ca)
        cls.new_client = make_cert(w, "new-client", cls.new_client_ca)
        live = os.path.join(w, "live")
        os.mkdir(live)
        cls.grpc_key = os.path.join(live, "grpc.key")
        cls.grpc_crt = os.path.join(live, "grpc.crt")
        cls.http_key = os.path.join(live, "http.key")
        cls.http_crt = os.path.join(live, "http.crt")
        cls.live_ca = os.path.join(live, "clients.crt")
        install(cls.first, cls.grpc_key, cls.grpc_crt)
        install(cls.first, cls.http_key, cls.http_crt)
        shutil.copyfile(cls.client_ca[1], cls.live_ca)
        cls.d = Daemon(extra_args=[
            "--grpc-tls-cert", cls.grpc_crt, "--grpc-tls-key", cls.grpc_key,
            "--grpc-tls-client-ca", cls.live_ca,
            "--http-tls-cert", cls.http_crt,
            "--http-tls-key", cls.http_key]).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def cli(self, *args, client=None):
        client = client or self.client
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("EVBUS_")}
        return subprocess.run(
            [EVBUS, "--endpoint", self.d.grpc, "--tls-ca", self.ca[1],
             "--tls-cert", client[1], "--tls-key", client[0]] + list(args),
            capture_output=True, text=True, timeout=30, env=env)

    def metrics(self):
        ctx = ssl.create_default_context(cafile=self.ca[1])
        with urllib.request.urlopen("https://%s/metrics" % self.d.http,
                                    context=ctx, timeout=10) as r:
            return r.read().decode()

    def metric(self, text, name, **labels):
        for line in text.splitlines():
            if line.startswith(name + "{") and all(
                    '%s="%s"' % kv in line for kv in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return None

    def test_renewed_files_are_served_without_a_restart(self):
        first, second = der_of(self.first[1]), der_of(self.second[1])
        self.assertEqual(served(self.d.grpc, self.client), first)
        self.assertEqual(served(self.d.http), first)
        r = self.cli("list-rules")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = self.metrics()
        expiry = self.metric(m, "evbus_tls_certificate_expiry_timestamp_seconds",
                             listener="grpc")
        # The test certificates last two days.
        self.assertGreater(expiry, time.time() + 86400)
        self.assertLess(expiry, time.time() + 3 * 86400)
        self.assertIsNotNone(self.metric(
            m, "evbus_tls_certificate_expiry_timestamp_seconds",
            listener="http"))
        self.assertEqual(self.metric(m, "evbus_tls_reloads_total",
                                     listener="grpc", result="ok"), 0)

        # 1. New files, renamed into place: taken within seconds.
        pid = self.d.proc.pid
        install(self.second, self.grpc_key, self.grpc_crt)
        install(self.second, self.http_key, self.http_crt)
        self.assertTrue(wait_for(
            lambda: served(self.d.grpc, self.client) == second and
            served(self.d.http) == second), self.d.log()[-3000:])
        self.assertEqual(self.d.proc.pid, pid)
        self.assertIsNone(self.d.proc.poll())
        self.assertIn("gRPC: serving the certificate of %s" % self.grpc_crt,
                      self.d.log())
        self.assertIn("HTTP: serving the certificate of %s" % self.http_crt,
                      self.d.log())
        r = self.cli("list-rules")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = self.metrics()
        self.assertEqual(self.metric(m, "evbus_tls_reloads_total",
                                     listener="grpc", result="ok"), 1)
        self.assertEqual(self.metric(m, "evbus_tls_reloads_total",
                                     listener="http", result="ok"), 1)

        # 2. A key that is not the certificate's: refused, the listeners
        # keep the second pair.
        shutil.copyfile(self.first[0], self.grpc_key + ".new")
        os.replace(self.grpc_key + ".new", self.grpc_key)
        shutil.copyfile(self.first[0], self.http_key + ".new")
        os.replace(self.http_key + ".new", self.http_key)
        self.assertTrue(wait_for(
            lambda: "HTTP: kept the current certificate" in self.d.log() and
            "gRPC: kept the current certificate" in self.d.log()),
            self.d.log()[-3000:])
        self.assertRegex(self.d.log(),
                         r"gRPC: kept the current certificate: grpc_tls_key: "
                         + re.escape(self.grpc_key))
        self.assertEqual(served(self.d.grpc, self.client), second)
        self.assertEqual(served(self.d.http), second)
        r = self.cli("list-rules")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = self.metrics()
        self.assertEqual(self.metric(m, "evbus_tls_reloads_total",
                                     listener="grpc", result="refused"), 1)
        # Not refused again while the files stay as they are...
        time.sleep(2.5)
        self.assertEqual(self.d.log().count(
            "gRPC: kept the current certificate"), 1)
        # ...but SIGHUP reads them again.
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.d.log().count(
            "gRPC: kept the current certificate") == 2))
        self.assertIn("SIGHUP: reading the TLS files again", self.d.log())
        self.assertIsNone(self.d.proc.poll())

        # 3. The right key again, and new client CAs: clients of the old CA
        # are refused from then on, those of the new one served.
        install(self.first, self.grpc_key, self.grpc_crt)
        install(self.first, self.http_key, self.http_crt)
        shutil.copyfile(self.new_client_ca[1], self.live_ca + ".new")
        os.replace(self.live_ca + ".new", self.live_ca)
        self.d.proc.send_signal(signal.SIGHUP)

        def new_ca_taken():
            try:
                return served(self.d.grpc, self.new_client) == first
            except (ssl.SSLError, OSError):
                return False
        self.assertTrue(wait_for(new_ca_taken), self.d.log()[-3000:])
        self.assertTrue(wait_for(lambda: served(self.d.http) == first))
        r = self.cli("list-rules", client=self.new_client)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("list-rules")
        self.assertNotEqual(r.returncode, 0, "old client CA still trusted")
        self.assertIn("client CAs of %s" % self.live_ca, self.d.log())


class SighupTest(unittest.TestCase):

    def test_sighup_without_tls_keeps_serving(self):
        d = Daemon().start()
        try:
            d.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(
                lambda: "SIGHUP: reading the TLS files again" in d.log(), 10))
            self.assertIsNone(d.proc.poll())
            r = d.cli("list-rules", check=False)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
