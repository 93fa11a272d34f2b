"""Test harness: runs the real evbusd and evbus binaries.

Every daemon binds 127.0.0.1 port 0 with a temporary data directory; the
ports are read back from the ready file. Every wait is bounded.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

BIN_DIR = os.environ.get(
    "EVBUS_BIN_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
EVBUSD = os.path.join(BIN_DIR, "evbusd")
EVBUS = os.path.join(BIN_DIR, "evbus")


class Daemon:
    """One evbusd process on loopback with its own data directory."""

    def __init__(self, data_dir=None, extra_args=()):
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="evbus-it-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.grpc = None
        self.http = None
        self.log_path = None

    def start(self, timeout=20):
        ready = os.path.join(self.data_dir + ".ready")
        if os.path.exists(ready):
            os.remove(ready)
        self.log_path = self.data_dir + ".log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [EVBUSD, "--data-dir", self.data_dir,
                 "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                 "--ready-file", ready] + self.extra_args,
                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("evbusd exited with %s:\n%s" %
                                   (self.proc.returncode, self.log()))
            if os.path.exists(ready):
                with open(ready) as f:
                    info = json.load(f)
                self.grpc, self.http = info["grpc"], info["http"]
                assert info["pid"] == self.proc.pid
                return self
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError("evbusd not ready in %ss:\n%s" % (timeout, self.log()))

    def log(self):
        if self.log_path and os.path.exists(self.log_path):
            with open(self.log_path, errors="replace") as f:
                return f.read()
        return ""

    def stop(self, timeout=10):
        """SIGTERM; returns the exit code (bounded wait)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            for suffix in (".ready", ".log"):
                try:
                    os.remove(self.data_dir + suffix)
                except FileNotFoundError:
                    pass

    def cli(self, *args, check=True, timeout=30, input=None):
        return cli("--endpoint", self.grpc, *args, check=check,
                   timeout=timeout, input=input)

    def put_events(self, entries, check=True):
        """put-events through a file:// argument (large entries exceed the
        kernel's limit for one command-line argument)."""
        path = "%s.entries-%d.json" % (self.data_dir, time.monotonic_ns())
        with open(path, "w") as f:
            json.dump(entries, f)
        try:
            return self.cli("put-events", "--entries", "file://" + path,
                            check=check)
        finally:
            os.remove(path)

    def cli_json(self, *args, timeout=30):
        out = self.cli(*args, timeout=timeout)
        return json.loads(out.stdout) if out.stdout.strip() else None

    def http_get(self, path, timeout=10):
        """(status, body) of GET http://<http>/<path>."""
        try:
            with urllib.request.urlopen("http://%s%s" % (self.http, path),
                                        timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def refused_start(*args):
    """(message and log, data dir listing) of an evbusd started with `args`
    that must refuse to start; raises AssertionError if it starts."""
    d = Daemon(extra_args=list(args))
    try:
        try:
            d.start(timeout=10)
        except RuntimeError as e:
            return str(e) + d.log(), os.listdir(d.data_dir)
        raise AssertionError("evbusd started with %s" % (args,))
    finally:
        d.cleanup()


class CliResult:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr


def cli(*args, check=True, timeout=30, input=None):
    proc = subprocess.run([EVBUS] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout,
                          input=input)
    if check and proc.returncode != 0:
        raise AssertionError("evbus %s failed (%d):\n%s%s" %
                             (" ".join(map(str, args)), proc.returncode,
                              proc.stdout, proc.stderr))
    return CliResult(proc)


def entry(source="com.example.test", detail_type="Test Event",
          detail=None, **extra):
    e = {"Source": source, "DetailType": detail_type,
         "Detail": json.dumps(detail if detail is not None else {"n": 1})}
    e.update(extra)
    return e


# TLS material, made per run by Debian's openssl command (P-256 keys, valid
# for two days).

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(work, name):
    key, crt = os.path.join(work, name + ".key"), os.path.join(work, name + ".crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
            "-days", "2", "-subj", "/CN=" + name)
    return key, crt


def make_cert(work, name, ca, alt_names=None):
    """A key and a certificate signed by `ca` (key, cert paths)."""
    key, crt = os.path.join(work, name + ".key"), os.path.join(work, name + ".crt")
    csr = os.path.join(work, name + ".csr")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    args = ["x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0],
            "-CAcreateserial", "-out", crt, "-days", "2"]
    if alt_names:
        ext = os.path.join(work, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" % alt_names)
        args += ["-extfile", ext]
    openssl(*args)
    os.chmod(key, 0o600)
    return key, crt


def sns_signature_verifies(envelope):
    """Whether an SNS notification envelope's Signature verifies with the
    certificate at its SigningCertURL, as a subscriber checks it (Debian's
    openssl; SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). Returns
    (ok, openssl's output)."""
    import base64
    import urllib.request
    with urllib.request.urlopen(envelope["SigningCertURL"], timeout=10) as r:
        cert = r.read()
    keys = ["Message", "MessageId"]
    if "Subject" in envelope:
        keys.append("Subject")
    keys += ["Timestamp", "TopicArn", "Type"]
    canonical = "".join("%s\n%s\n" % (k, envelope[k]) for k in keys)
    work = tempfile.mkdtemp(prefix="evbus-sig-")
    try:
        paths = {n: os.path.join(work, n) for n in
                 ("cert.pem", "pub.pem", "sig.bin", "data.txt")}
        with open(paths["cert.pem"], "wb") as f:
            f.write(cert)
        with open(paths["sig.bin"], "wb") as f:
            f.write(base64.b64decode(envelope["Signature"]))
        with open(paths["data.txt"], "w") as f:
            f.write(canonical)
        subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in",
                        paths["cert.pem"], "-out", paths["pub.pem"]],
                       check=True, timeout=30)
        digest = "-sha256" if envelope["SignatureVersion"] == "2" else "-sha1"
        v = subprocess.run(["openssl", "dgst", digest, "-verify",
                            paths["pub.pem"], "-signature", paths["sig.bin"],
                            paths["data.txt"]],
                           capture_output=True, text=True, timeout=30)
        return "Verified OK" in v.stdout, v.stdout + v.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)

