#include "server/targets/http_parameters.h"

#include <string>

#include "gtest/gtest.h"

namespace evbus::targets {
namespace {

TEST(HttpParametersTest, HeaderNamesAreTokens) {
  EXPECT_TRUE(IsHttpHeaderName("X-Api-Key"));
  EXPECT_TRUE(IsHttpHeaderName("a!#$%&'*+-.^_`|~9"));
  EXPECT_FALSE(IsHttpHeaderName(""));
  EXPECT_FALSE(IsHttpHeaderName("X A"));
  EXPECT_FALSE(IsHttpHeaderName("X-A:"));
  EXPECT_FALSE(IsHttpHeaderName("X-A\r\nB"));
  EXPECT_FALSE(IsHttpHeaderName(std::string(513, 'a')));
  EXPECT_TRUE(IsHttpHeaderName(std::string(512, 'a')));
}

TEST(HttpParametersTest, HeaderValuesArePrintableAsciiWithTabs) {
  EXPECT_TRUE(IsHttpHeaderValue("v"));
  EXPECT_TRUE(IsHttpHeaderValue(" "));
  EXPECT_TRUE(IsHttpHeaderValue("a\tb c"));
  EXPECT_TRUE(IsHttpHeaderValue("$.detail.id"));
  EXPECT_FALSE(IsHttpHeaderValue(""));
  EXPECT_FALSE(IsHttpHeaderValue("\t"));
  EXPECT_FALSE(IsHttpHeaderValue("v\r\nX-Injected: yes"));
  EXPECT_FALSE(IsHttpHeaderValue("v\n"));
  EXPECT_FALSE(IsHttpHeaderValue("caf\xc3\xa9"));
  EXPECT_FALSE(IsHttpHeaderValue(std::string("a\0b", 3)));
  EXPECT_FALSE(IsHttpHeaderValue(std::string(513, 'a')));
}

TEST(HttpParametersTest, QueryAndPathValues) {
  EXPECT_TRUE(IsQueryStringKey("q"));
  EXPECT_TRUE(IsQueryStringKey("caf\xc3\xa9"));
  EXPECT_FALSE(IsQueryStringKey(""));
  EXPECT_FALSE(IsQueryStringKey("a\nb"));
  EXPECT_TRUE(IsQueryStringValue("a b&c"));
  EXPECT_TRUE(IsQueryStringValue("line\r\nbreak"));  // percent-encoded
  EXPECT_FALSE(
      IsQueryStringValue("a\x01"
                         "b"));
  EXPECT_FALSE(IsQueryStringValue("a\tb"));
  EXPECT_FALSE(IsQueryStringValue(""));
  EXPECT_TRUE(IsPathParameterValue("orders"));
  EXPECT_TRUE(IsPathParameterValue(" x "));
  EXPECT_FALSE(IsPathParameterValue(""));
  EXPECT_FALSE(IsPathParameterValue("  "));
  EXPECT_FALSE(IsPathParameterValue("a\nb"));
}

TEST(HttpParametersTest, DynamicValuesReadTheEvent) {
  const common::Json event = common::Json::parse(
      R"({"detail":{"s":"text","n":1.5,"b":true,"o":{"k":[1,2]},"z":null}})");
  auto resolve = [&](const char* v) {
    absl::StatusOr<std::string> r = ResolveHttpParameter(v, event);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or("?");
  };
  EXPECT_EQ(resolve("static"), "static");
  EXPECT_EQ(resolve("$notapath"), "$notapath");
  EXPECT_EQ(resolve("$.detail.s"), "text");
  EXPECT_EQ(resolve("$.detail.n"), "1.5");
  EXPECT_EQ(resolve("$.detail.b"), "true");
  EXPECT_EQ(resolve("$.detail.o"), R"({"k":[1,2]})");
  EXPECT_EQ(resolve("$.detail.o.k[1]"), "2");
  EXPECT_EQ(resolve("$.detail.z"), "");
  EXPECT_EQ(resolve("$.detail.missing"), "");
  EXPECT_FALSE(ResolveHttpParameter("$.detail[", event).ok());
  EXPECT_TRUE(CheckHttpParameterPath("plain").ok());
  EXPECT_TRUE(CheckHttpParameterPath("$.detail.s").ok());
  EXPECT_FALSE(CheckHttpParameterPath("$.detail[").ok());
}

}  // namespace
}  // namespace evbus::targets
