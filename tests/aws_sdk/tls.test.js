// The AWS endpoint over HTTPS (evbusd --http-tls-cert/--http-tls-key): the
// SDK, trusting the test's own CA, creates a rule and puts events through
// TLS, and they reach the webhook; an SDK that does not trust the CA, and
// one speaking plain HTTP to the TLS port, are refused. The CA and server
// certificate are made for the run by Debian's openssl command.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  EventBridgeClient,
  ListEventBusesCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { ListTopicsCommand, SNSClient } from "@aws-sdk/client-sns";

import { startEnv } from "./harness.js";

const T = { timeout: 60000 };
let env;
let work;
let ca;

function openssl(...args) {
  execFileSync("openssl", args, { stdio: "ignore", timeout: 60000 });
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "evbus-sdk-tls-"));
  const f = (name) => path.join(work, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "2", "-subj", "/CN=sdk test CA");
  openssl("req", ...ec, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=evbusd");
  fs.writeFileSync(f("server.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial",
    "-out", f("server.crt"), "-days", "2", "-extfile", f("server.ext"));
  fs.chmodSync(f("server.key"), 0o600);
  ca = fs.readFileSync(f("ca.crt"));
  env = await startEnv({ extraArgs: ["--http-tls-cert", f("server.crt"), "--http-tls-key", f("server.key")] });
});

after(async () => {
  await env?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// SDK client options for the HTTPS endpoint; `trusted`: with the test's CA.
function tlsConfig({ trusted = true, scheme = "https" } = {}) {
  const base = env.daemon.clientConfig();
  return {
    ...base,
    endpoint: `${scheme}://${env.daemon.http}`,
    requestHandler: {
      ...base.requestHandler,
      httpsAgent: new https.Agent(trusted ? { ca } : {}),
    },
  };
}

test("PutRule, PutTargets and PutEvents over HTTPS reach the webhook", T, async () => {
  const eb = new EventBridgeClient(tlsConfig());
  try {
    const buses = await eb.send(new ListEventBusesCommand({}));
    assert.equal(buses.EventBuses[0].Name, "default");
    await eb.send(new PutRuleCommand({ Name: "tls-rule", EventPattern: JSON.stringify({ source: ["com.example.tls"] }) }));
    await eb.send(new PutTargetsCommand({ Rule: "tls-rule", Targets: [{ Id: "hook", Arn: env.receiver.url("/tls") }] }));
    const put = await eb.send(
      new PutEventsCommand({
        Entries: [{ Source: "com.example.tls", DetailType: "Over TLS", Detail: JSON.stringify({ secure: true }) }],
      }),
    );
    assert.equal(put.FailedEntryCount, 0);
    const got = await env.receiver.waitFor("/tls");
    const event = JSON.parse(got[0].body);
    assert.equal(event["detail-type"], "Over TLS");
    assert.deepEqual(event.detail, { secure: true });
    assert.equal(event.id, put.Entries[0].EventId);
  } finally {
    eb.destroy();
  }
});

test("the query protocol (SNS) works over HTTPS too", T, async () => {
  const sns = new SNSClient(tlsConfig());
  try {
    const topics = await sns.send(new ListTopicsCommand({}));
    assert.ok(Array.isArray(topics.Topics ?? []));
  } finally {
    sns.destroy();
  }
});

test("an SDK that does not trust the CA, or speaks plain HTTP, is refused", T, async () => {
  const untrusted = new EventBridgeClient(tlsConfig({ trusted: false }));
  try {
    await assert.rejects(untrusted.send(new ListEventBusesCommand({})), (err) => {
      assert.match(String(err.code ?? err.message), /UNABLE_TO_VERIFY|CERT|certificate/i);
      return true;
    });
  } finally {
    untrusted.destroy();
  }
  const plain = new EventBridgeClient(tlsConfig({ scheme: "http" }));
  try {
    await assert.rejects(plain.send(new ListEventBusesCommand({})));
  } finally {
    plain.destroy();
  }
});
