#include "server/metricmath/expression.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::metricmath {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ExpressionTest, ParsesPrecedenceAndReferences) {
  EVBUS_ASSERT_OK_AND_ASSIGN(Expression e, Expression::Parse("100*e/i"));
  EXPECT_THAT(e.references(), ElementsAre("e", "i"));
  // (100*e)/i: left-associative.
  const Node& root = e.root();
  EXPECT_EQ(root.op, "/");
  EXPECT_EQ(root.args[0].op, "*");
  EXPECT_EQ(root.args[1].text, "i");

  EVBUS_ASSERT_OK_AND_ASSIGN(Expression p, Expression::Parse("a + b * c ^ 2"));
  EXPECT_EQ(p.root().op, "+");
  EXPECT_EQ(p.root().args[1].op, "*");
  EXPECT_EQ(p.root().args[1].args[1].op, "^");

  // NOT_x is no id (upper case) and no function call: refused.
  EXPECT_THAT(
      Expression::Parse("a > 1 AND b < 2 || NOT_x"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position 20")));
}

TEST(ExpressionTest, LogicalAndComparisonOperators) {
  EVBUS_ASSERT_OK_AND_ASSIGN(Expression e,
                             Expression::Parse("a >= 1 && b != 2 OR c == 3"));
  EXPECT_EQ(e.root().op, "OR");
  EXPECT_EQ(e.root().args[0].op, "AND");
  EXPECT_EQ(e.root().args[0].args[0].op, ">=");
  EXPECT_THAT(e.references(), ElementsAre("a", "b", "c"));
}

TEST(ExpressionTest, FunctionsArraysStringsAndKeywords) {
  EVBUS_ASSERT_OK_AND_ASSIGN(
      Expression e,
      Expression::Parse("SUM(METRICS(\"errors\")) + MAX([m1, m2 * 2]) + "
                        "FILL(m1, REPEAT) + IF(m1 > 0, m1, 0)"));
  EXPECT_TRUE(e.uses_all_metrics());
  EXPECT_THAT(e.references(), ElementsAre("m1", "m2"));
  EXPECT_THAT(Expression::Parse("FILL(m1, LINEAR)"), IsOk());
  EXPECT_THAT(Expression::Parse("-m1 ^ 2"), IsOk());
  EXPECT_THAT(Expression::Parse("1.5e3 * .5"), IsOk());
}

TEST(ExpressionTest, RefusesWhatIsNotAnExpression) {
  EXPECT_THAT(Expression::Parse(""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("The expression is empty")));
  EXPECT_THAT(Expression::Parse("a +"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Syntax error at position 4")));
  EXPECT_THAT(
      Expression::Parse("(a + b"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected ')'")));
  EXPECT_THAT(Expression::Parse("a b"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unexpected text")));
  EXPECT_THAT(Expression::Parse("Errors / 2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ids start with a lower-case letter")));
  EXPECT_THAT(Expression::Parse("FOO(a)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Unknown function FOO at position 1")));
  EXPECT_THAT(Expression::Parse("SEARCH('{AWS/EC2} CPU', 'Average', 300)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SEARCH (position 1) is not supported")));
  EXPECT_THAT(Expression::Parse("ABS(a, b)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ABS (position 1) takes 1 argument, not 2")));
  EXPECT_THAT(Expression::Parse("IF(a)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("takes 2 to 3 arguments, not 1")));
  EXPECT_THAT(Expression::Parse("ABS(\"x\")"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Argument 1 of ABS")));
  EXPECT_THAT(Expression::Parse("METRICS(a)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be a quoted string")));
  EXPECT_THAT(Expression::Parse("a + REPEAT"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Expression::Parse("METRICS(\"x)"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unterminated string")));
  EXPECT_THAT(Expression::Parse(std::string(2049, '1')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the limit is 2048")));
}

TEST(ExpressionTest, DeepNestingIsRefusedNotACrash) {
  std::string deep(2000, '(');
  deep += "a";
  deep += std::string(2000, ')');
  EXPECT_THAT(Expression::Parse(deep.substr(0, 2048)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Expression::Parse(std::string(2000, '-') + "a"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nested too deeply")));
}

TEST(ExpressionTest, ValidIds) {
  EXPECT_TRUE(IsValidId("m1"));
  EXPECT_TRUE(IsValidId("error_rate"));
  EXPECT_TRUE(IsValidId("aB9"));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId("M1"));
  EXPECT_FALSE(IsValidId("1m"));
  EXPECT_FALSE(IsValidId("m-1"));
  EXPECT_FALSE(IsValidId(std::string(256, 'a')));
}

}  // namespace
}  // namespace evbus::metricmath
