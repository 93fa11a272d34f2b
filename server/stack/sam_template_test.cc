#include "server/stack/sam_template.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "yaml-cpp/yaml.h"

namespace evbus::stack {
namespace {

using ::evbus::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string TestdataPath(const std::string& name) {
  std::vector<std::string> candidates;
  if (const char* src = std::getenv("EVBUS_SOURCE_DIR")) {
    candidates.push_back(absl::StrCat(src, "/server/stack/testdata/", name));
  }
  std::string here = __FILE__;
  candidates.push_back(here.substr(0, here.rfind('/') + 1) + "testdata/" +
                       name);
  for (const auto& c : candidates) {
    if (std::ifstream(c).good()) return c;
  }
  return candidates.back();
}

YAML::Node LoadTestdata(const std::string& name) {
  std::ifstream in(TestdataPath(name));
  std::stringstream text;
  text << in.rdbuf();
  return YAML::Load(text.str());
}

SamOptions Options(const std::string& stack_name) {
  SamOptions options;
  options.stack_name = stack_name;
  return options;
}

// The scalar at `node` (a string with a tag, for the assertions below).
std::string S(const YAML::Node& node) {
  return node.IsScalar() ? node.Scalar() : "<not a scalar>";
}

// Sequence of scalars as a vector.
std::vector<std::string> Strings(const YAML::Node& node) {
  std::vector<std::string> out;
  for (size_t i = 0; node.IsSequence() && i < node.size(); ++i) {
    out.push_back(S(node[i]));
  }
  return out;
}

std::vector<std::string> Keys(const YAML::Node& map) {
  std::vector<std::string> out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    out.push_back(it->first.Scalar());
  }
  return out;
}

TEST(SamTemplateTest, OwnerTagListingConverts) {
  YAML::Node root = LoadTestdata("owner-tag-sam.yaml");
  ASSERT_TRUE(IsSamTemplate(root));
  std::string before = YAML::Dump(root);
  std::vector<std::string> skipped;
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("owner-tag"), &skipped);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node& s = *stack;

  EXPECT_EQ(S(s["stack"]), "owner-tag");
  EXPECT_THAT(Keys(s), ElementsAre("stack", "functions", "rules"));

  ASSERT_EQ(s["functions"].size(), 1u);
  const YAML::Node fn = s["functions"][0];
  EXPECT_EQ(S(fn["name"]), "ownertag");
  EXPECT_EQ(S(fn["description"]),
            "Adds an Owner tag to instances launched by RunInstances");
  EXPECT_EQ(S(fn["runtime"]), "python3.12");
  EXPECT_EQ(S(fn["handler"]), "app.lambda_handler");
  EXPECT_EQ(S(fn["code"]), "ownertag/");
  EXPECT_EQ(S(fn["timeout"]), "30");  // Globals.Function
  EXPECT_EQ(fn["timeout"].Tag(), "?");
  EXPECT_EQ(S(fn["memory_size"]), "128");
  EXPECT_EQ(S(fn["environment"]["TAG_KEY"]), "Owner");  // Ref parameter

  ASSERT_EQ(s["rules"].size(), 1u);
  const YAML::Node rule = s["rules"][0];
  EXPECT_EQ(S(rule["name"]), "OwnerTagFunctionRunInstances");
  EXPECT_EQ(S(rule["bus"]), "default");
  EXPECT_EQ(S(rule["state"]), "ENABLED");
  EXPECT_FALSE(rule["schedule"].IsDefined());
  const YAML::Node pattern = rule["pattern"];
  ASSERT_TRUE(pattern.IsMap());
  EXPECT_THAT(Keys(pattern), ElementsAre("source", "detail-type", "detail"));
  EXPECT_THAT(Strings(pattern["source"]), ElementsAre("aws.ec2"));
  EXPECT_THAT(Strings(pattern["detail-type"]),
              ElementsAre("AWS API Call via CloudTrail"));
  EXPECT_THAT(Strings(pattern["detail"]["eventSource"]),
              ElementsAre("ec2.amazonaws.com"));
  EXPECT_THAT(Strings(pattern["detail"]["eventName"]),
              ElementsAre("RunInstances"));
  ASSERT_EQ(rule["targets"].size(), 1u);
  EXPECT_EQ(S(rule["targets"][0]["id"]), "fn");
  EXPECT_EQ(S(rule["targets"][0]["arn"]),
            "arn:aws:lambda:us-east-1:000000000000:function:ownertag");

  EXPECT_THAT(skipped,
              UnorderedElementsAre("TrailBucket (AWS::S3::Bucket)",
                                   "TrailBucketPolicy (AWS::S3::BucketPolicy)",
                                   "TrailLogGroup (AWS::Logs::LogGroup)",
                                   "TrailLogsRole (AWS::IAM::Role)",
                                   "ManagementTrail (AWS::CloudTrail::Trail)"));
  EXPECT_EQ(YAML::Dump(root), before) << "the template must not change";
}

TEST(SamTemplateTest, OwnerTagStrictNamesTheSkippedResources) {
  YAML::Node root = LoadTestdata("owner-tag-sam.yaml");
  SamOptions options = Options("owner-tag");
  options.strict = true;
  std::vector<std::string> skipped;
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, options, &skipped);
  EXPECT_THAT(stack, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("TrailBucket: AWS::S3::Bucket")));
  EXPECT_THAT(stack, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("ManagementTrail "
                                        "(AWS::CloudTrail::Trail)")));
  EXPECT_THAT(stack, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("TrailLogsRole (AWS::IAM::Role)")));
}

TEST(SamTemplateTest, OwnerTagAsEventBridgeRuleWithLongForms) {
  YAML::Node root = YAML::Load(R"(
Transform: AWS::Serverless-2016-10-31
Resources:
  OwnerTag:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ownertag
      Handler: app.lambda_handler
      Runtime: python3.11
      Events:
        Launch:
          Type: EventBridgeRule
          Properties:
            RuleName: ownertag-on-launch
            Pattern:
              source: [aws.ec2]
              detail-type: [AWS API Call via CloudTrail]
              detail: {eventSource: [ec2.amazonaws.com], eventName: [RunInstances]}
            State: DISABLED
            InputPath: $.detail
            RetryPolicy: {MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600}
Outputs:
  Name: {Value: {Ref: OwnerTag}}
)");
  ASSERT_TRUE(IsSamTemplate(root));
  std::vector<std::string> skipped;
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("ot"), &skipped);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node& s = *stack;
  EXPECT_EQ(S(s["functions"][0]["name"]), "OwnerTag");  // the logical id
  const YAML::Node rule = s["rules"][0];
  EXPECT_EQ(S(rule["name"]), "ownertag-on-launch");
  EXPECT_EQ(S(rule["state"]), "DISABLED");
  EXPECT_THAT(Strings(rule["pattern"]["detail"]["eventName"]),
              ElementsAre("RunInstances"));
  const YAML::Node target = rule["targets"][0];
  EXPECT_EQ(S(target["arn"]),
            "arn:aws:lambda:us-east-1:000000000000:function:OwnerTag");
  EXPECT_EQ(S(target["input_path"]), "$.detail");
  EXPECT_EQ(S(target["retry_policy"]["maximum_retry_attempts"]), "2");
  EXPECT_EQ(S(target["retry_policy"]["maximum_event_age_in_seconds"]), "600");
  EXPECT_THAT(skipped, IsEmpty());
}

TEST(SamTemplateTest, HealthCheckConverts) {
  YAML::Node root = LoadTestdata("health-check-sam.yaml");
  ASSERT_TRUE(IsSamTemplate(root));
  std::vector<std::string> skipped;
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("website"), &skipped);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node& s = *stack;
  EXPECT_THAT(skipped, IsEmpty());
  EXPECT_THAT(Keys(s),
              ElementsAre("stack", "functions", "topics", "rules", "alarms"));

  const YAML::Node fn = s["functions"][0];
  EXPECT_EQ(S(fn["name"]), "website-check");  // !Sub ${AWS::StackName}
  EXPECT_EQ(S(fn["runtime"]), "python3.12");
  EXPECT_EQ(S(fn["handler"]), "app.lambda_handler");
  EXPECT_EQ(S(fn["code"]), "health_check/");
  EXPECT_EQ(S(fn["timeout"]), "10");
  EXPECT_EQ(S(fn["reserved_concurrency"]), "1");
  EXPECT_EQ(S(fn["environment"]["site"]), "http://127.0.0.1:8080/");
  EXPECT_EQ(S(fn["environment"]["expected"]), "OK");
  EXPECT_EQ(S(fn["environment"]["attempts"]), "3");
  EXPECT_EQ(fn["environment"]["attempts"].Tag(), "!");  // stays a string

  const YAML::Node rule = s["rules"][0];
  EXPECT_EQ(S(rule["name"]), "every-5-minutes");
  EXPECT_EQ(S(rule["schedule"]), "rate(5 minutes)");
  EXPECT_EQ(S(rule["state"]), "ENABLED");
  EXPECT_EQ(S(rule["description"]), "Runs the health check");
  EXPECT_FALSE(rule["pattern"].IsDefined());
  EXPECT_EQ(S(rule["targets"][0]["arn"]),
            "arn:aws:lambda:us-east-1:000000000000:function:website-check");

  ASSERT_EQ(s["topics"].size(), 1u);
  const YAML::Node topic = s["topics"][0];
  EXPECT_EQ(S(topic["name"]), "ops");
  EXPECT_EQ(S(topic["display_name"]), "Ops");
  ASSERT_EQ(topic["subscriptions"].size(), 1u);
  EXPECT_EQ(S(topic["subscriptions"][0]["protocol"]), "email");
  EXPECT_EQ(S(topic["subscriptions"][0]["endpoint"]), "oncall@example.com");

  ASSERT_EQ(s["alarms"].size(), 1u);
  const YAML::Node alarm = s["alarms"][0];
  EXPECT_EQ(S(alarm["name"]), "website-site-down");
  EXPECT_EQ(S(alarm["namespace"]), "AWS/Lambda");
  EXPECT_EQ(S(alarm["metric"]), "Errors");
  EXPECT_EQ(S(alarm["dimensions"]["FunctionName"]), "website-check");
  EXPECT_EQ(S(alarm["statistic"]), "Sum");
  EXPECT_EQ(S(alarm["period"]), "300");
  EXPECT_EQ(alarm["period"].Tag(), "?");
  EXPECT_EQ(S(alarm["evaluation_periods"]), "1");
  EXPECT_EQ(S(alarm["datapoints_to_alarm"]), "1");
  EXPECT_EQ(S(alarm["threshold"]), "0");
  EXPECT_EQ(alarm["threshold"].Tag(), "?");
  EXPECT_EQ(S(alarm["comparison"]), "GreaterThanThreshold");
  EXPECT_EQ(S(alarm["treat_missing_data"]), "notBreaching");
  EXPECT_THAT(Strings(alarm["alarm_actions"]),
              ElementsAre("arn:aws:sns:us-east-1:000000000000:ops"));
  EXPECT_THAT(Strings(alarm["ok_actions"]),
              ElementsAre("arn:aws:sns:us-east-1:000000000000:ops"));
  EXPECT_EQ(S(alarm["description"]),
            "http://127.0.0.1:8080/ did not answer OK");
}

TEST(SamTemplateTest, SubResolvesPseudoParametersAndAttributes) {
  YAML::Node root = YAML::Load(R"(
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, Default: prod}
Resources:
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${Env}-alerts"
  Orders:
    Type: AWS::Events::EventBus
    Properties:
      Name: orders
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Join ["-", [!Ref Env, fn]]
      Runtime: nodejs20.x
      Handler: index.handler
      Environment:
        Variables:
          REGION: !Sub "${AWS::Region}"
          TOPIC: !Sub "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${Alerts.TopicName}"
          TOPIC_REF: !Ref Alerts
          BUS_ARN: {"Fn::GetAtt": [Orders, Arn]}
          BUS_NAME: {"Fn::GetAtt": "Orders.Name"}
          SELF: {"Fn::Sub": "${Fn.Arn}"}
          LITERAL: !Sub "${!NotReplaced} in ${AWS::StackName}"
          VARS: !Sub
            - "${Host}:${Port}"
            - {Host: !Ref Env, Port: 8080}
)");
  SamOptions options = Options("shop");
  options.region = "eu-west-3";
  options.account = "123456789012";
  absl::StatusOr<YAML::Node> stack = ConvertSamTemplate(root, options, nullptr);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node env = (*stack)["functions"][0]["environment"];
  EXPECT_EQ(S((*stack)["functions"][0]["name"]), "prod-fn");
  EXPECT_EQ(S(env["REGION"]), "eu-west-3");
  EXPECT_EQ(S(env["TOPIC"]), "arn:aws:sns:eu-west-3:123456789012:prod-alerts");
  EXPECT_EQ(S(env["TOPIC_REF"]),
            "arn:aws:sns:eu-west-3:123456789012:prod-alerts");
  EXPECT_EQ(S(env["BUS_ARN"]),
            "arn:aws:events:eu-west-3:123456789012:event-bus/orders");
  EXPECT_EQ(S(env["BUS_NAME"]), "orders");
  EXPECT_EQ(S(env["SELF"]),
            "arn:aws:lambda:eu-west-3:123456789012:function:prod-fn");
  EXPECT_EQ(S(env["LITERAL"]), "${NotReplaced} in shop");
  EXPECT_EQ(S(env["VARS"]), "prod:8080");
  EXPECT_EQ(S((*stack)["topics"][0]["name"]), "prod-alerts");
  EXPECT_EQ(S((*stack)["buses"][0]["name"]), "orders");
}

TEST(SamTemplateTest, CompositeAlarmConverts) {
  YAML::Node root = YAML::Load(R"y(
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Errors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: errors
      Namespace: App
      MetricName: Errors
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
  Page:
    Type: AWS::CloudWatch::CompositeAlarm
    Properties:
      AlarmName: page
      AlarmRule: !Sub "ALARM(${Errors}) AND NOT ALARM(deploying)"
      AlarmDescription: errors unless deploying
      AlarmActions: [arn:aws:sns:us-east-1:000000000000:ops]
)y");
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("shop"), nullptr);
  ASSERT_TRUE(stack.ok()) << stack.status();
  ASSERT_EQ((*stack)["alarms"].size(), 2u);
  const YAML::Node page = (*stack)["alarms"][1];
  EXPECT_EQ(S(page["name"]), "page");
  EXPECT_EQ(S(page["rule"]), "ALARM(errors) AND NOT ALARM(deploying)");
  EXPECT_EQ(S(page["description"]), "errors unless deploying");
  EXPECT_THAT(Strings(page["alarm_actions"]),
              ElementsAre("arn:aws:sns:us-east-1:000000000000:ops"));
  EXPECT_FALSE(page["namespace"].IsDefined());

  root["Resources"]["Page"]["Properties"]["ActionsSuppressor"] = "deploying";
  root["Resources"]["Page"]["Properties"]["ActionsSuppressorWaitPeriod"] = 60;
  root["Resources"]["Page"]["Properties"]["ActionsSuppressorExtensionPeriod"] =
      "120";
  stack = ConvertSamTemplate(root, Options("shop"), nullptr);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node suppressed = (*stack)["alarms"][1];
  EXPECT_EQ(S(suppressed["actions_suppressor"]), "deploying");
  EXPECT_EQ(S(suppressed["actions_suppressor_wait_period"]), "60");
  EXPECT_EQ(S(suppressed["actions_suppressor_extension_period"]), "120");
}

TEST(SamTemplateTest, MetricMathAlarmConverts) {
  YAML::Node root = YAML::Load(R"y(
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Rate:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: error-rate
      EvaluationPeriods: 1
      Threshold: 5
      ComparisonOperator: GreaterThanThreshold
      Metrics:
        - Id: e
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: AWS/Lambda
              MetricName: Errors
              Dimensions: [{Name: FunctionName, Value: f}]
            Period: 60
            Stat: Sum
        - Id: rate
          Expression: 100*e
          Label: Error rate
)y");
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("shop"), nullptr);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node alarm = (*stack)["alarms"][0];
  EXPECT_FALSE(alarm["namespace"].IsDefined());
  ASSERT_EQ(alarm["metrics"].size(), 2u);
  const YAML::Node e = alarm["metrics"][0];
  EXPECT_EQ(S(e["id"]), "e");
  EXPECT_EQ(S(e["return_data"]), "false");
  EXPECT_EQ(S(e["namespace"]), "AWS/Lambda");
  EXPECT_EQ(S(e["metric"]), "Errors");
  EXPECT_EQ(S(e["dimensions"]["FunctionName"]), "f");
  EXPECT_EQ(S(e["period"]), "60");
  EXPECT_EQ(S(e["stat"]), "Sum");
  const YAML::Node rate = alarm["metrics"][1];
  EXPECT_EQ(S(rate["expression"]), "100*e");
  EXPECT_EQ(S(rate["label"]), "Error rate");
  // ReturnData omitted: true, as CloudFormation reads it.
  EXPECT_EQ(S(rate["return_data"]), "true");

  root["Resources"]["Rate"]["Properties"]["ThresholdMetricId"] = "ad";
  stack = ConvertSamTemplate(root, Options("shop"), nullptr);
  ASSERT_FALSE(stack.ok());
  EXPECT_NE(stack.status().message().find("Rate.ThresholdMetricId"),
            std::string::npos)
      << stack.status();
}

TEST(SamTemplateTest, GlobalsAreDefaultsAndEnvironmentsMerge) {
  YAML::Node root = YAML::Load(R"(
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs20.x
    Handler: index.handler
    Timeout: 15
    MemorySize: 256
    Environment:
      Variables: {LOG_LEVEL: info, SHARED: global}
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: a/
      Timeout: 5
      Environment:
        Variables: {SHARED: own, EXTRA: x}
  B:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: b/
      Runtime: python3.12
      Handler: app.handler
)");
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("g"), nullptr);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node a = (*stack)["functions"][0];
  EXPECT_EQ(S(a["runtime"]), "nodejs20.x");
  EXPECT_EQ(S(a["handler"]), "index.handler");
  EXPECT_EQ(S(a["timeout"]), "5");
  EXPECT_EQ(S(a["memory_size"]), "256");
  EXPECT_THAT(Keys(a["environment"]),
              ElementsAre("LOG_LEVEL", "SHARED", "EXTRA"));
  EXPECT_EQ(S(a["environment"]["SHARED"]), "own");
  const YAML::Node b = (*stack)["functions"][1];
  EXPECT_EQ(S(b["runtime"]), "python3.12");
  EXPECT_EQ(S(b["handler"]), "app.handler");
  EXPECT_EQ(S(b["timeout"]), "15");
  EXPECT_EQ(S(b["environment"]["SHARED"]), "global");
}

TEST(SamTemplateTest, EventsRuleTargetsAndSkippedReferences) {
  YAML::Node root = YAML::Load(R"(
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: orders, Description: Orders from the shop}
  Failed:
    Type: AWS::SQS::Queue
  Notify:
    Type: AWS::SNS::Topic
    Properties:
      Subscription:
        - {Protocol: email, Endpoint: ops@example.com}
        - {Protocol: sqs, Endpoint: !GetAtt Failed.Arn}
  Hook:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Notify
      Protocol: https
      Endpoint: https://hooks.example.com/orders
      FilterPolicyScope: MessageBody
      FilterPolicy: '{"total": [{"numeric": [">", 100]}]}'
      RawMessageDelivery: "true"
  Big:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !GetAtt Bus.Arn
      EventPattern: {source: [shop], detail: {total: [{numeric: [">", 100]}]}}
      Targets:
        - Id: topic
          Arn: !Ref Notify
          InputTransformer:
            InputPathsMap: {id: $.id}
            InputTemplate: '{"order": <id>}'
          DeadLetterConfig: {Arn: !GetAtt Failed.Arn}
          RetryPolicy: {MaximumRetryAttempts: 3}
        - Id: queue
          Arn: !GetAtt Failed.Arn
  Nightly:
    Type: AWS::Events::Rule
    Properties:
      Name: nightly
      ScheduleExpression: cron(0 3 * * ? *)
      State: DISABLED
      Targets:
        - {Id: bus, Arn: !GetAtt Bus.Arn, Input: '{"nightly": true}'}
)");
  std::vector<std::string> skipped;
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("shop"), &skipped);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node& s = *stack;
  EXPECT_EQ(S(s["buses"][0]["description"]), "Orders from the shop");
  ASSERT_EQ(s["rules"].size(), 2u);
  const YAML::Node big = s["rules"][0];
  EXPECT_EQ(S(big["name"]), "Big");
  EXPECT_EQ(S(big["bus"]), "orders");
  // Numbers in patterns stay plain scalars.
  const YAML::Node numeric = big["pattern"]["detail"]["total"][0]["numeric"];
  EXPECT_EQ(S(numeric[1]), "100");
  EXPECT_EQ(numeric[1].Tag(), "?");
  ASSERT_EQ(big["targets"].size(), 1u);  // the queue target is left out
  const YAML::Node t = big["targets"][0];
  EXPECT_EQ(S(t["id"]), "topic");
  EXPECT_EQ(S(t["arn"]), "arn:aws:sns:us-east-1:000000000000:Notify");
  EXPECT_EQ(S(t["input_transformer"]["input_paths_map"]["id"]), "$.id");
  EXPECT_EQ(S(t["input_transformer"]["input_template"]), R"({"order": <id>})");
  EXPECT_FALSE(t["dead_letter_arn"].IsDefined());
  EXPECT_EQ(S(t["retry_policy"]["maximum_retry_attempts"]), "3");
  const YAML::Node nightly = s["rules"][1];
  EXPECT_EQ(S(nightly["name"]), "nightly");
  EXPECT_EQ(S(nightly["schedule"]), "cron(0 3 * * ? *)");
  EXPECT_EQ(S(nightly["state"]), "DISABLED");
  EXPECT_EQ(S(nightly["targets"][0]["arn"]),
            "arn:aws:events:us-east-1:000000000000:event-bus/orders");
  EXPECT_EQ(S(nightly["targets"][0]["input"]), R"({"nightly": true})");
  const YAML::Node subs = s["topics"][0]["subscriptions"];
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(S(subs[0]["protocol"]), "email");
  EXPECT_EQ(S(subs[1]["protocol"]), "https");
  EXPECT_EQ(S(subs[1]["endpoint"]), "https://hooks.example.com/orders");
  EXPECT_EQ(S(subs[1]["filter_policy"]),
            R"({"total": [{"numeric": [">", 100]}]})");
  EXPECT_EQ(subs[1]["filter_policy"].Tag(), "!");  // JSON text
  EXPECT_EQ(S(subs[1]["filter_policy_scope"]), "MessageBody");
  EXPECT_EQ(S(subs[1]["raw_message_delivery"]), "true");
  EXPECT_EQ(subs[1]["raw_message_delivery"].Tag(), "?");
  EXPECT_THAT(skipped,
              UnorderedElementsAre(
                  "Failed (AWS::SQS::Queue)",
                  "Notify.Subscription[1] (sqs subscription)",
                  "Big.Targets[0].DeadLetterConfig.Arn (refers to Failed "
                  "(AWS::SQS::Queue))",
                  "Big.Targets[1].Arn (refers to Failed (AWS::SQS::Queue))"));
}

TEST(SamTemplateTest, SchedulesAndOtherFunctionEvents) {
  YAML::Node root = YAML::Load(R"(
Transform: AWS::Serverless-2016-10-31
Resources:
  Alerts:
    Type: AWS::SNS::Topic
  Report:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      CodeUri: report.zip
      Events:
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 3 * * ? *)
            ScheduleExpressionTimezone: Europe/Paris
            Input: '{"nightly": true}'
            RetryPolicy: {MaximumRetryAttempts: 1}
        Alerted:
          Type: SNS
          Properties:
            Topic: !Ref Alerts
            FilterPolicy: {severity: [high]}
        Web:
          Type: Api
          Properties: {Path: /, Method: get}
  Weekly:
    Type: AWS::Scheduler::Schedule
    Properties:
      Name: weekly
      ScheduleExpression: rate(7 days)
      FlexibleTimeWindow: {Mode: FLEXIBLE, MaximumWindowInMinutes: 15}
      State: DISABLED
      EndDate: "2030-01-01T00:00:00Z"
      ActionAfterCompletion: DELETE
      Target:
        Arn: !GetAtt Report.Arn
        RoleArn: arn:aws:iam::000000000000:role/scheduler
        Input: "{}"
)");
  std::vector<std::string> skipped;
  absl::StatusOr<YAML::Node> stack =
      ConvertSamTemplate(root, Options("r"), &skipped);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const YAML::Node& s = *stack;
  EXPECT_FALSE(s["functions"][0]["handler"].IsDefined());
  ASSERT_EQ(s["schedules"].size(), 2u);
  const YAML::Node nightly = s["schedules"][0];
  EXPECT_EQ(S(nightly["name"]), "ReportNightly");
  EXPECT_EQ(S(nightly["group"]), "default");
  EXPECT_EQ(S(nightly["expression"]), "cron(0 3 * * ? *)");
  EXPECT_EQ(S(nightly["timezone"]), "Europe/Paris");
  EXPECT_EQ(S(nightly["flexible_time_window"]["mode"]), "OFF");
  EXPECT_EQ(nightly["flexible_time_window"]["mode"].Tag(), "!");
  EXPECT_EQ(S(nightly["target"]["arn"]),
            "arn:aws:lambda:us-east-1:000000000000:function:Report");
  EXPECT_EQ(S(nightly["target"]["input"]), R"({"nightly": true})");
  const YAML::Node weekly = s["schedules"][1];
  EXPECT_EQ(S(weekly["name"]), "weekly");
  EXPECT_EQ(S(weekly["flexible_time_window"]["mode"]), "FLEXIBLE");
  EXPECT_EQ(S(weekly["flexible_time_window"]["maximum_window_in_minutes"]),
            "15");
  EXPECT_EQ(S(weekly["state"]), "DISABLED");
  EXPECT_EQ(S(weekly["action_after_completion"]), "DELETE");
  EXPECT_FALSE(weekly["end_date"].IsDefined());
  EXPECT_EQ(S(weekly["target"]["input"]), "{}");

  const YAML::Node sub = s["topics"][0]["subscriptions"][0];
  EXPECT_EQ(S(sub["protocol"]), "lambda");
  EXPECT_EQ(S(sub["endpoint"]),
            "arn:aws:lambda:us-east-1:000000000000:function:Report");
  EXPECT_THAT(Strings(sub["filter_policy"]["severity"]), ElementsAre("high"));
  EXPECT_THAT(skipped,
              UnorderedElementsAre(
                  "Report.Events.Nightly.Properties.RetryPolicy (property not "
                  "supported in evbus stacks)",
                  "Report.Events.Web (Api event)",
                  "Weekly.EndDate (property not supported in evbus stacks)"));
}

TEST(SamTemplateTest, BadTemplatesAreInvalidArgument) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"Resources: [a, b]", "Resources: must be a mapping"},
      {"- just a list", "template: must be a mapping"},
      {"AWSTemplateFormatVersion: '2010-09-09'", "Resources: required"},
      {"Resources: {X: {Properties: {}}}", "X.Type: required"},
      {"Resources: {X: {Type: AWS::SNS::Topic, Properties: [1]}}",
       "X.Properties: must be a mapping"},
      {R"(Resources:
  F:
    Type: AWS::Serverless::Function
    Properties: {Runtime: java21, Handler: a.B, CodeUri: .})",
       "F.Runtime: \"java21\" is not supported"},
      {R"(Resources:
  F:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, CodeUri: .})",
       "F.Handler: required"},
      {R"(Resources:
  F:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: a.b, Timeout: soon})",
       "F.Timeout: \"soon\" is not an integer"},
      {R"(Resources:
  T:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Ref Missing})",
       "T.TopicName: Ref Missing: no parameter or resource"},
      {R"(Resources:
  T:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !If [IsProd, a, b]})",
       "T.TopicName: Fn::If is not supported"},
      {R"(Parameters: {P: {Type: String}}
Resources:
  T:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Ref P})",
       "T.TopicName: Ref P: the parameter has no Default"},
      {R"(Resources:
  S:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: arn:aws:sns:us-east-1:1:other, Protocol: email,
                 Endpoint: a@example.com})",
       "S.TopicArn: \"arn:aws:sns:us-east-1:1:other\" is not an "
       "AWS::SNS::Topic of this template"},
      {R"(Resources:
  R:
    Type: AWS::Events::Rule
    Properties: {Targets: []})",
       "R: needs EventPattern or ScheduleExpression"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    YAML::Node root = YAML::Load(c.yaml);
    EXPECT_THAT(
        ConvertSamTemplate(root, Options("bad"), nullptr),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

TEST(SamTemplateTest, NeedsAStackName) {
  YAML::Node root = YAML::Load("Resources: {}");
  EXPECT_THAT(
      ConvertSamTemplate(root, SamOptions{}, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stack name")));
}

TEST(SamTemplateTest, RecognisesTemplatesNotStackFiles) {
  EXPECT_TRUE(IsSamTemplate(YAML::Load("AWSTemplateFormatVersion: x")));
  EXPECT_TRUE(
      IsSamTemplate(YAML::Load("Transform: [AWS::Serverless-2016-10-31]")));
  EXPECT_TRUE(IsSamTemplate(YAML::Load("Resources: {A: {Type: T}}")));
  EXPECT_FALSE(IsSamTemplate(YAML::Load("stack: x\nfunctions: []")));
  EXPECT_FALSE(IsSamTemplate(YAML::Load("Transform: 3")));
  EXPECT_FALSE(IsSamTemplate(YAML::Load("- a")));
  EXPECT_FALSE(IsSamTemplate(YAML::Node()));
}

}  // namespace
}  // namespace evbus::stack
