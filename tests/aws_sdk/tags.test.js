// Resource tags on the services beside EventBridge: Lambda functions,
// CloudWatch alarms, SNS topics and Scheduler schedule groups, through their
// own SDK clients. Tags are kept across a restart and go with their resource.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  ListTagsForResourceCommand as CwListTags,
  PutMetricAlarmCommand,
  DescribeAlarmsCommand,
  TagResourceCommand as CwTag,
  UntagResourceCommand as CwUntag,
} from "@aws-sdk/client-cloudwatch";
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  LambdaClient,
  ListTagsCommand,
  TagResourceCommand as LambdaTag,
  UntagResourceCommand as LambdaUntag,
} from "@aws-sdk/client-lambda";
import {
  CreateScheduleGroupCommand,
  DeleteScheduleGroupCommand,
  ListTagsForResourceCommand as SchedulerListTags,
  SchedulerClient,
  TagResourceCommand as SchedulerTag,
  UntagResourceCommand as SchedulerUntag,
} from "@aws-sdk/client-scheduler";
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  ListTagsForResourceCommand as SnsListTags,
  SNSClient,
  TagResourceCommand as SnsTag,
  UntagResourceCommand as SnsUntag,
} from "@aws-sdk/client-sns";

import { ACCOUNT, REGION, expectAwsError, pythonZip, startEnv } from "./harness.js";

const T = { timeout: 60000 };
const ROLE = `arn:aws:iam::${ACCOUNT}:role/lambda-role`;
let env;
let lambda;
let cw;
let sns;
let scheduler;

const byKey = (tags) => Object.fromEntries((tags || []).map((t) => [t.Key, t.Value]));

function clients() {
  const config = env.daemon.clientConfig();
  lambda = new LambdaClient(config);
  cw = new CloudWatchClient(config);
  sns = new SNSClient(config);
  scheduler = new SchedulerClient(config);
}

function destroyClients() {
  for (const c of [lambda, cw, sns, scheduler]) c?.destroy();
}

before(async () => {
  env = await startEnv();
  clients();
});

after(async () => {
  destroyClients();
  await env?.close();
});

async function createFunction(name, tags) {
  return lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "python3.12",
      Role: ROLE,
      Handler: "app.handler",
      Code: { ZipFile: pythonZip() },
      ...(tags ? { Tags: tags } : {}),
    }),
  );
}

function alarm(name, tags) {
  return new PutMetricAlarmCommand({
    AlarmName: name,
    Namespace: "Shop",
    MetricName: "Failures",
    Statistic: "Sum",
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: "GreaterThanOrEqualToThreshold",
    ...(tags ? { Tags: tags } : {}),
  });
}

test("Lambda: CreateFunction Tags, GetFunction Tags, TagResource, UntagResource, ListTags; a missing function → 404", T, async () => {
  const fn = await createFunction("tagged-fn", { team: "shop", env: "dev" });
  const got = await lambda.send(new GetFunctionCommand({ FunctionName: "tagged-fn" }));
  assert.deepEqual(got.Tags, { env: "dev", team: "shop" });

  await lambda.send(new LambdaTag({ Resource: fn.FunctionArn, Tags: { env: "prod", owner: "ana" } }));
  let listed = await lambda.send(new ListTagsCommand({ Resource: fn.FunctionArn }));
  assert.deepEqual(listed.Tags, { env: "prod", owner: "ana", team: "shop" });

  await lambda.send(new LambdaUntag({ Resource: fn.FunctionArn, TagKeys: ["team", "absent"] }));
  listed = await lambda.send(new ListTagsCommand({ Resource: fn.FunctionArn }));
  assert.deepEqual(listed.Tags, { env: "prod", owner: "ana" });

  const missing = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:no-such-fn`;
  await expectAwsError(lambda.send(new ListTagsCommand({ Resource: missing })), "ResourceNotFoundException");
  await expectAwsError(lambda.send(new LambdaTag({ Resource: missing, Tags: { a: "b" } })), "ResourceNotFoundException");

  // A function without tags has no Tags member.
  await createFunction("plain-fn");
  const plain = await lambda.send(new GetFunctionCommand({ FunctionName: "plain-fn" }));
  assert.equal(plain.Tags, undefined);
});

test("Lambda: a tag key over 128 characters or a 51st tag is refused, and nothing is stored", T, async () => {
  const fn = await createFunction("limits-fn", { keep: "me" });
  const err = await expectAwsError(
    lambda.send(new LambdaTag({ Resource: fn.FunctionArn, Tags: { ["k".repeat(129)]: "v" } })),
    "ValidationException",
  );
  assert.match(err.message, /128/);
  const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
  await expectAwsError(lambda.send(new LambdaTag({ Resource: fn.FunctionArn, Tags: many })), "ValidationException");
  const listed = await lambda.send(new ListTagsCommand({ Resource: fn.FunctionArn }));
  assert.deepEqual(listed.Tags, { keep: "me" });
  // CreateFunction with bad tags creates nothing.
  await expectAwsError(createFunction("bad-tags-fn", { ["k".repeat(129)]: "v" }), "ValidationException");
  await expectAwsError(lambda.send(new GetFunctionCommand({ FunctionName: "bad-tags-fn" })), "ResourceNotFoundException");
});

test("CloudWatch: PutMetricAlarm Tags on create, ignored on update; TagResource, UntagResource, ListTagsForResource", T, async () => {
  await cw.send(alarm("tagged-alarm", [{ Key: "team", Value: "shop" }]));
  const { MetricAlarms } = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["tagged-alarm"] }));
  const arn = MetricAlarms[0].AlarmArn;
  let listed = await cw.send(new CwListTags({ ResourceARN: arn }));
  assert.deepEqual(byKey(listed.Tags), { team: "shop" });

  // As CloudWatch: Tags given when updating an existing alarm are ignored.
  await cw.send(alarm("tagged-alarm", [{ Key: "team", Value: "other" }]));
  listed = await cw.send(new CwListTags({ ResourceARN: arn }));
  assert.deepEqual(byKey(listed.Tags), { team: "shop" });

  await cw.send(new CwTag({ ResourceARN: arn, Tags: [{ Key: "team", Value: "ops" }, { Key: "tier", Value: "1" }] }));
  await cw.send(new CwUntag({ ResourceARN: arn, TagKeys: ["tier"] }));
  listed = await cw.send(new CwListTags({ ResourceARN: arn }));
  assert.deepEqual(byKey(listed.Tags), { team: "ops" });

  await expectAwsError(
    cw.send(new CwListTags({ ResourceARN: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:no-such-alarm` })),
    "ResourceNotFoundException",
  );
});

test("SNS: CreateTopic Tags, idempotent only with the same tags; TagResource, UntagResource, ListTagsForResource", T, async () => {
  const topic = await sns.send(new CreateTopicCommand({ Name: "tagged-topic", Tags: [{ Key: "team", Value: "shop" }] }));
  // The same call again is idempotent; another tag value is refused.
  await sns.send(new CreateTopicCommand({ Name: "tagged-topic", Tags: [{ Key: "team", Value: "shop" }] }));
  await sns.send(new CreateTopicCommand({ Name: "tagged-topic" }));
  const err = await expectAwsError(
    sns.send(new CreateTopicCommand({ Name: "tagged-topic", Tags: [{ Key: "team", Value: "ops" }] })),
    "InvalidParameterException",
  );
  assert.match(err.message, /Topic already exists with different tags/);

  await sns.send(new SnsTag({ ResourceArn: topic.TopicArn, Tags: [{ Key: "env", Value: "prod" }] }));
  let listed = await sns.send(new SnsListTags({ ResourceArn: topic.TopicArn }));
  assert.deepEqual(byKey(listed.Tags), { env: "prod", team: "shop" });
  await sns.send(new SnsUntag({ ResourceArn: topic.TopicArn, TagKeys: ["team"] }));
  listed = await sns.send(new SnsListTags({ ResourceArn: topic.TopicArn }));
  assert.deepEqual(byKey(listed.Tags), { env: "prod" });

  const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
  await expectAwsError(sns.send(new SnsTag({ ResourceArn: topic.TopicArn, Tags: many })), "TagLimitExceededException");
  await expectAwsError(
    sns.send(new SnsListTags({ ResourceArn: `arn:aws:sns:${REGION}:${ACCOUNT}:no-such-topic` })),
    "ResourceNotFoundException",
  );
});

test("Scheduler: CreateScheduleGroup Tags, TagResource, UntagResource, ListTagsForResource; a missing group → 404", T, async () => {
  const group = await scheduler.send(
    new CreateScheduleGroupCommand({ Name: "tagged-group", Tags: [{ Key: "team", Value: "shop" }] }),
  );
  let listed = await scheduler.send(new SchedulerListTags({ ResourceArn: group.ScheduleGroupArn }));
  assert.deepEqual(byKey(listed.Tags), { team: "shop" });
  await scheduler.send(new SchedulerTag({ ResourceArn: group.ScheduleGroupArn, Tags: [{ Key: "env", Value: "dev" }] }));
  await scheduler.send(new SchedulerUntag({ ResourceArn: group.ScheduleGroupArn, TagKeys: ["team"] }));
  listed = await scheduler.send(new SchedulerListTags({ ResourceArn: group.ScheduleGroupArn }));
  assert.deepEqual(byKey(listed.Tags), { env: "dev" });
  await expectAwsError(
    scheduler.send(
      new SchedulerListTags({ ResourceArn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule-group/no-such-group` }),
    ),
    "ResourceNotFoundException",
  );
});

test("tag ARNs must name the resource exactly; lengths count characters; each service's own codes", T, async () => {
  const fn = await createFunction("exact-fn");
  // A qualified ARN: Lambda has no tags on versions or aliases.
  for (const q of ["$LATEST", "1"]) {
    const err = await expectAwsError(
      lambda.send(new LambdaTag({ Resource: `${fn.FunctionArn}:${q}`, Tags: { a: "b" } })),
      "InvalidParameterValueException",
    );
    assert.match(err.message, /aliases and versions are not supported/);
  }
  // Another account or region: not this function.
  for (const other of [fn.FunctionArn.replace(ACCOUNT, "111111111111"), fn.FunctionArn.replace(REGION, "eu-west-1")]) {
    await expectAwsError(lambda.send(new LambdaTag({ Resource: other, Tags: { a: "b" } })), "ResourceNotFoundException");
  }
  assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: fn.FunctionArn }))).Tags, {});
  // 128 characters of two bytes each are 128 characters.
  await lambda.send(new LambdaTag({ Resource: fn.FunctionArn, Tags: { ["é".repeat(128)]: "ü".repeat(256) } }));
  await expectAwsError(lambda.send(new LambdaTag({ Resource: fn.FunctionArn, Tags: { ["é".repeat(129)]: "v" } })), "ValidationException");

  // CloudWatch names a constraint ValidationError on the wire, as it does
  // elsewhere (the SDK models it as ValidationException).
  await cw.send(alarm("exact-alarm"));
  const alarmArn = (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["exact-alarm"] }))).MetricAlarms[0].AlarmArn;
  await expectAwsError(cw.send(new CwTag({ ResourceARN: alarmArn, Tags: [{ Key: "", Value: "v" }] })), "ValidationException");
  const raw = await env.daemon.raw("/", {
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": "GraniteServiceVersion20100801.TagResource",
    },
    body: JSON.stringify({ ResourceARN: alarmArn, Tags: [{ Key: "k".repeat(129), Value: "v" }] }),
  });
  assert.equal(raw.status, 400);
  assert.equal(raw.headers.get("x-amzn-query-error"), "ValidationError;Sender");
  await expectAwsError(
    cw.send(new CwTag({ ResourceARN: alarmArn.replace(ACCOUNT, "111111111111"), Tags: [{ Key: "a", Value: "b" }] })),
    "ResourceNotFoundException",
  );

  // Scheduler tag values are at least one character.
  const group = await scheduler.send(new CreateScheduleGroupCommand({ Name: "exact-group" }));
  await expectAwsError(
    scheduler.send(new SchedulerTag({ ResourceArn: group.ScheduleGroupArn, Tags: [{ Key: "k", Value: "" }] })),
    "ValidationException",
  );
  assert.deepEqual((await scheduler.send(new SchedulerListTags({ ResourceArn: group.ScheduleGroupArn }))).Tags, []);

  // SNS: a subscription's or another service's ARN is an invalid ResourceArn.
  const err = await expectAwsError(
    sns.send(new SnsTag({ ResourceArn: fn.FunctionArn, Tags: [{ Key: "a", Value: "b" }] })),
    "InvalidParameterException",
  );
  assert.match(err.message, /ResourceArn/);
  const topic = await sns.send(new CreateTopicCommand({ Name: "exact-topic" }));
  for (const other of [topic.TopicArn.replace(REGION, "eu-west-1"), topic.TopicArn.replace(ACCOUNT, "111111111111")]) {
    await expectAwsError(sns.send(new SnsTag({ ResourceArn: other, Tags: [{ Key: "a", Value: "b" }] })), "ResourceNotFoundException");
  }
  assert.deepEqual((await sns.send(new SnsListTags({ ResourceArn: topic.TopicArn }))).Tags, []);
});

test("tags survive a restart, and a deleted resource's tags do not come back with a new one of the same name", T, async () => {
  const fn = await createFunction("lifecycle-fn", { gen: "1" });
  await cw.send(alarm("lifecycle-alarm", [{ Key: "gen", Value: "1" }]));
  const topic = await sns.send(new CreateTopicCommand({ Name: "lifecycle-topic", Tags: [{ Key: "gen", Value: "1" }] }));
  const group = await scheduler.send(
    new CreateScheduleGroupCommand({ Name: "lifecycle-group", Tags: [{ Key: "gen", Value: "1" }] }),
  );
  const alarmArn = (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["lifecycle-alarm"] }))).MetricAlarms[0]
    .AlarmArn;

  // Kept across a restart (synced writes to the store).
  destroyClients();
  await env.daemon.restart();
  clients();
  assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: fn.FunctionArn }))).Tags, { gen: "1" });
  assert.deepEqual(byKey((await cw.send(new CwListTags({ ResourceARN: alarmArn }))).Tags), { gen: "1" });
  assert.deepEqual(byKey((await sns.send(new SnsListTags({ ResourceArn: topic.TopicArn }))).Tags), { gen: "1" });
  assert.deepEqual(
    byKey((await scheduler.send(new SchedulerListTags({ ResourceArn: group.ScheduleGroupArn }))).Tags),
    { gen: "1" },
  );

  // Deleted, then created again without tags: no tags.
  await lambda.send(new DeleteFunctionCommand({ FunctionName: "lifecycle-fn" }));
  await cw.send(new DeleteAlarmsCommand({ AlarmNames: ["lifecycle-alarm"] }));
  await sns.send(new DeleteTopicCommand({ TopicArn: topic.TopicArn }));
  await scheduler.send(new DeleteScheduleGroupCommand({ Name: "lifecycle-group" }));
  await createFunction("lifecycle-fn");
  await cw.send(alarm("lifecycle-alarm"));
  await sns.send(new CreateTopicCommand({ Name: "lifecycle-topic" }));
  await scheduler.send(new CreateScheduleGroupCommand({ Name: "lifecycle-group" }));
  assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: fn.FunctionArn }))).Tags, {});
  assert.deepEqual((await cw.send(new CwListTags({ ResourceARN: alarmArn }))).Tags, []);
  assert.deepEqual((await sns.send(new SnsListTags({ ResourceArn: topic.TopicArn }))).Tags, []);
  assert.deepEqual((await scheduler.send(new SchedulerListTags({ ResourceArn: group.ScheduleGroupArn }))).Tags, []);
});

test("a resource deleted with the CLI loses its tags too (the delete removes them in its own batch)", T, async () => {
  const topic = await sns.send(new CreateTopicCommand({ Name: "cli-deleted", Tags: [{ Key: "gen", Value: "1" }] }));
  await env.daemon.cli(["delete-topic", "--topic-arn", topic.TopicArn]);
  await env.daemon.cli(["create-topic", "--name", "cli-deleted"]);
  assert.deepEqual((await sns.send(new SnsListTags({ ResourceArn: topic.TopicArn }))).Tags, []);
});
