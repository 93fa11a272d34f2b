#include "server/targets/input_shaping.h"

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evbus::targets {
namespace {

using ::evbus::testing::IsOk;
using ::evbus::testing::StatusIs;
using ::testing::HasSubstr;
using PathsMap = std::vector<std::pair<std::string, std::string>>;

// The EC2 example event of the AWS input-transformer guide, with extra
// detail members covering every JSON type. Compact, AWS key order.
constexpr absl::string_view kEc2Event =
    R"({"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602",)"
    R"("detail-type":"EC2 Instance State-change Notification",)"
    R"("source":"aws.ec2","account":"123456789012",)"
    R"("time":"2015-11-11T21:29:54Z","region":"us-east-1",)"
    R"("resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],)"
    R"("detail":{"instance-id":"i-0123456789","state":"RUNNING","count":5,)"
    R"("ok":true,"ratio":2.5,"obj":{"k1":"v1","k2":"v2"},"arr":["A","B"],)"
    R"("nested":{"a":{"b":[1,"x",null]}},"nothing":null,)"
    R"("quote":"say \"hi\"","empty":""}})";

// The event of LocalStack's AWS-validated input tests
// (tests/aws/services/events/test_events_inputs.py).
constexpr absl::string_view kLocalStackEvent =
    R"({"version":"0","id":"1b6e7d5c-4c43-4a7f-9d3f-2b0b0f6b7a11",)"
    R"("detail-type":"core.update-account-command",)"
    R"("source":"core.update-account-command","account":"111111111111",)"
    R"("time":"2024-06-11T08:33:00Z","region":"us-east-1","resources":[],)"
    R"("detail":{"command":"update-account",)"
    R"("payload":{"acc_id":"0a787ecb-4015","sf_id":"baz"}}})";

InputContext Context() {
  InputContext c;
  c.rule_arn = "arn:aws:events:us-east-1:123456789012:rule/bus/example";
  c.rule_name = "example";
  c.ingestion_time = absl::FromUnixMillis(1718094790456);  // ms dropped
  return c;
}

TargetInput Transformer(PathsMap map, std::string tmpl) {
  TargetInput in;
  in.kind = TargetInput::Kind::kInputTransformer;
  in.input_paths_map = std::move(map);
  in.input_template = std::move(tmpl);
  return in;
}

// Placeholder names used by the substitution table: one per JSON type.
PathsMap TablePaths() {
  return {{"s", "$.detail.state"},
          {"n", "$.detail.count"},
          {"b", "$.detail.ok"},
          {"f", "$.detail.ratio"},
          {"o", "$.detail.obj"},
          {"a", "$.detail.arr"},
          {"m", "$.detail.missing"},
          {"z", "$.detail.nothing"},
          {"e", "$.detail.empty"},
          {"q", "$.detail.quote"},
          {"nested", "$.detail.nested"},
          {"instance", "$.detail.instance-id"},
          {"state", "$.detail.state"},
          {"timestamp", "$.time"},
          {"r0", "$.resources[0]"},
          {"bad", "not a path"},
          {"deep", "$.detail.nested.a.b[1]"}};
}

std::optional<std::string> MustShape(const TargetInput& in,
                                     absl::string_view event = kEc2Event) {
  absl::StatusOr<std::optional<std::string>> out =
      ShapeInput(in, event, Context());
  EXPECT_THAT(out, IsOk());
  return out.ok() ? *out : std::optional<std::string>("<error>");
}

// ---------------------------------------------------------------------------
// Spec §5 substitution table, byte for byte.

struct TableCase {
  std::string name;
  std::string input_template;
  std::optional<std::string> expected;  // nullopt: nothing is delivered
};

void PrintTo(const TableCase& c, std::ostream* os) { *os << c.name; }

class SubstitutionTableTest : public ::testing::TestWithParam<TableCase> {};

TEST_P(SubstitutionTableTest, ProducesAwsBytes) {
  const TableCase& c = GetParam();
  EXPECT_EQ(MustShape(Transformer(TablePaths(), c.input_template)), c.expected)
      << "template: " << c.input_template;
}

// Names parameterised cases after their `name` member.
template <typename T>
std::string ParamName(const ::testing::TestParamInfo<T>& info) {
  return info.param.name;
}

// Row 1: bare JSON value {"k": <v>}.
INSTANTIATE_TEST_SUITE_P(
    BareJsonValue, SubstitutionTableTest,
    ::testing::Values(
        TableCase{"String", R"({"k": <s>})", R"({"k":"RUNNING"})"},
        TableCase{"Number", R"({"k": <n>})", R"({"k":5})"},
        TableCase{"Fraction", R"({"k": <f>})", R"({"k":2.5})"},
        TableCase{"Bool", R"({"k": <b>})", R"({"k":true})"},
        TableCase{"Object", R"({"k": <o>})", R"({"k":{"k1":"v1","k2":"v2"}})"},
        TableCase{"Array", R"({"k": <a>})", R"({"k":["A","B"]})"},
        TableCase{"NestedObject", R"({"k": <nested>})",
                  R"({"k":{"a":{"b":[1,"x",null]}}})"},
        TableCase{"ArrayElement", R"({"k": <deep>})", R"({"k":"x"})"},
        TableCase{
            "ResourceIndex", R"({"k": <r0>})",
            R"({"k":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"})"},
        TableCase{"MissingPath", R"({"k": <m>})", R"({"k":""})"},
        TableCase{"NullValue", R"({"k": <z>})", R"({"k":""})"},
        TableCase{"EmptyString", R"({"k": <e>})", R"({"k":""})"},
        TableCase{"UnparsablePath", R"({"k": <bad>})", R"({"k":""})"},
        TableCase{"InsideArray", R"({"k": [9, <s>, true, <n>, <o>]})",
                  R"({"k":[9,"RUNNING",true,5,{"k1":"v1","k2":"v2"}]})"},
        TableCase{"NestedTemplateObject", R"({"k": {"inner": <a>}})",
                  R"({"k":{"inner":["A","B"]}})"},
        // Values are never escaped: say "hi" makes "say "hi"" → invalid.
        TableCase{"QuoteInValueBreaksJson", R"({"k": <q>})", std::nullopt}),
    ParamName<TableCase>);

// Row 2: inside a string template (the template is not a JSON object).
INSTANTIATE_TEST_SUITE_P(
    StringTemplate, SubstitutionTableTest,
    ::testing::Values(
        TableCase{"String", R"("v=<s>")", R"("v=RUNNING")"},
        TableCase{"Number", R"("v=<n>")", R"("v=5")"},
        TableCase{"Fraction", R"("v=<f>")", R"("v=2.5")"},
        TableCase{"Bool", R"("v=<b>")", R"("v=true")"},
        TableCase{"Object", R"("v=<o>")", R"("v={k1:v1,k2:v2}")"},
        TableCase{"Array", R"("v=<a>")", R"("v=[A,B]")"},
        TableCase{"NestedObject", R"("v=<nested>")",
                  R"("v={a:{b:[1,x,null]}}")"},
        TableCase{"MissingPath", R"("v=<m>")", R"("v=")"},
        TableCase{"NullValue", R"("v=<z>")", R"("v=")"},
        TableCase{"UnparsablePath", R"("v=<bad>")", R"("v=")"},
        TableCase{"QuoteNotEscaped", R"("v=<q>")", R"("v=say "hi"")"},
        TableCase{"Repeated", R"("<s>/<s>")", R"("RUNNING/RUNNING")"},
        TableCase{"DocSimpleString", R"("instance <instance> is in <state>")",
                  R"("instance i-0123456789 is in RUNNING")"},
        TableCase{"DocEscapedQuotes",
                  R"("instance \"<instance>\" is in <state>")",
                  R"("instance \"i-0123456789\" is in RUNNING")"},
        TableCase{"Unquoted", "instance <instance> is in <state>",
                  "instance i-0123456789 is in RUNNING"},
        TableCase{"MultiLine", "\"<instance> is\"\n\"in <state>\"",
                  "\"i-0123456789 is\"\n\"in RUNNING\""},
        TableCase{"MultiLineCrLfAndBlanks", "  \"a <s>\"\r\n\"b <n>\"\n",
                  "  \"a RUNNING\"\r\n\"b 5\"\n"},
        TableCase{"SpecialStart", R"("{[/Check <s>")", R"("{[/Check RUNNING")"},
        TableCase{"TopLevelArrayIsString", "[<s>, <a>]", "[RUNNING, [A,B]]"},
        TableCase{"NotPlaceholders", R"("a < b, <not one>, <>, <s>")",
                  R"("a < b, <not one>, <>, RUNNING")"},
        TableCase{"NoPlaceholders", R"("constant")", R"("constant")"}),
    ParamName<TableCase>);

// Row 3: inside a JSON string of a JSON template {"k": "…<v>…"}.
INSTANTIATE_TEST_SUITE_P(
    InJsonString, SubstitutionTableTest,
    ::testing::Values(
        TableCase{"String", R"({"k": "v=<s>"})", R"({"k":"v=RUNNING"})"},
        TableCase{"Number", R"({"k": "v=<n>"})", R"({"k":"v=5"})"},
        TableCase{"Bool", R"({"k": "v=<b>"})", R"({"k":"v=true"})"},
        TableCase{"Object", R"({"k": "v=<o>"})", std::nullopt},
        TableCase{"Array", R"({"k": "v=<a>"})", std::nullopt},
        TableCase{"NestedObject", R"({"k": "v=<nested>"})", std::nullopt},
        TableCase{"MissingPath", R"({"k": "v=<m>"})", R"({"k":"v="})"},
        TableCase{"NullValue", R"({"k": "v=<z>"})", R"({"k":"v="})"},
        TableCase{"QuoteInValueBreaksJson", R"({"k": "v=<q>"})", std::nullopt},
        TableCase{"InArrayString", R"({"k": ["<s>!", 1]})",
                  R"({"k":["RUNNING!",1]})"},
        TableCase{
            "DocStringsAndVariables",
            R"({"instance" : <instance>, "state": "<state>", )"
            R"("instanceStatus": "instance \"<instance>\" is in <state>"})",
            R"({"instance":"i-0123456789","state":"RUNNING",)"
            R"("instanceStatus":"instance \"i-0123456789\" is in RUNNING"})"},
        TableCase{"LiteralAnglesKept", R"({"k": "a <b c> <s>"})",
                  R"({"k":"a <b c> RUNNING"})"}),
    ParamName<TableCase>);

// Row 4: "<v>" as a whole quoted value of a JSON template.
INSTANTIATE_TEST_SUITE_P(
    QuotedWholeValue, SubstitutionTableTest,
    ::testing::Values(TableCase{"Object", R"({"k": "<o>"})", std::nullopt},
                      TableCase{"Array", R"({"k": "<a>"})", std::nullopt},
                      TableCase{"String", R"({"k": "<s>"})",
                                R"({"k":"RUNNING"})"},
                      TableCase{"Number", R"({"k": "<n>"})", R"({"k":"5"})"},
                      TableCase{"Missing", R"({"k": "<m>"})", R"({"k":""})"}),
    ParamName<TableCase>);

// JSON templates in general: minified, order kept, invalid → nothing.
INSTANTIATE_TEST_SUITE_P(
    JsonTemplate, SubstitutionTableTest,
    ::testing::Values(
        TableCase{"DocSimpleJsonMinified",
                  "{\n  \"instance\" : <instance>,\n  \"state\": <state>\n}",
                  R"({"instance":"i-0123456789","state":"RUNNING"})"},
        TableCase{"DocMixedStatic",
                  R"({"instance" : <instance>, "state": [ 9, <state>, true ], )"
                  R"("Transformed" : "Yes"})",
                  R"({"instance":"i-0123456789","state":[9,"RUNNING",true],)"
                  R"("Transformed":"Yes"})"},
        TableCase{"LeadingBlanks", "\n\t {\"k\": <s>}", R"({"k":"RUNNING"})"},
        TableCase{"KeyOrderKept", R"({"z": 1, "a": <n>, "m": null})",
                  R"({"z":1,"a":5,"m":null})"},
        TableCase{"EscapesNormalised", R"({"k": "a\/b \u00e9 <s>"})",
                  "{\"k\":\"a/b \xC3\xA9 RUNNING\"}"},
        TableCase{"InvalidAfterSubstitution", R"({"k": <s>,})", std::nullopt},
        TableCase{"TrailingGarbage", R"({"k": <s>} x)", std::nullopt},
        TableCase{"NoPlaceholders", R"({"k": [1, 2]})", R"({"k":[1,2]})"}),
    ParamName<TableCase>);

// ---------------------------------------------------------------------------
// AWS-recorded cases (LocalStack snapshots validated against AWS).

TEST(AwsRecordedTest, StringTemplateKeepsQuotes) {
  PathsMap map = {{"detail-type", "$.detail-type"},
                  {"timestamp", "$.time"},
                  {"command", "$.detail.command"}};
  const std::string tmpl =
      R"("Event of <detail-type> type, at time <timestamp>, )"
      R"(info extracted from detail <command>")";
  EXPECT_EQ(MustShape(Transformer(map, tmpl), kLocalStackEvent),
            R"("Event of core.update-account-command type, at time )"
            R"(2024-06-11T08:33:00Z, info extracted from detail )"
            R"(update-account")");
  map[2].second = "$.detail.notinmessage";
  EXPECT_EQ(MustShape(Transformer(map, tmpl), kLocalStackEvent),
            R"("Event of core.update-account-command type, at time )"
            R"(2024-06-11T08:33:00Z, info extracted from detail ")");
}

TEST(AwsRecordedTest, StringTemplateWithSpecialStart) {
  PathsMap map = {{"detail-type", "$.detail-type"}};
  EXPECT_EQ(
      MustShape(
          Transformer(map, R"("{[/Check with special starting )"
                           R"(characters for event of <detail-type> type")"),
          kLocalStackEvent),
      R"("{[/Check with special starting characters for event of )"
      R"(core.update-account-command type")");
}

TEST(AwsRecordedTest, JsonTemplate) {
  PathsMap map = {{"detail-type", "$.detail-type"},
                  {"timestamp", "$.time"},
                  {"command", "$.detail.command"}};
  const std::string tmpl =
      R"({"detailType": <detail-type>,  "time": <timestamp>, )"
      R"("command": <command>})";
  EXPECT_EQ(MustShape(Transformer(map, tmpl), kLocalStackEvent),
            R"({"detailType":"core.update-account-command",)"
            R"("time":"2024-06-11T08:33:00Z","command":"update-account"})");
  map[2].second = "$.detail.notinmessage";
  EXPECT_EQ(MustShape(Transformer(map, tmpl), kLocalStackEvent),
            R"({"detailType":"core.update-account-command",)"
            R"("time":"2024-06-11T08:33:00Z","command":""})");
}

TEST(AwsRecordedTest, PredefinedStringVariables) {
  TargetInput in =
      Transformer({}, R"("Message containing all pre defined variables )"
                      R"(<aws.events.rule-arn> <aws.events.rule-name> )"
                      R"(<aws.events.event.ingestion-time>")");
  EXPECT_EQ(MustShape(in, kLocalStackEvent),
            R"("Message containing all pre defined variables )"
            R"(arn:aws:events:us-east-1:123456789012:rule/bus/example )"
            R"(example 2024-06-11T08:33:10Z")");
}

TEST(AwsRecordedTest, PredefinedJsonVariables) {
  TargetInput in =
      Transformer({}, R"({"originalEvent": <aws.events.event>, )"
                      R"("originalEventJson": <aws.events.event.json>})");
  EXPECT_EQ(
      MustShape(in, kLocalStackEvent),
      R"({"originalEvent":{"id":"1b6e7d5c-4c43-4a7f-9d3f-2b0b0f6b7a11",)"
      R"("account":"111111111111","detailType":"core.update-account-command",)"
      R"("time":"2024-06-11T08:33:00Z","source":"core.update-account-command",)"
      R"("region":"us-east-1","resources":[],"version":"0"},)"
      R"("originalEventJson":)" +
          std::string(kLocalStackEvent) + "}");
}

// ---------------------------------------------------------------------------
// Predefined variables one by one.

struct PredefinedCase {
  std::string name;
  std::string input_template;
  std::string expected;
};

void PrintTo(const PredefinedCase& c, std::ostream* os) { *os << c.name; }

class PredefinedTest : public ::testing::TestWithParam<PredefinedCase> {};

TEST_P(PredefinedTest, Substitutes) {
  EXPECT_EQ(MustShape(Transformer({}, GetParam().input_template)),
            GetParam().expected);
}

constexpr absl::string_view kEc2AwsEvent =
    R"({"id":"7bf73129-1428-4cd3-a780-95db273d1602","account":"123456789012",)"
    R"("detailType":"EC2 Instance State-change Notification",)"
    R"("time":"2015-11-11T21:29:54Z","source":"aws.ec2","region":"us-east-1",)"
    R"("resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],)"
    R"("version":"0"})";

INSTANTIATE_TEST_SUITE_P(
    Variables, PredefinedTest,
    ::testing::Values(
        PredefinedCase{
            "RuleArnString", R"("<aws.events.rule-arn>")",
            R"("arn:aws:events:us-east-1:123456789012:rule/bus/example")"},
        PredefinedCase{
            "RuleArnJson", R"({"ruleArn" : <aws.events.rule-arn>})",
            R"({"ruleArn":"arn:aws:events:us-east-1:123456789012:rule/bus/example"})"},
        PredefinedCase{"RuleNameDoc", R"("<aws.events.rule-name> triggered")",
                       R"("example triggered")"},
        PredefinedCase{"RuleNameJson",
                       R"({"ruleName" : <aws.events.rule-name>})",
                       R"({"ruleName":"example"})"},
        PredefinedCase{"RuleNameInJsonString",
                       R"({"m": "rule <aws.events.rule-name>"})",
                       R"({"m":"rule example"})"},
        PredefinedCase{"IngestionTimeString",
                       R"("at <aws.events.event.ingestion-time>")",
                       R"("at 2024-06-11T08:33:10Z")"},
        PredefinedCase{"IngestionTimeJson",
                       R"({"t": <aws.events.event.ingestion-time>})",
                       R"({"t":"2024-06-11T08:33:10Z"})"},
        PredefinedCase{"EventDropsDetailRenamesDetailType",
                       R"({"e": <aws.events.event>})",
                       absl::StrCat(R"({"e":)", kEc2AwsEvent, "}")},
        PredefinedCase{"EventJsonIsFullEnvelope",
                       R"({"e": <aws.events.event.json>})",
                       absl::StrCat(R"({"e":)", kEc2Event, "}")},
        PredefinedCase{"EventJsonInArray",
                       R"({"e": [<aws.events.event.json>]})",
                       absl::StrCat(R"({"e":[)", kEc2Event, "]}")},
        PredefinedCase{
            "DocReservedInJson",
            R"({"instance" : <instance>, "ruleArn" : <aws.events.rule-arn>, )"
            R"("ruleName" : <aws.events.rule-name>, )"
            R"("originalEvent" : <aws.events.event>})",
            // <instance> is undefined here (no map): substituted as "".
            absl::StrCat(
                R"({"instance":"","ruleArn":)"
                R"("arn:aws:events:us-east-1:123456789012:rule/bus/example",)"
                R"("ruleName":"example","originalEvent":)",
                kEc2AwsEvent, "}")}),
    ParamName<PredefinedCase>);

TEST(PredefinedEventTest, ReplayNameKeepsEnvelopePosition) {
  constexpr absl::string_view kReplayed =
      R"({"version":"0","id":"i","detail-type":"t","source":"s",)"
      R"("account":"1","time":"2020-01-01T00:00:00Z","region":"r",)"
      R"("replay-name":"rp","resources":["x"],"detail":{"a":1}})";
  EXPECT_EQ(
      MustShape(Transformer({}, R"({"e": <aws.events.event>})"), kReplayed),
      R"({"e":{"id":"i","account":"1","detailType":"t",)"
      R"("time":"2020-01-01T00:00:00Z","source":"s","region":"r",)"
      R"("replay-name":"rp","resources":["x"],"version":"0"}})");
}

TEST(PredefinedEventTest, PathsCannotShadowPredefined) {
  // A map key can never be a predefined name (dots fail the key pattern), so
  // the predefined value always wins even if validation was skipped.
  TargetInput in = Transformer({{"aws.events.rule-name", "$.source"}},
                               R"("<aws.events.rule-name>")");
  EXPECT_EQ(MustShape(in), R"("example")");
}

// ---------------------------------------------------------------------------
// none, Input, InputPath.

TEST(ShapeInputTest, NoneDeliversTheEnvelopeBytesAsTheyAre) {
  // evbus builds envelopes minified (bus/envelope.cc), so they are delivered
  // without being parsed again.
  TargetInput none;
  EXPECT_EQ(MustShape(none), std::string(kEc2Event));
  const std::string compact =
      R"({"version":"0","id":"x","detail":{"b":[1,2.5]}})";
  EXPECT_EQ(MustShape(none, compact), compact);
}

TEST(ShapeInputTest, InputIsVerbatimAndIgnoresTheEvent) {
  TargetInput in;
  in.kind = TargetInput::Kind::kInput;
  in.input = "{ \"env\" : \"dev\",\n \"n\": 1.50 }";
  EXPECT_EQ(MustShape(in), in.input);
  // Nothing from the event is needed, not even a parsable one.
  absl::StatusOr<std::optional<std::string>> out =
      ShapeInput(in, "not json", Context());
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(*out, in.input);
}

struct PathCase {
  std::string path;
  std::optional<std::string> expected;
};

class InputPathTest : public ::testing::TestWithParam<PathCase> {};

TEST_P(InputPathTest, DeliversJsonOfSelection) {
  TargetInput in;
  in.kind = TargetInput::Kind::kInputPath;
  in.input_path = GetParam().path;
  EXPECT_EQ(MustShape(in, kLocalStackEvent), GetParam().expected)
      << GetParam().path;
}

INSTANTIATE_TEST_SUITE_P(
    Paths, InputPathTest,
    ::testing::Values(
        // AWS-recorded (LocalStack snapshots).
        PathCase{"$.detail",
                 R"({"command":"update-account",)"
                 R"("payload":{"acc_id":"0a787ecb-4015","sf_id":"baz"}})"},
        PathCase{"$.detail.payload",
                 R"({"acc_id":"0a787ecb-4015","sf_id":"baz"})"},
        PathCase{"$.detail.payload.sf_id", R"("baz")"},
        // Whole envelope, scalars, arrays, brackets.
        PathCase{"$", std::string(kLocalStackEvent)},
        PathCase{"$.resources", "[]"},
        PathCase{"$['detail-type']", R"("core.update-account-command")"},
        PathCase{"$.detail['payload'].acc_id", R"("0a787ecb-4015")"},
        // Missing: AWS delivers nothing (evbus decision, see README).
        PathCase{"$.detail.missing", std::nullopt},
        PathCase{"$.resources[0]", std::nullopt}));

TEST(ShapeInputTest, InputPathScalarsAndNull) {
  TargetInput in;
  in.kind = TargetInput::Kind::kInputPath;
  for (const auto& [path, expected] :
       std::vector<std::pair<std::string, std::string>>{
           {"$.detail.count", "5"},
           {"$.detail.ok", "true"},
           {"$.detail.nothing", "null"},
           {"$.detail.quote", R"("say \"hi\"")"},
           {"$.resources[0]",
            R"("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111")"},
           {"$.detail.nested.a.b[-1]", "null"}}) {
    in.input_path = path;
    EXPECT_EQ(MustShape(in), expected) << path;
  }
}

TEST(ShapeInputTest, Errors) {
  TargetInput whole;
  whole.kind = TargetInput::Kind::kInputPath;
  whole.input_path = "$";
  EXPECT_THAT(ShapeInput(whole, "{", Context()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("event envelope")));
  EXPECT_THAT(ShapeInput(whole, "[1]", Context()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a JSON object")));
  TargetInput path;
  path.kind = TargetInput::Kind::kInputPath;
  path.input_path = "detail";
  EXPECT_THAT(ShapeInput(path, kEc2Event, Context()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid JSONPath 'detail'")));
}

// ---------------------------------------------------------------------------
// PutTargets validation.

TEST(CheckSingleInputKindTest, AwsMessage) {
  EXPECT_THAT(CheckSingleInputKind(false, false, false, "t1"), IsOk());
  EXPECT_THAT(CheckSingleInputKind(true, false, false, "t1"), IsOk());
  EXPECT_THAT(CheckSingleInputKind(false, false, true, "t1"), IsOk());
  const std::string msg =
      "ValidationException: Only one of Input, InputPath, or InputTransformer "
      "must be provided for target target-1.";
  for (auto [a, b, c] :
       std::vector<std::tuple<bool, bool, bool>>{{true, true, false},
                                                 {false, true, true},
                                                 {true, false, true},
                                                 {true, true, true}}) {
    absl::Status s = CheckSingleInputKind(a, b, c, "target-1");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), msg);
  }
}

struct ValidationCase {
  std::string name;
  TargetInput input;
  std::string expected_message;  // empty: OK
};

void PrintTo(const ValidationCase& c, std::ostream* os) { *os << c.name; }

class ValidateTest : public ::testing::TestWithParam<ValidationCase> {};

TEST_P(ValidateTest, Message) {
  const ValidationCase& c = GetParam();
  absl::Status s = ValidateTargetInput(c.input, "tgt-1");
  if (c.expected_message.empty()) {
    EXPECT_THAT(s, IsOk());
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), c.expected_message);
  }
}

TargetInput Input(std::string text) {
  TargetInput in;
  in.kind = TargetInput::Kind::kInput;
  in.input = std::move(text);
  return in;
}

TargetInput Path(std::string text) {
  TargetInput in;
  in.kind = TargetInput::Kind::kInputPath;
  in.input_path = std::move(text);
  return in;
}

PathsMap Ls3() {
  return {{"detail-type", "$.detail-type"},
          {"timestamp", "$.time"},
          {"command", "$.detail.command"}};
}

std::string Invalid(absl::string_view name) {
  return absl::StrCat(
      "ValidationException: InputTemplate for target tgt-1 contains invalid "
      "placeholder ",
      name, ".");
}

std::string AsKey(absl::string_view name) {
  return absl::StrCat(
      "ValidationException: InputTemplate for target tgt-1 uses placeholder ",
      name, " as an object key.");
}

INSTANTIATE_TEST_SUITE_P(
    Accepts, ValidateTest,
    ::testing::Values(
        ValidationCase{"None", TargetInput{}, ""},
        ValidationCase{"InputObject", Input(R"({"env":"dev"})"), ""},
        ValidationCase{"InputScalar", Input(R"("just a string")"), ""},
        ValidationCase{"InputMax", Input(std::string(8190, ' ') + "{}"), ""},
        ValidationCase{"PathRoot", Path("$"), ""},
        ValidationCase{"PathDot", Path("$.detail.x"), ""},
        ValidationCase{"PathIndex", Path("$.resources[0]"), ""},
        ValidationCase{"PathMax", Path("$." + std::string(254, 'a')), ""},
        ValidationCase{"TemplateAllDefined",
                       Transformer(Ls3(), R"("Event of <detail-type> at )"
                                          R"(<timestamp>: <command>")"),
                       ""},
        ValidationCase{"PredefinedWithoutMap",
                       Transformer({}, R"("<aws.events.rule-arn> )"
                                       R"(<aws.events.rule-name> )"
                                       R"(<aws.events.event.ingestion-time>")"),
                       ""},
        ValidationCase{"JsonPredefinedAsValues",
                       Transformer({}, R"({"a": <aws.events.event>, )"
                                       R"("b": [<aws.events.event.json>]})"),
                       ""},
        // AWS does not check InputPathsMap values as paths.
        ValidationCase{"MapValuesNotValidated",
                       Transformer({{"x", "not a path"}}, R"("<x>")"), ""},
        ValidationCase{"UnusedMapKeys", Transformer(Ls3(), R"("static")"), ""},
        ValidationCase{"AnglesThatAreNotPlaceholders",
                       Transformer({}, R"({"k": "a < b <c d> <>"})"), ""},
        ValidationCase{"KeyWithoutPlaceholder",
                       Transformer(Ls3(), R"({"<x": <command>})"), ""},
        ValidationCase{"ColonInStringValue",
                       Transformer(Ls3(), R"({"k": "<command>: done"})"), ""},
        ValidationCase{"ColonAfterPlaceholderInStringTemplate",
                       Transformer(Ls3(), R"("<command>: done")"), ""},
        ValidationCase{"TemplateMax",
                       Transformer({}, "\"" + std::string(8190, 'x') + "\""),
                       ""},
        ValidationCase{"Map100Keys",
                       [] {
                         PathsMap m;
                         for (int i = 0; i < 100; ++i) {
                           m.emplace_back(absl::StrCat("k", i), "$.detail");
                         }
                         return Transformer(m, R"("<k99>")");
                       }(),
                       ""}),
    ParamName<ValidationCase>);

INSTANTIATE_TEST_SUITE_P(
    Rejects, ValidateTest,
    ::testing::Values(
        // AWS-recorded (LocalStack snapshot).
        ValidationCase{"UndefinedPlaceholder",
                       Transformer(Ls3(), R"("Event of <detail-type> type, )"
                                          R"(with not defined key )"
                                          R"(<notdefinedkey>")"),
                       Invalid("notdefinedkey")},
        ValidationCase{"UndefinedInJsonTemplate",
                       Transformer(Ls3(), R"({"a": <command>, "b": <nope>})"),
                       Invalid("nope")},
        ValidationCase{"FirstOffenderWins",
                       Transformer({}, R"("<second> <first>")"),
                       Invalid("second")},
        ValidationCase{"PredefinedIsCaseSensitive",
                       Transformer({}, R"("<AWS.events.rule-arn>")"),
                       Invalid("AWS.events.rule-arn")},
        ValidationCase{"EventInStringTemplate",
                       Transformer({}, R"("event: <aws.events.event>")"),
                       Invalid("aws.events.event")},
        ValidationCase{"EventJsonBareStringTemplate",
                       Transformer({}, "<aws.events.event.json>"),
                       Invalid("aws.events.event.json")},
        ValidationCase{"EventJsonInJsonString",
                       Transformer({}, R"({"e": "<aws.events.event.json>"})"),
                       Invalid("aws.events.event.json")},
        ValidationCase{"EventInJsonStringWithText",
                       Transformer({}, R"({"e": "x <aws.events.event>"})"),
                       Invalid("aws.events.event")},
        ValidationCase{"BarePlaceholderKey",
                       Transformer(Ls3(), R"({<command>: 1})"),
                       AsKey("command")},
        ValidationCase{"BarePlaceholderKeyWithBlanks",
                       Transformer(Ls3(), "{\"a\": 1, <command>\n  : 2}"),
                       AsKey("command")},
        ValidationCase{"QuotedPlaceholderKey",
                       Transformer(Ls3(), R"({"<command>": 1})"),
                       AsKey("command")},
        ValidationCase{"PlaceholderInsideKey",
                       Transformer(Ls3(), R"({"a": {"key-<command>" : 1}})"),
                       AsKey("command")},
        ValidationCase{"PredefinedKey",
                       Transformer({}, R"({"<aws.events.rule-name>": 1})"),
                       AsKey("aws.events.rule-name")},
        // Input must be JSON text (AWS quotes Jackson's location).
        ValidationCase{"InputSingleQuotes", Input("{'db_name': 'x'}"),
                       "ValidationException: JSON syntax error in input for "
                       "target tgt-1: [Source: (String)\"{'db_name': 'x'}\"; "
                       "line: 1, column: 3]"},
        ValidationCase{"InputSecondLine", Input("{\"a\": 1,\n \"b\": x}"),
                       "ValidationException: JSON syntax error in input for "
                       "target tgt-1: [Source: (String)\"{\"a\": 1,\n "
                       "\"b\": x}\"; line: 2, column: 8]"},
        ValidationCase{"InputTruncatedSource",
                       Input("{\"k\":\"" + std::string(600, 'a') + "\"x}"),
                       "ValidationException: JSON syntax error in input for "
                       "target tgt-1: [Source: (String)\"{\"k\":\"" +
                           std::string(494, 'a') +
                           "\"[truncated 109 chars]; line: 1, column: 609]"},
        ValidationCase{"InputNestedTooDeep",
                       Input(std::string(3000, '[') + std::string(3000, ']')),
                       "ValidationException: JSON syntax error in input for "
                       "target tgt-1: arrays and objects nest deeper than "
                       "2000 levels."},
        ValidationCase{"InputPathNotAPath", Path("detail.x"),
                       "ValidationException: InputPath for target tgt-1 is "
                       "not a valid JSON path."},
        ValidationCase{"InputPathWildcard", Path("$.detail[*]"),
                       "ValidationException: InputPath for target tgt-1 is "
                       "not a valid JSON path."}),
    ParamName<ValidationCase>);

TEST(ValidateModelTest, InputTooLong) {
  TargetInput in = Input("\"" + std::string(8191, 'x') + "\"");
  EXPECT_EQ(std::string(ValidateTargetInput(in, "t").message()),
            absl::StrCat("ValidationException: 1 validation error detected: "
                         "Value '",
                         in.input,
                         "' at 'targets.1.member.input' failed to satisfy "
                         "constraint: Member must have length less than or "
                         "equal to 8192"));
}

TEST(ValidateModelTest, InputPathTooLongAtPosition) {
  TargetInput in = Path("$." + std::string(255, 'a'));
  absl::Status s = ValidateTargetInput(in, "t", 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            absl::StrCat("ValidationException: 1 validation error detected: "
                         "Value '",
                         in.input_path,
                         "' at 'targets.3.member.inputPath' failed to satisfy "
                         "constraint: Member must have length less than or "
                         "equal to 256"));
}

TEST(ValidateModelTest, TemplateLength) {
  EXPECT_EQ(
      std::string(ValidateTargetInput(Transformer({}, ""), "t").message()),
      "ValidationException: 1 validation error detected: Value '' at "
      "'targets.1.member.inputTransformer.inputTemplate' failed to "
      "satisfy constraint: Member must have length greater than or "
      "equal to 1");
  TargetInput big = Transformer({}, std::string(8193, 'x'));
  EXPECT_THAT(ValidateTargetInput(big, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at 'targets.1.member.inputTransformer."
                                 "inputTemplate' failed to satisfy "
                                 "constraint: Member must have length less "
                                 "than or equal to 8192")));
}

TEST(ValidateModelTest, MapKeys) {
  // "AWS." names are impossible: '.' already fails the key pattern.
  TargetInput in = Transformer({{"AWS.x", "$.a"}, {"ok", "$.b"}}, R"("<ok>")");
  EXPECT_EQ(std::string(ValidateTargetInput(in, "t").message()),
            "ValidationException: 1 validation error detected: Value "
            "'{AWS.x=$.a, ok=$.b}' at "
            "'targets.1.member.inputTransformer.inputPathsMap' failed to "
            "satisfy constraint: Map keys must satisfy constraint: [Member "
            "must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]");
  in.input_paths_map = {{std::string(257, 'k'), "$.a"}};
  EXPECT_THAT(ValidateTargetInput(in, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Map keys must satisfy constraint: [Member "
                                 "must have length less than or equal to "
                                 "256]")));
  in.input_paths_map = {{"", "$.a"}};
  EXPECT_THAT(ValidateTargetInput(in, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Map keys must satisfy constraint: [Member "
                                 "must have length greater than or equal to "
                                 "1, Member must satisfy regular expression "
                                 "pattern: [A-Za-z0-9\\_\\-]+]")));
}

TEST(ValidateModelTest, MapValuesAndSize) {
  TargetInput in =
      Transformer({{"k", "$." + std::string(255, 'v')}}, R"("<k>")");
  EXPECT_THAT(ValidateTargetInput(in, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("' at 'targets.1.member.inputTransformer."
                                 "inputPathsMap' failed to satisfy "
                                 "constraint: Map value must satisfy "
                                 "constraint: [Member must have length less "
                                 "than or equal to 256]")));
  PathsMap big;
  for (int i = 0; i < 101; ++i) big.emplace_back(absl::StrCat("k", i), "$");
  absl::Status s = ValidateTargetInput(Transformer(big, R"("x")"), "t");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("Value '{k0=$, k1=$, ")));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("k100=$}' at 'targets.1.member."
                                    "inputTransformer.inputPathsMap' failed "
                                    "to satisfy constraint: Member must have "
                                    "length less than or equal to 100")));
}

TEST(ValidateModelTest, SeveralClausesInOneMessage) {
  TargetInput in = Transformer({{"a.b", "$.x"}}, "");
  std::vector<std::string> clauses = TargetInputConstraintClauses(in, 2);
  ASSERT_EQ(clauses.size(), 2u);
  EXPECT_THAT(clauses[0], HasSubstr("'targets.2.member.inputTransformer."
                                    "inputPathsMap'"));
  EXPECT_THAT(clauses[1], HasSubstr("'targets.2.member.inputTransformer."
                                    "inputTemplate'"));
  EXPECT_THAT(ValidateTargetInput(in, "t", 2),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ValidationException: 2 validation errors "
                                 "detected: Value '{a.b=$.x}'")));
  EXPECT_TRUE(TargetInputConstraintClauses(TargetInput{}, 1).empty());
}

TEST(ValidateModelTest, ModelConstraintsComeBeforeSemanticChecks) {
  // Too long AND not JSON: the model clause is reported.
  TargetInput in = Input(std::string(8193, '{'));
  EXPECT_THAT(ValidateTargetInput(in, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("1 validation error detected")));
}

}  // namespace
}  // namespace evbus::targets
