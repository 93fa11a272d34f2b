// SNS (awsQuery: form-encoded Action=..., XML responses) through
// @aws-sdk/client-sns. evbus confirms subscriptions at once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  NotFoundException,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from "@aws-sdk/client-sns";

import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";

import { ACCOUNT, REGION, ROLE_ARN, expectAwsError, pythonZip, sleep, startEnv } from "./harness.js";

const T = { timeout: 60000 };
let env;
let sns;

before(async () => {
  env = await startEnv();
  sns = new SNSClient(env.daemon.clientConfig());
});

after(async () => {
  sns?.destroy();
  await env?.close();
});

test("CreateTopic, Subscribe http, Publish with Subject and MessageAttributes → the SNS envelope", T, async () => {
  const { receiver } = env;
  const topic = await sns.send(
    new CreateTopicCommand({ Name: "sdk-topic", Attributes: { DisplayName: "SDK" } }),
  );
  assert.equal(topic.TopicArn, `arn:aws:sns:${REGION}:${ACCOUNT}:sdk-topic`);
  // Idempotent for the same name and attributes.
  const again = await sns.send(new CreateTopicCommand({ Name: "sdk-topic", Attributes: { DisplayName: "SDK" } }));
  assert.equal(again.TopicArn, topic.TopicArn);
  // With a different attribute: refused, and the topic keeps its own.
  const err = await expectAwsError(
    sns.send(new CreateTopicCommand({ Name: "sdk-topic", Attributes: { DisplayName: "Other" } })),
    "InvalidParameterException",
  );
  assert.equal(err.message, "Invalid parameter: Attributes Reason: Topic already exists with different attributes");

  const attrs = await sns.send(new GetTopicAttributesCommand({ TopicArn: topic.TopicArn }));
  assert.equal(attrs.Attributes.TopicArn, topic.TopicArn);
  assert.equal(attrs.Attributes.DisplayName, "SDK");
  // SNS's default HTTP retry policy: 3 retries, 20 s apart.
  const effective = JSON.parse(attrs.Attributes.EffectiveDeliveryPolicy);
  assert.deepEqual(effective.http.defaultHealthyRetryPolicy, {
    minDelayTarget: 20,
    maxDelayTarget: 20,
    numRetries: 3,
    numMaxDelayRetries: 0,
    numNoDelayRetries: 0,
    numMinDelayRetries: 0,
    backoffFunction: "linear",
  });

  const sub = await sns.send(
    new SubscribeCommand({
      TopicArn: topic.TopicArn,
      Protocol: "http",
      Endpoint: receiver.url("/sns"),
      ReturnSubscriptionArn: true,
    }),
  );
  assert.ok(sub.SubscriptionArn.startsWith(`${topic.TopicArn}:`), sub.SubscriptionArn);

  const pub = await sns.send(
    new PublishCommand({
      TopicArn: topic.TopicArn,
      Subject: "Deploy",
      Message: "v2 is live",
      MessageAttributes: {
        env: { DataType: "String", StringValue: "prod" },
        build: { DataType: "Number", StringValue: "42" },
      },
    }),
  );
  assert.match(pub.MessageId, /^[0-9a-f-]{36}$/);

  const hits = await receiver.waitFor("/sns");
  const h = hits[0];
  assert.equal(h.method, "POST");
  assert.equal(h.headers["x-amz-sns-message-type"], "Notification");
  assert.equal(h.headers["x-amz-sns-message-id"], pub.MessageId);
  assert.equal(h.headers["x-amz-sns-topic-arn"], topic.TopicArn);
  assert.equal(h.headers["x-amz-sns-subscription-arn"], sub.SubscriptionArn);
  const envelope = JSON.parse(h.body);
  assert.equal(envelope.Type, "Notification");
  assert.equal(envelope.MessageId, pub.MessageId);
  assert.equal(envelope.TopicArn, topic.TopicArn);
  assert.equal(envelope.Subject, "Deploy");
  assert.equal(envelope.Message, "v2 is live");
  assert.match(envelope.Timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.deepEqual(envelope.MessageAttributes, {
    build: { Type: "Number", Value: "42" },
    env: { Type: "String", Value: "prod" },
  });
  assert.ok("UnsubscribeURL" in envelope, "envelope has UnsubscribeURL");
  assert.ok("SignatureVersion" in envelope, "envelope has SignatureVersion");
});

test("ListTopics, ListSubscriptionsByTopic, Unsubscribe", T, async () => {
  const { receiver } = env;
  const topic = await sns.send(new CreateTopicCommand({ Name: "listed" }));
  const s1 = await sns.send(
    new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "http", Endpoint: receiver.url("/l1"), ReturnSubscriptionArn: true }),
  );
  await sns.send(
    new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "http", Endpoint: receiver.url("/l2"), ReturnSubscriptionArn: true }),
  );

  const topics = await sns.send(new ListTopicsCommand({}));
  assert.ok(topics.Topics.some((t) => t.TopicArn === topic.TopicArn), JSON.stringify(topics.Topics));

  const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic.TopicArn }));
  assert.equal(subs.Subscriptions.length, 2, JSON.stringify(subs));
  const byEndpoint = Object.fromEntries(subs.Subscriptions.map((s) => [s.Endpoint, s]));
  const first = byEndpoint[receiver.url("/l1")];
  assert.ok(first, JSON.stringify(subs.Subscriptions));
  assert.equal(first.SubscriptionArn, s1.SubscriptionArn);
  assert.equal(first.Protocol, "http");
  assert.equal(first.TopicArn, topic.TopicArn);
  assert.equal(first.Owner, ACCOUNT);
  assert.ok(byEndpoint[receiver.url("/l2")]);

  await sns.send(new UnsubscribeCommand({ SubscriptionArn: s1.SubscriptionArn }));
  const left = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic.TopicArn }));
  assert.deepEqual(
    left.Subscriptions.map((s) => s.Endpoint),
    [receiver.url("/l2")],
  );

  await sns.send(new PublishCommand({ TopicArn: topic.TopicArn, Message: "only l2" }));
  await receiver.waitFor("/l2");
  await sleep(300);
  assert.equal(receiver.received("/l1").length, 0, "the unsubscribed endpoint gets nothing");
});

test("ListSubscriptionsByTopic pages do not shift when subscriptions go", T, async () => {
  const { receiver } = env;
  const topic = await sns.send(new CreateTopicCommand({ Name: "paged" }));
  const arns = [];
  for (let i = 0; i < 150; i++) {
    const s = await sns.send(
      new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "http", Endpoint: receiver.url(`/p${i}`), ReturnSubscriptionArn: true }),
    );
    arns.push(s.SubscriptionArn);
  }
  const page1 = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic.TopicArn }));
  assert.equal(page1.Subscriptions.length, 100);
  assert.ok(page1.NextToken);
  // Five of the first page go before the second page is read.
  for (const s of page1.Subscriptions.slice(0, 5)) {
    await sns.send(new UnsubscribeCommand({ SubscriptionArn: s.SubscriptionArn }));
  }
  const page2 = await sns.send(
    new ListSubscriptionsByTopicCommand({ TopicArn: topic.TopicArn, NextToken: page1.NextToken }),
  );
  assert.equal(page2.NextToken, undefined);
  const seen = new Set([...page1.Subscriptions, ...page2.Subscriptions].map((s) => s.SubscriptionArn));
  assert.equal(page2.Subscriptions.length, 50);
  assert.equal(seen.size, 150, "every subscription listed once");
  for (const arn of arns) assert.ok(seen.has(arn));
  await expectAwsError(
    sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic.TopicArn, NextToken: "!!" })),
    "InvalidParameterException",
  );
});

test("Publish to a missing topic → NotFoundException", T, async () => {
  const err = await expectAwsError(
    sns.send(new PublishCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:no-such-topic`, Message: "x" })),
    "NotFoundException",
    NotFoundException,
  );
  assert.equal(err.$metadata.httpStatusCode, 404);
  assert.ok(err.message && err.message !== "UnknownError", `a real message: ${err.message}`);
});

test("Publish with an invalid parameter → InvalidParameterException", T, async () => {
  const topic = await sns.send(new CreateTopicCommand({ Name: "strict" }));
  const err = await expectAwsError(
    sns.send(new PublishCommand({ TopicArn: topic.TopicArn, Message: "x", Subject: "line\nbreak" })),
    "InvalidParameterException",
  );
  assert.equal(err.$metadata.httpStatusCode, 400);
});

test("Publish takes messages up to 256 KB; a longer one → InvalidParameterException, Message too long", T, async () => {
  const topic = await sns.send(new CreateTopicCommand({ Name: "big-messages" }));
  // JSON messages: URL encoding makes their form bodies far larger than the
  // 8 KiB that used to get an empty 413.
  for (const n of [10000, 100000, 262144]) {
    const message = JSON.stringify({ data: "x".repeat(n - 11) });
    assert.equal(Buffer.byteLength(message), n);
    const out = await sns.send(new PublishCommand({ TopicArn: topic.TopicArn, Message: message }));
    assert.ok(out.MessageId, `a MessageId for ${n} bytes`);
  }
  for (const message of ["x".repeat(262145), "{".repeat(400000)]) {
    const err = await expectAwsError(
      sns.send(new PublishCommand({ TopicArn: topic.TopicArn, Message: message })),
      "InvalidParameterException",
    );
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.match(err.message, /Message too long/);
  }
});

test("DeleteTopic", T, async () => {
  const topic = await sns.send(new CreateTopicCommand({ Name: "doomed" }));
  await sns.send(new DeleteTopicCommand({ TopicArn: topic.TopicArn }));
  const topics = await sns.send(new ListTopicsCommand({}));
  assert.ok(!(topics.Topics ?? []).some((t) => t.TopicArn === topic.TopicArn));
  await expectAwsError(
    sns.send(new PublishCommand({ TopicArn: topic.TopicArn, Message: "x" })),
    "NotFoundException",
    NotFoundException,
  );
});

test("a lambda subscription: the function gets the SNS Records event", T, async () => {
  const { receiver } = env;
  const lambda = new LambdaClient(env.daemon.clientConfig());
  try {
    const fn = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: "sns-sub",
        Runtime: "python3.12",
        Role: ROLE_ARN,
        Handler: "app.handler",
        Code: { ZipFile: pythonZip() },
        Timeout: 10,
        Environment: { Variables: { HOOK_URL: receiver.url("/sns-fn") } },
      }),
    );
    const topic = await sns.send(new CreateTopicCommand({ Name: "to-lambda" }));
    const sub = await sns.send(
      new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "lambda", Endpoint: fn.FunctionArn, ReturnSubscriptionArn: true }),
    );
    const pub = await sns.send(
      new PublishCommand({
        TopicArn: topic.TopicArn,
        Message: "hello function",
        MessageAttributes: { k: { DataType: "String", StringValue: "v" } },
      }),
    );
    const hits = await receiver.waitFor("/sns-fn", { timeoutMs: 40000 });
    const event = JSON.parse(hits[0].body);
    assert.equal(event.Records.length, 1);
    const rec = event.Records[0];
    assert.equal(rec.EventSource, "aws:sns");
    assert.equal(rec.EventSubscriptionArn, sub.SubscriptionArn);
    assert.equal(rec.Sns.Type, "Notification");
    assert.equal(rec.Sns.MessageId, pub.MessageId);
    assert.equal(rec.Sns.TopicArn, topic.TopicArn);
    assert.equal(rec.Sns.Message, "hello function");
    assert.deepEqual(rec.Sns.MessageAttributes, { k: { Type: "String", Value: "v" } });
  } finally {
    lambda.destroy();
  }
});
