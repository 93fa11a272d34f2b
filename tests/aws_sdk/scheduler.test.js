// EventBridge Scheduler (restJson1: /schedules, /schedule-groups) through
// @aws-sdk/client-scheduler; the manual clock moves with `evbus clock advance`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
} from "@aws-sdk/client-scheduler";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";

import { ACCOUNT, REGION, ROLE_ARN, expectAwsError, pythonZip, sleep, startEnv, waitFor } from "./harness.js";

const T = { timeout: 90000 };
let env;
let sched;
let lambda;

before(async () => {
  env = await startEnv();
  sched = new SchedulerClient(env.daemon.clientConfig());
  lambda = new LambdaClient(env.daemon.clientConfig());
});

after(async () => {
  sched?.destroy();
  lambda?.destroy();
  await env?.close();
});

test("CreateScheduleGroup, CreateSchedule at(), GetSchedule, ListSchedules; the clock fires it; DeleteSchedule", T, async () => {
  const { receiver, daemon } = env;
  const group = await sched.send(new CreateScheduleGroupCommand({ Name: "sdk-group" }));
  assert.equal(group.ScheduleGroupArn, `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule-group/sdk-group`);

  const g = await sched.send(new GetScheduleGroupCommand({ Name: "sdk-group" }));
  assert.equal(g.Name, "sdk-group");
  assert.equal(g.Arn, group.ScheduleGroupArn);
  assert.equal(g.State, "ACTIVE");

  const groups = await sched.send(new ListScheduleGroupsCommand({}));
  const groupNames = groups.ScheduleGroups.map((x) => x.Name);
  assert.ok(groupNames.includes("default"), `default in ${groupNames}`);
  assert.ok(groupNames.includes("sdk-group"), `sdk-group in ${groupNames}`);

  const input = JSON.stringify({ hello: "scheduler", n: 1 });
  const created = await sched.send(
    new CreateScheduleCommand({
      Name: "once",
      GroupName: "sdk-group",
      ScheduleExpression: "at(2026-03-01T12:05:00)",
      FlexibleTimeWindow: { Mode: "OFF" },
      Description: "one-time",
      Target: { Arn: receiver.url("/sched"), RoleArn: ROLE_ARN, Input: input },
    }),
  );
  assert.equal(created.ScheduleArn, `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/sdk-group/once`);

  const got = await sched.send(new GetScheduleCommand({ Name: "once", GroupName: "sdk-group" }));
  assert.equal(got.Arn, created.ScheduleArn);
  assert.equal(got.Name, "once");
  assert.equal(got.GroupName, "sdk-group");
  assert.equal(got.ScheduleExpression, "at(2026-03-01T12:05:00)");
  assert.equal(got.State, "ENABLED");
  assert.equal(got.Description, "one-time");
  assert.equal(got.FlexibleTimeWindow.Mode, "OFF");
  assert.equal(got.Target.Arn, receiver.url("/sched"));
  assert.equal(got.Target.RoleArn, ROLE_ARN);
  assert.equal(got.Target.Input, input);
  assert.ok(got.CreationDate instanceof Date, "CreationDate is a Date");
  assert.ok(!Number.isNaN(got.CreationDate.getTime()));
  if (got.ScheduleExpressionTimezone !== undefined) assert.equal(got.ScheduleExpressionTimezone, "UTC");

  const listed = await sched.send(new ListSchedulesCommand({ GroupName: "sdk-group" }));
  assert.equal(listed.Schedules.length, 1);
  const s = listed.Schedules[0];
  assert.equal(s.Name, "once");
  assert.equal(s.GroupName, "sdk-group");
  assert.equal(s.Arn, created.ScheduleArn);
  assert.equal(s.State, "ENABLED");
  assert.equal(s.Target.Arn, receiver.url("/sched"));

  // Not yet: the manual clock stands at 12:00.
  await sleep(300);
  assert.equal(receiver.received("/sched").length, 0);

  await daemon.advance("6m");
  const hits = await receiver.waitFor("/sched");
  assert.deepEqual(JSON.parse(hits[0].body), { hello: "scheduler", n: 1 });
  await sleep(300);
  assert.equal(receiver.received("/sched").length, 1, "a one-time schedule fires once");

  await sched.send(new DeleteScheduleCommand({ Name: "once", GroupName: "sdk-group" }));
  await expectAwsError(
    sched.send(new GetScheduleCommand({ Name: "once", GroupName: "sdk-group" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  const empty = await sched.send(new ListSchedulesCommand({ GroupName: "sdk-group" }));
  assert.deepEqual(empty.Schedules, []);
});

test("a rate(1 minute) schedule invokes a function target with its Input", T, async () => {
  const { receiver, daemon } = env;
  const fn = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: "sched-fn",
      Runtime: "python3.12",
      Role: ROLE_ARN,
      Handler: "app.handler",
      Code: { ZipFile: pythonZip() },
      Timeout: 10,
      Environment: { Variables: { HOOK_URL: receiver.url("/sched-fn") } },
    }),
  );
  const created = await sched.send(
    new CreateScheduleCommand({
      Name: "every-minute",
      ScheduleExpression: "rate(1 minute)",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: { Arn: fn.FunctionArn, RoleArn: ROLE_ARN, Input: JSON.stringify({ from: "rate" }) },
    }),
  );
  assert.equal(created.ScheduleArn, `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/default/every-minute`);

  await daemon.advance("2m");
  const hits = await receiver.waitFor("/sched-fn", { timeoutMs: 40000 });
  assert.deepEqual(JSON.parse(hits[0].body), { from: "rate" });

  await sched.send(new DeleteScheduleCommand({ Name: "every-minute" }));
  await expectAwsError(
    sched.send(new GetScheduleCommand({ Name: "every-minute" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
});

test("GetSchedule on a missing schedule → ResourceNotFoundException (404)", T, async () => {
  const err = await expectAwsError(
    sched.send(new GetScheduleCommand({ Name: "no-such-schedule" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  assert.equal(err.$metadata.httpStatusCode, 404);
  await expectAwsError(
    sched.send(new GetScheduleCommand({ Name: "x", GroupName: "no-such-group" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
});

test("CreateSchedule with an invalid expression → ValidationException (400)", T, async () => {
  const err = await expectAwsError(
    sched.send(
      new CreateScheduleCommand({
        Name: "bad",
        ScheduleExpression: "at(2026-03-01T12:05:00Z)", // at() takes no zone suffix
        FlexibleTimeWindow: { Mode: "OFF" },
        Target: { Arn: env.receiver.url("/bad"), RoleArn: ROLE_ARN },
      }),
    ),
    "ValidationException",
    ValidationException,
  );
  assert.equal(err.$metadata.httpStatusCode, 400);
});

test("UpdateSchedule replaces the schedule; DeleteScheduleGroup removes the group and its schedules", T, async () => {
  const { receiver, daemon } = env;
  await sched.send(new CreateScheduleGroupCommand({ Name: "temp-group" }));
  const now = new Date(await daemon.clockNow());
  const at = (minutes) => {
    const t = new Date(now.getTime() + minutes * 60000);
    return `at(${t.toISOString().slice(0, 19)})`;
  };
  await sched.send(
    new CreateScheduleCommand({
      Name: "upd",
      GroupName: "temp-group",
      ScheduleExpression: at(5),
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: { Arn: receiver.url("/upd"), RoleArn: ROLE_ARN, Input: '{"v":1}' },
    }),
  );
  const updated = await sched.send(
    new UpdateScheduleCommand({
      Name: "upd",
      GroupName: "temp-group",
      ScheduleExpression: at(3),
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: { Arn: receiver.url("/upd"), RoleArn: ROLE_ARN, Input: '{"v":2}' },
    }),
  );
  assert.equal(updated.ScheduleArn, `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/temp-group/upd`);
  const got = await sched.send(new GetScheduleCommand({ Name: "upd", GroupName: "temp-group" }));
  assert.equal(got.ScheduleExpression, at(3));
  assert.equal(got.Target.Input, '{"v":2}');
  assert.ok(got.LastModificationDate instanceof Date);

  await daemon.advance("4m");
  const hits = await receiver.waitFor("/upd");
  assert.deepEqual(JSON.parse(hits[0].body), { v: 2 });

  await sched.send(new DeleteScheduleGroupCommand({ Name: "temp-group" }));
  await waitFor(
    async () => {
      try {
        await sched.send(new GetScheduleGroupCommand({ Name: "temp-group" }));
        return false; // still DELETING
      } catch (err) {
        if (err.name === "ResourceNotFoundException") return true;
        throw err;
      }
    },
    { timeoutMs: 10000, what: "the schedule group to be deleted" },
  );
  await expectAwsError(
    sched.send(new GetScheduleCommand({ Name: "upd", GroupName: "temp-group" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  await expectAwsError(sched.send(new DeleteScheduleGroupCommand({ Name: "default" })), "ValidationException");
});

test("ListSchedules and ListScheduleGroups page by MaxResults with NextToken; MaxResults beyond 1..100 → ValidationException", T, async () => {
  for (const g of ["page-a", "page-b", "page-c"]) {
    await sched.send(new CreateScheduleGroupCommand({ Name: g }));
  }
  for (const n of ["lp-1", "lp-2", "lp-3"]) {
    await sched.send(
      new CreateScheduleCommand({
        Name: n,
        ScheduleExpression: "rate(1 day)",
        FlexibleTimeWindow: { Mode: "OFF" },
        State: "DISABLED",
        Target: { Arn: env.receiver.url("/never"), RoleArn: ROLE_ARN },
      }),
    );
  }
  const names = [];
  let token;
  for (let i = 0; i < 10; i++) {
    const page = await sched.send(new ListSchedulesCommand({ NamePrefix: "lp-", MaxResults: 2, NextToken: token }));
    assert.ok(page.Schedules.length <= 2);
    names.push(...page.Schedules.map((s) => s.Name));
    token = page.NextToken;
    if (!token) break;
  }
  assert.deepEqual(names, ["lp-1", "lp-2", "lp-3"]);

  const groups = [];
  token = undefined;
  for (let i = 0; i < 10; i++) {
    const page = await sched.send(new ListScheduleGroupsCommand({ NamePrefix: "page-", MaxResults: 1, NextToken: token }));
    assert.equal(page.ScheduleGroups.length, 1);
    groups.push(page.ScheduleGroups[0].Name);
    token = page.NextToken;
    if (!token) break;
  }
  assert.deepEqual(groups, ["page-a", "page-b", "page-c"]);

  const err = await expectAwsError(sched.send(new ListSchedulesCommand({ MaxResults: 101 })), "ValidationException");
  assert.match(err.message, /Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100/);
  for (const n of ["lp-1", "lp-2", "lp-3"]) await sched.send(new DeleteScheduleCommand({ Name: n }));
});

test("CreateSchedule without Target.RoleArn → ValidationException naming 'target.roleArn'", T, async () => {
  const err = await expectAwsError(
    sched.send(
      new CreateScheduleCommand({
        Name: "no-role",
        ScheduleExpression: "rate(1 day)",
        FlexibleTimeWindow: { Mode: "OFF" },
        Target: { Arn: env.receiver.url("/never") },
      }),
    ),
    "ValidationException",
  );
  assert.equal(err.message, "1 validation error detected: Value null at 'target.roleArn' failed to satisfy constraint: Member must not be null");
});
