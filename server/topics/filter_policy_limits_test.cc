#include "server/topics/filter_policy_limits.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::topics {
namespace {

using ::testing::HasSubstr;

std::string Message(const char* policy, const char* scope) {
  absl::Status s = CheckFilterPolicyLimits(policy, scope);
  return s.ok() ? "" : std::string(s.message());
}

TEST(FilterPolicyLimitsTest, AttributeScopeIsFlatWithFiveKeys) {
  EXPECT_EQ(Message(R"({"a":["x"],"b":[1],"c":["y"],"d":["z"],"e":["w"]})",
                    "MessageAttributes"),
            "");
  EXPECT_EQ(
      Message(R"({"a":["x"],"b":[1],"c":["y"],"d":["z"],"e":["w"],"f":["v"]})",
              "MessageAttributes"),
      "FilterPolicy: Filter policy can not have more than 5 keys");
  EXPECT_EQ(Message(R"({"order":{"type":["x"]}})", "MessageAttributes"),
            "Filter policy scope MessageAttributes does not support nested "
            "filter policy");
  // The body may nest (and have more keys).
  EXPECT_EQ(Message(R"({"order":{"type":["x"]},"a":[1],"b":[1],"c":[1],
                       "d":[1],"e":[1]})",
                    "MessageBody"),
            "");
}

TEST(FilterPolicyLimitsTest, AtMost150Combinations) {
  // 10 x 15 = 150: accepted; 10 x 16: too complex.
  std::string ten = "[1,2,3,4,5,6,7,8,9,10]";
  std::string fifteen = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]";
  std::string sixteen = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]";
  EXPECT_EQ(Message(("{\"a\":" + ten + ",\"b\":" + fifteen + "}").c_str(),
                    "MessageAttributes"),
            "");
  EXPECT_EQ(Message(("{\"a\":" + ten + ",\"b\":" + sixteen + "}").c_str(),
                    "MessageAttributes"),
            "FilterPolicy: Filter policy is too complex");
  EXPECT_THAT(
      Message(("{\"o\":{\"a\":" + ten + ",\"b\":" + sixteen + "}}").c_str(),
              "MessageBody"),
      HasSubstr("too complex"));
}

TEST(FilterPolicyLimitsTest, NoWildcardOperator) {
  EXPECT_EQ(Message(R"({"a":[{"wildcard":"x*"}]})", "MessageAttributes"),
            "FilterPolicy: Unrecognized match type wildcard");
  // A key of the body named "wildcard" is a key, not the operator.
  EXPECT_EQ(Message(R"({"wildcard":["x"]})", "MessageBody"), "");
  EXPECT_EQ(Message(R"({"a":[{"prefix":"x"}]})", "MessageAttributes"), "");
}

}  // namespace
}  // namespace evbus::topics
