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


if __name__ == "__main__":
    unittest.main()
