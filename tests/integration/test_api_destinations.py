"""Connections and API destinations: Basic, API key and OAuth client
credentials, path wildcards, rate limits and HMAC signatures, against real
HTTP servers on loopback."""
import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import unittest

from evbus_harness import Daemon, entry
from receiver import Receiver


class TokenServer:
    """A loopback OAuth2 client-credentials token endpoint."""

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append({"headers": dict(self.headers),
                                       "body": body.decode()})
                payload = json.dumps({"access_token": "token-%d" % len(outer.requests),
                                      "expires_in": 3600}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ApiDestinationTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()
        cls.r = Receiver()
        cls.tokens = TokenServer()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.r.close()
        cls.tokens.close()

    def connection(self, name, auth_type, auth, secret=None):
        args = ["create-connection", "--name", name, "--authorization-type",
                auth_type, "--auth-parameters", json.dumps(auth)]
        if secret:
            args += ["--signing-secret", secret]
        return self.d.cli_json(*args)["ConnectionArn"]

    def destination(self, name, conn_arn, endpoint, method="POST", rate=None):
        args = ["create-api-destination", "--name", name, "--connection-arn",
                conn_arn, "--invocation-endpoint", endpoint, "--http-method", method]
        if rate:
            args += ["--invocation-rate-limit-per-second", str(rate)]
        return self.d.cli_json(*args)["ApiDestinationArn"]

    def route(self, rule, source, target):
        self.d.cli("put-rule", "--name", rule, "--event-pattern",
                   json.dumps({"source": [source]}))
        self.d.cli("put-targets", "--rule", rule, "--targets", json.dumps([target]))

    def put(self, source, n=1):
        out = self.d.cli_json("put-events", "--entries",
                              json.dumps([entry(source=source, detail={"i": i})
                                          for i in range(n)]))
        return [e["EventId"] for e in out["Entries"]]

    def test_basic_auth_wildcards_and_signature(self):
        conn = self.connection("basic", "BASIC", {
            "BasicAuthParameters": {"Username": "user", "Password": "pa:ss"},
            "InvocationHttpParameters": {"HeaderParameters": [
                {"Key": "X-Team", "Value": "ops", "IsValueSecret": False}]}},
            secret="s3cret")
        described = self.d.cli_json("describe-connection", "--name", "basic")
        self.assertEqual(described["AuthParameters"], {
            "BasicAuthParameters": {"Username": "user"},
            "InvocationHttpParameters": {"HeaderParameters": [
                {"Key": "X-Team", "Value": "ops", "IsValueSecret": False}]}})
        self.assertNotIn("pa:ss", json.dumps(described))
        dest = self.destination("basic-dest", conn, self.r.url("/api/*/orders"))
        self.route("api-basic", "api.basic", {
            "Id": "d", "Arn": dest,
            "HttpParameters": {"PathParameterValues": ["tenant1"]}})
        ids = self.put("api.basic")
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/api/tenant1/orders" for x in reqs)))
        req = self.r.received("/api/tenant1/orders")[0]
        self.assertEqual(req["headers"]["Authorization"],
                         "Basic " + base64.b64encode(b"user:pa:ss").decode())
        self.assertEqual(req["headers"]["X-Team"], "ops")
        self.assertEqual(req["headers"]["Range"], "bytes=0-1048575")
        self.assertEqual(json.loads(req["body"])["id"], ids[0])
        # The signature verifies with the shared secret.
        sig = dict(p.split("=", 1) for p in req["headers"]["X-Evbus-Signature"].split(","))
        want = hmac.new(b"s3cret", (sig["t"] + "." + req["body"]).encode(),
                        hashlib.sha256).hexdigest()
        self.assertEqual(sig["v1"], want)

    def test_api_key(self):
        conn = self.connection("key", "API_KEY", {"ApiKeyAuthParameters": {
            "ApiKeyName": "X-Api-Key", "ApiKeyValue": "k-123"}})
        dest = self.destination("key-dest", conn, self.r.url("/apikey"))
        self.route("api-key", "api.key", {"Id": "d", "Arn": dest})
        self.put("api.key")
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/apikey" for x in reqs)))
        self.assertEqual(self.r.received("/apikey")[0]["headers"]["X-Api-Key"], "k-123")

    def test_oauth_client_credentials_and_refresh_on_401(self):
        conn = self.connection("oauth", "OAUTH_CLIENT_CREDENTIALS", {
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
                "AuthorizationEndpoint": "http://127.0.0.1:%d/token" % self.tokens.port,
                "HttpMethod": "POST",
                "OAuthHttpParameters": {"BodyParameters": [
                    {"Key": "scope", "Value": "events"}]}}})
        self.r.script("/oauth", [(401, {}, 0)])
        dest = self.destination("oauth-dest", conn, self.r.url("/oauth"))
        self.route("api-oauth", "api.oauth", {"Id": "d", "Arn": dest})
        self.put("api.oauth")
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/oauth" and x["status"] == 200
                             for x in reqs), timeout=30))
        calls = self.r.received("/oauth")
        self.assertEqual(calls[0]["headers"]["Authorization"], "Bearer token-1")
        self.assertEqual(calls[-1]["headers"]["Authorization"], "Bearer token-2")
        tok = self.tokens.requests[0]
        self.assertEqual(tok["headers"]["Authorization"],
                         "Basic " + base64.b64encode(b"cid:csecret").decode())
        self.assertIn("grant_type=client_credentials", tok["body"])
        self.assertIn("scope=events", tok["body"])

    def test_oauth_connection_state_follows_its_token_requests(self):
        before = len(self.tokens.requests)
        self.connection("oauth-state", "OAUTH_CLIENT_CREDENTIALS", {
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "cid", "ClientSecret": "s"},
                "AuthorizationEndpoint": "http://127.0.0.1:%d/token"
                                         % self.tokens.port,
                "HttpMethod": "POST"}})
        # Authorized at once, before any event needs a token.
        deadline = time.monotonic() + 20
        state = None
        while time.monotonic() < deadline:
            state = self.d.cli_json("describe-connection", "--name",
                                    "oauth-state")["ConnectionState"]
            if state == "AUTHORIZED":
                break
            self.assertEqual(state, "AUTHORIZING")
            time.sleep(0.1)
        self.assertEqual(state, "AUTHORIZED")
        self.assertEqual(len(self.tokens.requests), before + 1)
        # An endpoint that cannot be reached: DEAUTHORIZED, and why.
        self.d.cli("update-connection", "--name", "oauth-state",
                   "--authorization-type", "OAUTH_CLIENT_CREDENTIALS",
                   "--auth-parameters", json.dumps({"OAuthParameters": {
                       "AuthorizationEndpoint": "http://127.0.0.1:1/token"}}))
        deadline = time.monotonic() + 20
        described = {}
        while time.monotonic() < deadline:
            described = self.d.cli_json("describe-connection", "--name",
                                        "oauth-state")
            if described["ConnectionState"] == "DEAUTHORIZED":
                break
            time.sleep(0.1)
        self.assertEqual(described["ConnectionState"], "DEAUTHORIZED")
        self.assertIn("OAuth token request to http://127.0.0.1:1/token "
                      "failed", described["StateReason"])
        # Kept across a restart.
        self.d.stop()
        self.d.start()
        described = self.d.cli_json("describe-connection", "--name",
                                    "oauth-state")
        self.assertEqual(described["ConnectionState"], "DEAUTHORIZED")

    def test_rate_limit(self):
        conn = self.connection("rl", "API_KEY", {"ApiKeyAuthParameters": {
            "ApiKeyName": "k", "ApiKeyValue": "v"}})
        dest = self.destination("rl-dest", conn, self.r.url("/rl"), rate=5)
        self.route("api-rl", "api.rl", {"Id": "d", "Arn": dest})
        self.put("api.rl", n=10)
        self.assertTrue(self.r.wait_for(
            lambda reqs: len([x for x in reqs if x["path"] == "/rl"]) == 10,
            timeout=30))
        times = sorted(x["time"] for x in self.r.received("/rl"))
        # 5 at once (the burst), then 5 more at 5/s: about a second.
        self.assertGreater(times[-1] - times[0], 0.7)

    def test_target_http_parameters_dynamic_and_checked(self):
        conn = self.connection("dyn", "API_KEY", {"ApiKeyAuthParameters": {
            "ApiKeyName": "X-Api-Key", "ApiKeyValue": "k-dyn"}})
        dest = self.destination("dyn-dest", conn, self.r.url("/dyn/*"))
        # `$.` values are read from the event (spec §5, §9).
        self.route("api-dyn", "api.dyn", {
            "Id": "d", "Arn": dest,
            "HttpParameters": {
                "PathParameterValues": ["$.detail.tenant"],
                "HeaderParameters": {"X-Order": "$.detail.order",
                                     "X-Static": "s"},
                "QueryStringParameters": {"n": "$.detail.n"}}})
        self.d.cli("put-events", "--entries", json.dumps([entry(
            source="api.dyn",
            detail={"tenant": "t-9", "order": "o-1", "n": 7})]))
        self.assertTrue(self.r.wait_for(
            lambda reqs: any(x["path"] == "/dyn/t-9?n=7" for x in reqs)),
            [x["path"] for x in self.r.received()])
        req = self.r.received("/dyn/t-9?n=7")[0]
        self.assertEqual(req["headers"]["X-Order"], "o-1")
        self.assertEqual(req["headers"]["X-Static"], "s")
        self.assertEqual(req["headers"]["X-Api-Key"], "k-dyn")
        # Values that would split the request are refused at PutTargets,
        # naming the member.
        for params, where in (
                ({"HeaderParameters": {"X-A": "v\r\nX-Injected: yes"}},
                 "targets.1.member.httpParameters.headerParameters"),
                ({"HeaderParameters": {"X A:": "v"}},
                 "targets.1.member.httpParameters.headerParameters"),
                ({"QueryStringParameters": {"q": "a\u0001b"}},
                 "targets.1.member.httpParameters.queryStringParameters"),
                ({"PathParameterValues": ["  "]},
                 "targets.1.member.httpParameters.pathParameterValues")):
            target = json.dumps([{"Id": "bad", "Arn": dest,
                                  "HttpParameters": params}])
            r = self.d.cli("put-targets", "--rule", "api-dyn", "--targets",
                           target, check=False)
            self.assertEqual(r.returncode, 1, (params, r.stdout))
            self.assertIn("(ValidationException)", r.stderr)
            self.assertIn("at '%s' failed to satisfy constraint" % where,
                          r.stderr)
        # A header value read from the event that holds a line break is not
        # sent: the delivery fails for good, naming the header.
        self.d.cli("put-events", "--entries", json.dumps([entry(
            source="api.dyn",
            detail={"tenant": "t-10", "order": "o\r\nX-Injected: yes",
                    "n": 8})]))
        deadline = time.monotonic() + 20
        letters = []
        while time.monotonic() < deadline and not letters:
            letters = self.d.cli_json("list-dead-letters", "--rule",
                                      "api-dyn").get("DeadLetters", [])
            time.sleep(0.2)
        self.assertEqual(len(letters), 1, letters)
        self.assertIn("Header X-Order of target d is not a valid HTTP header",
                      json.dumps(letters[0]))
        self.assertNotIn("ValidationException:", json.dumps(letters[0]))
        self.assertFalse(any("X-Injected" in x["headers"]
                             for x in self.r.received()))
        # An error that echoes a long value still reaches the CLI whole
        # enough to name the member (it exceeded gRPC's metadata limit).
        r = self.d.cli("put-targets", "--rule", "api-dyn", "--targets",
                       json.dumps([{"Id": "big", "Arn": dest,
                                    "Input": json.dumps("x" * 9000)}]),
                       check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ValidationException)", r.stderr)
        self.assertIn("at 'targets.1.member.input' failed to satisfy "
                      "constraint: Member must have length less than or "
                      "equal to 8192", r.stderr)

    def test_errors(self):
        r = self.d.cli("describe-connection", "--name", "nope", check=False)
        self.assertIn("Failed to describe the connection(s). Connection 'nope' "
                      "does not exist.", r.stderr)
        r = self.d.cli("create-connection", "--name", "bad", "--authorization-type",
                       "BASIC", "--auth-parameters", "{}", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ValidationException)", r.stderr)
        r = self.d.cli("create-api-destination", "--name", "x", "--connection-arn",
                       "arn:aws:events:us-east-1:000000000000:connection/none/1",
                       "--invocation-endpoint", "https://x.test", "--http-method",
                       "POST", check=False)
        self.assertIn("Connection 'none' does not exist.", r.stderr)
        # An ARN without the connection's id (EventBridge requires it) names
        # the ARN that would do.
        full = self.d.cli_json("create-connection", "--name", "short-arn",
                               "--authorization-type", "API_KEY",
                               "--auth-parameters", json.dumps({
                                   "ApiKeyAuthParameters": {
                                       "ApiKeyName": "k", "ApiKeyValue": "v"}})
                               )["ConnectionArn"]
        r = self.d.cli("create-api-destination", "--name", "x", "--connection-arn",
                       "arn:aws:events:us-east-1:000000000000:connection/short-arn",
                       "--invocation-endpoint", "https://x.test", "--http-method",
                       "POST", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("(ValidationException)", r.stderr)
        self.assertIn("lacks the connection's id; the ARN of connection "
                      "short-arn is %s." % full, r.stderr)
        r = self.d.cli("describe-api-destination", "--name", "nope", check=False)
        self.assertIn("An api-destination 'nope' does not exist.", r.stderr)
        # A CR/LF in an auth value would add headers to every delivery; an
        # over-long value is refused too. Neither is echoed (secrets).
        for params, where in (
                ({"ApiKeyAuthParameters": {"ApiKeyName": "k",
                                           "ApiKeyValue": "v\r\nX-Injected: yes"}},
                 "apiKeyAuthParameters.apiKeyValue"),
                ({"BasicAuthParameters": {"Username": "u", "Password": "p" * 513}},
                 "basicAuthParameters.password"),
                ({"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
                  "InvocationHttpParameters": {"HeaderParameters": [
                      {"Key": "h", "Value": "a\nb", "IsValueSecret": True}]}},
                 "invocationHttpParameters.headerParameters.1.value")):
            kind = "BASIC" if "BasicAuthParameters" in params else "API_KEY"
            r = self.d.cli("create-connection", "--name", "crlf",
                           "--authorization-type", kind, "--auth-parameters",
                           json.dumps(params), check=False)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("(ValidationException)", r.stderr)
            self.assertIn(where, r.stderr)
            self.assertNotIn("X-Injected", r.stderr)
        r = self.d.cli("update-connection", "--name", "short-arn",
                       "--authorization-type", "API_KEY", "--auth-parameters",
                       json.dumps({"ApiKeyAuthParameters": {
                           "ApiKeyName": "k", "ApiKeyValue": "v\r\nX: y"}}),
                       check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.d.cli("put-rule", "--name", "api-missing", "--event-pattern",
                   json.dumps({"source": ["x"]}))
        r = self.d.cli("put-targets", "--rule", "api-missing", "--targets", json.dumps([
            {"Id": "d", "Arn": "arn:aws:events:us-east-1:000000000000:api-destination/ghost/1"}]),
            check=False)
        self.assertIn("An api-destination 'ghost' does not exist.", r.stderr)


if __name__ == "__main__":
    unittest.main()
