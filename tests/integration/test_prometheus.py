"""A real Prometheus server (Debian's `prometheus`) scrapes evbusd's
/metrics, and a PromQL query through its HTTP API returns an evbus counter
with the value the test caused."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from evbus_harness import Daemon, entry

PROMETHEUS = "/usr/bin/prometheus"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(os.path.exists(PROMETHEUS),
                     "Debian package prometheus is not installed")
class PrometheusScrapeTest(unittest.TestCase):

    def setUp(self):
        self.d = Daemon().start()
        self.dir = tempfile.mkdtemp(prefix="evbus-prom-")
        self.port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "scrape_configs:\n  - job_name: evbus\n"
                    "    static_configs:\n      - targets: ['%s']\n"
                    % self.d.http)
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.prom = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=self.log)

    def tearDown(self):
        self.prom.kill()
        self.prom.wait(timeout=10)
        self.log.close()
        self.d.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, promql):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def test_prometheus_sees_evbus_counters(self):
        self.d.put_events([entry(), entry(), entry()])
        promql = 'evbus_events_ingested_total{bus="default"}'
        value = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                result = self.query(promql)
                if (result["status"] == "success"
                        and result["data"]["result"]):
                    value = float(result["data"]["result"][0]["value"][1])
                    if value == 3:
                        break
            except OSError:
                pass  # not listening yet
            time.sleep(0.5)
        self.assertEqual(value, 3.0)
        up = self.query('up{job="evbus"}')["data"]["result"]
        self.assertEqual(up[0]["value"][1], "1")


if __name__ == "__main__":
    unittest.main()
