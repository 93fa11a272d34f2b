#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/delivery/dispatcher.h"

namespace evbus::delivery {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

class FixedTokens final : public TokenSource {
 public:
  absl::StatusOr<std::string> Token(const OAuthClient&) override {
    ++calls;
    return std::string("tok-1");
  }
  void Invalidate(const OAuthClient&) override {}
  int calls = 0;
};

TEST(SignatureHeaderTest, HmacSha256OverTimestampAndBody) {
  // Python: hmac.new(b"shh", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
  EXPECT_EQ(
      SignatureHeader("shh", absl::FromUnixSeconds(1700000000), R"({"a":1})"),
      "t=1700000000,v1=be310eac0f84daf469d630347a950258de768b365563ab68f"
      "29f2f783473d547");
}

TEST(BuildHttpRequestTest, PlainWebhookKeepsUrlAndAddsTargetParameters) {
  ResolvedTarget t;
  t.target.set_id("t");
  t.target.set_arn("http://127.0.0.1:9/hook");
  (*t.target.mutable_http_parameters()->mutable_header_parameters())["X-A"] =
      "1";
  (*t.target.mutable_http_parameters()
        ->mutable_query_string_parameters())["q"] = "a b";
  auto r = BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr, "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->url, "http://127.0.0.1:9/hook?q=a%20b");
  EXPECT_EQ(r->method, "POST");
  EXPECT_THAT(r->headers, Contains(Pair("X-A", "1")));
  EXPECT_EQ(r->payload, "{}");
}

TEST(BuildHttpRequestTest, ApiDestinationWildcardsConnectionWinsAndSigns) {
  ResolvedTarget t;
  t.target.set_id("t");
  t.target.set_arn("arn:aws:events:us-east-1:000000000000:api-destination/d");
  auto* p = t.target.mutable_http_parameters();
  p->add_path_parameter_values("orders");
  p->add_path_parameter_values("42/x");
  (*p->mutable_header_parameters())["X-Shared"] = "from-target";
  HttpEndpoint http;
  http.url = "https://api.test/*/items/*";
  http.method = "PUT";
  http.headers = {{"x-shared", "from-connection"},
                  {"Authorization", "Basic dTpw"}};
  http.query = {{"k", "v"}};
  http.signing_secret = "shh";
  t.http = http;
  auto r = BuildHttpRequest(t, R"({"a":1})", absl::FromUnixSeconds(1700000000),
                            nullptr, "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->url, "https://api.test/orders/items/42%2Fx?k=v");
  EXPECT_EQ(r->method, "PUT");
  EXPECT_THAT(r->headers, Contains(Pair("X-Shared", "from-connection")));
  EXPECT_THAT(r->headers, Contains(Pair("Authorization", "Basic dTpw")));
  EXPECT_THAT(
      r->headers,
      Contains(Pair("X-Evbus-Signature",
                    SignatureHeader("shh", absl::FromUnixSeconds(1700000000),
                                    R"({"a":1})"))));
}

TEST(BuildHttpRequestTest, MissingPathValueIsInvalid) {
  ResolvedTarget t;
  t.target.set_id("t");
  HttpEndpoint http;
  http.url = "https://api.test/*";
  t.http = http;
  auto r = BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr, "{}");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BuildHttpRequestTest, OAuthBearerFromTokenSource) {
  ResolvedTarget t;
  t.target.set_id("t");
  HttpEndpoint http;
  http.url = "https://api.test/x";
  http.oauth = OAuthClient{};
  t.http = http;
  FixedTokens tokens;
  auto r = BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), &tokens, "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->headers, Contains(Pair("Authorization", "Bearer tok-1")));
  EXPECT_EQ(tokens.calls, 1);
  EXPECT_FALSE(
      BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr, "{}").ok());
}

TEST(BuildHttpRequestTest, DynamicValuesAreReadFromTheEvent) {
  ResolvedTarget t;
  t.target.set_id("t");
  auto* p = t.target.mutable_http_parameters();
  p->add_path_parameter_values("$.detail.kind");
  (*p->mutable_header_parameters())["X-Id"] = "$.detail.id";
  (*p->mutable_header_parameters())["X-Static"] = "plain";
  (*p->mutable_query_string_parameters())["n"] = "$.detail.n";
  (*p->mutable_query_string_parameters())["q"] = "$.detail.q";
  (*p->mutable_query_string_parameters())["gone"] = "$.detail.nothing";
  HttpEndpoint http;
  http.url = "https://api.test/*";
  t.http = http;
  const std::string event =
      R"({"source":"s","detail":{"kind":"a b","id":"i-1","n":42,"q":"x&y"}})";
  auto r = BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr, event);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->url, "https://api.test/a%20b?gone=&n=42&q=x%26y");
  EXPECT_THAT(r->headers, Contains(Pair("X-Id", "i-1")));
  EXPECT_THAT(r->headers, Contains(Pair("X-Static", "plain")));
}

TEST(BuildHttpRequestTest, HeadersThatWouldSplitTheRequestAreRefused) {
  ResolvedTarget t;
  t.target.set_id("t");
  t.target.set_arn("http://127.0.0.1:9/hook");
  // Stored before PutTargets checked them, or read from the event.
  (*t.target.mutable_http_parameters()->mutable_header_parameters())["X-A"] =
      "v\r\nX-Injected: yes";
  auto r = BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr, "{}");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("Header X-A of target t"));

  t.target.mutable_http_parameters()->clear_header_parameters();
  (*t.target.mutable_http_parameters()->mutable_header_parameters())["X A:"] =
      "v";
  EXPECT_FALSE(
      BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr, "{}").ok());

  t.target.mutable_http_parameters()->clear_header_parameters();
  (*t.target.mutable_http_parameters()->mutable_header_parameters())["X-D"] =
      "$.detail.v";
  EXPECT_FALSE(BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr,
                                R"({"detail":{"v":"a\nX-B: c"}})")
                   .ok());
  EXPECT_TRUE(BuildHttpRequest(t, "{}", absl::FromUnixSeconds(0), nullptr,
                               R"({"detail":{"v":"a b"}})")
                  .ok());
}

}  // namespace
}  // namespace evbus::delivery
