"""A second evbusd on a port that is in use fails to start (gRPC would
otherwise share the port through SO_REUSEPORT and split the traffic)."""
import os
import socket
import subprocess
import tempfile
import shutil
import unittest

from evbus_harness import EVBUSD


class PortInUseTest(unittest.TestCase):

    def test_second_daemon_on_the_same_grpc_port_fails(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        work = tempfile.mkdtemp(prefix="evbus-port-")
        try:
            second_dir = os.path.join(work, "b")
            a = subprocess.Popen([EVBUSD, "--data-dir", os.path.join(work, "a"),
                                  "--grpc-listen", "127.0.0.1:%d" % port,
                                  "--http-listen", "127.0.0.1:0",
                                  "--ready-file", os.path.join(work, "a.ready")],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                for _ in range(200):
                    if os.path.exists(os.path.join(work, "a.ready")):
                        break
                    subprocess.run(["sleep", "0.05"])
                b = subprocess.run([EVBUSD, "--data-dir", second_dir,
                                    "--grpc-listen", "127.0.0.1:%d" % port,
                                    "--http-listen", "127.0.0.1:0"],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(b.returncode, 1)
                self.assertIn("cannot listen for gRPC", b.stderr)
            finally:
                a.terminate()
                a.wait(timeout=10)
        finally:
            shutil.rmtree(work, ignore_errors=True)


class Ipv6ListenerTest(unittest.TestCase):

    def test_ready_file_brackets_an_ipv6_host(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        from evbus_harness import Daemon
        d = Daemon(extra_args=["--http-listen", "[::1]:0",
                               "--grpc-listen", "[::1]:0"])
        try:
            d.start()
            self.assertTrue(d.http.startswith("[::1]:"), d.http)
            self.assertTrue(d.grpc.startswith("[::1]:"), d.grpc)
            status, body = d.http_get("/healthz")
            self.assertEqual((status, body.strip()), (200, "ok"))
            # The CLI takes the address as the ready file gives it.
            self.assertEqual(d.cli_json("describe-event-bus")["Name"], "default")
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
