#include "server/bus/validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/aws_error.h"

namespace evbus::bus {
namespace {

using ::testing::HasSubstr;

EventEntry Good() {
  EventEntry e;
  e.source = "com.example";
  e.detail_type = "Thing Happened";
  e.detail = R"({"a":1})";
  return e;
}

std::optional<EntryError> Check(const EventEntry& e, RequestLimits l = {}) {
  std::string detail;
  std::optional<absl::Time> time;
  return ValidateEntry(e, l, &detail, &time);
}

TEST(ValidateEntryTest, AcceptsAGoodEntry) {
  std::string detail;
  std::optional<absl::Time> time;
  EXPECT_FALSE(ValidateEntry(Good(), {}, &detail, &time).has_value());
  EXPECT_EQ(detail, R"({"a":1})");
  EXPECT_FALSE(time.has_value());
}

TEST(ValidateEntryTest, DetailIsReserialisedCompactly) {
  // Both the fast path and the JSON library's path (duplicate keys) give
  // DumpJson's form.
  std::string detail;
  std::optional<absl::Time> time;
  EventEntry e = Good();
  e.detail = " { \"b\" : [ 1.50 , -0, \"\\u00e9\\/\" ] } ";
  EXPECT_FALSE(ValidateEntry(e, {}, &detail, &time).has_value());
  EXPECT_EQ(detail, "{\"b\":[1.5,0,\"\u00e9/\"]}");
  e.detail = R"({"a":1,"b":2,"a":3})";
  EXPECT_FALSE(ValidateEntry(e, {}, &detail, &time).has_value());
  EXPECT_EQ(detail, R"({"a":3,"b":2})");
}

TEST(ValidateEntryTest, MissingSource) {
  EventEntry e = Good();
  e.source.reset();
  auto err = Check(e);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "InvalidArgument");
  EXPECT_EQ(err->message,
            "Parameter Source is not valid. Reason: Source is a required "
            "argument.");
  e.source = "";
  EXPECT_EQ(Check(e)->code, "InvalidArgument");
}

TEST(ValidateEntryTest, MissingDetailType) {
  EventEntry e = Good();
  e.detail_type.reset();
  EXPECT_EQ(Check(e)->message,
            "Parameter DetailType is not valid. Reason: DetailType is a "
            "required argument.");
}

TEST(ValidateEntryTest, MissingDetail) {
  EventEntry e = Good();
  e.detail.reset();
  EXPECT_EQ(Check(e)->message,
            "Parameter Detail is not valid. Reason: Detail is a required "
            "argument.");
}

TEST(ValidateEntryTest, SourceIsCheckedBeforeDetailType) {
  EventEntry e;
  EXPECT_THAT(Check(e)->message, HasSubstr("Parameter Source"));
}

TEST(ValidateEntryTest, MalformedDetail) {
  for (const char* bad :
       {"not json", "\"a string\"", "[1,2]", "42", "\"{\\\"a\\\":1}\"",
        "{\"a\":", "{\"big\":99999999999999999999}", "null", "true"}) {
    EventEntry e = Good();
    e.detail = bad;
    auto err = Check(e);
    ASSERT_TRUE(err.has_value()) << bad;
    EXPECT_EQ(err->code, "MalformedDetail") << bad;
    EXPECT_EQ(err->message, "Detail is malformed.");
  }
}

TEST(ValidateEntryTest, EmptyObjectDetailIsFine) {
  EventEntry e = Good();
  e.detail = "{}";
  EXPECT_FALSE(Check(e).has_value());
}

TEST(ValidateEntryTest, DetailDepthLimit) {
  EventEntry e = Good();
  std::string deep;
  for (int i = 0; i < 5; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 5; ++i) deep += "}";
  e.detail = deep;
  RequestLimits limits;
  limits.max_detail_depth = 4;
  EXPECT_EQ(Check(e, limits)->code, "MalformedDetail");
  limits.max_detail_depth = 6;
  EXPECT_FALSE(Check(e, limits).has_value());
}

// EventBridge processes Detail to 1000 levels (spec §1.3). A Detail 100,000
// levels deep (200 KB, under the size limit) is MalformedDetail, refused
// before anything walks it: it used to overflow the stack.
TEST(ValidateEntryTest, DetailFarTooDeepIsMalformedNotACrash) {
  constexpr int kLevels = 100000;
  EventEntry e = Good();
  e.detail =
      "{\"a\":" + std::string(kLevels, '[') + std::string(kLevels, ']') + "}";
  std::optional<EntryError> error = Check(e);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, "MalformedDetail");
  EXPECT_EQ(error->message, "Detail is malformed.");
  // Objects too.
  std::string objects;
  for (int i = 0; i < kLevels; ++i) objects += "{\"a\":";
  objects += "1" + std::string(kLevels, '}');
  e.detail = objects;
  ASSERT_TRUE(Check(e).has_value());
  EXPECT_EQ(Check(e)->code, "MalformedDetail");
}

TEST(ValidateEntryTest, DetailOfExactlyTheDepthLimitIsAccepted) {
  // {"a":[[...]]}: the object is level 1, each array one more.
  EventEntry e = Good();
  e.detail = "{\"a\":" + std::string(999, '[') + std::string(999, ']') + "}";
  EXPECT_FALSE(Check(e).has_value());
  e.detail = "{\"a\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  ASSERT_TRUE(Check(e).has_value());
  EXPECT_EQ(Check(e)->code, "MalformedDetail");
}

TEST(ValidateEntryTest, ReservedSource) {
  EventEntry e = Good();
  e.source = "aws.ec2";
  EXPECT_EQ(Check(e)->code, "NotAuthorizedForSourceException");
  RequestLimits allow;
  allow.allow_reserved_sources = true;
  EXPECT_FALSE(Check(e, allow).has_value());
}

TEST(ValidateEntryTest, Time) {
  EventEntry e = Good();
  e.time = "2026-01-02T03:04:05Z";
  std::string detail;
  std::optional<absl::Time> time;
  EXPECT_FALSE(ValidateEntry(e, {}, &detail, &time).has_value());
  EXPECT_EQ(*time, absl::FromUnixSeconds(1767323045));
  e.time = "yesterday";
  EXPECT_THAT(Check(e)->message, HasSubstr("Parameter Time is not valid"));
}

TEST(ParseEventTimeTest, Forms) {
  EXPECT_EQ(*ParseEventTime("1700000000"), absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(*ParseEventTime("1700000000.5"),
            absl::FromUnixMillis(1700000000500));
  EXPECT_EQ(*ParseEventTime("2023-11-14T22:13:20+00:00"),
            absl::FromUnixSeconds(1700000000));
  EXPECT_FALSE(ParseEventTime("").has_value());
  EXPECT_FALSE(ParseEventTime("-5").has_value());
  EXPECT_FALSE(ParseEventTime("nan").has_value());
}

TEST(EntrySizeTest, FollowsTheDocumentedRule) {
  EventEntry e;
  e.time = "anything";
  e.source = "abc";           // 3
  e.detail_type = "de";       // 2
  e.detail = "{}";            // 2
  e.resources = {"r1", "r"};  // 3
  e.event_bus_name = "not counted";
  e.trace_header = "not counted";
  EXPECT_EQ(EntrySize(e), 14u + 3 + 2 + 2 + 3);
  e.source = "\xc3\xa9";  // é is 2 UTF-8 bytes
  EXPECT_EQ(EntrySize(e), 14u + 2 + 2 + 2 + 3);
}

TEST(ValidateRequestTest, EntryCount) {
  std::vector<EventEntry> none;
  EXPECT_THAT(std::string(ValidateRequest(none, {}).message()),
              HasSubstr("at 'entries' failed to satisfy constraint: Member "
                        "must have length greater than or equal to 1"));
  std::vector<EventEntry> eleven(11, Good());
  absl::Status s = ValidateRequest(eleven, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(common::SplitAwsError(s).exception, "ValidationException");
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("at 'entries' failed to satisfy constraint: Member "
                        "must have length less than or equal to 10"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("PutEventsRequestEntry(time=null, "
                        "source=com.example"));
  EXPECT_TRUE(ValidateRequest(std::vector<EventEntry>(10, Good()), {}).ok());
}

TEST(ValidateRequestTest, SizeLimit) {
  EventEntry e = Good();
  e.detail = "{\"p\":\"" + std::string(262144 - 30, 'x') + "\"}";
  size_t size = EntrySize(e);
  RequestLimits limits;
  limits.max_request_bytes = size + 1;
  EXPECT_TRUE(ValidateRequest({e}, limits).ok());
  limits.max_request_bytes = size;
  EXPECT_EQ(common::SplitAwsError(ValidateRequest({e}, limits)).message,
            "Total size of the entries in the request is over the limit.");
}

TEST(ValidateRequestTest, BusNameConstraint) {
  EventEntry e = Good();
  e.event_bus_name = "bad name!";
  absl::Status s = ValidateRequest({Good(), e}, {});
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("Value 'bad name!' at 'entries.2.member.eventBusName' "
                        "failed to satisfy constraint"));
  e.event_bus_name = "arn:aws:events:us-east-1:123456789012:event-bus/orders";
  EXPECT_TRUE(ValidateRequest({e}, {}).ok());
}

TEST(BusNameTest, NameOrArn) {
  EXPECT_EQ(*BusNameFromNameOrArn("orders"), "orders");
  EXPECT_EQ(*BusNameFromNameOrArn(
                "arn:aws:events:eu-west-1:123456789012:event-bus/o.r-d_s"),
            "o.r-d_s");
  EXPECT_FALSE(BusNameFromNameOrArn("").has_value());
  EXPECT_FALSE(BusNameFromNameOrArn("arn:aws:events:x:1:event-bus/a"));
  EXPECT_FALSE(BusNameFromNameOrArn("arn:aws:sqs:us-east-1:123456789012:q"));
}

TEST(BusNameTest, CreateRules) {
  EXPECT_TRUE(ValidateBusName("orders.v1/x-y_z", "name").ok());
  EXPECT_THAT(std::string(ValidateBusName("", "name").message()),
              HasSubstr("greater than or equal to 1"));
  EXPECT_THAT(
      std::string(ValidateBusName(std::string(257, 'a'), "name").message()),
      HasSubstr("less than or equal to 256"));
  EXPECT_THAT(std::string(ValidateBusName("a b", "name").message()),
              HasSubstr("Value 'a b' at 'name'"));
}

}  // namespace
}  // namespace evbus::bus
