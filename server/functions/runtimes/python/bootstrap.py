"""evbus Python runtime interface client (pure standard library, Python 3.11).

Contract with evbusd (see ../README.md and spec lambda-cloudwatch-sns.md 1-2):
  * started as `/usr/bin/python3 -u bootstrap.py`, cwd = a per-environment work dir;
  * env: AWS_LAMBDA_RUNTIME_API=host:port, _HANDLER=`mod.fn` or `dir/mod.fn`,
    LAMBDA_TASK_ROOT (code dir, put first on sys.path), AWS_LAMBDA_FUNCTION_NAME,
    _VERSION, _MEMORY_SIZE, AWS_LAMBDA_LOG_GROUP_NAME, _LOG_STREAM_NAME, AWS_REGION,
    optional AWS_LAMBDA_LOG_LEVEL, plus the user's variables;
  * init: import the handler; on failure POST /2018-06-01/runtime/init/error
    {"errorMessage","errorType","requestId":"","stackTrace"}, log it, exit(1);
  * loop: GET /runtime/invocation/next (no timeout, blocks), call the handler,
    POST /runtime/invocation/<id>/response (JSON) or /<id>/error (header
    Lambda-Runtime-Function-Error-Type: Unhandled);
  * stdout is the log stream: `logging` records are `[LEVEL]\\t<ts>\\t<id>\\t<msg>`,
    errors are `[ERROR] Type: msg\\rTraceback ...` (one line; newlines become \\r).
"""
import decimal
import http.client
import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback
import types

API = "/2018-06-01/runtime"
_request_id = ""  # current invocation, shown in log lines


class Fault(Exception):
    """An error the runtime reports with a fixed Runtime.* type."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


def user_frames(tb):
    """traceback.format_list lines for the frames that are not this file's."""
    hidden = (os.path.abspath(__file__), os.path.dirname(importlib.__file__) + os.sep)
    frames = [f for f in traceback.extract_tb(tb)
              if not os.path.abspath(f.filename).startswith(hidden)
              and not f.filename.startswith("<frozen ")]
    return traceback.format_list(frames)


def error_body(error_type, message, trace, request_id):
    return {"errorMessage": message, "errorType": error_type,
            "requestId": request_id, "stackTrace": trace}


def log_error(body):
    lines = ["[ERROR] %s: %s" % (body["errorType"], body["errorMessage"]),
             "Traceback (most recent call last):"]
    for entry in body["stackTrace"]:
        lines.extend(entry.rstrip("\n").split("\n"))
    sys.stdout.write("\r".join(lines).replace("\n", "\r") + "\n")
    sys.stdout.flush()


class RuntimeClient:
    """One persistent HTTP/1.1 connection to the Runtime API; reconnects on failure."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port, self.conn = host, int(port), None

    def call(self, method, path, body=None, headers=None):
        for attempt in range(5):
            try:
                if self.conn is None:  # no timeout: /next blocks until an event exists
                    self.conn = http.client.HTTPConnection(self.host, self.port)
                    self.conn.connect()
                    # Small requests: no Nagle delay (see evbusd's server too).
                    self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.conn.request(method, API + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, resp.headers, data
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 4:
                    raise
                print("runtime: %s %s failed (%s), reconnecting" % (method, path, e),
                      file=sys.stderr, flush=True)
                time.sleep(0.1 * (attempt + 1))

    def post_json(self, path, obj, error_type=None):
        headers = {"Content-Type": "application/json"}
        if error_type:
            headers["Lambda-Runtime-Function-Error-Type"] = error_type
        return self.call("POST", path, json.dumps(obj).encode(), headers)


class CognitoIdentity:
    def __init__(self, raw):
        d = json.loads(raw) if raw else {}
        self.cognito_identity_id = d.get("cognitoIdentityId")
        self.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")


class ClientContext:
    def __init__(self, d):
        self.custom, self.env = d.get("custom"), d.get("env")
        self.client = types.SimpleNamespace(**d["client"]) if d.get("client") else None


class LambdaContext:
    def __init__(self, headers):
        env = os.environ
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = CognitoIdentity(headers.get("Lambda-Runtime-Cognito-Identity"))
        cc = headers.get("Lambda-Runtime-Client-Context")
        self.client_context = ClientContext(json.loads(cc)) if cc else None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()


class LambdaLogHandler(logging.Handler):
    """`[LEVEL]\\t2024-01-01T00:00:00.123Z\\t<request id>\\t<message>` on stdout."""

    def emit(self, record):
        try:
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            line = "[%s]\t%s.%03dZ\t%s\t%s" % (record.levelname, ts, int(record.msecs),
                                               _request_id, self.format(record))
            sys.stdout.write(line.replace("\n", "\r") + "\n")
        except Exception:
            self.handleError(record)


def setup_logging():
    root = logging.getLogger()
    root.addHandler(LambdaLogHandler())
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    root.setLevel(level if level in logging._nameToLevel else logging.WARNING)


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    if modname.replace("/", ".").split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict",
                    "Cannot use built-in module %s as a handler module" % modname)
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, (e.text or "").strip())]
        raise Fault("Runtime.UserCodeSyntaxError",
                    "Syntax error in module '%s': %s" % (modname, e), trace)
    fn = getattr(module, fname, None)
    if fn is None:
        raise Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    return fn


def to_json(result):
    def default(o):  # DynamoDB-style numbers, like the AWS client
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)
    return json.dumps(result, default=default)


def invoke(client, fn, headers, body):
    global _request_id
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
    _request_id = request_id
    if headers.get("Lambda-Runtime-Trace-Id"):
        os.environ["_X_AMZN_TRACE_ID"] = headers["Lambda-Runtime-Trace-Id"]
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        try:
            event = json.loads(body) if body else None
        except ValueError as e:
            raise Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
        result = fn(event, LambdaContext(headers))
        try:
            payload = to_json(result)
        except (TypeError, ValueError) as e:
            raise Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)
        client.call("POST", "/invocation/%s/response" % request_id, payload.encode(),
                    {"Content-Type": "application/json"})
    except Fault as f:
        err = error_body(f.error_type, f.message, f.trace, request_id)
        log_error(err)
        client.post_json("/invocation/%s/error" % request_id, err, "Unhandled")
    except Exception as e:
        err = error_body(type(e).__name__, str(e), user_frames(e.__traceback__), request_id)
        log_error(err)
        client.post_json("/invocation/%s/error" % request_id, err, "Unhandled")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def main():
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    handler = os.environ.get("_HANDLER", "")
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    setup_logging()
    try:
        fn = load_handler(handler)
    except Exception as e:  # Fault, or an exception raised at module scope
        if isinstance(e, Fault):
            err = error_body(e.error_type, e.message, e.trace, "")
        else:
            err = error_body(type(e).__name__, str(e), user_frames(e.__traceback__), "")
        log_error(err)
        client.post_json("/init/error", err, err["errorType"])
        sys.exit(1)
    while True:
        status, headers, body = client.call("GET", "/invocation/next")
        if status != 200:
            print("runtime: /next returned %d: %r" % (status, body[:200]), file=sys.stderr, flush=True)
            sys.exit(1)
        invoke(client, fn, headers, body)


if __name__ == "__main__":
    main()
