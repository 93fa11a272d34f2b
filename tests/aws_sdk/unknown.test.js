// Raw HTTP against the AWS endpoint: unknown operations get a prompt 400
// that names the operation (never a hang, never a bodiless 500), and the
// listener's own routes still work.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { startEnv } from "./harness.js";

const T = { timeout: 30000 };
let env;

before(async () => {
  env = await startEnv();
});

after(async () => {
  await env?.close();
});

const AMZ_DATE = "20260301T120000Z";
const AUTH =
  "AWS4-HMAC-SHA256 Credential=test/20260301/us-east-1/events/aws4_request, " +
  "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0".repeat(64);

function jsonHeaders(target, version = "1.1") {
  return {
    "Content-Type": `application/x-amz-json-${version}`,
    "X-Amz-Target": target,
    "X-Amz-Date": AMZ_DATE,
    Authorization: AUTH,
  };
}

test("AWSEvents.ListEventBuses over raw HTTP → 200 JSON with the default bus", T, async () => {
  const r = await env.daemon.raw("/", { headers: jsonHeaders("AWSEvents.ListEventBuses"), body: "{}" });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get("content-type") || "", /application\/x-amz-json-1\.1/);
  const body = JSON.parse(r.text);
  assert.ok(body.EventBuses.some((b) => b.Name === "default"), r.text);
});

test("X-Amz-Target AWSEvents.NoSuchOperation → 400 JSON naming the operation", T, async () => {
  const r = await env.daemon.raw("/", { headers: jsonHeaders("AWSEvents.NoSuchOperation"), body: "{}" });
  assert.equal(r.status, 400, r.text);
  const body = JSON.parse(r.text);
  assert.equal(typeof body.__type, "string", r.text);
  assert.match(r.text, /NoSuchOperation/);
});

test("GraniteServiceVersion20100801.NoSuchOperation (CloudWatch JSON 1.0) → 400 JSON", T, async () => {
  const r = await env.daemon.raw("/", {
    headers: { ...jsonHeaders("GraniteServiceVersion20100801.NoSuchOperation", "1.0"), "x-amzn-query-mode": "true" },
    body: "{}",
  });
  assert.equal(r.status, 400, r.text);
  const body = JSON.parse(r.text);
  assert.equal(typeof body.__type, "string", r.text);
  assert.match(r.text, /NoSuchOperation/);
});

test("AWSEvents.ListRules with a body that is not JSON → 400 JSON error", T, async () => {
  const r = await env.daemon.raw("/", { headers: jsonHeaders("AWSEvents.ListRules"), body: "{not json" });
  assert.equal(r.status, 400, r.text);
  const body = JSON.parse(r.text);
  assert.equal(typeof body.__type, "string", r.text);
});

test("SNS form Action=NoSuchAction → 400 XML error naming the action", T, async () => {
  const r = await env.daemon.raw("/", {
    headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
    body: "Action=NoSuchAction&Version=2010-03-31",
  });
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /<ErrorResponse/);
  assert.match(r.text, /<Code>[A-Za-z]+<\/Code>/);
  assert.match(r.text, /NoSuchAction/);
});

test("the listener's own routes still answer: /metrics and /healthz", T, async () => {
  const m = await env.daemon.raw("/metrics", { method: "GET" });
  assert.equal(m.status, 200);
  assert.match(m.text, /evbus_/);
  const h = await env.daemon.raw("/healthz", { method: "GET" });
  assert.equal(h.status, 200);
});
