// Wire details every SDK relies on: each response, success or error, carries
// a request id (x-amzn-RequestId; SNS errors also have it in the XML). The
// SDK surfaces it as $metadata.requestId, and support tooling logs it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { CloudWatchClient, DescribeAlarmsCommand, SetAlarmStateCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeRuleCommand, EventBridgeClient, ListEventBusesCommand } from "@aws-sdk/client-eventbridge";
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from "@aws-sdk/client-lambda";
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { ListTopicsCommand, PublishCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";

import { ACCOUNT, REGION, startEnv } from "./harness.js";

const T = { timeout: 30000 };
let env;
let clients;

before(async () => {
  env = await startEnv();
  const c = env.daemon.clientConfig();
  clients = {
    eb: new EventBridgeClient(c),
    lambda: new LambdaClient(c),
    sched: new SchedulerClient(c),
    cw: new CloudWatchClient(c),
    sns: new SNSClient(c),
  };
});

after(async () => {
  for (const c of Object.values(clients || {})) c.destroy();
  await env?.close();
});

const ID = /^[0-9A-Za-z-]{16,}$/;

async function errorOf(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

function checkId(label, metadata) {
  assert.match(String(metadata?.requestId ?? ""), ID, `${label}: $metadata.requestId = ${metadata?.requestId}`);
}

test("EventBridge: request id on success and error", T, async () => {
  checkId("ListEventBuses", (await clients.eb.send(new ListEventBusesCommand({}))).$metadata);
  checkId("DescribeRule (missing)", (await errorOf(clients.eb.send(new DescribeRuleCommand({ Name: "nope" })))).$metadata);
});

test("CloudWatch: request id on success and error", T, async () => {
  checkId("DescribeAlarms", (await clients.cw.send(new DescribeAlarmsCommand({}))).$metadata);
  const err = await errorOf(clients.cw.send(new SetAlarmStateCommand({ AlarmName: "nope", StateValue: "OK", StateReason: "x" })));
  checkId("SetAlarmState (missing)", err.$metadata);
});

test("Lambda: request id on success and error", T, async () => {
  checkId("GetFunction (missing)", (await errorOf(clients.lambda.send(new GetFunctionCommand({ FunctionName: "nope" })))).$metadata);
  checkId("ListFunctions", (await clients.lambda.send(new ListFunctionsCommand({}))).$metadata);
});

test("Scheduler: request id on success and error", T, async () => {
  checkId("GetSchedule (missing)", (await errorOf(clients.sched.send(new GetScheduleCommand({ Name: "nope" })))).$metadata);
  checkId("ListSchedules", (await clients.sched.send(new ListSchedulesCommand({}))).$metadata);
});

test("SNS: request id on success and error", T, async () => {
  checkId("ListTopics", (await clients.sns.send(new ListTopicsCommand({}))).$metadata);
  const missing = `arn:aws:sns:${REGION}:${ACCOUNT}:nope`;
  checkId("Publish (missing topic)", (await errorOf(clients.sns.send(new PublishCommand({ TopicArn: missing, Message: "x" })))).$metadata);
  const bad = await errorOf(
    clients.sns.send(new SubscribeCommand({ TopicArn: missing, Protocol: "carrier-pigeon", Endpoint: "x" })),
  );
  assert.equal(bad.$metadata.httpStatusCode, 400);
  checkId("Subscribe (bad protocol)", bad.$metadata);
});
