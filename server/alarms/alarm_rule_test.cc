#include "server/alarms/alarm_rule.h"

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::alarms {
namespace {

using ::evbus::testing::StatusIs;
using ::testing::ElementsAre;

// Evaluates `text` with the states in `states` (absent: OK).
bool Holds(const std::string& text,
           const std::map<std::string, AlarmState>& states) {
  absl::StatusOr<AlarmRule> rule = AlarmRule::Parse(text);
  EXPECT_TRUE(rule.ok()) << text << ": " << rule.status();
  if (!rule.ok()) return false;
  return rule->Evaluate([&](absl::string_view alarm) {
    auto it = states.find(std::string(alarm));
    return it == states.end() ? AlarmState::kOk : it->second;
  });
}

constexpr AlarmState kAlarm = AlarmState::kAlarm;
constexpr AlarmState kOk = AlarmState::kOk;
constexpr AlarmState kNoData = AlarmState::kInsufficientData;

TEST(AlarmRuleTest, StateFunctionsTestTheNamedAlarmsState) {
  EXPECT_TRUE(Holds("ALARM(cpu)", {{"cpu", kAlarm}}));
  EXPECT_FALSE(Holds("ALARM(cpu)", {{"cpu", kOk}}));
  EXPECT_FALSE(Holds("ALARM(cpu)", {{"cpu", kNoData}}));
  EXPECT_TRUE(Holds("OK(cpu)", {{"cpu", kOk}}));
  EXPECT_TRUE(Holds("INSUFFICIENT_DATA(cpu)", {{"cpu", kNoData}}));
  EXPECT_FALSE(Holds("INSUFFICIENT_DATA(cpu)", {{"cpu", kAlarm}}));
  EXPECT_TRUE(Holds("TRUE", {}));
  EXPECT_FALSE(Holds("FALSE", {}));
}

TEST(AlarmRuleTest, NamesMayBeQuotedOrBareNamesOrArns) {
  const std::string arn = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a b";
  absl::StatusOr<AlarmRule> rule = AlarmRule::Parse(
      absl::StrCat(R"x(ALARM("my alarm (prod)") OR ALARM( cpu-high ) OR OK(")x",
                   arn, R"x("))x"));
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_THAT(rule->children(),
              ElementsAre("my alarm (prod)", "cpu-high", arn));
}

TEST(AlarmRuleTest, EachChildIsListedOnce) {
  absl::StatusOr<AlarmRule> rule =
      AlarmRule::Parse("ALARM(a) AND (OK(b) OR NOT ALARM(a))");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_THAT(rule->children(), ElementsAre("a", "b"));
}

TEST(AlarmRuleTest, NotBindsTighterThanAndThanOr) {
  // a OR (b AND c): with a in ALARM it holds whatever b and c are.
  EXPECT_TRUE(Holds("ALARM(a) OR ALARM(b) AND ALARM(c)", {{"a", kAlarm}}));
  EXPECT_FALSE(Holds("(ALARM(a) OR ALARM(b)) AND ALARM(c)", {{"a", kAlarm}}));
  // (NOT a) AND b.
  EXPECT_TRUE(Holds("NOT ALARM(a) AND ALARM(b)", {{"b", kAlarm}}));
  EXPECT_FALSE(
      Holds("NOT (ALARM(a) AND ALARM(b))", {{"a", kAlarm}, {"b", kAlarm}}));
  EXPECT_TRUE(Holds("NOT NOT ALARM(a)", {{"a", kAlarm}}));
}

TEST(AlarmRuleTest, TheDocumentationsExamples) {
  const std::string rule =
      "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)";
  EXPECT_TRUE(Holds(rule, {{"CPUUtilizationTooHigh", kAlarm}}));
  EXPECT_FALSE(Holds(rule, {{"CPUUtilizationTooHigh", kAlarm},
                            {"DeploymentInProgress", kAlarm}}));
  EXPECT_TRUE(Holds("(ALARM(a) OR ALARM(b)) AND OK(c)", {{"b", kAlarm}}));
}

TEST(AlarmRuleTest, LongChainsDoNotNest) {
  std::string rule = "FALSE";
  for (int i = 0; i < 600; ++i) absl::StrAppend(&rule, " OR ALARM(a", i, ")");
  EXPECT_TRUE(Holds(rule, {{"a599", kAlarm}}));
  EXPECT_FALSE(Holds(rule, {}));
}

TEST(AlarmRuleTest, BadRulesNameTheTokenAndItsPosition) {
  EXPECT_THAT(AlarmRule::Parse("()"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Error in AlarmRule [Unsupported token ')' at char 1]"));
  EXPECT_THAT(
      AlarmRule::Parse("ALARM(a) XOR ALARM(b)"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error in AlarmRule [Unsupported token 'XOR' at char 9]"));
  EXPECT_THAT(
      AlarmRule::Parse("alarm(a)"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error in AlarmRule [Unsupported token 'alarm' at char 0]"));
  EXPECT_THAT(AlarmRule::Parse("ALARM()"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Error in AlarmRule [Unsupported token ')' at char 6]"));
  EXPECT_THAT(
      AlarmRule::Parse("ALARM(a) AND"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error in AlarmRule [Unexpected end of rule at char 12]"));
  EXPECT_THAT(
      AlarmRule::Parse("ALARM(\"a)"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error in AlarmRule [Unsupported token '\"a' at char 6]"));
  EXPECT_THAT(
      AlarmRule::Parse("(ALARM(a)"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error in AlarmRule [Unexpected end of rule at char 9]"));
  EXPECT_THAT(AlarmRule::Parse("ALARM(a))"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Error in AlarmRule [Unsupported token ')' at char 8]"));
  EXPECT_THAT(
      AlarmRule::Parse(""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Error in AlarmRule [Unexpected end of rule at char 0]"));
}

TEST(AlarmRuleTest, NestingAndLengthAreBounded) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "(";
  EXPECT_THAT(AlarmRule::Parse(deep),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string nested;
  for (int i = 0; i < AlarmRule::kMaxDepth + 1; ++i) nested += "NOT ";
  nested += "TRUE";
  EXPECT_THAT(AlarmRule::Parse(nested),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("Error in AlarmRule [more than 64 nested "
                                    "parentheses and NOTs at char ",
                                    4 * AlarmRule::kMaxDepth, "]")));
  std::string ok;
  for (int i = 0; i < AlarmRule::kMaxDepth - 1; ++i) ok += "(";
  ok += "TRUE";
  for (int i = 0; i < AlarmRule::kMaxDepth - 1; ++i) ok += ")";
  EXPECT_TRUE(Holds(ok, {}));
  EXPECT_THAT(AlarmRule::Parse(std::string(AlarmRule::kMaxLength + 1, ' ')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace evbus::alarms
