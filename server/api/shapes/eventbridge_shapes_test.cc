#include "server/api/shapes/eventbridge_shapes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::api::shapes {
namespace {

using common::Json;

Json Parse(const char* text) { return *common::ParseJson(text); }

TEST(EventBridgeShapesTest, TargetRoundTripsEveryMember) {
  Json in = Parse(R"({
    "Id": "t", "Arn": "https://example.com/x", "RoleArn": "role",
    "InputTransformer": {"InputPathsMap": {"b": "$.b", "a": "$.a"},
                         "InputTemplate": "<a><b>"},
    "RetryPolicy": {"MaximumRetryAttempts": 0,
                    "MaximumEventAgeInSeconds": 60},
    "DeadLetterConfig": {"Arn": "log:dlq"},
    "HttpParameters": {"PathParameterValues": ["p"],
                       "HeaderParameters": {"H": "1"},
                       "QueryStringParameters": {"q": "2"}},
    "MaxConcurrency": 4, "InvocationRateLimitPerSecond": 9})");
  absl::StatusOr<evbus::v1::Target> t =
      TargetFromJson(in, "Targets[0]", UnknownMembers::kReject);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->retry_policy().has_maximum_retry_attempts());  // 0 is kept
  Json out = TargetToJson(*t);
  // Map keys come back sorted.
  EXPECT_EQ(common::DumpJson(out["InputTransformer"]["InputPathsMap"]),
            R"({"a":"$.a","b":"$.b"})");
  out["InputTransformer"]["InputPathsMap"] =
      in["InputTransformer"]["InputPathsMap"];
  EXPECT_EQ(out, in);
}

TEST(EventBridgeShapesTest, UnknownMembersAreRejectedOrIgnored) {
  Json in = Parse(R"({"Id": "t", "Arn": "log:a", "EcsParameters": {},
                      "RetryPolicy": {"Bogus": 1}})");
  absl::StatusOr<evbus::v1::Target> strict =
      TargetFromJson(in, "Targets[0]", UnknownMembers::kReject);
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(strict.status().message(),
            "Unknown parameter in Targets[0]: \"EcsParameters\", must be one "
            "of: Id, Arn, RoleArn, Input, InputPath, InputTransformer, "
            "RetryPolicy, DeadLetterConfig, HttpParameters, MaxConcurrency, "
            "InvocationRateLimitPerSecond");
  absl::StatusOr<evbus::v1::Target> lenient =
      TargetFromJson(in, "Targets[0]", UnknownMembers::kIgnore);
  ASSERT_TRUE(lenient.ok()) << lenient.status();
  EXPECT_EQ(lenient->id(), "t");
}

TEST(EventBridgeShapesTest, TypeErrorsNameTheMember) {
  auto message = [](const char* text) {
    return std::string(
        TargetFromJson(Parse(text), "Targets[1]", UnknownMembers::kIgnore)
            .status()
            .message());
  };
  EXPECT_EQ(message(R"([])"),
            "Invalid type for parameter Targets[1], value must be an object");
  EXPECT_EQ(message(R"({"Id": 1})"),
            "Invalid type for parameter Targets[1].Id, value must be a string");
  EXPECT_EQ(message(R"({"InputTransformer": {"InputPathsMap": {"a": 1}}})"),
            "Invalid type for parameter Targets[1].InputTransformer."
            "InputPathsMap.a, value must be a string");
  EXPECT_EQ(message(R"({"MaxConcurrency": -3000000000})"),
            "Invalid type for parameter Targets[1].MaxConcurrency, value must "
            "be a 32-bit integer");
  EXPECT_EQ(message(R"({"DeadLetterConfig": "arn"})"),
            "Invalid type for parameter Targets[1].DeadLetterConfig, value "
            "must be an object");
  EXPECT_EQ(message(R"({"HttpParameters": {"PathParameterValues": [1]}})"),
            "Invalid type for parameter Targets[1].HttpParameters."
            "PathParameterValues, value must be a list of strings");
}

TEST(EventBridgeShapesTest, ConnectionAuthParameters) {
  evbus::v1::ConnectionAuthParameters auth;
  absl::Status s = ConnectionAuthFromJson(Parse(R"({"OAuthParameters": {
                  "ClientParameters": {"ClientID": "id", "ClientSecret": "s"},
                  "AuthorizationEndpoint": "https://auth", "HttpMethod": "POST",
                  "OAuthHttpParameters": {"BodyParameters": [
                    {"Key": "scope", "Value": "x", "IsValueSecret": true}]}},
                "InvocationHttpParameters": {"HeaderParameters": [
                  {"Key": "H", "Value": "v"}]}})"),
                                          UnknownMembers::kReject, &auth);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(auth.oauth_parameters().client_id(), "id");
  EXPECT_EQ(auth.oauth_parameters().client_secret(), "s");
  EXPECT_EQ(auth.oauth_parameters().authorization_endpoint(), "https://auth");
  ASSERT_EQ(
      auth.oauth_parameters().oauth_http_parameters().body_parameters_size(),
      1);
  EXPECT_TRUE(auth.oauth_parameters()
                  .oauth_http_parameters()
                  .body_parameters(0)
                  .is_value_secret());
  EXPECT_EQ(auth.invocation_http_parameters().header_parameters(0).value(),
            "v");

  EXPECT_EQ(ConnectionAuthFromJson(
                Parse(R"({"BasicAuthParameters": {"Username": 7}})"),
                UnknownMembers::kIgnore, &auth)
                .message(),
            "Invalid type for parameter AuthParameters.BasicAuthParameters."
            "Username, value must be a string");
  EXPECT_EQ(
      ConnectionAuthFromJson(
          Parse(R"({"InvocationHttpParameters": {"HeaderParameters": [
                            {"Value": "no key"}]}})"),
          UnknownMembers::kIgnore, &auth)
          .message(),
      "Invalid type for parameter AuthParameters.InvocationHttpParameters."
      "HeaderParameters, value must be a list of {Key, Value, "
      "IsValueSecret}");
  EXPECT_EQ(ConnectionAuthFromJson(Parse(R"({"Bogus": {}})"),
                                   UnknownMembers::kReject, &auth)
                .message(),
            "Unknown parameter in AuthParameters: \"Bogus\", must be one of: "
            "BasicAuthParameters, ApiKeyAuthParameters, OAuthParameters, "
            "InvocationHttpParameters");
  EXPECT_TRUE(ConnectionAuthFromJson(Parse(R"({"ConnectivityParameters": {}})"),
                                     UnknownMembers::kIgnore, &auth)
                  .ok());
}

TEST(EventBridgeShapesTest, RuleOmitsAbsentMembers) {
  evbus::v1::Rule rule;
  rule.set_name("r");
  rule.set_arn("arn");
  rule.set_state("ENABLED");
  rule.set_event_bus_name("default");
  rule.set_schedule_expression("rate(1 minute)");
  EXPECT_EQ(
      common::DumpJson(RuleToJson(rule)),
      R"j({"Name":"r","Arn":"arn","ScheduleExpression":"rate(1 minute)",)j"
      R"j("State":"ENABLED","EventBusName":"default"})j");
}

}  // namespace
}  // namespace evbus::api::shapes
