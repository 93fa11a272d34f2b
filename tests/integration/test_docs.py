"""The docs stay true: every `sh` block of README.md and docs/*.md runs,
line by line, against a test daemon started with the example stack (the
addresses 127.0.0.1:4010 / :4011 of the docs are rewritten to the test
daemon's), and docs/cli-reference.md equals what the CLI's help generates.
`console` blocks are the install, build, test and benchmark commands, which
CI runs as itself (.ci/run is scripts/test.sh) rather than from a test."""
import glob
import http.server
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from evbus_harness import BIN_DIR, Daemon

SOURCE = os.path.abspath(os.environ.get(
    "EVBUS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")))


def sh_blocks(path):
    with open(path) as f:
        text = f.read()
    return re.findall(r"```sh\n(.*?)```", text, re.S)


class Page:
    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"<p>Status: ALL SYSTEMS GO</p>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class DocsTest(unittest.TestCase):

    def test_cli_reference_is_generated_from_the_cli(self):
        out = subprocess.run(
            ["bash", os.path.join(SOURCE, "scripts", "gen-cli-reference.sh"),
             os.path.join(BIN_DIR, "evbus")],
            capture_output=True, text=True, timeout=60, check=True).stdout
        with open(os.path.join(SOURCE, "docs", "cli-reference.md")) as f:
            self.assertEqual(f.read(), out,
                             "docs/cli-reference.md is stale: run "
                             "scripts/gen-cli-reference.sh > docs/cli-reference.md")

    def test_daemon_synopses_name_every_flag(self):
        out = subprocess.run([os.path.join(BIN_DIR, "evbusd"), "--help"],
                             capture_output=True, text=True, timeout=30,
                             check=True).stdout
        flags = re.findall(r"^  (--[a-z-]+)  ", out, re.M)
        self.assertGreater(len(flags), 20)
        for doc in ("README.md", os.path.join("docs", "operations.md")):
            with open(os.path.join(SOURCE, doc)) as f:
                synopsis = re.search(r"```(?:text)?\n(evbusd --data-dir.*?)```",
                                     f.read(), re.S).group(1)
            for flag in flags:
                self.assertRegex(synopsis, re.escape(flag) + r"\b",
                                 "%s: the evbusd synopsis lacks %s" % (doc, flag))

    def test_stack_reference_format_example_applies(self):
        with open(os.path.join(SOURCE, "docs", "stack-reference.md")) as f:
            blocks = [b for b in re.findall(r"```yaml\n(.*?)```", f.read(),
                                            re.S) if b.startswith("stack:")]
        self.assertEqual(len(blocks), 1)
        work = tempfile.mkdtemp(prefix="evbus-docs-stack-")
        os.chmod(work, 0o755)
        shutil.copytree(os.path.join(SOURCE, "examples",
                                     "website-health-check", "function"),
                        os.path.join(work, "function"))
        path = os.path.join(work, "stack.yaml")
        with open(path, "w") as f:
            f.write(blocks[0])
        d = Daemon().start()
        try:
            for args in (["--dry-run"], []):
                r = d.cli("apply", "-f", path, *args, check=False)
                self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            d.cleanup()
            shutil.rmtree(work, ignore_errors=True)

    def test_every_sh_block_runs(self):
        page = Page()
        os.environ["SITE_URL"] = page.url
        d = Daemon(extra_args=[
            "--clock", "manual", "--clock-start", "2026-03-01T12:00:00Z",
            "--stack", os.path.join(SOURCE, "examples", "website-health-check",
                                    "stack.yaml")]).start()
        backup = "/tmp/evbus-backup-docs"
        shutil.rmtree(backup, ignore_errors=True)
        try:
            # Let the scheduled check run once, as the quickstart expects.
            d.cli("clock", "advance", "5m")
            deadline = time.monotonic() + 30
            while (time.monotonic() < deadline and "Check passed" not in
                   d.cli("logs", "tail", "health-check").stdout):
                time.sleep(0.2)
            env = dict(os.environ)
            env["PATH"] = BIN_DIR + os.pathsep + env["PATH"]
            env["EVBUS_ENDPOINT"] = d.grpc
            files = [os.path.join(SOURCE, "README.md")] + sorted(
                glob.glob(os.path.join(SOURCE, "docs", "*.md")))
            ran = 0
            for path in files:
                for block in sh_blocks(path):
                    script = (block.replace("127.0.0.1:4011", d.http)
                              .replace("127.0.0.1:4010", d.grpc)
                              .replace("./build/bin/", BIN_DIR + "/"))
                    r = subprocess.run(
                        ["bash", "-euo", "pipefail", "-c", script], cwd=SOURCE,
                        env=env, capture_output=True, text=True, timeout=120)
                    self.assertEqual(
                        r.returncode, 0,
                        "%s: block failed:\n%s\nstdout:\n%s\nstderr:\n%s" %
                        (os.path.relpath(path, SOURCE), block, r.stdout[-2000:],
                         r.stderr[-2000:]))
                    ran += 1
            self.assertGreaterEqual(ran, 5)
        finally:
            d.cleanup()
            page.close()
            os.environ.pop("SITE_URL", None)
            shutil.rmtree(backup, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
