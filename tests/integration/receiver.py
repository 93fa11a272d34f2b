"""A real HTTP server on 127.0.0.1 (port 0) that records what it receives.

Each path can be scripted: a list of (status, headers, delay_seconds)
answers used in order, then `default` for every later request.
"""
import http.server
import json
import threading
import time


class Receiver:

    def __init__(self):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.requests = []          # dicts: path, headers, body, time
        self._scripts = {}          # path -> list of answers
        self._defaults = {}         # path -> answer
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                answer = outer._answer(self.path)
                status, headers, delay = answer
                if delay:
                    time.sleep(delay)
                with outer._cond:
                    outer.requests.append({
                        "path": self.path, "headers": dict(self.headers),
                        "body": body, "time": time.monotonic(),
                        "status": status})
                    outer._cond.notify_all()
                payload = b"ok" if status < 300 else b"failure"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                pass  # a peer killed with -9 mid-connection is expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)
        self._thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def script(self, path, answers, default=(200, {}, 0)):
        with self._lock:
            self._scripts[path] = list(answers)
            self._defaults[path] = default

    def _answer(self, path):
        with self._lock:
            script = self._scripts.get(path)
            if script:
                return script.pop(0)
            return self._defaults.get(path, (200, {}, 0))

    def received(self, path=None, status=None):
        with self._lock:
            return [r for r in self.requests
                    if (path is None or r["path"] == path)
                    and (status is None or r["status"] == status)]

    def wait_for(self, predicate, timeout=30):
        """Waits (bounded) until predicate(self.requests) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def close(self):
        self._server.shutdown()
        self._server.server_close()
