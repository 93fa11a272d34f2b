// SigV4 verification (evbusd --aws-credentials): the SDKs' signed requests
// pass on every service; a wrong key or secret, an old or future signature,
// a body swapped under a signature, an unsigned X-Amz-Target and a
// signature scoped to another service are refused; an SNS SubscribeURL
// needs no signature (its token authorises it).
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { CloudWatchClient, ListMetricsCommand } from "@aws-sdk/client-cloudwatch";
import { EventBridgeClient, ListEventBusesCommand } from "@aws-sdk/client-eventbridge";
import { LambdaClient, ListFunctionsCommand } from "@aws-sdk/client-lambda";
import { ListSchedulesCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { ListTopicsCommand, SNSClient } from "@aws-sdk/client-sns";

import { REGION, expectAwsError, startEnv } from "./harness.js";

const T = { timeout: 30000 };
const KEY = "AKIDEVBUSTEST";
const SECRET = "evbus-test-secret";
let env;
let credsDir;

before(async () => {
  credsDir = fs.mkdtempSync(path.join(os.tmpdir(), "evbus-creds-"));
  const file = path.join(credsDir, "credentials");
  fs.writeFileSync(file, `[default]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n`);
  env = await startEnv({ extraArgs: ["--aws-credentials", file] });
});

after(async () => {
  await env?.close();
  fs.rmSync(credsDir, { recursive: true, force: true });
});

const config = (extra = {}) =>
  env.daemon.clientConfig({ credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, ...extra });

// A minimal SigV4 signer for raw requests (POST /, JSON 1.1).
function sign({ body, target, service = "events", date = new Date(), signed = ["content-type", "host", "x-amz-date", "x-amz-target"] }) {
  const host = env.daemon.http;
  const amzDate = date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const day = amzDate.slice(0, 8);
  const headers = { "content-type": "application/x-amz-json-1.1", host, "x-amz-date": amzDate, "x-amz-target": target };
  const names = [...signed].sort();
  const canonical = [
    "POST", "/", "",
    ...names.map((n) => `${n}:${headers[n]}`), "",
    names.join(";"),
    createHash("sha256").update(body).digest("hex"),
  ].join("\n");
  const scope = `${day}/${REGION}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  let k = createHmac("sha256", `AWS4${SECRET}`).update(day).digest();
  for (const part of [REGION, service, "aws4_request"]) k = createHmac("sha256", k).update(part).digest();
  const signature = createHmac("sha256", k).update(toSign).digest("hex");
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${KEY}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  delete headers.host;
  return headers;
}

async function send(headers, body) {
  const res = await env.daemon.raw("/", { headers, body });
  return { status: res.status, type: JSON.parse(res.text).__type, message: JSON.parse(res.text).message };
}

test("the SDKs' signed requests pass on every service", T, async () => {
  const clients = [
    [new EventBridgeClient(config()), new ListEventBusesCommand({})],
    [new LambdaClient(config()), new ListFunctionsCommand({})],
    [new SchedulerClient(config()), new ListSchedulesCommand({})],
    [new CloudWatchClient(config()), new ListMetricsCommand({})],
    [new SNSClient(config()), new ListTopicsCommand({})],
  ];
  for (const [client, command] of clients) {
    await client.send(command);
    client.destroy();
  }
});

test("a wrong secret, an unknown key and a clock 20 minutes off are refused", T, async () => {
  const wrong = new EventBridgeClient(config({ credentials: { accessKeyId: KEY, secretAccessKey: "nope" } }));
  await expectAwsError(wrong.send(new ListEventBusesCommand({})), "InvalidSignatureException");
  wrong.destroy();
  const unknown = new EventBridgeClient(config({ credentials: { accessKeyId: "AKIDOTHER", secretAccessKey: SECRET } }));
  await expectAwsError(unknown.send(new ListEventBusesCommand({})), "UnrecognizedClientException");
  unknown.destroy();
  for (const offset of [-20 * 60 * 1000, 20 * 60 * 1000]) {
    const skewed = new EventBridgeClient(config({ systemClockOffset: offset }));
    const err = await expectAwsError(skewed.send(new ListEventBusesCommand({})), "InvalidSignatureException");
    assert.match(err.message, offset < 0 ? /Signature expired/ : /Signature not yet current/);
    skewed.destroy();
  }
});

test("a raw signed request passes; a swapped body, an unsigned X-Amz-Target or another service's scope do not", T, async () => {
  const body = JSON.stringify({ Entries: [{ Source: "a", DetailType: "d", Detail: "{}" }] });
  const ok = await send(sign({ body, target: "AWSEvents.PutEvents" }), body);
  assert.equal(ok.status, 200);
  // The same signature with another body.
  const swapped = JSON.stringify({ Entries: [{ Source: "evil", DetailType: "d", Detail: "{}" }] });
  const bad = await send(sign({ body, target: "AWSEvents.PutEvents" }), swapped);
  assert.equal(bad.status, 403);
  assert.equal(bad.type, "InvalidSignatureException");
  // X-Amz-Target not among the signed headers: it could be changed.
  const unsigned = await send(
    sign({ body: "{}", target: "AWSEvents.ListEventBuses", signed: ["content-type", "host", "x-amz-date"] }),
    "{}",
  );
  assert.equal(unsigned.status, 400);
  assert.equal(unsigned.type, "IncompleteSignatureException");
  assert.match(unsigned.message, /x-amz-target/);
  // Scoped to Lambda, sent to EventBridge.
  const scoped = await send(sign({ body: "{}", target: "AWSEvents.ListEventBuses", service: "lambda" }), "{}");
  assert.equal(scoped.status, 403);
  assert.match(scoped.message, /scoped to correct service: 'events'/);
  // An hour-old signature, replayed.
  const old = await send(sign({ body: "{}", target: "AWSEvents.ListEventBuses", date: new Date(Date.now() - 3600e3) }), "{}");
  assert.equal(old.status, 403);
  assert.match(old.message, /Signature expired/);
});

test("an unsigned GET of an SNS SubscribeURL is let through; other unsigned calls are not", T, async () => {
  // A wrong token: the service's answer (not MissingAuthenticationToken).
  const confirm = await env.daemon.raw(
    `/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(`arn:aws:sns:${REGION}:000000000000:none`)}&Token=x`,
    { method: "GET" },
  );
  assert.doesNotMatch(confirm.text, /MissingAuthenticationToken/);
  const list = await env.daemon.raw("/?Action=ListTopics", { method: "GET" });
  assert.match(list.text, /MissingAuthenticationToken/);
  const two = await env.daemon.raw("/?Action=ConfirmSubscription&Action=Publish", { method: "GET" });
  assert.match(two.text, /MissingAuthenticationToken/);
});
