// CloudWatch metrics and alarms through @aws-sdk/client-cloudwatch 3.1164.0
// (AWS JSON 1.0, X-Amz-Target: GraniteServiceVersion20100801.*, query-compatible
// errors). Alarm actions go to an SNS topic with an http subscriber.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  DescribeAlarmsForMetricCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  PutCompositeAlarmCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  ResourceNotFound,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";

import { ACCOUNT, REGION, ROLE_ARN, expectAwsError, jsonBytes, pythonZip, startEnv, waitFor } from "./harness.js";

const T = { timeout: 90000 };
let env;
let cw;
let lambda;
let sns;

before(async () => {
  env = await startEnv();
  cw = new CloudWatchClient(env.daemon.clientConfig());
  lambda = new LambdaClient(env.daemon.clientConfig());
  sns = new SNSClient(env.daemon.clientConfig());
});

after(async () => {
  cw?.destroy();
  lambda?.destroy();
  sns?.destroy();
  await env?.close();
});

const WINDOW = { StartTime: new Date("2026-03-01T11:00:00Z"), EndTime: new Date("2026-03-01T13:00:00Z") };
const DIMS = [{ Name: "Store", Value: "7" }];

async function describeOne(name) {
  const r = await cw.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
  assert.equal(r.MetricAlarms.length, 1, `one alarm named ${name}`);
  return r.MetricAlarms[0];
}

async function waitState(name, state, timeoutMs = 20000) {
  return waitFor(
    async () => {
      const a = await describeOne(name);
      return a.StateValue === state ? a : null;
    },
    { timeoutMs, intervalMs: 200, what: `alarm ${name} in state ${state}` },
  );
}

test("PutMetricData (Custom/Test), ListMetrics, GetMetricStatistics Sum, GetMetricData", T, async () => {
  await cw.send(
    new PutMetricDataCommand({
      Namespace: "Custom/Test",
      MetricData: [
        { MetricName: "Orders", Value: 5, Unit: "Count", Dimensions: DIMS },
        // An explicit SDK timestamp (epoch seconds on the wire).
        { MetricName: "Orders", Value: 7, Unit: "Count", Dimensions: DIMS, Timestamp: new Date("2026-03-01T12:00:30Z") },
      ],
    }),
  );

  const listed = await cw.send(new ListMetricsCommand({ Namespace: "Custom/Test" }));
  const orders = listed.Metrics.filter((m) => m.MetricName === "Orders");
  assert.equal(orders.length, 1, JSON.stringify(listed.Metrics));
  assert.equal(orders[0].Namespace, "Custom/Test");
  assert.deepEqual(orders[0].Dimensions, DIMS);

  const stats = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: "Custom/Test",
      MetricName: "Orders",
      Dimensions: DIMS,
      ...WINDOW,
      Period: 3600,
      Statistics: ["Sum", "SampleCount", "Maximum"],
    }),
  );
  assert.equal(stats.Label, "Orders");
  assert.ok(stats.Datapoints.length >= 1, JSON.stringify(stats));
  const sum = stats.Datapoints.reduce((n, p) => n + p.Sum, 0);
  assert.equal(sum, 12);
  assert.equal(stats.Datapoints.reduce((n, p) => n + p.SampleCount, 0), 2);
  assert.equal(Math.max(...stats.Datapoints.map((p) => p.Maximum)), 7);
  for (const p of stats.Datapoints) assert.ok(p.Timestamp instanceof Date, "Datapoint Timestamp is a Date");

  const data = await cw.send(
    new GetMetricDataCommand({
      ...WINDOW,
      MetricDataQueries: [
        {
          Id: "m1",
          MetricStat: { Metric: { Namespace: "Custom/Test", MetricName: "Orders", Dimensions: DIMS }, Period: 60, Stat: "Sum" },
        },
      ],
    }),
  );
  const res = data.MetricDataResults.find((x) => x.Id === "m1");
  assert.ok(res, JSON.stringify(data));
  assert.equal(res.StatusCode, "Complete");
  assert.equal(res.Values.reduce((a, b) => a + b, 0), 12);
  assert.equal(res.Timestamps.length, res.Values.length);
  for (const t of res.Timestamps) assert.ok(t instanceof Date, "GetMetricData timestamps are Dates");
});

test("GetMetricStatistics without a Unit reports the unit the data was put with", T, async () => {
  await cw.send(
    new PutMetricDataCommand({
      Namespace: "Custom/Units",
      MetricData: [{ MetricName: "Latency", Value: 12, Unit: "Milliseconds" }],
    }),
  );
  const stats = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: "Custom/Units",
      MetricName: "Latency",
      ...WINDOW,
      Period: 3600,
      Statistics: ["Sum"],
    }),
  );
  assert.equal(stats.Datapoints.length, 1, JSON.stringify(stats.Datapoints));
  assert.equal(stats.Datapoints[0].Sum, 12);
  assert.equal(stats.Datapoints[0].Unit, "Milliseconds");
});

test("a PutMetricData large enough for the SDK to gzip (> 10 KiB) is stored", T, async () => {
  const MetricData = Array.from({ length: 300 }, (_, i) => ({
    MetricName: "Bulk",
    Dimensions: [{ Name: "Shard", Value: `shard-${String(i % 3).padStart(40, "0")}` }],
    Value: 1,
    Unit: "Count",
  }));
  assert.ok(JSON.stringify(MetricData).length > 10240, "body above the SDK's compression threshold");
  await cw.send(new PutMetricDataCommand({ Namespace: "Custom/Bulk", MetricData }));
  const listed = await cw.send(new ListMetricsCommand({ Namespace: "Custom/Bulk", MetricName: "Bulk" }));
  assert.equal(listed.Metrics.length, 3, JSON.stringify(listed.Metrics));
  const stats = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: "Custom/Bulk",
      MetricName: "Bulk",
      Dimensions: [{ Name: "Shard", Value: `shard-${"0".repeat(40)}` }],
      ...WINDOW,
      Period: 3600,
      Statistics: ["Sum"],
    }),
  );
  assert.equal(stats.Datapoints.reduce((n, p) => n + p.Sum, 0), 100);
});

test("PutMetricAlarm on AWS/Lambda Errors with a topic action: INSUFFICIENT_DATA → ALARM, history, DeleteAlarms", T, async () => {
  const { receiver, daemon } = env;
  const topic = await sns.send(new CreateTopicCommand({ Name: "cw-alarms" }));
  await sns.send(
    new SubscribeCommand({
      TopicArn: topic.TopicArn,
      Protocol: "http",
      Endpoint: receiver.url("/alarm"),
      ReturnSubscriptionArn: true,
    }),
  );
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: "cw-fail",
      Runtime: "python3.12",
      Role: ROLE_ARN,
      Handler: "app.handler",
      Code: { ZipFile: pythonZip() },
      Timeout: 10,
    }),
  );

  await cw.send(
    new PutMetricAlarmCommand({
      AlarmName: "cw-fn-errors",
      AlarmDescription: "cw-fail fails",
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: "cw-fail" }],
      Statistic: "Sum",
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [topic.TopicArn],
    }),
  );

  const a0 = await waitState("cw-fn-errors", "INSUFFICIENT_DATA");
  assert.equal(a0.AlarmArn, `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:cw-fn-errors`);
  assert.equal(a0.AlarmDescription, "cw-fail fails");
  assert.equal(a0.Namespace, "AWS/Lambda");
  assert.equal(a0.MetricName, "Errors");
  assert.deepEqual(a0.Dimensions, [{ Name: "FunctionName", Value: "cw-fail" }]);
  assert.equal(a0.Statistic, "Sum");
  assert.equal(a0.Period, 60);
  assert.equal(a0.EvaluationPeriods, 1);
  assert.equal(a0.Threshold, 0);
  assert.equal(a0.ComparisonOperator, "GreaterThanThreshold");
  assert.deepEqual(a0.AlarmActions, [topic.TopicArn]);
  assert.equal(a0.ActionsEnabled, true);
  assert.ok(a0.StateUpdatedTimestamp instanceof Date, "StateUpdatedTimestamp is a Date");
  assert.ok(!Number.isNaN(a0.StateUpdatedTimestamp.getTime()));
  assert.ok(a0.AlarmConfigurationUpdatedTimestamp instanceof Date, "AlarmConfigurationUpdatedTimestamp is a Date");
  assert.equal(typeof a0.StateReason, "string");

  const inv = await lambda.send(new InvokeCommand({ FunctionName: "cw-fail", Payload: jsonBytes({ fail: true }) }));
  assert.equal(inv.FunctionError, "Unhandled");
  await daemon.advance("1m");

  const a1 = await waitState("cw-fn-errors", "ALARM");
  assert.match(a1.StateReason, /Threshold Crossed/);
  assert.ok(a1.StateUpdatedTimestamp instanceof Date);

  // The alarm action published to the topic; the http subscriber got it.
  const hits = await receiver.waitFor("/alarm");
  const envelope = JSON.parse(hits[0].body);
  assert.equal(envelope.Type, "Notification");
  assert.equal(envelope.TopicArn, topic.TopicArn);
  assert.equal(envelope.Subject, 'ALARM: "cw-fn-errors" in US East (N. Virginia)');
  const msg = JSON.parse(envelope.Message);
  assert.equal(msg.AlarmName, "cw-fn-errors");
  assert.equal(msg.NewStateValue, "ALARM");

  // ALARM filter on DescribeAlarms.
  const inAlarm = await cw.send(new DescribeAlarmsCommand({ StateValue: "ALARM" }));
  assert.ok(inAlarm.MetricAlarms.some((x) => x.AlarmName === "cw-fn-errors"));

  const history = await cw.send(
    new DescribeAlarmHistoryCommand({ AlarmName: "cw-fn-errors", HistoryItemType: "StateUpdate" }),
  );
  const items = history.AlarmHistoryItems;
  assert.ok(items.length >= 1, JSON.stringify(history));
  const summaries = items.map((h) => h.HistorySummary);
  assert.ok(summaries.includes("Alarm updated from INSUFFICIENT_DATA to ALARM"), JSON.stringify(summaries));
  for (const h of items) {
    assert.equal(h.AlarmName, "cw-fn-errors");
    assert.equal(h.HistoryItemType, "StateUpdate");
    assert.ok(h.Timestamp instanceof Date, "history Timestamp is a Date");
  }
  const data = JSON.parse(items.find((h) => h.HistorySummary.endsWith("to ALARM")).HistoryData);
  assert.equal(data.newState.stateValue, "ALARM");
  assert.equal(data.oldState.stateValue, "INSUFFICIENT_DATA");

  const all = await cw.send(new DescribeAlarmHistoryCommand({ AlarmName: "cw-fn-errors" }));
  assert.ok(
    all.AlarmHistoryItems.some((h) => h.HistoryItemType === "ConfigurationUpdate"),
    JSON.stringify(all.AlarmHistoryItems.map((h) => h.HistoryItemType)),
  );

  // The same alarm, found by its metric.
  const forMetric = await cw.send(
    new DescribeAlarmsForMetricCommand({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: "cw-fail" }],
    }),
  );
  assert.deepEqual(forMetric.MetricAlarms.map((x) => x.AlarmName), ["cw-fn-errors"]);

  await cw.send(new DeleteAlarmsCommand({ AlarmNames: ["cw-fn-errors"] }));
  const gone = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["cw-fn-errors"] }));
  assert.deepEqual(gone.MetricAlarms, []);
});

test("SetAlarmState: a valid state sticks; a bad value and a missing alarm are errors", T, async () => {
  await cw.send(
    new PutMetricAlarmCommand({
      AlarmName: "manual",
      Namespace: "Custom/Test",
      MetricName: "Nothing",
      Statistic: "Average",
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    }),
  );
  await cw.send(new SetAlarmStateCommand({ AlarmName: "manual", StateValue: "ALARM", StateReason: "testing" }));
  const a = await describeOne("manual");
  assert.equal(a.StateValue, "ALARM");
  assert.equal(a.StateReason, "testing");

  let err;
  try {
    await cw.send(new SetAlarmStateCommand({ AlarmName: "manual", StateValue: "BOGUS", StateReason: "x" }));
  } catch (e) {
    err = e;
  }
  assert.ok(err, "SetAlarmState with StateValue BOGUS must fail");
  assert.equal(err.$metadata?.httpStatusCode, 400, `${err.name}: ${err.message}`);
  assert.ok(err.message && /BOGUS|stateValue|StateValue/.test(err.message), `message names the bad value: ${err.message}`);

  const nf = await expectAwsError(
    cw.send(new SetAlarmStateCommand({ AlarmName: "no-such-alarm", StateValue: "OK", StateReason: "x" })),
    "ResourceNotFound",
    ResourceNotFound,
  );
  assert.equal(nf.$metadata.httpStatusCode, 404);

  await cw.send(new DeleteAlarmsCommand({ AlarmNames: ["manual"] }));
});

test("metric math: GetMetricData Expression, and a PutMetricAlarm with Metrics (error rate) goes to ALARM", T, async () => {
  const dims = [{ Name: "Service", Value: "checkout" }];
  // Data in the daemon's current minute (no Timestamp: its clock).
  await cw.send(
    new PutMetricDataCommand({
      Namespace: "Custom/Math",
      MetricData: [
        { MetricName: "Failures", Value: 3, Dimensions: dims },
        { MetricName: "Requests", Value: 4, Dimensions: dims },
        { MetricName: "Requests", Value: 6, Dimensions: dims },
      ],
    }),
  );
  const stat = (name) => ({
    Metric: { Namespace: "Custom/Math", MetricName: name, Dimensions: dims },
    Period: 60,
    Stat: "Sum",
  });
  const metrics = [
    { Id: "f", MetricStat: stat("Failures"), ReturnData: false },
    { Id: "r", MetricStat: stat("Requests"), ReturnData: false },
    { Id: "rate", Expression: "100*f/r", Label: "Failure rate", ReturnData: true },
  ];
  const data = await cw.send(
    new GetMetricDataCommand({
      ...WINDOW,
      MetricDataQueries: [
        { Id: "f", MetricStat: stat("Failures"), ReturnData: false },
        { Id: "r", MetricStat: stat("Requests"), ReturnData: false },
        { Id: "rate", Expression: "100*f/r", Label: "Failure rate", Period: 3600 * 24 },
      ],
    }),
  ).catch((e) => e);
  // One period for every query of a metric math request. (CloudWatch's
  // ValidationError is modelled as ValidationException in the SDK.)
  assert.equal(data.name, "ValidationException", String(data));
  assert.match(data.message, /one period/);
  // The window spans the minutes the other tests moved the clock through.
  const ok = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date("2026-03-01T11:00:00Z"),
      EndTime: new Date("2026-03-02T11:00:00Z"),
      MetricDataQueries: metrics,
    }),
  );
  assert.equal(ok.MetricDataResults.length, 1, JSON.stringify(ok));
  assert.equal(ok.MetricDataResults[0].Id, "rate");
  assert.equal(ok.MetricDataResults[0].Label, "Failure rate");
  assert.deepEqual(ok.MetricDataResults[0].Values, [30]);
  assert.ok(ok.MetricDataResults[0].Timestamps[0] instanceof Date);

  await cw.send(
    new PutMetricAlarmCommand({
      AlarmName: "checkout-failure-rate",
      Metrics: metrics,
      EvaluationPeriods: 1,
      Threshold: 20,
      ComparisonOperator: "GreaterThanThreshold",
    }),
  );
  const a0 = await describeOne("checkout-failure-rate");
  assert.equal(a0.MetricName, undefined);
  assert.equal(a0.Period, undefined);
  assert.equal(a0.Metrics.length, 3);
  assert.equal(a0.Metrics[2].Expression, "100*f/r");
  assert.equal(a0.Metrics[2].ReturnData, true);
  assert.equal(a0.Metrics[0].MetricStat.Metric.MetricName, "Failures");
  assert.equal(a0.Metrics[0].MetricStat.Period, 60);
  await env.daemon.advance("1m");
  const a1 = await waitState("checkout-failure-rate", "ALARM");
  assert.match(a1.StateReason, /\[30\.0 \(/);

  await expectAwsError(
    cw.send(
      new PutMetricAlarmCommand({
        AlarmName: "two-returns",
        Metrics: metrics.map((m) => ({ ...m, ReturnData: true })),
        EvaluationPeriods: 1,
        Threshold: 20,
        ComparisonOperator: "GreaterThanThreshold",
      }),
    ),
    "ValidationException",
  ).then((err) => assert.equal(err.message, "Exactly one element of the metrics list should return data."));
  await cw.send(new DeleteAlarmsCommand({ AlarmNames: ["checkout-failure-rate"] }));
});

test("PutMetricAlarm with an invalid Period → 400 error", T, async () => {
  let err;
  try {
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: "bad-period",
        Namespace: "X",
        MetricName: "Y",
        Statistic: "Sum",
        Period: 45,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: "GreaterThanThreshold",
      }),
    );
  } catch (e) {
    err = e;
  }
  assert.ok(err, "Period 45 must be rejected");
  assert.equal(err.$metadata?.httpStatusCode, 400, `${err.name}: ${err.message}`);
  assert.match(err.message, /Period/);
});

test("PutCompositeAlarm: evaluated over its children, listed by AlarmTypes, typed history", T, async () => {
  for (const name of ["cmp-errors", "cmp-deploying"]) {
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        Namespace: "Custom/Test",
        MetricName: name,
        Statistic: "Sum",
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
      }),
    );
  }
  await cw.send(
    new PutCompositeAlarmCommand({
      AlarmName: "cmp-page",
      AlarmRule: `ALARM("cmp-errors") AND NOT ALARM("arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:cmp-deploying")`,
      AlarmDescription: "errors unless deploying",
      Tags: [{ Key: "team", Value: "ops" }],
    }),
  );
  const composite = async () => {
    const r = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["cmp-page"], AlarmTypes: ["CompositeAlarm"] }));
    assert.equal(r.MetricAlarms.length, 0);
    assert.equal(r.CompositeAlarms.length, 1);
    return r.CompositeAlarms[0];
  };
  let c = await composite();
  assert.equal(c.StateValue, "OK");
  assert.equal(c.AlarmArn, `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:cmp-page`);
  assert.ok(c.StateUpdatedTimestamp instanceof Date);
  // Without AlarmTypes, only metric alarms (as CloudWatch).
  const plain = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["cmp-page"] }));
  assert.deepEqual(plain.CompositeAlarms, []);

  await cw.send(new SetAlarmStateCommand({ AlarmName: "cmp-errors", StateValue: "ALARM", StateReason: "test" }));
  c = await composite();
  assert.equal(c.StateValue, "ALARM");
  assert.match(c.StateReason, /:alarm:cmp-errors transitioned to ALARM at \w+day \d\d \w+, \d{4} \d\d:\d\d:\d\d UTC$/);
  assert.equal(JSON.parse(c.StateReasonData).triggeringAlarms[0].state.value, "ALARM");

  const children = await cw.send(new DescribeAlarmsCommand({ ChildrenOfAlarmName: "cmp-page" }));
  assert.deepEqual(children.MetricAlarms.map((a) => a.AlarmName).sort(), ["cmp-deploying", "cmp-errors"]);
  const history = await cw.send(
    new DescribeAlarmHistoryCommand({ AlarmName: "cmp-page", AlarmTypes: ["CompositeAlarm"], HistoryItemType: "StateUpdate" }),
  );
  assert.equal(history.AlarmHistoryItems.length, 2);
  assert.equal(history.AlarmHistoryItems[0].AlarmType, "CompositeAlarm");

  // Refusals: 400, CloudWatch's texts (the SDK names these query-compatible
  // errors itself).
  const refused = async (rule) => {
    try {
      await cw.send(new PutCompositeAlarmCommand({ AlarmName: "cmp-bad", AlarmRule: rule }));
    } catch (e) {
      assert.equal(e.$metadata?.httpStatusCode, 400, `${e.name}: ${e.message}`);
      return e.message;
    }
    assert.fail(`rule ${rule} must be refused`);
  };
  assert.match(await refused("ALARM(nope)"), /alarms \[nope\] in the alarm rule do not exist/);
  assert.match(await refused("ALARM(cmp-errors) XOR TRUE"), /Error in AlarmRule \[Unsupported token 'XOR' at char 18\]/);

  // Action suppression: cmp-deploying in ALARM holds back the actions of
  // a composite that goes into ALARM; DescribeAlarms says why.
  await cw.send(new SetAlarmStateCommand({ AlarmName: "cmp-deploying", StateValue: "ALARM", StateReason: "deploy" }));
  await cw.send(
    new PutCompositeAlarmCommand({
      AlarmName: "cmp-quiet",
      AlarmRule: "ALARM(cmp-errors)",
      ActionsSuppressor: "cmp-deploying",
      ActionsSuppressorWaitPeriod: 60,
      ActionsSuppressorExtensionPeriod: 120,
    }),
  );
  const quiet = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["cmp-quiet"], AlarmTypes: ["CompositeAlarm"] }));
  assert.equal(quiet.CompositeAlarms[0].StateValue, "ALARM");
  assert.equal(quiet.CompositeAlarms[0].ActionsSuppressor, "cmp-deploying");
  assert.equal(quiet.CompositeAlarms[0].ActionsSuppressorWaitPeriod, 60);
  assert.equal(quiet.CompositeAlarms[0].ActionsSuppressorExtensionPeriod, 120);
  assert.equal(quiet.CompositeAlarms[0].ActionsSuppressedBy, "Alarm");
  assert.equal(quiet.CompositeAlarms[0].ActionsSuppressedReason, "Actions suppressed by Alarm");

  await cw.send(new DeleteAlarmsCommand({ AlarmNames: ["cmp-quiet", "cmp-page", "cmp-errors", "cmp-deploying"] }));
  const left = await cw.send(new DescribeAlarmsCommand({ AlarmTypes: ["CompositeAlarm"] }));
  assert.deepEqual(left.CompositeAlarms, []);
});
