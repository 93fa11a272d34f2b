// EventBridge (AWS JSON 1.1, X-Amz-Target: AWSEvents.*) through
// @aws-sdk/client-eventbridge against a real evbusd.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  ListEventBusesCommand,
  ListRuleNamesByTargetCommand,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  TestEventPatternCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";

import { ACCOUNT, REGION, ROLE_ARN, expectAwsError, pythonZip, sleep, startEnv } from "./harness.js";

const T = { timeout: 60000 };
let env;
let eb;
let lambda;

before(async () => {
  env = await startEnv();
  eb = new EventBridgeClient(env.daemon.clientConfig());
  lambda = new LambdaClient(env.daemon.clientConfig());
});

after(async () => {
  eb?.destroy();
  lambda?.destroy();
  await env?.close();
});

const sortedTags = (tags) => [...(tags || [])].sort((a, b) => a.Key.localeCompare(b.Key));

test("CreateEventBus, DescribeEventBus, ListEventBuses", T, async () => {
  const created = await eb.send(new CreateEventBusCommand({ Name: "sdk-bus", Description: "made by the SDK" }));
  assert.equal(created.EventBusArn, `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/sdk-bus`);

  const desc = await eb.send(new DescribeEventBusCommand({ Name: "sdk-bus" }));
  assert.equal(desc.Name, "sdk-bus");
  assert.equal(desc.Arn, created.EventBusArn);
  if (desc.CreationTime !== undefined) {
    assert.ok(desc.CreationTime instanceof Date, "CreationTime is a Date");
    assert.ok(!Number.isNaN(desc.CreationTime.getTime()));
  }

  const dup = await expectAwsError(
    eb.send(new CreateEventBusCommand({ Name: "sdk-bus" })),
    "ResourceAlreadyExistsException",
  );
  assert.equal(dup.$metadata.httpStatusCode, 400);

  const list = await eb.send(new ListEventBusesCommand({}));
  const names = list.EventBuses.map((b) => b.Name);
  assert.ok(names.includes("default"), `default in ${names}`);
  assert.ok(names.includes("sdk-bus"), `sdk-bus in ${names}`);
});

test("PutRule with an EventPattern, webhook target with an InputTransformer, PutEvents", T, async () => {
  const { receiver } = env;
  await eb.send(new CreateEventBusCommand({ Name: "orders" }));
  const pattern = {
    source: ["com.shop"],
    "detail-type": ["Order Placed"],
    detail: { total: [{ numeric: [">", 100] }] },
  };
  const rule = await eb.send(
    new PutRuleCommand({ Name: "big-orders", EventBusName: "orders", EventPattern: JSON.stringify(pattern) }),
  );
  assert.equal(rule.RuleArn, `arn:aws:events:${REGION}:${ACCOUNT}:rule/orders/big-orders`);

  const template = '{"order": <order>, "total": <total>, "source": <src>, "rule": "<aws.events.rule-name>"}';
  const put = await eb.send(
    new PutTargetsCommand({
      Rule: "big-orders",
      EventBusName: "orders",
      Targets: [
        {
          Id: "hook",
          Arn: receiver.url("/hook"), // evbus shorthand for a webhook
          InputTransformer: {
            InputPathsMap: { order: "$.detail.orderId", total: "$.detail.total", src: "$.source" },
            InputTemplate: template,
          },
        },
      ],
    }),
  );
  assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));

  const desc = await eb.send(new DescribeRuleCommand({ Name: "big-orders", EventBusName: "orders" }));
  assert.equal(desc.Name, "big-orders");
  assert.equal(desc.Arn, rule.RuleArn);
  assert.equal(desc.EventBusName, "orders");
  assert.equal(desc.State, "ENABLED");
  assert.deepEqual(JSON.parse(desc.EventPattern), pattern);

  const targets = await eb.send(new ListTargetsByRuleCommand({ Rule: "big-orders", EventBusName: "orders" }));
  assert.equal(targets.Targets.length, 1);
  assert.equal(targets.Targets[0].Id, "hook");
  assert.equal(targets.Targets[0].Arn, receiver.url("/hook"));
  assert.equal(targets.Targets[0].InputTransformer.InputTemplate, template);
  assert.deepEqual(targets.Targets[0].InputTransformer.InputPathsMap, {
    order: "$.detail.orderId",
    total: "$.detail.total",
    src: "$.source",
  });

  const events = await eb.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: "orders",
          Source: "com.shop",
          DetailType: "Order Placed",
          Detail: JSON.stringify({ orderId: "o-1", total: 250 }),
        },
        {
          EventBusName: "orders",
          Source: "com.shop",
          DetailType: "Order Placed",
          Detail: JSON.stringify({ orderId: "o-2", total: 5 }), // does not match
        },
      ],
    }),
  );
  assert.equal(events.FailedEntryCount, 0, JSON.stringify(events.Entries));
  assert.equal(events.Entries.length, 2);
  for (const e of events.Entries) assert.match(e.EventId, /^[0-9a-f-]{36}$/);

  const got = await receiver.waitFor("/hook");
  assert.deepEqual(JSON.parse(got[0].body), { order: "o-1", total: 250, source: "com.shop", rule: "big-orders" });
  await sleep(500); // the non-matching event must not arrive
  assert.equal(receiver.received("/hook").length, 1);
});

test("PutEvents: per-entry MalformedDetail failure, HTTP 200", T, async () => {
  const r = await eb.send(
    new PutEventsCommand({
      Entries: [
        { Source: "com.ok", DetailType: "ok", Detail: "{}" },
        { Source: "com.bad", DetailType: "bad", Detail: "not json" },
      ],
    }),
  );
  assert.equal(r.FailedEntryCount, 1);
  assert.equal(r.Entries.length, 2);
  assert.ok(r.Entries[0].EventId, "first entry accepted");
  assert.equal(r.Entries[1].EventId, undefined);
  assert.equal(r.Entries[1].ErrorCode, "MalformedDetail");
});

test("TestEventPattern true and false", T, async () => {
  const event = JSON.stringify({
    id: "e0a0e8ed-6a80-4b0a-9fbb-2d2d0c0c0c0c",
    account: ACCOUNT,
    source: "com.shop",
    time: "2026-03-01T12:00:00Z",
    region: REGION,
    "detail-type": "Order Placed",
    resources: [],
    detail: { total: 250, tags: ["gift"] },
  });
  const yes = await eb.send(
    new TestEventPatternCommand({
      EventPattern: JSON.stringify({ detail: { total: [{ numeric: [">", 100] }], tags: ["gift"] } }),
      Event: event,
    }),
  );
  assert.equal(yes.Result, true);
  const no = await eb.send(
    new TestEventPatternCommand({ EventPattern: JSON.stringify({ source: ["com.other"] }), Event: event }),
  );
  assert.equal(no.Result, false);

  const bad = await expectAwsError(
    eb.send(new TestEventPatternCommand({ EventPattern: '{"source":"not-an-array"}', Event: event })),
    "InvalidEventPatternException",
  );
  assert.equal(bad.$metadata.httpStatusCode, 400);
});

test("DescribeRule on a missing rule → ResourceNotFoundException", T, async () => {
  const err = await expectAwsError(
    eb.send(new DescribeRuleCommand({ Name: "no-such-rule" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  assert.ok(err instanceof EventBridgeServiceException);
  assert.equal(err.$metadata.httpStatusCode, 400);
  assert.match(err.message, /no-such-rule/);
  assert.match(err.message, /does not exist/);
});

test("PutEvents with 11 entries → ValidationException", T, async () => {
  const entries = Array.from({ length: 11 }, (_, i) => ({
    Source: "com.many",
    DetailType: "n",
    Detail: JSON.stringify({ i }),
  }));
  const err = await expectAwsError(eb.send(new PutEventsCommand({ Entries: entries })), "ValidationException");
  assert.ok(err instanceof EventBridgeServiceException);
  assert.equal(err.$metadata.httpStatusCode, 400);
  assert.ok(err.message && err.message.length > 0, "has a message");
});

test("ListRules, RemoveTargets, DeleteRule", T, async () => {
  const pattern = JSON.stringify({ source: ["com.list"] });
  await eb.send(new PutRuleCommand({ Name: "list-a", EventPattern: pattern, Description: "first" }));
  await eb.send(new PutRuleCommand({ Name: "list-b", EventPattern: pattern, State: "DISABLED" }));

  const listed = await eb.send(new ListRulesCommand({ NamePrefix: "list-" }));
  const byName = Object.fromEntries(listed.Rules.map((r) => [r.Name, r]));
  assert.deepEqual(Object.keys(byName).sort(), ["list-a", "list-b"]);
  assert.equal(byName["list-a"].Description, "first");
  assert.equal(byName["list-a"].State, "ENABLED");
  assert.equal(byName["list-b"].State, "DISABLED");
  assert.equal(byName["list-a"].Arn, `arn:aws:events:${REGION}:${ACCOUNT}:rule/list-a`);
  assert.equal(byName["list-a"].EventBusName, "default");

  const put = await eb.send(
    new PutTargetsCommand({ Rule: "list-a", Targets: [{ Id: "t1", Arn: env.receiver.url("/list-a") }] }),
  );
  assert.equal(put.FailedEntryCount, 0);

  // AWS refuses to delete a rule that still has targets.
  await expectAwsError(eb.send(new DeleteRuleCommand({ Name: "list-a" })), "ValidationException");

  const removed = await eb.send(new RemoveTargetsCommand({ Rule: "list-a", Ids: ["t1"] }));
  assert.equal(removed.FailedEntryCount, 0);
  const none = await eb.send(new ListTargetsByRuleCommand({ Rule: "list-a" }));
  assert.deepEqual(none.Targets ?? [], []);

  await eb.send(new DeleteRuleCommand({ Name: "list-a" }));
  const after1 = await eb.send(new ListRulesCommand({ NamePrefix: "list-" }));
  assert.deepEqual(
    after1.Rules.map((r) => r.Name),
    ["list-b"],
  );
  await expectAwsError(eb.send(new DescribeRuleCommand({ Name: "list-a" })), "ResourceNotFoundException");
});

test("TagResource, ListTagsForResource, UntagResource on a rule ARN", T, async () => {
  const rule = await eb.send(
    new PutRuleCommand({
      Name: "tagged",
      EventPattern: JSON.stringify({ source: ["com.tags"] }),
      Tags: [{ Key: "team", Value: "shop" }],
    }),
  );
  await eb.send(new TagResourceCommand({ ResourceARN: rule.RuleArn, Tags: [{ Key: "env", Value: "prod" }] }));
  const tags = await eb.send(new ListTagsForResourceCommand({ ResourceARN: rule.RuleArn }));
  assert.deepEqual(sortedTags(tags.Tags), [
    { Key: "env", Value: "prod" },
    { Key: "team", Value: "shop" },
  ]);
  await eb.send(new UntagResourceCommand({ ResourceARN: rule.RuleArn, TagKeys: ["team"] }));
  const left = await eb.send(new ListTagsForResourceCommand({ ResourceARN: rule.RuleArn }));
  assert.deepEqual(sortedTags(left.Tags), [{ Key: "env", Value: "prod" }]);

  await expectAwsError(
    eb.send(new ListTagsForResourceCommand({ ResourceARN: `arn:aws:events:${REGION}:${ACCOUNT}:rule/no-such-rule` })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
});

test("a function target (CreateFunction with a ZIP, PutTargets with its ARN) runs on PutEvents", T, async () => {
  const { receiver } = env;
  const fn = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: "eb-target",
      Runtime: "python3.12",
      Role: ROLE_ARN,
      Handler: "app.handler",
      Code: { ZipFile: pythonZip() },
      Timeout: 10,
      Environment: { Variables: { HOOK_URL: receiver.url("/fn") } },
    }),
  );
  assert.equal(fn.FunctionArn, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:eb-target`);

  await eb.send(new PutRuleCommand({ Name: "to-fn", EventPattern: JSON.stringify({ source: ["com.fn"] }) }));
  const put = await eb.send(new PutTargetsCommand({ Rule: "to-fn", Targets: [{ Id: "fn", Arn: fn.FunctionArn }] }));
  assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));

  const names = await eb.send(new ListRuleNamesByTargetCommand({ TargetArn: fn.FunctionArn }));
  assert.deepEqual(names.RuleNames, ["to-fn"]);

  const r = await eb.send(
    new PutEventsCommand({ Entries: [{ Source: "com.fn", DetailType: "Ping", Detail: JSON.stringify({ n: 42 }) }] }),
  );
  assert.equal(r.FailedEntryCount, 0);
  const got = await receiver.waitFor("/fn", { timeoutMs: 40000 });
  const event = JSON.parse(got[0].body);
  assert.equal(event.id, r.Entries[0].EventId);
  assert.equal(event.source, "com.fn");
  assert.equal(event["detail-type"], "Ping");
  assert.deepEqual(event.detail, { n: 42 });
  assert.equal(event.account, ACCOUNT);
  assert.equal(event.region, REGION);
  assert.equal(event.time, "2026-03-01T12:00:00Z"); // the manual clock
});

test("a target without Input gets the full envelope; PutEvents Time and Resources from the SDK", T, async () => {
  const { receiver } = env;
  await eb.send(new PutRuleCommand({ Name: "full", EventPattern: JSON.stringify({ source: ["com.full"] }) }));
  await eb.send(new PutTargetsCommand({ Rule: "full", Targets: [{ Id: "t", Arn: receiver.url("/full") }] }));
  const r = await eb.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: "com.full",
          DetailType: "Timed",
          Detail: JSON.stringify({ k: "v" }),
          Time: new Date("2026-03-01T11:58:30Z"),
          Resources: ["arn:aws:s3:::bucket"],
        },
      ],
    }),
  );
  assert.equal(r.FailedEntryCount, 0);
  const got = await receiver.waitFor("/full");
  const event = JSON.parse(got[0].body);
  assert.deepEqual(Object.keys(event), ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]);
  assert.equal(event.version, "0");
  assert.equal(event.id, r.Entries[0].EventId);
  assert.equal(event.time, "2026-03-01T11:58:30Z");
  assert.deepEqual(event.resources, ["arn:aws:s3:::bucket"]);
  assert.deepEqual(event.detail, { k: "v" });
});

test("a constant Input target; DisableRule stops delivery, EnableRule resumes it", T, async () => {
  const { receiver } = env;
  await eb.send(new PutRuleCommand({ Name: "const", EventPattern: JSON.stringify({ source: ["com.const"] }) }));
  await eb.send(
    new PutTargetsCommand({ Rule: "const", Targets: [{ Id: "c", Arn: receiver.url("/const"), Input: '{"fixed":true}' }] }),
  );
  const entry = { Source: "com.const", DetailType: "x", Detail: JSON.stringify({ n: 1 }) };
  await eb.send(new PutEventsCommand({ Entries: [entry] }));
  const first = await receiver.waitFor("/const");
  assert.deepEqual(JSON.parse(first[0].body), { fixed: true });

  await eb.send(new DisableRuleCommand({ Name: "const" }));
  assert.equal((await eb.send(new DescribeRuleCommand({ Name: "const" }))).State, "DISABLED");
  await eb.send(new PutEventsCommand({ Entries: [entry] }));
  await sleep(700);
  assert.equal(receiver.received("/const").length, 1, "a disabled rule delivers nothing");

  await eb.send(new EnableRuleCommand({ Name: "const" }));
  assert.equal((await eb.send(new DescribeRuleCommand({ Name: "const" }))).State, "ENABLED");
  await eb.send(new PutEventsCommand({ Entries: [entry] }));
  await receiver.waitFor("/const", { count: 2 });
});

test("DeleteEventBus; the default bus cannot be deleted", T, async () => {
  await eb.send(new CreateEventBusCommand({ Name: "short-lived" }));
  await eb.send(new DeleteEventBusCommand({ Name: "short-lived" }));
  await expectAwsError(
    eb.send(new DescribeEventBusCommand({ Name: "short-lived" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  await expectAwsError(eb.send(new DeleteEventBusCommand({ Name: "default" })), "ValidationException");
});
