// File: server/stack/sam_template.cc
//
// SAM / CloudFormation → evbus stack (see sam_template.h). yaml-cpp throws;
// every call into it happens below ConvertSamTemplate / IsSamTemplate, which
// catch YAML::Exception and return InvalidArgument (or false).
//
// Output scalars carry the tags a parsed file would give them: strings "!"
// (as if quoted), numbers and booleans "?" (plain), so that a YAML → JSON
// conversion keeps "3" (an environment value) a string and 300 (a period) a
// number. Event patterns and filter policies are copied as YAML trees with
// their original scalar tags.
#include "server/stack/sam_template.h"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/common/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace evbus::stack {
namespace {

constexpr absl::string_view kServerlessTransform = "AWS::Serverless-2016-10-31";

// ---------------------------------------------------------------------------
// Reading YAML without mutating it. The input is only ever read through
// Member() (const operator[]): a non-const operator[] on a missing key would
// insert it into the caller's template.

// A missing member comes back as an Undefined node, never as yaml-cpp's
// "zombie" (on which Type(), Tag() and assignment throw InvalidNode).
YAML::Node Member(const YAML::Node& map, absl::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  YAML::Node value = map[std::string(key)];
  if (!value.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
  return value;
}

bool Present(const YAML::Node& node) {
  return node.IsDefined() && !node.IsNull();
}

// ---------------------------------------------------------------------------
// Building output scalars.

YAML::Node Str(absl::string_view s) {
  YAML::Node node{std::string(s)};
  node.SetTag("!");
  return node;
}

YAML::Node Plain(absl::string_view s) {
  YAML::Node node{std::string(s)};
  node.SetTag("?");
  return node;
}

YAML::Node Seq(const std::vector<YAML::Node>& items) {
  YAML::Node seq(YAML::NodeType::Sequence);
  for (const YAML::Node& item : items) seq.push_back(item);
  return seq;
}

absl::Status Invalid(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

std::string Field(absl::string_view path, absl::string_view key) {
  return absl::StrCat(path, ".", key);
}

std::string Index(absl::string_view path, size_t i) {
  return absl::StrCat(path, "[", i, "]");
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? — what JSON calls a number.
bool IsJsonNumber(absl::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(s[i])))
      ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  size_t int_start = i;
  size_t n = digits();
  if (n == 0 || (n > 1 && s[int_start] == '0')) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

absl::StatusOr<bool> ParseBool(absl::string_view text, absl::string_view path) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (lower == "true") return true;
  if (lower == "false") return false;
  return Invalid(path, absl::StrCat("\"", text, "\" is not a boolean"));
}

// ---------------------------------------------------------------------------
// Resources.

enum class Kind {
  kFunction,
  kEventBus,
  kRule,
  kTopic,
  kSubscription,
  kAlarm,
  kSchedule,
  kOther,  // evbus cannot run it: skipped, or an error with `strict`
};

Kind KindOf(absl::string_view type) {
  if (type == "AWS::Serverless::Function") return Kind::kFunction;
  if (type == "AWS::Events::EventBus") return Kind::kEventBus;
  if (type == "AWS::Events::Rule") return Kind::kRule;
  if (type == "AWS::SNS::Topic") return Kind::kTopic;
  if (type == "AWS::SNS::Subscription") return Kind::kSubscription;
  if (type == "AWS::CloudWatch::Alarm") return Kind::kAlarm;
  if (type == "AWS::CloudWatch::CompositeAlarm") return Kind::kAlarm;
  if (type == "AWS::Scheduler::Schedule") return Kind::kSchedule;
  return Kind::kOther;
}

// The property that names a resource of this kind ("" when none).
std::string NameProperty(Kind kind, absl::string_view type) {
  switch (kind) {
    case Kind::kFunction:
      return "FunctionName";
    case Kind::kTopic:
      return "TopicName";
    case Kind::kAlarm:
      return "AlarmName";
    case Kind::kEventBus:
    case Kind::kRule:
    case Kind::kSchedule:
      return "Name";
    case Kind::kSubscription:
      return "";
    case Kind::kOther:
      break;
  }
  // BucketName, RoleName, QueueName, TrailName, LogGroupName, TableName, ...
  size_t colon = type.rfind(':');
  return absl::StrCat(
      colon == absl::string_view::npos ? type : type.substr(colon + 1), "Name");
}

struct Resource {
  std::string id;
  std::string type;
  Kind kind = Kind::kOther;
  YAML::Node properties;  // a mapping (empty when the template has none)
};

// Something the template declares that evbus leaves out: a resource, a
// function event, a subscription or a reference to a skipped resource.
struct LeftOut {
  std::string path;  // "TrailBucket", "Fn.Events.Api", ...
  std::string what;  // "AWS::S3::Bucket", "Api event", ...
};

struct TopicOut {
  std::string arn;
  YAML::Node node;
  std::vector<YAML::Node> subscriptions;
};

struct FnEventContext {
  const Resource* function = nullptr;
  std::string function_arn;
};

// ---------------------------------------------------------------------------

class Converter {
 public:
  Converter(const YAML::Node& root, const SamOptions& options)
      : root_(root), options_(options) {}

  absl::StatusOr<YAML::Node> Run(std::vector<std::string>* skipped);

 private:
  absl::Status IndexTemplate();

  // Intrinsic functions.
  struct Call {
    std::string fn;  // "Ref", "Fn::GetAtt", "Fn::Sub", ...
    YAML::Node arg;
  };
  static std::optional<Call> AsCall(const YAML::Node& node);
  absl::StatusOr<std::string> Evaluate(const Call& call,
                                       const std::string& path);
  absl::StatusOr<std::string> Ref(const std::string& name,
                                  const std::string& path);
  absl::StatusOr<std::string> GetAtt(const std::string& id,
                                     const std::string& attribute,
                                     const std::string& path);
  absl::StatusOr<std::string> Sub(const YAML::Node& arg,
                                  const std::string& path);
  absl::StatusOr<std::string> Join(const YAML::Node& arg,
                                   const std::string& path);

  // A tree with every intrinsic replaced by its (string) value.
  absl::StatusOr<YAML::Node> Resolve(const YAML::Node& node,
                                     const std::string& path);
  // A scalar (or an intrinsic) as a string.
  absl::StatusOr<std::string> ResolveString(const YAML::Node& node,
                                            const std::string& path);
  // An ARN-valued property. nullopt (and a LeftOut entry) when it refers to
  // a resource evbus does not run.
  absl::StatusOr<std::optional<std::string>> ResolveArn(
      const YAML::Node& node, const std::string& path);
  // An integer-valued property, as a plain (number) scalar.
  absl::StatusOr<YAML::Node> ResolveInt(const YAML::Node& node,
                                        const std::string& path);
  absl::StatusOr<std::string> ResolveBusName(const YAML::Node& node,
                                             const std::string& path);

  absl::StatusOr<std::string> NameOf(const Resource& resource);
  std::string Arn(absl::string_view service, absl::string_view rest) const;
  std::string FunctionArn(absl::string_view name) const {
    return Arn("lambda", absl::StrCat("function:", name));
  }
  std::string TopicArn(absl::string_view name) const {
    return Arn("sns", name);
  }

  // Property copies: nothing happens when `src` lacks `key`.
  absl::Status CopyString(const YAML::Node& src, absl::string_view key,
                          const std::string& path, YAML::Node& dst,
                          absl::string_view out_key);
  absl::Status CopyInt(const YAML::Node& src, absl::string_view key,
                       const std::string& path, YAML::Node& dst,
                       absl::string_view out_key);
  absl::Status CopyDouble(const YAML::Node& src, absl::string_view key,
                          const std::string& path, YAML::Node& dst,
                          absl::string_view out_key);
  absl::Status CopyBool(const YAML::Node& src, absl::string_view key,
                        const std::string& path, YAML::Node& dst,
                        absl::string_view out_key);
  absl::Status CopyArn(const YAML::Node& src, absl::string_view key,
                       const std::string& path, YAML::Node& dst,
                       absl::string_view out_key);
  // Dimensions [{Name, Value}] → "dimensions" {name: value}.
  absl::Status CopyDimensions(const YAML::Node& src, const std::string& path,
                              YAML::Node& dst);
  // An alarm's Metrics (metric math) → "metrics" (the stack file's form).
  absl::Status CopyAlarmMetrics(const YAML::Node& props,
                                const std::string& path, YAML::Node& alarm);
  // ActionsEnabled, the three action lists and AlarmDescription of either
  // kind of alarm.
  absl::Status CopyAlarmActions(const Resource& r, YAML::Node& alarm);
  absl::Status CopyArnList(const YAML::Node& src, absl::string_view key,
                           const std::string& path, YAML::Node& dst,
                           absl::string_view out_key);
  // An event pattern or filter policy: a mapping (kept a tree) or JSON text.
  absl::Status CopyDocument(const YAML::Node& src, absl::string_view key,
                            const std::string& path, YAML::Node& dst,
                            absl::string_view out_key);
  absl::Status CopyRetryPolicy(const YAML::Node& src, const std::string& path,
                               YAML::Node& dst);
  absl::Status CopyTargetOptions(const YAML::Node& src, const std::string& path,
                                 YAML::Node& target);
  absl::StatusOr<std::string> State(const YAML::Node& src,
                                    const std::string& path);
  // Records the members of `src` named in `keys` as left out: properties
  // evbus runs without but stack files cannot express.
  void LeaveOut(const YAML::Node& src,
                std::initializer_list<absl::string_view> keys,
                const std::string& path);

  absl::Status ConvertFunction(const Resource& r);
  absl::Status ConvertFunctionEvent(const FnEventContext& fn,
                                    const std::string& event_id,
                                    const YAML::Node& event,
                                    const std::string& path);
  absl::Status ConvertBus(const Resource& r);
  absl::Status ConvertRule(const Resource& r);
  absl::Status ConvertTopic(const Resource& r);
  absl::Status ConvertSubscription(const Resource& r);
  absl::Status ConvertAlarm(const Resource& r);
  absl::Status ConvertSchedule(const Resource& r);
  // The shared part of AWS::Scheduler::Schedule and ScheduleV2 events.
  absl::Status ScheduleBody(const YAML::Node& src, const std::string& path,
                            YAML::Node& schedule);
  absl::Status AddSubscription(const std::string& topic_arn,
                               const std::string& path, const YAML::Node& sub);

  const YAML::Node& root_;
  const SamOptions& options_;
  YAML::Node parameters_;
  YAML::Node globals_function_;
  std::vector<Resource> resources_;
  std::map<std::string, size_t> by_id_;

  std::map<std::string, std::string> names_;  // logical id → physical name
  std::set<std::string> naming_;              // NameOf in progress (cycles)
  // References to skipped resources met while resolving ("X (Type)").
  std::vector<std::string> skipped_refs_;

  std::vector<LeftOut> left_out_;
  std::vector<YAML::Node> buses_;
  std::vector<YAML::Node> functions_;
  std::vector<TopicOut> topics_;
  std::vector<YAML::Node> rules_;
  std::vector<YAML::Node> schedules_;
  std::vector<YAML::Node> alarms_;
};

// ---------------------------------------------------------------------------
// Intrinsics.

std::optional<Converter::Call> Converter::AsCall(const YAML::Node& node) {
  if (!node.IsDefined()) return std::nullopt;
  const std::string& tag = node.Tag();
  // Short forms: !Ref X, !GetAtt X.Arn, !Sub "...", !Join [...], !If ...
  // ("!" alone is a quoted scalar; "!!str" arrives as tag:yaml.org,...).
  if (tag.size() > 1 && tag[0] == '!' && tag[1] != '!') {
    std::string name = tag.substr(1);
    if (name != "Ref" && name != "Condition") name = "Fn::" + name;
    return Call{std::move(name), node};
  }
  // Long forms: {Ref: X}, {"Fn::GetAtt": [X, Arn]}, ...
  if (node.IsMap() && node.size() == 1) {
    YAML::const_iterator it = node.begin();
    const std::string key = it->first.Scalar();
    if (key == "Ref" || absl::StartsWith(key, "Fn::")) {
      return Call{key, it->second};
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::string> Converter::Evaluate(const Call& call,
                                                const std::string& path) {
  if (call.fn == "Ref") {
    if (!call.arg.IsScalar() || call.arg.Scalar().empty()) {
      return Invalid(path, "Ref needs a parameter or resource name");
    }
    return Ref(call.arg.Scalar(), path);
  }
  if (call.fn == "Fn::GetAtt") {
    std::string id;
    std::string attribute;
    if (call.arg.IsScalar()) {  // X.Arn (X.Endpoint.Address: first dot)
      const std::string& s = call.arg.Scalar();
      size_t dot = s.find('.');
      if (dot != std::string::npos) {
        id = s.substr(0, dot);
        attribute = s.substr(dot + 1);
      }
    } else if (call.arg.IsSequence() && call.arg.size() == 2 &&
               call.arg[0].IsScalar() && call.arg[1].IsScalar()) {
      id = call.arg[0].Scalar();
      attribute = call.arg[1].Scalar();
    }
    if (id.empty() || attribute.empty()) {
      return Invalid(path, "Fn::GetAtt needs LogicalId.Attribute");
    }
    return GetAtt(id, attribute, path);
  }
  if (call.fn == "Fn::Sub") return Sub(call.arg, path);
  if (call.fn == "Fn::Join") return Join(call.arg, path);
  return Invalid(path, absl::StrCat(call.fn,
                                    " is not supported (evbus resolves Ref, "
                                    "Fn::GetAtt, Fn::Sub and Fn::Join)"));
}

std::string Converter::Arn(absl::string_view service,
                           absl::string_view rest) const {
  return absl::StrCat("arn:aws:", service, ":", options_.region, ":",
                      options_.account, ":", rest);
}

absl::StatusOr<std::string> Converter::Ref(const std::string& name,
                                           const std::string& path) {
  if (absl::StartsWith(name, "AWS::")) {
    if (name == "AWS::Region") return options_.region;
    if (name == "AWS::AccountId") return options_.account;
    if (name == "AWS::StackName") return options_.stack_name;
    if (name == "AWS::Partition") return std::string("aws");
    if (name == "AWS::URLSuffix") return std::string("amazonaws.com");
    if (name == "AWS::StackId") {
      return Arn("cloudformation",
                 absl::StrCat("stack/", options_.stack_name, "/evbus"));
    }
    return Invalid(path, absl::StrCat("Ref ", name, " is not supported"));
  }
  YAML::Node parameter = Member(parameters_, name);
  if (Present(parameter)) {
    YAML::Node def = Member(parameter, "Default");
    if (!Present(def)) {
      return Invalid(
          path, absl::StrCat("Ref ", name, ": the parameter has no Default"));
    }
    if (def.IsSequence()) {  // CommaDelimitedList written as a list
      std::vector<std::string> items;
      for (size_t i = 0; i < def.size(); ++i) {
        if (!def[i].IsScalar()) {
          return Invalid(Field(Field("Parameters", name), "Default"),
                         "must be a string or a list of strings");
        }
        items.push_back(def[i].Scalar());
      }
      return absl::StrJoin(items, ",");
    }
    if (!def.IsScalar()) {
      return Invalid(Field(Field("Parameters", name), "Default"),
                     "must be a string");
    }
    return def.Scalar();
  }
  auto it = by_id_.find(name);
  if (it == by_id_.end()) {
    return Invalid(path, absl::StrCat("Ref ", name,
                                      ": no parameter or resource of "
                                      "that name"));
  }
  const Resource& r = resources_[it->second];
  EVBUS_ASSIGN_OR_RETURN(std::string physical, NameOf(r));
  switch (r.kind) {
    case Kind::kTopic:
      return TopicArn(physical);
    case Kind::kSubscription:
      return Arn("sns", absl::StrCat("subscription:", r.id));
    case Kind::kOther:
      skipped_refs_.push_back(absl::StrCat(r.id, " (", r.type, ")"));
      return physical;
    default:  // function, bus, rule, alarm, schedule: the name
      return physical;
  }
}

absl::StatusOr<std::string> Converter::GetAtt(const std::string& id,
                                              const std::string& attribute,
                                              const std::string& path) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return Invalid(path, absl::StrCat("Fn::GetAtt ", id, ".", attribute,
                                      ": no resource named ", id));
  }
  const Resource& r = resources_[it->second];
  EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
  auto unknown = [&] {
    return Invalid(path,
                   absl::StrCat("Fn::GetAtt ", id, ".", attribute,
                                ": not an attribute evbus knows for ", r.type));
  };
  switch (r.kind) {
    case Kind::kFunction:
      if (attribute == "Arn") return FunctionArn(name);
      return unknown();
    case Kind::kEventBus:
      if (attribute == "Arn") return Arn("events", "event-bus/" + name);
      if (attribute == "Name") return name;
      return unknown();
    case Kind::kRule:
      if (attribute == "Arn") {
        EVBUS_ASSIGN_OR_RETURN(
            std::string bus,
            ResolveBusName(Member(r.properties, "EventBusName"),
                           Field(r.id, "EventBusName")));
        return Arn("events", bus == "default"
                                 ? absl::StrCat("rule/", name)
                                 : absl::StrCat("rule/", bus, "/", name));
      }
      return unknown();
    case Kind::kTopic:
      if (attribute == "TopicArn") return TopicArn(name);
      if (attribute == "TopicName") return name;
      return unknown();
    case Kind::kAlarm:
      if (attribute == "Arn") return Arn("cloudwatch", "alarm:" + name);
      return unknown();
    case Kind::kSchedule:
      if (attribute == "Arn") {
        std::string group = "default";
        YAML::Node g = Member(r.properties, "GroupName");
        if (Present(g)) {
          EVBUS_ASSIGN_OR_RETURN(group,
                                 ResolveString(g, Field(r.id, "GroupName")));
        }
        return Arn("scheduler", absl::StrCat("schedule/", group, "/", name));
      }
      return unknown();
    case Kind::kSubscription:
      return unknown();
    case Kind::kOther:
      break;
  }
  // A skipped resource: a plausible value for free-form uses (environment
  // variables); ARN-valued properties notice skipped_refs_ (ResolveArn).
  skipped_refs_.push_back(absl::StrCat(r.id, " (", r.type, ")"));
  if (attribute != "Arn") return name;
  std::string service = "aws";
  std::vector<absl::string_view> parts = absl::StrSplit(r.type, "::");
  if (parts.size() == 3) service = absl::AsciiStrToLower(parts[1]);
  return Arn(service, name);
}

absl::StatusOr<std::string> Converter::Sub(const YAML::Node& arg,
                                           const std::string& path) {
  bool with_variables = arg.IsSequence() && arg.size() == 2 &&
                        arg[0].IsScalar() && arg[1].IsMap();
  if (!arg.IsScalar() && !with_variables) {
    return Invalid(path, "Fn::Sub needs a string or [string, {variables}]");
  }
  const std::string text = with_variables ? arg[0].Scalar() : arg.Scalar();
  const YAML::Node variables =
      with_variables ? arg[1] : YAML::Node(YAML::NodeType::Undefined);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("${", i);
    if (open == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, open - i);
    size_t close = text.find('}', open + 2);
    if (close == std::string::npos) {
      return Invalid(
          path, absl::StrCat("Fn::Sub: unterminated ${ in \"", text, "\""));
    }
    std::string var = text.substr(open + 2, close - open - 2);
    i = close + 1;
    if (absl::StartsWith(var, "!")) {  // ${!Literal} → ${Literal}
      absl::StrAppend(&out, "${", var.substr(1), "}");
      continue;
    }
    YAML::Node value = Member(variables, var);
    if (Present(value)) {
      EVBUS_ASSIGN_OR_RETURN(std::string s,
                             ResolveString(value, Field(path, var)));
      out += s;
      continue;
    }
    size_t dot = var.find('.');
    if (dot != std::string::npos && !absl::StartsWith(var, "AWS::")) {
      EVBUS_ASSIGN_OR_RETURN(
          std::string s, GetAtt(var.substr(0, dot), var.substr(dot + 1), path));
      out += s;
    } else {
      EVBUS_ASSIGN_OR_RETURN(std::string s, Ref(var, path));
      out += s;
    }
  }
  return out;
}

absl::StatusOr<std::string> Converter::Join(const YAML::Node& arg,
                                            const std::string& path) {
  if (!arg.IsSequence() || arg.size() != 2 || !arg[0].IsScalar() ||
      !arg[1].IsSequence()) {
    return Invalid(path, "Fn::Join needs [delimiter, [values]]");
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < arg[1].size(); ++i) {
    EVBUS_ASSIGN_OR_RETURN(std::string s,
                           ResolveString(arg[1][i], Index(path, i)));
    parts.push_back(std::move(s));
  }
  return absl::StrJoin(parts, arg[0].Scalar());
}

absl::StatusOr<YAML::Node> Converter::Resolve(const YAML::Node& node,
                                              const std::string& path) {
  if (!node.IsDefined()) return YAML::Node(YAML::NodeType::Null);
  if (std::optional<Call> call = AsCall(node)) {
    EVBUS_ASSIGN_OR_RETURN(std::string value, Evaluate(*call, path));
    return Str(value);
  }
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      // Quoted and !!str scalars stay strings; the rest stay plain.
      return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str"
                 ? Str(node.Scalar())
                 : Plain(node.Scalar());
    case YAML::NodeType::Sequence: {
      YAML::Node out(YAML::NodeType::Sequence);
      for (size_t i = 0; i < node.size(); ++i) {
        EVBUS_ASSIGN_OR_RETURN(YAML::Node item,
                               Resolve(node[i], Index(path, i)));
        out.push_back(item);
      }
      return out;
    }
    case YAML::NodeType::Map: {
      YAML::Node out(YAML::NodeType::Map);
      for (YAML::const_iterator it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          return Invalid(path, "mapping keys must be strings");
        }
        const std::string key = it->first.Scalar();
        EVBUS_ASSIGN_OR_RETURN(YAML::Node value,
                               Resolve(it->second, Field(path, key)));
        out[key] = value;
      }
      return out;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return YAML::Node(YAML::NodeType::Null);
}

absl::StatusOr<std::string> Converter::ResolveString(const YAML::Node& node,
                                                     const std::string& path) {
  if (!Present(node)) return Invalid(path, "required");
  if (std::optional<Call> call = AsCall(node)) return Evaluate(*call, path);
  if (!node.IsScalar()) return Invalid(path, "must be a string");
  return node.Scalar();
}

absl::StatusOr<std::optional<std::string>> Converter::ResolveArn(
    const YAML::Node& node, const std::string& path) {
  size_t before = skipped_refs_.size();
  EVBUS_ASSIGN_OR_RETURN(std::string arn, ResolveString(node, path));
  if (skipped_refs_.size() > before) {
    left_out_.push_back(
        {path, absl::StrCat("refers to ", skipped_refs_[before])});
    return std::nullopt;
  }
  return arn;
}

absl::StatusOr<std::string> Converter::ResolveBusName(const YAML::Node& node,
                                                      const std::string& path) {
  if (!Present(node)) return std::string("default");
  EVBUS_ASSIGN_OR_RETURN(std::string bus, ResolveString(node, path));
  // arn:aws:events:<region>:<account>:event-bus/<name> → <name>
  size_t slash = bus.find(":event-bus/");
  if (absl::StartsWith(bus, "arn:") && slash != std::string::npos) {
    bus = bus.substr(slash + std::string(":event-bus/").size());
  }
  if (bus.empty()) return Invalid(path, "must not be empty");
  return bus;
}

absl::StatusOr<std::string> Converter::NameOf(const Resource& r) {
  auto known = names_.find(r.id);
  if (known != names_.end()) return known->second;
  if (naming_.count(r.id) != 0) {
    return Invalid(r.id, "its name refers to itself");
  }
  std::string name = r.id;
  std::string key = NameProperty(r.kind, r.type);
  YAML::Node value = Member(r.properties, key);
  if (!key.empty() && Present(value)) {
    naming_.insert(r.id);
    absl::StatusOr<std::string> resolved =
        ResolveString(value, Field(r.id, key));
    naming_.erase(r.id);
    if (resolved.ok()) {
      name = *std::move(resolved);
    } else if (r.kind != Kind::kOther) {
      return resolved.status();
    }  // a skipped resource keeps its logical id
  }
  names_[r.id] = name;
  return name;
}

// ---------------------------------------------------------------------------
// Property copies.

absl::Status Converter::CopyString(const YAML::Node& src, absl::string_view key,
                                   const std::string& path, YAML::Node& dst,
                                   absl::string_view out_key) {
  YAML::Node value = Member(src, key);
  if (!Present(value)) return absl::OkStatus();
  EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(value, Field(path, key)));
  dst[std::string(out_key)] = Str(s);
  return absl::OkStatus();
}

absl::StatusOr<YAML::Node> Converter::ResolveInt(const YAML::Node& node,
                                                 const std::string& path) {
  EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(node, path));
  int64_t n = 0;
  if (!absl::SimpleAtoi(s, &n)) {
    return Invalid(path, absl::StrCat("\"", s, "\" is not an integer"));
  }
  return Plain(absl::StrCat(n));
}

absl::Status Converter::CopyInt(const YAML::Node& src, absl::string_view key,
                                const std::string& path, YAML::Node& dst,
                                absl::string_view out_key) {
  YAML::Node value = Member(src, key);
  if (!Present(value)) return absl::OkStatus();
  EVBUS_ASSIGN_OR_RETURN(YAML::Node n, ResolveInt(value, Field(path, key)));
  dst[std::string(out_key)] = n;
  return absl::OkStatus();
}

absl::Status Converter::CopyDouble(const YAML::Node& src, absl::string_view key,
                                   const std::string& path, YAML::Node& dst,
                                   absl::string_view out_key) {
  YAML::Node value = Member(src, key);
  if (!Present(value)) return absl::OkStatus();
  std::string where = Field(path, key);
  EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(value, where));
  double d = 0;
  if (!absl::SimpleAtod(s, &d) || !std::isfinite(d)) {
    return Invalid(where, absl::StrCat("\"", s, "\" is not a number"));
  }
  absl::string_view text = absl::StripAsciiWhitespace(s);
  dst[std::string(out_key)] =
      Plain(IsJsonNumber(text) ? std::string(text) : absl::StrCat(d));
  return absl::OkStatus();
}

absl::Status Converter::CopyDimensions(const YAML::Node& src,
                                       const std::string& path,
                                       YAML::Node& dst) {
  YAML::Node dimensions = Member(src, "Dimensions");
  if (!Present(dimensions)) return absl::OkStatus();
  std::string where = Field(path, "Dimensions");
  if (!dimensions.IsSequence()) {
    return Invalid(where, "must be a list of {Name, Value}");
  }
  YAML::Node map(YAML::NodeType::Map);
  for (size_t i = 0; i < dimensions.size(); ++i) {
    std::string item = Index(where, i);
    YAML::Node d = dimensions[i];
    for (absl::string_view key : {"Name", "Value"}) {
      if (!Present(Member(d, key)))
        return Invalid(Field(item, key), "required");
    }
    EVBUS_ASSIGN_OR_RETURN(
        std::string dim, ResolveString(Member(d, "Name"), Field(item, "Name")));
    EVBUS_ASSIGN_OR_RETURN(
        std::string value,
        ResolveString(Member(d, "Value"), Field(item, "Value")));
    map[dim] = Str(value);
  }
  dst["dimensions"] = map;
  return absl::OkStatus();
}

absl::Status Converter::CopyAlarmMetrics(const YAML::Node& props,
                                         const std::string& path,
                                         YAML::Node& alarm) {
  YAML::Node metrics = Member(props, "Metrics");
  std::string where = Field(path, "Metrics");
  if (!metrics.IsSequence()) {
    return Invalid(where, "must be a list of MetricDataQuery");
  }
  YAML::Node out(YAML::NodeType::Sequence);
  for (size_t i = 0; i < metrics.size(); ++i) {
    std::string item = Index(where, i);
    YAML::Node q = metrics[i];
    YAML::Node query(YAML::NodeType::Map);
    EVBUS_RETURN_IF_ERROR(CopyString(q, "Id", item, query, "id"));
    EVBUS_RETURN_IF_ERROR(CopyString(q, "Label", item, query, "label"));
    EVBUS_RETURN_IF_ERROR(
        CopyString(q, "Expression", item, query, "expression"));
    // CloudFormation reads an omitted ReturnData as true, as the API does.
    query["return_data"] = Plain("true");
    EVBUS_RETURN_IF_ERROR(
        CopyBool(q, "ReturnData", item, query, "return_data"));
    LeaveOut(q, {"AccountId"}, item);
    YAML::Node stat = Member(q, "MetricStat");
    if (Present(stat)) {
      std::string at = Field(item, "MetricStat");
      YAML::Node metric = Member(stat, "Metric");
      if (!Present(metric)) return Invalid(Field(at, "Metric"), "required");
      std::string metric_at = Field(at, "Metric");
      EVBUS_RETURN_IF_ERROR(
          CopyString(metric, "Namespace", metric_at, query, "namespace"));
      EVBUS_RETURN_IF_ERROR(
          CopyString(metric, "MetricName", metric_at, query, "metric"));
      EVBUS_RETURN_IF_ERROR(CopyDimensions(metric, metric_at, query));
      EVBUS_RETURN_IF_ERROR(CopyInt(stat, "Period", at, query, "period"));
      EVBUS_RETURN_IF_ERROR(CopyString(stat, "Stat", at, query, "stat"));
      EVBUS_RETURN_IF_ERROR(CopyString(stat, "Unit", at, query, "unit"));
    }
    out.push_back(query);
  }
  alarm["metrics"] = out;
  return absl::OkStatus();
}

absl::Status Converter::CopyBool(const YAML::Node& src, absl::string_view key,
                                 const std::string& path, YAML::Node& dst,
                                 absl::string_view out_key) {
  YAML::Node value = Member(src, key);
  if (!Present(value)) return absl::OkStatus();
  std::string where = Field(path, key);
  EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(value, where));
  EVBUS_ASSIGN_OR_RETURN(bool b, ParseBool(s, where));
  dst[std::string(out_key)] = Plain(b ? "true" : "false");
  return absl::OkStatus();
}

absl::Status Converter::CopyArn(const YAML::Node& src, absl::string_view key,
                                const std::string& path, YAML::Node& dst,
                                absl::string_view out_key) {
  YAML::Node value = Member(src, key);
  if (!Present(value)) return absl::OkStatus();
  EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> arn,
                         ResolveArn(value, Field(path, key)));
  if (arn.has_value()) dst[std::string(out_key)] = Str(*arn);
  return absl::OkStatus();
}

absl::Status Converter::CopyArnList(const YAML::Node& src,
                                    absl::string_view key,
                                    const std::string& path, YAML::Node& dst,
                                    absl::string_view out_key) {
  YAML::Node value = Member(src, key);
  if (!Present(value)) return absl::OkStatus();
  std::string where = Field(path, key);
  if (!value.IsSequence()) return Invalid(where, "must be a list of ARNs");
  std::vector<YAML::Node> arns;
  for (size_t i = 0; i < value.size(); ++i) {
    EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> arn,
                           ResolveArn(value[i], Index(where, i)));
    if (arn.has_value()) arns.push_back(Str(*arn));
  }
  dst[std::string(out_key)] = Seq(arns);
  return absl::OkStatus();
}

absl::Status Converter::CopyDocument(const YAML::Node& src,
                                     absl::string_view key,
                                     const std::string& path, YAML::Node& dst,
                                     absl::string_view out_key) {
  YAML::Node value = Member(src, key);
  if (!Present(value)) return absl::OkStatus();
  std::string where = Field(path, key);
  if (value.IsMap() && !AsCall(value).has_value()) {
    EVBUS_ASSIGN_OR_RETURN(YAML::Node tree, Resolve(value, where));
    dst[std::string(out_key)] = tree;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> text = ResolveString(value, where);
  if (!text.ok()) return Invalid(where, "must be a mapping or a JSON string");
  dst[std::string(out_key)] = Str(*text);
  return absl::OkStatus();
}

absl::Status Converter::CopyRetryPolicy(const YAML::Node& src,
                                        const std::string& path,
                                        YAML::Node& dst) {
  YAML::Node policy = Member(src, "RetryPolicy");
  if (!Present(policy)) return absl::OkStatus();
  std::string where = Field(path, "RetryPolicy");
  if (!policy.IsMap()) return Invalid(where, "must be a mapping");
  YAML::Node out(YAML::NodeType::Map);
  EVBUS_RETURN_IF_ERROR(CopyInt(policy, "MaximumRetryAttempts", where, out,
                                "maximum_retry_attempts"));
  EVBUS_RETURN_IF_ERROR(CopyInt(policy, "MaximumEventAgeInSeconds", where, out,
                                "maximum_event_age_in_seconds"));
  dst["retry_policy"] = out;
  return absl::OkStatus();
}

// Input, InputPath, InputTransformer, RetryPolicy and DeadLetterConfig: the
// same members on AWS::Events::Rule targets and SAM rule events.
absl::Status Converter::CopyTargetOptions(const YAML::Node& src,
                                          const std::string& path,
                                          YAML::Node& target) {
  EVBUS_RETURN_IF_ERROR(CopyString(src, "Input", path, target, "input"));
  EVBUS_RETURN_IF_ERROR(
      CopyString(src, "InputPath", path, target, "input_path"));
  YAML::Node transformer = Member(src, "InputTransformer");
  if (Present(transformer)) {
    std::string where = Field(path, "InputTransformer");
    if (!transformer.IsMap()) return Invalid(where, "must be a mapping");
    YAML::Node out(YAML::NodeType::Map);
    YAML::Node paths = Member(transformer, "InputPathsMap");
    if (Present(paths)) {
      std::string paths_where = Field(where, "InputPathsMap");
      if (!paths.IsMap()) return Invalid(paths_where, "must be a mapping");
      YAML::Node map(YAML::NodeType::Map);
      for (YAML::const_iterator it = paths.begin(); it != paths.end(); ++it) {
        const std::string name = it->first.Scalar();
        EVBUS_ASSIGN_OR_RETURN(
            std::string json_path,
            ResolveString(it->second, Field(paths_where, name)));
        map[name] = Str(json_path);
      }
      out["input_paths_map"] = map;
    }
    if (!Present(Member(transformer, "InputTemplate"))) {
      return Invalid(Field(where, "InputTemplate"), "required");
    }
    EVBUS_RETURN_IF_ERROR(
        CopyString(transformer, "InputTemplate", where, out, "input_template"));
    target["input_transformer"] = out;
  }
  EVBUS_RETURN_IF_ERROR(CopyRetryPolicy(src, path, target));
  YAML::Node dlq = Member(src, "DeadLetterConfig");
  if (Present(dlq)) {
    std::string where = Field(path, "DeadLetterConfig");
    if (!dlq.IsMap()) return Invalid(where, "must be a mapping");
    if (Present(Member(dlq, "Arn"))) {
      EVBUS_RETURN_IF_ERROR(
          CopyArn(dlq, "Arn", where, target, "dead_letter_arn"));
    } else {  // SAM {Type: SQS}: SAM would create a queue
      left_out_.push_back({where, "SQS dead-letter queue"});
    }
  }
  return absl::OkStatus();
}

// State (ENABLED | DISABLED) or SAM's Enabled (boolean); default ENABLED.
absl::StatusOr<std::string> Converter::State(const YAML::Node& src,
                                             const std::string& path) {
  YAML::Node enabled = Member(src, "Enabled");
  if (Present(enabled)) {
    std::string where = Field(path, "Enabled");
    EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(enabled, where));
    EVBUS_ASSIGN_OR_RETURN(bool b, ParseBool(s, where));
    return std::string(b ? "ENABLED" : "DISABLED");
  }
  YAML::Node state = Member(src, "State");
  if (!Present(state)) return std::string("ENABLED");
  std::string where = Field(path, "State");
  EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(state, where));
  if (s == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") return "ENABLED";
  if (s != "ENABLED" && s != "DISABLED") {
    return Invalid(where,
                   absl::StrCat("\"", s, "\" is not ENABLED or DISABLED"));
  }
  return s;
}

void Converter::LeaveOut(const YAML::Node& src,
                         std::initializer_list<absl::string_view> keys,
                         const std::string& path) {
  for (absl::string_view key : keys) {
    if (Present(Member(src, key))) {
      left_out_.push_back(
          {Field(path, key), "property not supported in evbus stacks"});
    }
  }
}

// ---------------------------------------------------------------------------
// Resource conversions.

absl::Status Converter::ConvertFunction(const Resource& r) {
  const YAML::Node& props = r.properties;
  // The function's own property, else Globals.Function's.
  auto get = [&](absl::string_view key, std::string* path) {
    YAML::Node own = Member(props, key);
    if (Present(own)) {
      *path = Field(r.id, key);
      return own;
    }
    *path = Field("Globals.Function", key);
    return Member(globals_function_, key);
  };
  std::string path;
  for (absl::string_view unsupported : {"InlineCode", "ImageUri"}) {
    if (Present(get(unsupported, &path))) {
      return Invalid(path,
                     "not supported: evbus runs code from a directory "
                     "or .zip (CodeUri)");
    }
  }
  YAML::Node package_type = get("PackageType", &path);
  if (Present(package_type)) {
    EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(package_type, path));
    if (s != "Zip") return Invalid(path, "only Zip packages are supported");
  }

  YAML::Node fn(YAML::NodeType::Map);
  EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
  fn["name"] = Str(name);

  YAML::Node runtime_node = get("Runtime", &path);
  if (!Present(runtime_node))
    return Invalid(Field(r.id, "Runtime"), "required");
  EVBUS_ASSIGN_OR_RETURN(std::string runtime,
                         ResolveString(runtime_node, path));
  if (!absl::StartsWith(runtime, "python3") &&
      !absl::StartsWith(runtime, "nodejs") &&
      !absl::StartsWith(runtime, "provided")) {
    return Invalid(path, absl::StrCat("\"", runtime,
                                      "\" is not supported (python3.x, "
                                      "nodejsNN.x, provided)"));
  }
  fn["runtime"] = Str(runtime);

  YAML::Node handler = get("Handler", &path);
  if (Present(handler)) {
    EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(handler, path));
    fn["handler"] = Str(s);
  } else if (!absl::StartsWith(runtime, "provided")) {
    return Invalid(Field(r.id, "Handler"), "required");
  }

  std::string code = ".";  // SAM's default: the template's folder
  YAML::Node code_uri = get("CodeUri", &path);
  if (Present(code_uri)) {
    if (code_uri.IsMap() && !AsCall(code_uri).has_value()) {
      return Invalid(path,
                     "S3 locations are not supported; use a folder or "
                     ".zip relative to the template");
    }
    EVBUS_ASSIGN_OR_RETURN(code, ResolveString(code_uri, path));
    if (absl::StartsWith(code, "s3://")) {
      return Invalid(path,
                     "S3 locations are not supported; use a folder or "
                     ".zip relative to the template");
    }
  }
  fn["code"] = Str(code);
  YAML::Node description = get("Description", &path);
  if (Present(description)) {
    EVBUS_ASSIGN_OR_RETURN(std::string s, ResolveString(description, path));
    fn["description"] = Str(s);
  }

  struct IntProperty {
    absl::string_view key;
    absl::string_view out;
  };
  for (const IntProperty& p :
       {IntProperty{"Timeout", "timeout"},
        IntProperty{"MemorySize", "memory_size"},
        IntProperty{"ReservedConcurrentExecutions", "reserved_concurrency"}}) {
    YAML::Node value = get(p.key, &path);
    if (!Present(value)) continue;
    EVBUS_ASSIGN_OR_RETURN(YAML::Node n, ResolveInt(value, path));
    fn[std::string(p.out)] = n;
  }

  // Environment.Variables: Globals' merged under the function's own.
  std::vector<std::pair<std::string, std::string>> variables;
  for (bool global : {true, false}) {
    YAML::Node env = Member(global ? globals_function_ : props, "Environment");
    std::string where =
        Field(global ? "Globals.Function" : r.id, "Environment");
    if (!Present(env)) continue;
    YAML::Node vars = Member(env, "Variables");
    where = Field(where, "Variables");
    if (!Present(vars)) continue;
    if (!vars.IsMap()) return Invalid(where, "must be a mapping");
    for (YAML::const_iterator it = vars.begin(); it != vars.end(); ++it) {
      const std::string key = it->first.Scalar();
      EVBUS_ASSIGN_OR_RETURN(std::string value,
                             ResolveString(it->second, Field(where, key)));
      bool replaced = false;
      for (auto& [k, v] : variables) {
        if (k == key) {
          v = value;
          replaced = true;
        }
      }
      if (!replaced) variables.emplace_back(key, std::move(value));
    }
  }
  if (!variables.empty()) {
    YAML::Node env(YAML::NodeType::Map);
    for (const auto& [k, v] : variables) env[k] = Str(v);
    fn["environment"] = env;
  }

  YAML::Node invoke = get("EventInvokeConfig", &path);
  if (Present(invoke)) {
    if (!invoke.IsMap()) return Invalid(path, "must be a mapping");
    EVBUS_RETURN_IF_ERROR(CopyInt(invoke, "MaximumRetryAttempts", path, fn,
                                  "maximum_retry_attempts"));
    EVBUS_RETURN_IF_ERROR(CopyInt(invoke, "MaximumEventAgeInSeconds", path, fn,
                                  "maximum_event_age_in_seconds"));
  }
  YAML::Node dlq = get("DeadLetterQueue", &path);
  if (Present(dlq)) {
    if (!dlq.IsMap()) return Invalid(path, "must be a mapping");
    if (!Present(Member(dlq, "TargetArn"))) {
      return Invalid(Field(path, "TargetArn"), "required");
    }
    EVBUS_RETURN_IF_ERROR(
        CopyArn(dlq, "TargetArn", path, fn, "dead_letter_arn"));
  }
  functions_.push_back(fn);

  YAML::Node events = Member(props, "Events");
  if (!Present(events)) return absl::OkStatus();
  std::string events_path = Field(r.id, "Events");
  if (!events.IsMap()) return Invalid(events_path, "must be a mapping");
  FnEventContext context{&r, FunctionArn(name)};
  for (YAML::const_iterator it = events.begin(); it != events.end(); ++it) {
    const std::string event_id = it->first.Scalar();
    EVBUS_RETURN_IF_ERROR(ConvertFunctionEvent(context, event_id, it->second,
                                               Field(events_path, event_id)));
  }
  return absl::OkStatus();
}

absl::Status Converter::ConvertFunctionEvent(const FnEventContext& fn,
                                             const std::string& event_id,
                                             const YAML::Node& event,
                                             const std::string& path) {
  if (!event.IsMap()) return Invalid(path, "must be a mapping");
  YAML::Node type_node = Member(event, "Type");
  if (!Present(type_node) || !type_node.IsScalar()) {
    return Invalid(Field(path, "Type"), "required");
  }
  const std::string& type = type_node.Scalar();
  YAML::Node given = Member(event, "Properties");
  std::string props_path = Field(path, "Properties");
  if (Present(given) && !given.IsMap()) {
    return Invalid(props_path, "must be a mapping");
  }
  const YAML::Node props =
      Present(given) ? given : YAML::Node(YAML::NodeType::Map);

  if (type == "Schedule" || type == "CloudWatchEvent" ||
      type == "EventBridgeRule") {
    YAML::Node rule(YAML::NodeType::Map);
    std::string name = fn.function->id + event_id;
    for (absl::string_view key : {"RuleName", "Name"}) {
      YAML::Node value = Member(props, key);
      if (Present(value)) {
        EVBUS_ASSIGN_OR_RETURN(name,
                               ResolveString(value, Field(props_path, key)));
        break;
      }
    }
    rule["name"] = Str(name);
    EVBUS_ASSIGN_OR_RETURN(std::string bus,
                           ResolveBusName(Member(props, "EventBusName"),
                                          Field(props_path, "EventBusName")));
    rule["bus"] = Str(bus);
    if (type == "Schedule") {
      if (!Present(Member(props, "Schedule"))) {
        return Invalid(Field(props_path, "Schedule"), "required");
      }
      EVBUS_RETURN_IF_ERROR(
          CopyString(props, "Schedule", props_path, rule, "schedule"));
    } else {
      if (!Present(Member(props, "Pattern"))) {
        return Invalid(Field(props_path, "Pattern"), "required");
      }
      EVBUS_RETURN_IF_ERROR(
          CopyDocument(props, "Pattern", props_path, rule, "pattern"));
    }
    EVBUS_ASSIGN_OR_RETURN(std::string state, State(props, props_path));
    rule["state"] = Str(state);
    EVBUS_RETURN_IF_ERROR(
        CopyString(props, "Description", props_path, rule, "description"));
    YAML::Node target(YAML::NodeType::Map);
    std::string id = "fn";
    YAML::Node target_id = Member(Member(props, "Target"), "Id");
    if (Present(target_id)) {
      EVBUS_ASSIGN_OR_RETURN(
          id, ResolveString(target_id, Field(props_path, "Target.Id")));
    }
    target["id"] = Str(id);
    target["arn"] = Str(fn.function_arn);
    EVBUS_RETURN_IF_ERROR(CopyTargetOptions(props, props_path, target));
    rule["targets"] = Seq({target});
    rules_.push_back(rule);
    return absl::OkStatus();
  }

  if (type == "ScheduleV2") {
    YAML::Node schedule(YAML::NodeType::Map);
    std::string name = fn.function->id + event_id;
    YAML::Node name_node = Member(props, "Name");
    if (Present(name_node)) {
      EVBUS_ASSIGN_OR_RETURN(
          name, ResolveString(name_node, Field(props_path, "Name")));
    }
    schedule["name"] = Str(name);
    EVBUS_RETURN_IF_ERROR(ScheduleBody(props, props_path, schedule));
    YAML::Node target(YAML::NodeType::Map);
    target["arn"] = Str(fn.function_arn);
    EVBUS_RETURN_IF_ERROR(
        CopyString(props, "Input", props_path, target, "input"));
    LeaveOut(props, {"RetryPolicy", "DeadLetterConfig"}, props_path);
    schedule["target"] = target;
    schedules_.push_back(schedule);
    return absl::OkStatus();
  }

  if (type == "SNS") {  // a lambda subscription on a topic of the template
    YAML::Node topic = Member(props, "Topic");
    std::string where = Field(props_path, "Topic");
    if (!Present(topic)) return Invalid(where, "required");
    if (Present(Member(props, "SqsSubscription"))) {
      left_out_.push_back({Field(props_path, "SqsSubscription"), "SQS queue"});
    }
    EVBUS_ASSIGN_OR_RETURN(std::string topic_arn, ResolveString(topic, where));
    YAML::Node sub(YAML::NodeType::Map);
    sub["protocol"] = Str("lambda");
    sub["endpoint"] = Str(fn.function_arn);
    EVBUS_RETURN_IF_ERROR(
        CopyDocument(props, "FilterPolicy", props_path, sub, "filter_policy"));
    return AddSubscription(topic_arn, where, sub);
  }

  left_out_.push_back({path, absl::StrCat(type, " event")});
  return absl::OkStatus();
}

absl::Status Converter::ConvertBus(const Resource& r) {
  YAML::Node bus(YAML::NodeType::Map);
  EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
  bus["name"] = Str(name);
  EVBUS_RETURN_IF_ERROR(
      CopyString(r.properties, "Description", r.id, bus, "description"));
  buses_.push_back(bus);
  return absl::OkStatus();
}

absl::Status Converter::ConvertRule(const Resource& r) {
  const YAML::Node& props = r.properties;
  YAML::Node rule(YAML::NodeType::Map);
  EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
  rule["name"] = Str(name);
  EVBUS_ASSIGN_OR_RETURN(std::string bus,
                         ResolveBusName(Member(props, "EventBusName"),
                                        Field(r.id, "EventBusName")));
  rule["bus"] = Str(bus);
  if (!Present(Member(props, "EventPattern")) &&
      !Present(Member(props, "ScheduleExpression"))) {
    return Invalid(r.id, "needs EventPattern or ScheduleExpression");
  }
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "ScheduleExpression", r.id, rule, "schedule"));
  EVBUS_RETURN_IF_ERROR(
      CopyDocument(props, "EventPattern", r.id, rule, "pattern"));
  EVBUS_ASSIGN_OR_RETURN(std::string state, State(props, r.id));
  rule["state"] = Str(state);
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "Description", r.id, rule, "description"));

  std::vector<YAML::Node> targets;
  YAML::Node list = Member(props, "Targets");
  std::string list_path = Field(r.id, "Targets");
  if (Present(list) && !list.IsSequence()) {
    return Invalid(list_path, "must be a list");
  }
  for (size_t i = 0; Present(list) && i < list.size(); ++i) {
    std::string where = Index(list_path, i);
    YAML::Node t = list[i];
    if (!t.IsMap()) return Invalid(where, "must be a mapping");
    for (absl::string_view key : {"Id", "Arn"}) {
      if (!Present(Member(t, key)))
        return Invalid(Field(where, key), "required");
    }
    EVBUS_ASSIGN_OR_RETURN(std::optional<std::string> arn,
                           ResolveArn(Member(t, "Arn"), Field(where, "Arn")));
    if (!arn.has_value()) continue;  // a target evbus cannot run
    YAML::Node target(YAML::NodeType::Map);
    EVBUS_RETURN_IF_ERROR(CopyString(t, "Id", where, target, "id"));
    target["arn"] = Str(*arn);
    EVBUS_RETURN_IF_ERROR(CopyTargetOptions(t, where, target));
    targets.push_back(target);
  }
  if (!targets.empty()) rule["targets"] = Seq(targets);
  rules_.push_back(rule);
  return absl::OkStatus();
}

bool SupportedProtocol(absl::string_view protocol) {
  return protocol == "email" || protocol == "email-json" ||
         protocol == "http" || protocol == "https" || protocol == "lambda";
}

absl::Status Converter::ConvertTopic(const Resource& r) {
  const YAML::Node& props = r.properties;
  TopicOut topic;
  EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
  topic.arn = TopicArn(name);
  topic.node = YAML::Node(YAML::NodeType::Map);
  topic.node["name"] = Str(name);
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "DisplayName", r.id, topic.node, "display_name"));
  YAML::Node subs = Member(props, "Subscription");
  std::string subs_path = Field(r.id, "Subscription");
  if (Present(subs) && !subs.IsSequence()) {
    return Invalid(subs_path, "must be a list");
  }
  for (size_t i = 0; Present(subs) && i < subs.size(); ++i) {
    std::string where = Index(subs_path, i);
    YAML::Node s = subs[i];
    for (absl::string_view key : {"Protocol", "Endpoint"}) {
      if (!Present(Member(s, key)))
        return Invalid(Field(where, key), "required");
    }
    EVBUS_ASSIGN_OR_RETURN(
        std::string protocol,
        ResolveString(Member(s, "Protocol"), Field(where, "Protocol")));
    if (!SupportedProtocol(protocol)) {
      left_out_.push_back({where, absl::StrCat(protocol, " subscription")});
      continue;
    }
    EVBUS_ASSIGN_OR_RETURN(
        std::optional<std::string> endpoint,
        ResolveArn(Member(s, "Endpoint"), Field(where, "Endpoint")));
    if (!endpoint.has_value()) continue;
    YAML::Node sub(YAML::NodeType::Map);
    sub["protocol"] = Str(protocol);
    sub["endpoint"] = Str(*endpoint);
    topic.subscriptions.push_back(sub);
  }
  topics_.push_back(std::move(topic));
  return absl::OkStatus();
}

absl::Status Converter::AddSubscription(const std::string& topic_arn,
                                        const std::string& path,
                                        const YAML::Node& sub) {
  for (TopicOut& topic : topics_) {
    if (topic.arn == topic_arn) {
      topic.subscriptions.push_back(sub);
      return absl::OkStatus();
    }
  }
  return Invalid(path, absl::StrCat("\"", topic_arn,
                                    "\" is not an AWS::SNS::Topic of this "
                                    "template"));
}

absl::Status Converter::ConvertSubscription(const Resource& r) {
  const YAML::Node& props = r.properties;
  for (absl::string_view key : {"TopicArn", "Protocol"}) {
    if (!Present(Member(props, key)))
      return Invalid(Field(r.id, key), "required");
  }
  EVBUS_ASSIGN_OR_RETURN(
      std::string protocol,
      ResolveString(Member(props, "Protocol"), Field(r.id, "Protocol")));
  if (!SupportedProtocol(protocol)) {
    left_out_.push_back({r.id, absl::StrCat(r.type, ", protocol ", protocol)});
    return absl::OkStatus();
  }
  if (!Present(Member(props, "Endpoint"))) {
    return Invalid(Field(r.id, "Endpoint"), "required");
  }
  EVBUS_ASSIGN_OR_RETURN(
      std::string topic_arn,
      ResolveString(Member(props, "TopicArn"), Field(r.id, "TopicArn")));
  EVBUS_ASSIGN_OR_RETURN(
      std::optional<std::string> endpoint,
      ResolveArn(Member(props, "Endpoint"), Field(r.id, "Endpoint")));
  if (!endpoint.has_value()) return absl::OkStatus();
  YAML::Node sub(YAML::NodeType::Map);
  sub["protocol"] = Str(protocol);
  sub["endpoint"] = Str(*endpoint);
  EVBUS_RETURN_IF_ERROR(
      CopyDocument(props, "FilterPolicy", r.id, sub, "filter_policy"));
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "FilterPolicyScope", r.id, sub, "filter_policy_scope"));
  EVBUS_RETURN_IF_ERROR(
      CopyBool(props, "RawMessageDelivery", r.id, sub, "raw_message_delivery"));
  return AddSubscription(topic_arn, Field(r.id, "TopicArn"), sub);
}

absl::Status Converter::CopyAlarmActions(const Resource& r, YAML::Node& alarm) {
  const YAML::Node& props = r.properties;
  EVBUS_RETURN_IF_ERROR(
      CopyBool(props, "ActionsEnabled", r.id, alarm, "actions_enabled"));
  EVBUS_RETURN_IF_ERROR(
      CopyArnList(props, "AlarmActions", r.id, alarm, "alarm_actions"));
  EVBUS_RETURN_IF_ERROR(
      CopyArnList(props, "OKActions", r.id, alarm, "ok_actions"));
  EVBUS_RETURN_IF_ERROR(CopyArnList(props, "InsufficientDataActions", r.id,
                                    alarm, "insufficient_data_actions"));
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "AlarmDescription", r.id, alarm, "description"));
  return absl::OkStatus();
}

absl::Status Converter::ConvertAlarm(const Resource& r) {
  const YAML::Node& props = r.properties;
  if (r.type == "AWS::CloudWatch::CompositeAlarm") {
    if (!Present(Member(props, "AlarmRule"))) {
      return Invalid(Field(r.id, "AlarmRule"), "required");
    }
    YAML::Node alarm(YAML::NodeType::Map);
    EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
    alarm["name"] = Str(name);
    EVBUS_RETURN_IF_ERROR(CopyString(props, "AlarmRule", r.id, alarm, "rule"));
    EVBUS_RETURN_IF_ERROR(CopyString(props, "ActionsSuppressor", r.id, alarm,
                                     "actions_suppressor"));
    EVBUS_RETURN_IF_ERROR(CopyInt(props, "ActionsSuppressorWaitPeriod", r.id,
                                  alarm, "actions_suppressor_wait_period"));
    EVBUS_RETURN_IF_ERROR(CopyInt(props, "ActionsSuppressorExtensionPeriod",
                                  r.id, alarm,
                                  "actions_suppressor_extension_period"));
    EVBUS_RETURN_IF_ERROR(CopyAlarmActions(r, alarm));
    alarms_.push_back(alarm);
    return absl::OkStatus();
  }
  if (Present(Member(props, "ThresholdMetricId"))) {
    return Invalid(Field(r.id, "ThresholdMetricId"),
                   "anomaly detection alarms are not supported");
  }
  const bool math = Present(Member(props, "Metrics"));
  for (absl::string_view key : {"EvaluationPeriods", "ComparisonOperator"}) {
    if (!Present(Member(props, key)))
      return Invalid(Field(r.id, key), "required");
  }
  YAML::Node alarm(YAML::NodeType::Map);
  EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
  alarm["name"] = Str(name);
  if (math) {
    EVBUS_RETURN_IF_ERROR(CopyAlarmMetrics(props, r.id, alarm));
  } else {
    for (absl::string_view key : {"Namespace", "MetricName"}) {
      if (!Present(Member(props, key)))
        return Invalid(Field(r.id, key), "required");
    }
  }
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "Namespace", r.id, alarm, "namespace"));
  EVBUS_RETURN_IF_ERROR(CopyString(props, "MetricName", r.id, alarm, "metric"));
  EVBUS_RETURN_IF_ERROR(CopyDimensions(props, r.id, alarm));
  bool statistic = Present(Member(props, "Statistic"));
  bool extended = Present(Member(props, "ExtendedStatistic"));
  if (!math && statistic == extended) {
    return Invalid(r.id, "needs one of Statistic or ExtendedStatistic");
  }
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "Statistic", r.id, alarm, "statistic"));
  EVBUS_RETURN_IF_ERROR(CopyString(props, "ExtendedStatistic", r.id, alarm,
                                   "extended_statistic"));
  EVBUS_RETURN_IF_ERROR(CopyInt(props, "Period", r.id, alarm, "period"));
  EVBUS_RETURN_IF_ERROR(
      CopyInt(props, "EvaluationPeriods", r.id, alarm, "evaluation_periods"));
  EVBUS_RETURN_IF_ERROR(
      CopyInt(props, "DatapointsToAlarm", r.id, alarm, "datapoints_to_alarm"));
  EVBUS_RETURN_IF_ERROR(
      CopyDouble(props, "Threshold", r.id, alarm, "threshold"));
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "ComparisonOperator", r.id, alarm, "comparison"));
  EVBUS_RETURN_IF_ERROR(
      CopyString(props, "TreatMissingData", r.id, alarm, "treat_missing_data"));
  EVBUS_RETURN_IF_ERROR(CopyString(props, "Unit", r.id, alarm, "unit"));
  EVBUS_RETURN_IF_ERROR(CopyAlarmActions(r, alarm));
  alarms_.push_back(alarm);
  return absl::OkStatus();
}

absl::Status Converter::ScheduleBody(const YAML::Node& src,
                                     const std::string& path,
                                     YAML::Node& schedule) {
  std::string group = "default";
  YAML::Node group_node = Member(src, "GroupName");
  if (Present(group_node)) {
    EVBUS_ASSIGN_OR_RETURN(group,
                           ResolveString(group_node, Field(path, "GroupName")));
  }
  schedule["group"] = Str(group);
  if (!Present(Member(src, "ScheduleExpression"))) {
    return Invalid(Field(path, "ScheduleExpression"), "required");
  }
  EVBUS_RETURN_IF_ERROR(
      CopyString(src, "ScheduleExpression", path, schedule, "expression"));
  EVBUS_RETURN_IF_ERROR(CopyString(src, "ScheduleExpressionTimezone", path,
                                   schedule, "timezone"));
  YAML::Node window(YAML::NodeType::Map);
  YAML::Node flexible = Member(src, "FlexibleTimeWindow");
  if (Present(flexible)) {
    std::string where = Field(path, "FlexibleTimeWindow");
    if (!flexible.IsMap()) return Invalid(where, "must be a mapping");
    if (!Present(Member(flexible, "Mode"))) {
      return Invalid(Field(where, "Mode"), "required");
    }
    EVBUS_RETURN_IF_ERROR(CopyString(flexible, "Mode", where, window, "mode"));
    EVBUS_RETURN_IF_ERROR(CopyInt(flexible, "MaximumWindowInMinutes", where,
                                  window, "maximum_window_in_minutes"));
  } else {
    window["mode"] = Str("OFF");
  }
  schedule["flexible_time_window"] = window;
  YAML::Node state = Member(src, "State");
  if (Present(state)) {
    EVBUS_ASSIGN_OR_RETURN(std::string s, State(src, path));
    schedule["state"] = Str(s);
  }
  EVBUS_RETURN_IF_ERROR(
      CopyString(src, "Description", path, schedule, "description"));
  EVBUS_RETURN_IF_ERROR(CopyString(src, "ActionAfterCompletion", path, schedule,
                                   "action_after_completion"));
  LeaveOut(src, {"StartDate", "EndDate"}, path);
  return absl::OkStatus();
}

absl::Status Converter::ConvertSchedule(const Resource& r) {
  const YAML::Node& props = r.properties;
  YAML::Node target_in = Member(props, "Target");
  std::string target_path = Field(r.id, "Target");
  if (!Present(target_in)) return Invalid(target_path, "required");
  if (!target_in.IsMap()) return Invalid(target_path, "must be a mapping");
  if (!Present(Member(target_in, "Arn"))) {
    return Invalid(Field(target_path, "Arn"), "required");
  }
  EVBUS_ASSIGN_OR_RETURN(
      std::optional<std::string> arn,
      ResolveArn(Member(target_in, "Arn"), Field(target_path, "Arn")));
  if (!arn.has_value()) return absl::OkStatus();  // nothing evbus can invoke

  YAML::Node schedule(YAML::NodeType::Map);
  EVBUS_ASSIGN_OR_RETURN(std::string name, NameOf(r));
  schedule["name"] = Str(name);
  EVBUS_RETURN_IF_ERROR(ScheduleBody(props, r.id, schedule));
  YAML::Node target(YAML::NodeType::Map);
  target["arn"] = Str(*arn);
  EVBUS_RETURN_IF_ERROR(
      CopyString(target_in, "Input", target_path, target, "input"));
  LeaveOut(target_in, {"RetryPolicy", "DeadLetterConfig"}, target_path);
  schedule["target"] = target;
  schedules_.push_back(schedule);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

absl::Status Converter::IndexTemplate() {
  if (!root_.IsMap()) return Invalid("template", "must be a mapping");
  parameters_ = Member(root_, "Parameters");
  if (Present(parameters_) && !parameters_.IsMap()) {
    return Invalid("Parameters", "must be a mapping");
  }
  YAML::Node globals = Member(root_, "Globals");
  if (Present(globals) && !globals.IsMap()) {
    return Invalid("Globals", "must be a mapping");
  }
  globals_function_ = Member(globals, "Function");
  if (Present(globals_function_) && !globals_function_.IsMap()) {
    return Invalid("Globals.Function", "must be a mapping");
  }
  YAML::Node resources = Member(root_, "Resources");
  if (!Present(resources)) return Invalid("Resources", "required");
  if (!resources.IsMap()) {
    return Invalid("Resources", "must be a mapping of logical ids");
  }
  for (YAML::const_iterator it = resources.begin(); it != resources.end();
       ++it) {
    Resource r;
    r.id = it->first.Scalar();
    if (r.id.empty()) return Invalid("Resources", "empty logical id");
    const YAML::Node body = it->second;
    if (!body.IsMap()) return Invalid(r.id, "must be a mapping");
    YAML::Node type = Member(body, "Type");
    if (!Present(type) || !type.IsScalar()) {
      return Invalid(Field(r.id, "Type"), "required");
    }
    r.type = type.Scalar();
    r.kind = KindOf(r.type);
    YAML::Node props = Member(body, "Properties");
    if (Present(props) && !props.IsMap()) {
      return Invalid(Field(r.id, "Properties"), "must be a mapping");
    }
    r.properties = Present(props) ? props : YAML::Node(YAML::NodeType::Map);
    if (r.kind != Kind::kOther && Present(Member(body, "Condition"))) {
      return Invalid(Field(r.id, "Condition"), "conditions are not supported");
    }
    if (!by_id_.emplace(r.id, resources_.size()).second) {
      return Invalid(r.id, "declared twice");
    }
    resources_.push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<YAML::Node> Converter::Run(std::vector<std::string>* skipped) {
  if (options_.stack_name.empty()) {
    return Invalid("stack", "a stack name is required");
  }
  EVBUS_RETURN_IF_ERROR(IndexTemplate());
  // Topics first so that subscriptions (resources and SNS events) find them.
  for (const Resource& r : resources_) {
    if (r.kind == Kind::kTopic) EVBUS_RETURN_IF_ERROR(ConvertTopic(r));
  }
  for (const Resource& r : resources_) {
    switch (r.kind) {
      case Kind::kFunction:
        EVBUS_RETURN_IF_ERROR(ConvertFunction(r));
        break;
      case Kind::kEventBus:
        EVBUS_RETURN_IF_ERROR(ConvertBus(r));
        break;
      case Kind::kRule:
        EVBUS_RETURN_IF_ERROR(ConvertRule(r));
        break;
      case Kind::kSubscription:
        EVBUS_RETURN_IF_ERROR(ConvertSubscription(r));
        break;
      case Kind::kAlarm:
        EVBUS_RETURN_IF_ERROR(ConvertAlarm(r));
        break;
      case Kind::kSchedule:
        EVBUS_RETURN_IF_ERROR(ConvertSchedule(r));
        break;
      case Kind::kTopic:
        break;
      case Kind::kOther:
        left_out_.push_back({r.id, r.type});
        break;
    }
  }

  if (options_.strict && !left_out_.empty()) {
    std::vector<std::string> others;
    for (size_t i = 1; i < left_out_.size(); ++i) {
      others.push_back(
          absl::StrCat(left_out_[i].path, " (", left_out_[i].what, ")"));
    }
    return Invalid(
        left_out_[0].path,
        absl::StrCat(
            left_out_[0].what, " cannot run on evbus (strict)",
            others.empty() ? "" : "; also: ", absl::StrJoin(others, ", ")));
  }
  if (skipped != nullptr) {
    for (const LeftOut& l : left_out_) {
      skipped->push_back(absl::StrCat(l.path, " (", l.what, ")"));
    }
  }

  YAML::Node stack(YAML::NodeType::Map);
  stack["stack"] = Str(options_.stack_name);
  if (!buses_.empty()) stack["buses"] = Seq(buses_);
  if (!functions_.empty()) stack["functions"] = Seq(functions_);
  if (!topics_.empty()) {
    std::vector<YAML::Node> topics;
    for (TopicOut& t : topics_) {
      if (!t.subscriptions.empty())
        t.node["subscriptions"] = Seq(t.subscriptions);
      topics.push_back(t.node);
    }
    stack["topics"] = Seq(topics);
  }
  if (!rules_.empty()) stack["rules"] = Seq(rules_);
  if (!schedules_.empty()) stack["schedules"] = Seq(schedules_);
  if (!alarms_.empty()) stack["alarms"] = Seq(alarms_);
  return stack;
}

}  // namespace

bool IsSamTemplate(const YAML::Node& root) {
  try {
    if (!root.IsMap()) return false;
    if (Present(Member(root, "AWSTemplateFormatVersion"))) return true;
    YAML::Node transform = Member(root, "Transform");
    if (!Present(transform)) {
      // fall through to Resources
    } else if (transform.IsScalar()) {
      if (transform.Scalar() == kServerlessTransform) return true;
    } else if (transform.IsSequence()) {
      for (size_t i = 0; i < transform.size(); ++i) {
        if (transform[i].IsScalar() &&
            transform[i].Scalar() == kServerlessTransform) {
          return true;
        }
      }
    }
    YAML::Node resources = Member(root, "Resources");
    if (!Present(resources) || !resources.IsMap()) return false;
    for (YAML::const_iterator it = resources.begin(); it != resources.end();
         ++it) {
      if (Present(Member(it->second, "Type"))) return true;
    }
    return false;
  } catch (const YAML::Exception&) {
    return false;
  }
}

absl::StatusOr<YAML::Node> ConvertSamTemplate(
    const YAML::Node& root, const SamOptions& options,
    std::vector<std::string>* skipped) {
  try {
    Converter converter(root, options);
    return converter.Run(skipped);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("template: ", e.what()));
  }
}

}  // namespace evbus::stack
