#include "server/stack/stack_parser.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::stack {
namespace {

class StackParserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Join("fn"));
    std::ofstream(dir_.Join("fn/app.py")) << "def h(e, c):\n    return 1\n";
  }
  absl::StatusOr<StackSpec> Parse(const std::string& text) {
    return ParseStackText(text, dir_.Join("stack.yaml"));
  }
  testing::TempDir dir_;
};

TEST_F(StackParserTest, ParsesEverySection) {
  absl::StatusOr<StackSpec> spec = Parse(R"(stack: demo
buses:
  - name: orders
functions:
  - name: hc
    runtime: python3
    handler: app.h
    code: ./fn
    timeout: 10
    environment: {site: "http://x", expected: OK}
topics:
  - name: ops
    display_name: Ops
    subscriptions:
      - {protocol: email, endpoint: a@example.com}
rules:
  - name: every-5
    schedule: rate(5 minutes)
    targets: [{id: fn, arn: "function:hc"}]
  - name: big
    bus: orders
    pattern: {detail: {total: [{numeric: [">", 100]}]}, source: ["shop"]}
    targets:
      - id: hook
        arn: http://127.0.0.1:9/x
        input_transformer: {input_paths_map: {t: $.detail.total}, input_template: '{"t": <t>}'}
        retry_policy: {maximum_retry_attempts: 3}
schedules:
  - name: nightly
    expression: cron(0 3 * * ? *)
    target: {arn: "function:hc", input: {nightly: true}}
alarms:
  - name: hc-errors
    namespace: AWS/Lambda
    metric: Errors
    dimensions: {FunctionName: hc}
    statistic: Sum
    period: 300
    evaluation_periods: 1
    threshold: 0
    comparison: GreaterThanThreshold
    alarm_actions: ["topic:ops"]
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "demo");
  ASSERT_EQ(spec->functions.size(), 1u);
  EXPECT_EQ(spec->functions[0].function().timeout(), 10);
  EXPECT_EQ(spec->functions[0].function().environment().at("expected"), "OK");
  EXPECT_EQ(spec->functions[0].code().files(0).path(), "app.py");
  ASSERT_EQ(spec->rules.size(), 2u);
  EXPECT_EQ(spec->rules[0].rule.event_bus_name(), "default");
  EXPECT_EQ(
      spec->rules[1].rule.event_pattern(),
      R"({"detail":{"total":[{"numeric":[">",100]}]},"source":["shop"]})");
  EXPECT_EQ(spec->rules[1].targets[0].retry_policy().maximum_retry_attempts(),
            3);
  EXPECT_EQ(spec->schedules[0].target().input(), R"({"nightly":true})");
  EXPECT_EQ(spec->topics[0].subscriptions[0].topic_arn(), "ops");
  EXPECT_EQ(spec->alarms[0].alarm().dimensions(0).value(), "hc");
  EXPECT_EQ(spec->alarms[0].alarm().threshold(), 0);
}

TEST_F(StackParserTest, ErrorsNameFileLineAndField) {
  absl::StatusOr<StackSpec> spec = Parse(R"(stack: demo
rules:
  - name: r
    schedule: rate(1 minute)
    targets:
      - id: a
        arn: function:x
        retry_policy: {maximum_retry_attempts: lots}
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("stack.yaml:8: "), std::string::npos)
      << spec.status();
  EXPECT_NE(spec.status().message().find(
                "rules[0].targets[0].retry_policy.maximum_retry_attempts"),
            std::string::npos)
      << spec.status();

  spec = Parse(
      "stack: demo\nfunctions:\n  - name: f\n    runtime: python3\n"
      "    code: ./missing\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find(":5: functions[0].code"),
            std::string::npos)
      << spec.status();

  spec = Parse("stack: demo\nrulez: []\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("rulez: unknown field"),
            std::string::npos)
      << spec.status();

  spec = Parse("buses: []\n");
  EXPECT_FALSE(spec.ok());
  spec = Parse("stack: [unclosed\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("not valid YAML"), std::string::npos);
}

TEST_F(StackParserTest, CompositeAlarmsTakeARuleAndNoMetric) {
  absl::StatusOr<StackSpec> spec = Parse(R"(stack: demo
alarms:
  - name: page
    rule: ALARM(errors) AND NOT ALARM("deploying")
    description: errors unless deploying
    actions_enabled: false
    alarm_actions: ["topic:ops"]
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->alarms.size(), 1u);
  EXPECT_EQ(spec->alarms[0].alarm().alarm_rule(),
            R"(ALARM(errors) AND NOT ALARM("deploying"))");
  EXPECT_EQ(spec->alarms[0].alarm().alarm_description(),
            "errors unless deploying");
  EXPECT_FALSE(spec->alarms[0].alarm().actions_enabled());

  spec = Parse(
      "stack: demo\nalarms:\n  - name: page\n    rule: ALARM(a)\n"
      "    threshold: 1\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find(
                "stack.yaml:5: alarms[0].threshold: a composite alarm (with a "
                "rule) takes no metric fields"),
            std::string::npos)
      << spec.status();
  // Action suppression: a suppressor with both periods; not on metric
  // alarms; not without both periods.
  spec = Parse(R"(stack: demo
alarms:
  - name: page
    rule: ALARM(errors)
    actions_suppressor: maintenance
    actions_suppressor_wait_period: 60
    actions_suppressor_extension_period: 0
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->alarms[0].alarm().actions_suppressor(), "maintenance");
  EXPECT_EQ(spec->alarms[0].alarm().actions_suppressor_wait_period(), 60);
  EXPECT_THAT(spec->alarms[0].present(),
              ::testing::Contains("actions_suppressor_extension_period"));
  spec = Parse(
      "stack: demo\nalarms:\n  - name: page\n    rule: ALARM(a)\n"
      "    actions_suppressor: m\n    actions_suppressor_wait_period: 5\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find(
                "ActionsSuppressorExtensionPeriod is required when "
                "ActionsSuppressor is specified."),
            std::string::npos)
      << spec.status();
  spec = Parse(
      "stack: demo\nalarms:\n  - name: errors\n    namespace: App\n"
      "    actions_suppressor: m\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find(
                "alarms[0].actions_suppressor: only a composite alarm (with a "
                "rule) takes it"),
            std::string::npos)
      << spec.status();
  spec =
      Parse("stack: demo\nalarms:\n  - name: page\n    rule: ALARM(a) XOR\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find(
                "stack.yaml:4: alarms[0].rule: Error in AlarmRule "
                "[Unsupported token 'XOR' at char 9]"),
            std::string::npos)
      << spec.status();
}

// What PutMetricAlarm and CreateSchedule would refuse stops the stack while
// it is parsed, with the file and line.
// What CreateFunction would refuse stops the stack while it is parsed
// (before anything is applied), naming the function.
TEST_F(StackParserTest, FunctionsTheDaemonWouldRefuseAreErrors) {
  absl::StatusOr<StackSpec> spec = Parse(R"(stack: demo
functions:
  - name: slow
    runtime: python3.12
    handler: app.h
    code: fn
    timeout: 901
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("stack.yaml:3: functions[0]"),
            std::string::npos)
      << spec.status();
  EXPECT_NE(spec.status().message().find("Value '901' at 'timeout'"),
            std::string::npos)
      << spec.status();
  spec = Parse(R"(stack: demo
functions:
  - name: j
    runtime: java21
    handler: a.B
    code: fn
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("'java21' at 'runtime'"),
            std::string::npos)
      << spec.status();
  std::ofstream(dir_.Join("broken.zip")) << "PK\x03\x04 not a zip";
  spec = Parse(R"(stack: demo
functions:
  - name: z
    runtime: python3.12
    handler: app.h
    code: broken.zip
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("functions[0].code"),
            std::string::npos)
      << spec.status();
}

TEST_F(StackParserTest, MetricMathAlarmsTakeMetrics) {
  absl::StatusOr<StackSpec> spec = Parse(R"(stack: demo
alarms:
  - name: error-rate
    metrics:
      - id: e
        namespace: AWS/Lambda
        metric: Errors
        dimensions: {FunctionName: f}
        period: 60
        stat: Sum
      - id: i
        namespace: AWS/Lambda
        metric: Invocations
        dimensions: {FunctionName: f}
        period: 60
        stat: Sum
      - id: rate
        expression: 100*e/i
        label: Error rate
    evaluation_periods: 1
    threshold: 5
    comparison: GreaterThanThreshold
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->alarms.size(), 1u);
  const evbus::v1::MetricAlarm& a = spec->alarms[0].alarm();
  ASSERT_EQ(a.metrics_size(), 3);
  EXPECT_EQ(a.metrics(0).metric_stat().metric().metric_name(), "Errors");
  EXPECT_EQ(a.metrics(0).metric_stat().metric().dimensions(0).value(), "f");
  EXPECT_EQ(a.metrics(0).metric_stat().period(), 60);
  EXPECT_EQ(a.metrics(2).expression(), "100*e/i");
  EXPECT_EQ(a.metrics(2).label(), "Error rate");
  // Without return_data anywhere, the last query is the alarm's series.
  EXPECT_FALSE(a.metrics(0).return_data());
  EXPECT_FALSE(a.metrics(1).return_data());
  EXPECT_TRUE(a.metrics(2).return_data());

  // What PutMetricAlarm would refuse is an error naming the alarm.
  spec = Parse(R"(stack: demo
alarms:
  - name: bad-rate
    metrics:
      - {id: e, namespace: App, metric: Errors, period: 60, stat: Sum}
      - {id: rate, expression: 100*e/calls}
    evaluation_periods: 1
    threshold: 5
    comparison: GreaterThanThreshold
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("alarms[0]"), std::string::npos)
      << spec.status();
  EXPECT_NE(spec.status().message().find("unknown id 'calls'"),
            std::string::npos)
      << spec.status();
  // The error points at the query's line and path.
  EXPECT_NE(spec.status().message().find("stack.yaml:6: alarms[0].metrics[1]"),
            std::string::npos)
      << spec.status();
  spec = Parse(R"(stack: demo
alarms:
  - name: bad-rate
    metrics:
      - {id: e, namespace: App, metric: Errors, period: 60, stat: Sum,
         colour: red}
    evaluation_periods: 1
    threshold: 5
    comparison: GreaterThanThreshold
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("colour"), std::string::npos)
      << spec.status();
  spec = Parse(R"(stack: demo
alarms:
  - name: bad-rate
    metrics:
      - {id: e, namespace: App, metric: Errors, period: 60, stat: Sum}
      - {id: rate, expression: 100*e, period: 60}
    evaluation_periods: 1
    threshold: 5
    comparison: GreaterThanThreshold
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find(
                "alarms[0].metrics[1].period: an expression query takes no "
                "metric fields"),
            std::string::npos)
      << spec.status();
}

TEST_F(StackParserTest, AlarmsAndSchedulesTheDaemonWouldRefuseAreErrors) {
  absl::StatusOr<StackSpec> spec = Parse(R"(stack: demo
alarms:
  - name: odd-period
    namespace: App
    metric: Errors
    statistic: Sum
    period: 45
    evaluation_periods: 1
    threshold: 0
    comparison: GreaterThanThreshold
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("stack.yaml:3: alarms[0]: "),
            std::string::npos)
      << spec.status();
  EXPECT_NE(spec.status().message().find("Period"), std::string::npos)
      << spec.status();

  spec = Parse(R"(stack: demo
schedules:
  - name: nightly
    expression: cron(0 3 * * *)
    target: {arn: "function:f"}
)");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("stack.yaml:3: schedules[0]: "),
            std::string::npos)
      << spec.status();
}

// What PutRule and PutTargets would refuse stops the stack while it is
// parsed (before anything is applied, and in --dry-run), naming the field.
TEST_F(StackParserTest, SamTemplateErrorsNameTheLine) {
  // The conversion's path (Properties left out, list indexes) is followed
  // in the template to the line of the deepest node found.
  const std::string head = R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Ops:
    Type: AWS::SNS::Topic
  Checker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.h
      CodeUri: ./fn
)";
  EXPECT_THAT(Parse(head + "      Timeout: soon\n").status().message(),
              ::testing::HasSubstr("stack.yaml:12: Checker.Timeout: \"soon\" "
                                   "is not an integer"));
  // A reference to what the template does not define: its line.
  EXPECT_THAT(Parse(head + "      Environment:\n        Variables:\n"
                           "          TOPIC: !Ref Missing\n")
                  .status()
                  .message(),
              ::testing::HasSubstr(
                  "stack.yaml:14: Checker.Environment.Variables.TOPIC: "
                  "Ref Missing"));
  // A resource-level problem: the resource's line.
  EXPECT_THAT(Parse(R"(AWSTemplateFormatVersion: '2010-09-09'
Resources:
  R:
    Type: AWS::Events::Rule
    Properties: {Targets: []}
)")
                  .status()
                  .message(),
              ::testing::HasSubstr("stack.yaml:4: R: needs EventPattern or "
                                   "ScheduleExpression"));
}

TEST_F(StackParserTest, VariablesComeFromTheEnvironment) {
  setenv("EVBUS_TEST_BUS", "from-env", 1);
  unsetenv("EVBUS_TEST_UNSET");
  absl::StatusOr<StackSpec> spec = Parse(R"(stack: vars
# ${EVBUS_TEST_UNSET} in a comment line is left alone
# and so is a ${ without its brace
buses:
  - name: ${EVBUS_TEST_BUS}
  - name: ${EVBUS_TEST_UNSET:-fallback}
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->buses.size(), 2u);
  EXPECT_EQ(spec->buses[0].name(), "from-env");
  EXPECT_EQ(spec->buses[1].name(), "fallback");
  EXPECT_THAT(Parse("stack: vars\nbuses:\n  - name: ${EVBUS_TEST_UNSET}\n")
                  .status()
                  .message(),
              ::testing::HasSubstr("stack.yaml:3: ${EVBUS_TEST_UNSET} is not "
                                   "set in the environment"));
  unsetenv("EVBUS_TEST_BUS");
}

TEST_F(StackParserTest, RulesTheDaemonWouldRefuseAreErrors) {
  struct Case {
    std::string rules;
    std::string want;
  } cases[] = {
      {"  - name: r\n    pattern: {source: [qa]}\n    targets:\n"
       "      - {id: a, arn: \"log:x\"}\n      - {id: b, arn: \"htp://x\"}\n",
       "stack.yaml:7: rules[0].targets[1].arn: Parameter Arn of target b is "
       "not valid: 'htp://x'"},
      {"  - name: r\n    pattern: {\"source\": \"notarray\"}\n",
       "stack.yaml:4: rules[0].pattern: InvalidEventPatternException: "},
      {"  - name: r\n    bus: orders\n    schedule: rate(5 minutes)\n",
       "stack.yaml:5: rules[0].schedule: ScheduleExpression is supported only "
       "on the default event bus."},
      {"  - name: r\n    schedule: rate(5 minutes)\n    targets:\n"
       "      - id: fn\n        arn: function:f\n        input: '{\"k\": 1}'\n"
       "        input_transformer:\n          input_paths_map: {id: $.id}\n"
       "          input_template: '{\"event\": <id>}'\n",
       "stack.yaml:10: rules[0].targets[0].input_transformer: Only one of "
       "Input, InputPath, or InputTransformer must be provided for target "
       "fn."},
      {"  - name: r\n    schedule: rate(5 minutes)\n    targets:\n"
       "      - {id: a, arn: \"log:x\", dead_letter_arn: \"nope\"}\n",
       "stack.yaml:6: rules[0].targets[0].dead_letter_arn: Parameter "
       "DeadLetterConfig.Arn of target a is not valid"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<StackSpec> spec = Parse("stack: demo\nrules:\n" + c.rules);
    ASSERT_FALSE(spec.ok()) << c.rules;
    EXPECT_NE(spec.status().message().find(c.want), std::string::npos)
        << spec.status() << "\nwant: " << c.want;
  }
}

}  // namespace
}  // namespace evbus::stack
