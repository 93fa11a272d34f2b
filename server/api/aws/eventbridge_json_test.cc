#include "server/api/aws/eventbridge_json.h"

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/bus/archive_service.h"
#include "server/bus/bus_service.h"
#include "server/bus/connection_registry.h"
#include "server/bus/rule_registry.h"
#include "server/common/clock.h"
#include "server/common/json.h"
#include "server/delivery/dispatcher.h"
#include "server/metrics/registry.h"
#include "server/storage/log_store.h"
#include "server/storage/store.h"
#include "tests/testing/temp_dir.h"

namespace evbus::api::aws {
namespace {

using common::Json;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int64_t kNowSeconds = 1767323045;  // 2026-01-02T03:04:05Z
constexpr char kAccount[] = "000000000000";

// The daemon's EventBridge stack (daemon.cc's order) over a temp store,
// with a manual clock and no delivery executors (nothing is delivered; the
// dispatcher is not started).
class EventBridgeJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::Open({.path = dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    logs_ = std::make_unique<storage::LogStore>(*store_, clock_);
    connections_ = std::make_unique<bus::ConnectionRegistry>(
        *store_, clock_, bus::ConnectionOptions{});
    ASSERT_TRUE(connections_->Load().ok());
    bus::RuleRegistryOptions rule_options;
    rule_options.resolve_api_destination = [this](const std::string& n) {
      return connections_->Resolve(n);
    };
    rules_ = std::make_unique<bus::RuleRegistry>(*store_, clock_, rule_options);
    ASSERT_TRUE(rules_->Load().ok());
    dispatcher_ = std::make_unique<delivery::Dispatcher>(
        *store_, clock_, registry_, *rules_, delivery::Executors{},
        delivery::DispatcherOptions{});
    auto buses = bus::BusService::Create(*store_, clock_, registry_, {},
                                         rules_.get(), dispatcher_.get());
    ASSERT_TRUE(buses.ok()) << buses.status();
    buses_ = std::move(*buses);
    archives_ = std::make_unique<bus::ArchiveService>(
        *store_, clock_, *rules_, *buses_, bus::ArchiveOptions{});
    ASSERT_TRUE(archives_->Load().ok());
    events_ = std::make_unique<EventBusServiceImpl>(
        *buses_, *rules_, *dispatcher_, *logs_, *archives_, *connections_);
    tags_ = std::make_unique<TagStore>(*store_);
  }

  AwsHttpResponse Call(absl::string_view op, absl::string_view body) {
    AwsHttpRequest request;
    request.method = "POST";
    request.path = "/";
    request.headers["content-type"] = kAwsJson11ContentType;
    request.headers["x-amz-target"] = absl::StrCat("AWSEvents.", op);
    request.body = std::string(body);
    AwsCaller caller{
        .access_key_id = "test", .region = "us-east-1", .account = kAccount};
    return HandleEventBridge(op, request, caller, *events_, *tags_);
  }

  // Calls `op` and returns its output, failing the test unless it is 200.
  Json Ok(absl::string_view op, const Json& input) {
    AwsHttpResponse r = Call(op, common::DumpJson(input));
    EXPECT_EQ(r.status, 200) << op << ": " << r.body;
    absl::StatusOr<Json> body = common::ParseJson(r.body);
    EXPECT_TRUE(body.ok()) << r.body;
    return body.ok() ? *body : Json();
  }

  // Calls `op`, expects a 400 with `code`, and returns the message.
  std::string Fails(absl::string_view op, absl::string_view body,
                    absl::string_view code) {
    AwsHttpResponse r = Call(op, body);
    EXPECT_EQ(r.status, 400) << op << ": " << r.body;
    EXPECT_EQ(r.content_type, kAwsJson11ContentType);
    absl::StatusOr<Json> parsed = common::ParseJson(r.body);
    if (!parsed.ok() || !parsed->is_object() || !parsed->contains("__type") ||
        !parsed->contains("message")) {
      ADD_FAILURE() << "not an AWS JSON error: " << r.body;
      return "";
    }
    EXPECT_EQ((*parsed)["__type"], std::string(code)) << r.body;
    return (*parsed)["message"].get<std::string>();
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_{absl::FromUnixSeconds(kNowSeconds)};
  metrics::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::LogStore> logs_;
  std::unique_ptr<bus::ConnectionRegistry> connections_;
  std::unique_ptr<bus::RuleRegistry> rules_;
  std::unique_ptr<delivery::Dispatcher> dispatcher_;
  std::unique_ptr<bus::BusService> buses_;
  std::unique_ptr<bus::ArchiveService> archives_;
  std::unique_ptr<EventBusServiceImpl> events_;
  std::unique_ptr<TagStore> tags_;
};

TEST_F(EventBridgeJsonTest, SuccessIsJson11WithARequestId) {
  AwsHttpResponse r = Call("ListEventBuses", "");  // empty body = {}
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "x-amzn-RequestId");
  EXPECT_EQ(r.headers[0].second.size(), 36u);
  Json out = *common::ParseJson(r.body);
  ASSERT_EQ(out["EventBuses"].size(), 1u);
  EXPECT_EQ(out["EventBuses"][0]["Name"], "default");
  EXPECT_FALSE(out.contains("NextToken"));  // absent members are omitted

  // Operations without output answer {}.
  Ok("PutRule", {{"Name", "r"}, {"EventPattern", R"({"source":["a"]})"}});
  EXPECT_EQ(Call("DisableRule", R"({"Name":"r"})").body, "{}");
}

TEST_F(EventBridgeJsonTest, PutEventsReportsEachEntry) {
  Json out =
      Ok("PutEvents", {{"Entries",
                        {{{"Time", 1700000000.5},
                          {"Source", "com.example"},
                          {"Resources", {"arn:aws:s3:::bucket"}},
                          {"DetailType", "Thing"},
                          {"Detail", R"({"n":1})"},
                          {"TraceHeader", "Root=1-abc"}},
                         {{"Source", "com.example"}, {"Detail", "{}"}}}}});
  EXPECT_EQ(out["FailedEntryCount"], 1);
  ASSERT_EQ(out["Entries"].size(), 2u);
  ASSERT_TRUE(out["Entries"][0].contains("EventId"));
  EXPECT_FALSE(out["Entries"][0].contains("ErrorCode"));
  EXPECT_EQ(out["Entries"][1],
            Json({{"ErrorCode", "InvalidArgument"},
                  {"ErrorMessage",
                   "Parameter DetailType is not valid. Reason: DetailType is "
                   "a required argument."}}));

  // Time arrived as epoch seconds and became the envelope's "time".
  grpc::ServerContext context;
  evbus::v1::ListEventsRequest list;
  evbus::v1::ListEventsResponse events;
  ASSERT_TRUE(events_->ListEvents(&context, &list, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  Json envelope = *common::ParseJson(events.events(0).envelope_json());
  EXPECT_EQ(envelope["id"], out["Entries"][0]["EventId"]);
  EXPECT_EQ(envelope["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(envelope["resources"], Json::array({"arn:aws:s3:::bucket"}));
}

TEST_F(EventBridgeJsonTest, PutEventsWithElevenEntriesIsAValidationError) {
  Json entries = Json::array();
  for (int i = 0; i < 11; ++i) {
    entries.push_back({{"Source", "s"}, {"DetailType", "d"}, {"Detail", "{}"}});
  }
  std::string message =
      Fails("PutEvents", common::DumpJson({{"Entries", entries}}),
            "ValidationException");
  EXPECT_THAT(message, HasSubstr("1 validation error detected: Value '["));
  EXPECT_THAT(message,
              HasSubstr("at 'entries' failed to satisfy constraint: Member "
                        "must have length less than or equal to 10"));
}

TEST_F(EventBridgeJsonTest, RuleRoundTrip) {
  Json bus = Ok("CreateEventBus", {{"Name", "orders"}, {"Description", "o"}});
  EXPECT_EQ(bus, Json({{"EventBusArn",
                        "arn:aws:events:us-east-1:000000000000:event-bus/"
                        "orders"},
                       {"Description", "o"}}));
  Json described = Ok("DescribeEventBus", {{"Name", "orders"}});
  // Timestamps are epoch seconds as JSON numbers.
  ASSERT_TRUE(described["CreationTime"].is_number());
  EXPECT_DOUBLE_EQ(described["CreationTime"].get<double>(), kNowSeconds);
  EXPECT_DOUBLE_EQ(described["LastModifiedTime"].get<double>(), kNowSeconds);

  const std::string pattern = R"({"source":["com.example"]})";
  Json put = Ok("PutRule", {{"Name", "r1"},
                            {"EventBusName", "orders"},
                            {"EventPattern", pattern},
                            {"Description", "first"}});
  EXPECT_EQ(put["RuleArn"],
            "arn:aws:events:us-east-1:000000000000:rule/orders/r1");
  Ok("PutRule", {{"Name", "r2"},
                 {"EventBusName", "orders"},
                 {"EventPattern", pattern},
                 {"State", "DISABLED"}});

  Json rule = Ok("DescribeRule", {{"Name", "r1"}, {"EventBusName", "orders"}});
  EXPECT_EQ(rule, Json({{"Name", "r1"},
                        {"Arn", put["RuleArn"]},
                        {"EventPattern", pattern},
                        {"State", "ENABLED"},
                        {"Description", "first"},
                        {"EventBusName", "orders"},
                        {"CreatedBy", kAccount}}));

  Json page1 = Ok("ListRules", {{"EventBusName", "orders"}, {"Limit", 1}});
  ASSERT_EQ(page1["Rules"].size(), 1u);
  EXPECT_EQ(page1["Rules"][0]["Name"], "r1");
  ASSERT_TRUE(page1.contains("NextToken"));
  Json page2 = Ok("ListRules", {{"EventBusName", "orders"},
                                {"Limit", 1},
                                {"NextToken", page1["NextToken"]}});
  ASSERT_EQ(page2["Rules"].size(), 1u);
  EXPECT_EQ(page2["Rules"][0]["Name"], "r2");
  EXPECT_EQ(page2["Rules"][0]["State"], "DISABLED");
  EXPECT_FALSE(page2.contains("NextToken"));
  Json prefixed =
      Ok("ListRules", {{"EventBusName", "orders"}, {"NamePrefix", "r2"}});
  EXPECT_EQ(prefixed["Rules"].size(), 1u);

  Ok("EnableRule", {{"Name", "r2"}, {"EventBusName", "orders"}});
  EXPECT_EQ(
      Ok("DescribeRule", {{"Name", "r2"}, {"EventBusName", "orders"}})["State"],
      "ENABLED");
  Ok("DeleteRule", {{"Name", "r2"}, {"EventBusName", "orders"}});
  Fails("DescribeRule", R"({"Name":"r2","EventBusName":"orders"})",
        "ResourceNotFoundException");
  EXPECT_EQ(Fails("ListRules", R"({"Limit":0})", "ValidationException"),
            "1 validation error detected: Value '0' at 'limit' failed to "
            "satisfy constraint: Member must have value greater than or "
            "equal to 1");
}

TEST_F(EventBridgeJsonTest, TargetsRoundTripWithTransformerAndRetryPolicy) {
  Ok("PutRule", {{"Name", "r"}, {"EventPattern", R"({"source":["a"]})"}});
  Json target = {
      {"Id", "t1"},
      {"Arn", "https://example.com/hook"},
      {"InputTransformer",
       {{"InputPathsMap", {{"src", "$.source"}}},
        {"InputTemplate", R"({"from": <src>})"}}},
      {"RetryPolicy",
       {{"MaximumRetryAttempts", 3}, {"MaximumEventAgeInSeconds", 120}}},
      {"DeadLetterConfig", {{"Arn", "log:dead"}}},
      {"HttpParameters",
       {{"HeaderParameters", {{"X-Team", "ops"}}},
        {"QueryStringParameters", {{"q", "1"}}}}},
      // Members evbus cannot use are accepted and ignored.
      {"EcsParameters", {{"TaskDefinitionArn", "x"}}}};
  Json put = Ok("PutTargets", {{"Rule", "r"}, {"Targets", {target}}});
  EXPECT_EQ(put,
            Json({{"FailedEntryCount", 0}, {"FailedEntries", Json::array()}}));
  Ok("PutTargets",
     {{"Rule", "r"}, {"Targets", {{{"Id", "t2"}, {"Arn", "log:x"}}}}});

  Json listed = Ok("ListTargetsByRule", {{"Rule", "r"}});
  ASSERT_EQ(listed["Targets"].size(), 2u);
  Json want = target;
  want.erase("EcsParameters");
  EXPECT_EQ(listed["Targets"][0], want);
  EXPECT_FALSE(listed.contains("NextToken"));

  Json page = Ok("ListTargetsByRule", {{"Rule", "r"}, {"Limit", 1}});
  ASSERT_EQ(page["Targets"].size(), 1u);
  Json rest =
      Ok("ListTargetsByRule",
         {{"Rule", "r"}, {"Limit", 1}, {"NextToken", page["NextToken"]}});
  ASSERT_EQ(rest["Targets"].size(), 1u);
  EXPECT_EQ(rest["Targets"][0]["Id"], "t2");

  EXPECT_EQ(Ok("ListRuleNamesByTarget", {{"TargetArn", "log:x"}}),
            Json({{"RuleNames", {"r"}}}));
  Json removed = Ok("RemoveTargets", {{"Rule", "r"}, {"Ids", {"t1", "t2"}}});
  EXPECT_EQ(removed["FailedEntryCount"], 0);
  EXPECT_EQ(Ok("ListTargetsByRule", {{"Rule", "r"}})["Targets"], Json::array());
}

TEST_F(EventBridgeJsonTest, MissingRuleIsResourceNotFoundWith400) {
  AwsHttpResponse r = Call("DescribeRule", R"({"Name":"nope"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(r.body,
            R"({"__type":"ResourceNotFoundException","message":"Rule nope )"
            R"(does not exist on EventBus default."})");
  Fails("ListTargetsByRule", R"({"Rule":"nope"})", "ResourceNotFoundException");
  Fails("PutTargets", R"({"Rule":"nope","Targets":[{"Id":"a","Arn":"log:a"}]})",
        "ResourceNotFoundException");
}

TEST_F(EventBridgeJsonTest, TestEventPattern) {
  const Json event = {{"id", "1"},
                      {"account", kAccount},
                      {"source", "com.example"},
                      {"time", "2026-01-02T03:04:05Z"},
                      {"region", "us-east-1"},
                      {"detail-type", "Thing"},
                      {"detail", {{"n", 5}}}};
  EXPECT_EQ(Ok("TestEventPattern",
               {{"EventPattern", R"({"detail":{"n":[{"numeric":[">",1]}]}})"},
                {"Event", common::DumpJson(event)}}),
            Json({{"Result", true}}));
  EXPECT_EQ(Ok("TestEventPattern", {{"EventPattern", R"({"source":["x"]})"},
                                    {"Event", common::DumpJson(event)}}),
            Json({{"Result", false}}));
  Fails("TestEventPattern",
        common::DumpJson({{"EventPattern", R"({"source":"x"})"},
                          {"Event", common::DumpJson(event)}}),
        "InvalidEventPatternException");
  EXPECT_EQ(Fails("TestEventPattern",
                  R"({"EventPattern":"{\"source\":[\"x\"]}","Event":"[]"})",
                  "ValidationException"),
            "Parameter Event is not valid.");
}

TEST_F(EventBridgeJsonTest, TagsRoundTripAndPersist) {
  Json bus = Ok(
      "CreateEventBus",
      {{"Name", "tagged"}, {"Tags", {{{"Key", "team"}, {"Value", "orders"}}}}});
  const std::string bus_arn = bus["EventBusArn"];
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceARN", bus_arn}}),
            Json({{"Tags", {{{"Key", "team"}, {"Value", "orders"}}}}}));

  Json rule = Ok("PutRule", {{"Name", "r"},
                             {"EventPattern", R"({"source":["a"]})"},
                             {"Tags", {{{"Key", "a"}, {"Value", "1"}}}}});
  const std::string rule_arn = rule["RuleArn"];
  Ok("TagResource",
     {{"ResourceARN", rule_arn},
      {"Tags",
       {{{"Key", "b"}, {"Value", "2"}}, {{"Key", "a"}, {"Value", "3"}}}}});
  Ok("UntagResource", {{"ResourceARN", rule_arn}, {"TagKeys", {"b"}}});
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceARN", rule_arn}}),
            Json({{"Tags", {{{"Key", "a"}, {"Value", "3"}}}}}));
  // PutRule on an existing rule leaves its tags alone (as AWS does).
  Ok("PutRule", {{"Name", "r"},
                 {"EventPattern", R"({"source":["b"]})"},
                 {"Tags", {{{"Key", "z"}, {"Value", "9"}}}}});

  // Tags live in the store, not in the TagStore object.
  TagStore reopened(*store_);
  absl::StatusOr<std::map<std::string, std::string>> persisted =
      reopened.List(rule_arn);
  ASSERT_TRUE(persisted.ok()) << persisted.status();
  EXPECT_THAT(*persisted, UnorderedElementsAre(Pair("a", "3")));

  // A deleted resource has no tags to list; its tags are gone with it.
  Ok("DeleteRule", {{"Name", "r"}});
  EXPECT_EQ(Fails("ListTagsForResource",
                  common::DumpJson({{"ResourceARN", rule_arn}}),
                  "ResourceNotFoundException"),
            "Rule r does not exist on EventBus default.");
  EXPECT_TRUE(reopened.List(rule_arn)->empty());

  Fails("TagResource",
        common::DumpJson(
            {{"ResourceARN", bus_arn},
             {"Tags", {{{"Key", std::string(129, 'k')}, {"Value", "v"}}}}}),
        "ValidationException");
  Fails("TagResource",
        R"({"ResourceARN":"arn:aws:sqs:us-east-1:000000000000:q",)"
        R"("Tags":[{"Key":"a","Value":"b"}]})",
        "ValidationException");
  Fails("TagResource", R"({"ResourceARN":")" + bus_arn + R"(","Tags":{}})",
        "ValidationException");
}

// A tag record left behind (a TagResource racing the resource's delete) is
// not inherited by a resource created later under the same ARN through
// another front end: every create batch deletes it.
TEST_F(EventBridgeJsonTest, CreatesThroughAnyFrontEndStartWithoutTags) {
  const std::string bus_arn =
      "arn:aws:events:us-east-1:000000000000:event-bus/reborn";
  const std::string rule_arn = "arn:aws:events:us-east-1:000000000000:rule/r2";
  ASSERT_TRUE(tags_->Tag(bus_arn, {{"left", "over"}}).ok());
  ASSERT_TRUE(tags_->Tag(rule_arn, {{"left", "over"}}).ok());
  ASSERT_TRUE(buses_->CreateEventBus("reborn", "").ok());
  evbus::v1::Rule rule;
  rule.set_name("r2");
  rule.set_event_bus_name("default");
  rule.set_event_pattern(R"({"source":["x"]})");
  ASSERT_TRUE(rules_->PutRule(rule).ok());
  EXPECT_TRUE(tags_->List(bus_arn)->empty());
  EXPECT_TRUE(tags_->List(rule_arn)->empty());
  // An update of an existing rule keeps its tags.
  ASSERT_TRUE(tags_->Tag(rule_arn, {{"team", "a"}}).ok());
  rule.set_description("changed");
  ASSERT_TRUE(rules_->PutRule(rule).ok());
  EXPECT_EQ(tags_->List(rule_arn)->size(), 1u);
}

TEST_F(EventBridgeJsonTest, TagLimits) {
  std::map<std::string, std::string> fifty;
  for (int i = 0; i < 50; ++i) fifty[absl::StrCat("k", i)] = "v";
  const std::string arn = "arn:aws:events:us-east-1:000000000000:rule/x";
  ASSERT_TRUE(tags_->Tag(arn, fifty).ok());
  absl::Status one_more = tags_->Tag(arn, {{"extra", "v"}});
  EXPECT_EQ(one_more.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(one_more.message(), HasSubstr("at most 50 tags"));
  EXPECT_TRUE(tags_->Tag(arn, {{"k1", "replaced"}}).ok());  // still 50
  EXPECT_EQ(tags_->Tag(arn, {{"k", std::string(257, 'v')}}).message(),
            "ValidationException: 1 validation error detected: Value '" +
                std::string(257, 'v') +
                "' at 'tags.1.member.value' failed to satisfy constraint: "
                "Member must have length less than or equal to 256");
  EXPECT_FALSE(tags_->Untag(arn, {""}).ok());
  EXPECT_TRUE(tags_->Untag(arn, {"k1", "absent"}).ok());
  EXPECT_EQ(tags_->List(arn)->size(), 49u);
}

TEST_F(EventBridgeJsonTest, UnknownOperation) {
  EXPECT_EQ(Fails("PutPartnerEvents", "{}", "UnknownOperationException"),
            "Operation PutPartnerEvents is not supported by evbus");
}

TEST_F(EventBridgeJsonTest, MalformedBodyIsASerializationError) {
  Fails("ListRules", "{\"Name\":", "SerializationException");
  Fails("ListRules", "[1,2]", "SerializationException");
  Fails("ListRules", "\"text\"", "SerializationException");
}

TEST_F(EventBridgeJsonTest, WrongMemberTypesAreValidationErrorsNamingThem) {
  EXPECT_EQ(Fails("PutRule", R"({"Name":5})", "ValidationException"),
            "Invalid type for parameter Name, value must be a string");
  EXPECT_EQ(Fails("ListRules", R"({"Limit":"10"})", "ValidationException"),
            "Invalid type for parameter Limit, value must be an integer");
  EXPECT_EQ(Fails("ListRules", R"({"Limit":1e3})", "ValidationException"),
            "Invalid type for parameter Limit, value must be an integer");
  EXPECT_EQ(Fails("PutEvents", R"({"Entries":{}})", "ValidationException"),
            "Invalid type for parameter Entries, value must be a list");
  EXPECT_EQ(Fails("PutEvents", R"({"Entries":[{"Time":"yesterday"}]})",
                  "ValidationException"),
            "Invalid type for parameter Entries[0].Time, value must be a "
            "timestamp (epoch seconds)");
  EXPECT_EQ(
      Fails("PutEvents", R"({"Entries":[{"Resources":[1]}]})",
            "ValidationException"),
      "Invalid type for parameter Entries[0].Resources, value must be a list "
      "of strings");
  Ok("PutRule", {{"Name", "r"}, {"EventPattern", R"({"source":["a"]})"}});
  EXPECT_EQ(Fails("PutTargets",
                  R"({"Rule":"r","Targets":[{"Id":"t","Arn":"log:a",)"
                  R"("RetryPolicy":{"MaximumRetryAttempts":"3"}}]})",
                  "ValidationException"),
            "Invalid type for parameter Targets[0].RetryPolicy."
            "MaximumRetryAttempts, value must be an integer");
  EXPECT_EQ(Fails("PutTargets",
                  R"({"Rule":"r","Targets":[{"Id":"t","Arn":"log:a",)"
                  R"("RetryPolicy":{"MaximumRetryAttempts":4294967297}}]})",
                  "ValidationException"),
            "Invalid type for parameter Targets[0].RetryPolicy."
            "MaximumRetryAttempts, value must be a 32-bit integer");
  EXPECT_EQ(Fails("DeleteRule", R"({"Name":"r","Force":"yes"})",
                  "ValidationException"),
            "Invalid type for parameter Force, value must be a boolean");
  EXPECT_EQ(Fails("StartReplay",
                  R"({"ReplayName":"x","EventSourceArn":"a",)"
                  R"("EventStartTime":1,"EventEndTime":2,"Destination":"b"})",
                  "ValidationException"),
            "Invalid type for parameter Destination, value must be an object");
  EXPECT_EQ(Fails("CreateEventBus", R"({"Name":"b","Tags":[{"Key":"k"}]})",
                  "ValidationException"),
            "1 validation error detected: Value null at 'tags[0].value' "
            "failed to satisfy constraint: Member must not be null");
}

TEST_F(EventBridgeJsonTest, MissingRequiredMembers) {
  EXPECT_EQ(Fails("DescribeRule", "{}", "ValidationException"),
            "1 validation error detected: Value null at 'name' failed to "
            "satisfy constraint: Member must not be null");
  EXPECT_EQ(Fails("PutTargets", R"({"Targets":null})", "ValidationException"),
            "2 validation errors detected: Value null at 'rule' failed to "
            "satisfy constraint: Member must not be null; Value null at "
            "'targets' failed to satisfy constraint: Member must not be null");
}

TEST_F(EventBridgeJsonTest, ArchiveAndReplayUseEpochSeconds) {
  const std::string bus_arn =
      "arn:aws:events:us-east-1:000000000000:event-bus/default";
  Json created = Ok("CreateArchive", {{"ArchiveName", "all"},
                                      {"EventSourceArn", bus_arn},
                                      {"RetentionDays", 3}});
  EXPECT_EQ(created["ArchiveArn"],
            "arn:aws:events:us-east-1:000000000000:archive/all");
  EXPECT_EQ(created["State"], "ENABLED");
  EXPECT_DOUBLE_EQ(created["CreationTime"].get<double>(), kNowSeconds);

  Json archive = Ok("DescribeArchive", {{"ArchiveName", "all"}});
  EXPECT_EQ(archive["RetentionDays"], 3);
  EXPECT_EQ(archive["EventSourceArn"], bus_arn);
  Json updated = Ok("UpdateArchive",
                    {{"ArchiveName", "all"}, {"Description", "everything"}});
  EXPECT_EQ(updated["ArchiveArn"], created["ArchiveArn"]);
  EXPECT_EQ(Ok("DescribeArchive", {{"ArchiveName", "all"}})["Description"],
            "everything");
  Json archives = Ok("ListArchives", {{"NamePrefix", "a"}});
  ASSERT_EQ(archives["Archives"].size(), 1u);
  EXPECT_FALSE(archives["Archives"][0].contains("ArchiveArn"));

  Json replay = Ok("StartReplay", {{"ReplayName", "again"},
                                   {"EventSourceArn", created["ArchiveArn"]},
                                   {"EventStartTime", kNowSeconds - 3600},
                                   {"EventEndTime", kNowSeconds - 0.5},
                                   {"Destination", {{"Arn", bus_arn}}}});
  EXPECT_EQ(replay["ReplayArn"],
            "arn:aws:events:us-east-1:000000000000:replay/again");
  Json described = Ok("DescribeReplay", {{"ReplayName", "again"}});
  EXPECT_DOUBLE_EQ(described["EventStartTime"].get<double>(),
                   kNowSeconds - 3600);
  EXPECT_DOUBLE_EQ(described["EventEndTime"].get<double>(), kNowSeconds - 0.5);
  EXPECT_EQ(described["Destination"], Json({{"Arn", bus_arn}}));
  EXPECT_EQ(Ok("ListReplays", Json::object())["Replays"].size(), 1u);
  Fails("StartReplay",
        common::DumpJson({{"ReplayName", "x"},
                          {"EventSourceArn", created["ArchiveArn"]},
                          {"EventStartTime", -1},
                          {"EventEndTime", 1},
                          {"Destination", {{"Arn", bus_arn}}}}),
        "ValidationException");
  Ok("DeleteArchive", {{"ArchiveName", "all"}});
  Fails("DescribeArchive", R"({"ArchiveName":"all"})",
        "ResourceNotFoundException");
}

TEST_F(EventBridgeJsonTest, ConnectionsAndApiDestinations) {
  Json created = Ok(
      "CreateConnection",
      {{"Name", "basic"},
       {"AuthorizationType", "BASIC"},
       {"AuthParameters",
        {{"BasicAuthParameters", {{"Username", "u"}, {"Password", "secret"}}},
         {"InvocationHttpParameters",
          {{"HeaderParameters",
            {{{"Key", "X-Team"}, {"Value", "ops"}, {"IsValueSecret", false}},
             {{"Key", "X-Key"},
              {"Value", "hidden"},
              {"IsValueSecret", true}}}}}}}}});
  const std::string connection_arn = created["ConnectionArn"];
  EXPECT_EQ(created["ConnectionState"], "AUTHORIZED");
  EXPECT_DOUBLE_EQ(created["CreationTime"].get<double>(), kNowSeconds);

  Json described = Ok("DescribeConnection", {{"Name", "basic"}});
  EXPECT_EQ(
      described["AuthParameters"],
      Json({{"BasicAuthParameters", {{"Username", "u"}}},
            {"InvocationHttpParameters",
             {{"HeaderParameters",
               {{{"Key", "X-Team"}, {"Value", "ops"}, {"IsValueSecret", false}},
                {{"Key", "X-Key"}, {"IsValueSecret", true}}}}}}}));
  EXPECT_EQ(common::DumpJson(described).find("secret"), std::string::npos);
  EXPECT_EQ(common::DumpJson(described).find("hidden"), std::string::npos);
  EXPECT_EQ(
      Ok("ListConnections", {{"ConnectionState", "AUTHORIZED"}})["Connections"]
          .size(),
      1u);
  EXPECT_EQ(Ok("ListConnections",
               {{"ConnectionState", "DEAUTHORIZED"}})["Connections"]
                .size(),
            0u);
  Ok("UpdateConnection", {{"Name", "basic"}, {"Description", "d"}});
  EXPECT_EQ(Ok("DescribeConnection", {{"Name", "basic"}})["Description"], "d");

  Json dest = Ok("CreateApiDestination",
                 {{"Name", "hook"},
                  {"ConnectionArn", connection_arn},
                  {"InvocationEndpoint", "https://example.com/*"},
                  {"HttpMethod", "POST"},
                  {"InvocationRateLimitPerSecond", 10}});
  EXPECT_EQ(dest["ApiDestinationState"], "ACTIVE");
  Json got = Ok("DescribeApiDestination", {{"Name", "hook"}});
  EXPECT_EQ(got["InvocationRateLimitPerSecond"], 10);
  EXPECT_EQ(got["ConnectionArn"], connection_arn);
  Ok("UpdateApiDestination",
     {{"Name", "hook"}, {"InvocationRateLimitPerSecond", 20}});
  EXPECT_EQ(
      Ok("ListApiDestinations",
         {{"ConnectionArn", connection_arn}})["ApiDestinations"][0]
                                             ["InvocationRateLimitPerSecond"],
      20);
  Ok("DeleteApiDestination", {{"Name", "hook"}});
  Json deleted = Ok("DeleteConnection", {{"Name", "basic"}});
  EXPECT_EQ(deleted["ConnectionArn"], connection_arn);
  EXPECT_EQ(Fails("DescribeConnection", R"({"Name":"basic"})",
                  "ResourceNotFoundException"),
            "Failed to describe the connection(s). Connection 'basic' does "
            "not exist.");
}

TEST_F(EventBridgeJsonTest, EventBusLifecycle) {
  Ok("CreateEventBus", {{"Name", "b1"}});
  EXPECT_THAT(Fails("CreateEventBus", R"({"Name":"b1"})",
                    "ResourceAlreadyExistsException"),
              HasSubstr("already exists"));
  Json updated = Ok("UpdateEventBus", {{"Name", "b1"}, {"Description", "x"}});
  EXPECT_EQ(updated, Json({{"Arn",
                            "arn:aws:events:us-east-1:000000000000:event-bus/"
                            "b1"},
                           {"Name", "b1"},
                           {"Description", "x"}}));
  EXPECT_EQ(Ok("DescribeEventBus", {{"Name", "b1"}})["Description"], "x");
  // Without Description the bus is left as it is.
  EXPECT_EQ(Ok("UpdateEventBus", {{"Name", "b1"}})["Description"], "x");
  Json page = Ok("ListEventBuses", {{"Limit", 1}});
  ASSERT_EQ(page["EventBuses"].size(), 1u);
  ASSERT_TRUE(page.contains("NextToken"));
  Ok("DeleteEventBus", {{"Name", "b1"}});
  Fails("DescribeEventBus", R"({"Name":"b1"})", "ResourceNotFoundException");
  EXPECT_EQ(
      Fails("DeleteEventBus", R"({"Name":"default"})", "ValidationException"),
      "Cannot delete event bus default.");
}

}  // namespace
}  // namespace evbus::api::aws
