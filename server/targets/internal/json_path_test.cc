#include "server/targets/internal/json_path.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::targets::internal {
namespace {

using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::string_view kDoc =
    R"({"version":"0","detail-type":"Order Placed",)"
    R"("resources":["arn:a","arn:b"],)"
    R"("detail":{"a.b":1,"it's":2,"x":{"y":[10,{"z":"deep"}]},"n":null,)"
    R"("sp ace":"s","quo\"te":"q"}})";

common::Json Doc() { return *common::ParseJson(kDoc); }

struct EvalCase {
  std::string path;
  std::optional<std::string> expected;  // compact JSON; nullopt = missing
};

class JsonPathEvalTest : public ::testing::TestWithParam<EvalCase> {};

TEST_P(JsonPathEvalTest, Evaluates) {
  const EvalCase& c = GetParam();
  EVBUS_ASSERT_OK_AND_ASSIGN(JsonPath path, JsonPath::Parse(c.path));
  common::Json doc = Doc();
  const common::Json* v = path.Evaluate(doc);
  if (!c.expected.has_value()) {
    EXPECT_EQ(v, nullptr) << common::DumpJson(*v);
  } else {
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(common::DumpJson(*v), *c.expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Paths, JsonPathEvalTest,
    ::testing::Values(
        EvalCase{"$", std::string(kDoc)}, EvalCase{"$.version", R"("0")"},
        EvalCase{"$.detail-type", R"("Order Placed")"},
        EvalCase{"$['detail-type']", R"("Order Placed")"},
        EvalCase{R"($["detail-type"])", R"("Order Placed")"},
        EvalCase{"$.resources[0]", R"("arn:a")"},
        EvalCase{"$.resources[1]", R"("arn:b")"},
        EvalCase{"$.resources[-1]", R"("arn:b")"},
        EvalCase{"$.resources[-2]", R"("arn:a")"},
        EvalCase{"$.resources[2]", std::nullopt},
        EvalCase{"$.resources[-3]", std::nullopt},
        EvalCase{"$.resources", R"(["arn:a","arn:b"])"},
        EvalCase{"$.detail.x.y[1].z", R"("deep")"},
        EvalCase{"$.detail.x.y[1]['z']", R"("deep")"},
        EvalCase{"$['detail']['x']['y'][0]", "10"},
        EvalCase{"$.detail['a.b']", "1"}, EvalCase{R"($.detail['it\'s'])", "2"},
        EvalCase{R"($.detail["quo\"te"])", R"("q")"},
        EvalCase{"$.detail.sp ace", R"("s")"},
        EvalCase{"$.detail.n", "null"},          // present null is a value
        EvalCase{"$.detail.a.b", std::nullopt},  // dots split names
        EvalCase{"$.detail.missing", std::nullopt},
        EvalCase{"$.detail.missing.deeper", std::nullopt},
        EvalCase{"$.version.x", std::nullopt},    // key step on a string
        EvalCase{"$.resources.x", std::nullopt},  // key step on an array
        EvalCase{"$.detail[0]", std::nullopt},    // index step on an object
        EvalCase{"$.detail.x.y[0].z", std::nullopt}));

TEST(JsonPathTest, RootAndSteps) {
  EVBUS_ASSERT_OK_AND_ASSIGN(JsonPath root, JsonPath::Parse("$"));
  EXPECT_TRUE(root.IsRoot());
  EXPECT_EQ(root.text(), "$");
  EVBUS_ASSERT_OK_AND_ASSIGN(JsonPath p, JsonPath::Parse("$.a['b'][3]"));
  EXPECT_FALSE(p.IsRoot());
  ASSERT_EQ(p.steps().size(), 3u);
  EXPECT_EQ(p.steps()[0].kind, JsonPath::Step::Kind::kKey);
  EXPECT_EQ(p.steps()[0].key, "a");
  EXPECT_EQ(p.steps()[1].key, "b");
  EXPECT_EQ(p.steps()[2].kind, JsonPath::Step::Kind::kIndex);
  EXPECT_EQ(p.steps()[2].index, 3);
}

class JsonPathRejectTest : public ::testing::TestWithParam<std::string> {};

TEST_P(JsonPathRejectTest, Rejects) {
  EXPECT_THAT(JsonPath::Parse(GetParam()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid JSONPath '" + GetParam() + "'")));
}

INSTANTIATE_TEST_SUITE_P(BadPaths, JsonPathRejectTest,
                         ::testing::Values("", "detail.x", ".detail", "$.",
                                           "$.detail.", "$..detail", "$.*",
                                           "$.detail.*", "$[*]", "$[]", "$[0",
                                           "$['a'", "$['a]", "$[a]", "$[1,2]",
                                           "$[0:2]", "$[?(@.a)]", "$x", "$ .a",
                                           "$['a']x", "$[-]"));

}  // namespace
}  // namespace evbus::targets::internal
