#include "server/bus/envelope.h"

#include "gtest/gtest.h"

namespace evbus::bus {
namespace {

TEST(EnvelopeTest, AwsKeyOrderAndShape) {
  common::Json detail = *common::ParseJson(R"({"b": 2, "a": [1, 2.5]})");
  EnvelopeFields f;
  f.id = "0cc35aee-07b3-415a-a941-9c1f1a357958";
  f.detail_type = "Order Placed";
  f.source = "com.shop";
  f.account = "000000000000";
  f.time = absl::FromUnixMillis(1767323045999);  // fractional seconds dropped
  f.region = "us-east-1";
  f.detail = &detail;
  EXPECT_EQ(BuildEnvelope(f),
            R"({"version":"0","id":"0cc35aee-07b3-415a-a941-9c1f1a357958",)"
            R"("detail-type":"Order Placed","source":"com.shop",)"
            R"("account":"000000000000","time":"2026-01-02T03:04:05Z",)"
            R"("region":"us-east-1","resources":[],)"
            R"("detail":{"b":2,"a":[1,2.5]}})");
}

TEST(EnvelopeTest, ReplayNameAndResources) {
  common::Json detail = common::Json::object();
  EnvelopeFields f;
  f.id = "i";
  f.time = absl::FromUnixSeconds(0);
  f.replay_name = "r1";
  f.resources = {"arn:a", "arn:b"};
  f.detail = &detail;
  std::string env = BuildEnvelope(f);
  EXPECT_NE(
      env.find(
          R"("region":"","replay-name":"r1","resources":["arn:a","arn:b"],"detail":{})"),
      std::string::npos)
      << env;
  EXPECT_NE(env.find(R"("time":"1970-01-01T00:00:00Z")"), std::string::npos);
}

TEST(EnvelopeTest, StringsAreEscaped) {
  common::Json detail = common::Json::object();
  EnvelopeFields f;
  f.id = "i";
  f.source = "a\"b\\c\n";
  f.time = absl::FromUnixSeconds(0);
  f.detail = &detail;
  common::Json parsed = *common::ParseJson(BuildEnvelope(f));
  EXPECT_EQ(parsed["source"], "a\"b\\c\n");
}

// The text path (PutEvents' hot path, by concatenation) and the document path
// give the same bytes; fields that are not valid UTF-8 fall back to the
// document path's replacement characters.
TEST(EnvelopeTest, TextAndDocumentPathsAgree) {
  const std::string detail_text = R"({"k":"caf\u00e9","n":[1.5,-2],"o":{}})";
  common::Json detail = *common::ParseJson(detail_text);
  const std::string compact = common::DumpJson(detail);
  for (const std::string& source :
       {std::string("com.shop"), std::string("q\"\\\x01\x7f é 😀"),
        std::string("bad \xff utf8")}) {
    EnvelopeFields f;
    f.id = "0cc35aee-07b3-415a-a941-9c1f1a357958";
    f.detail_type = "T\tab";
    f.source = source;
    f.account = "000000000000";
    f.time = absl::FromUnixSeconds(1767323045);
    f.region = "us-east-1";
    f.replay_name = "r";
    f.resources = {"arn:a", source};
    f.detail = &detail;
    const std::string by_document = BuildEnvelope(f);
    f.detail = nullptr;
    f.detail_json = compact;
    EXPECT_EQ(BuildEnvelope(f), by_document) << source;
  }
}

}  // namespace
}  // namespace evbus::bus
