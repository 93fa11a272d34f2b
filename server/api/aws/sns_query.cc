#include "server/api/aws/sns_query.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "evbus/v1/topic.pb.h"
#include "grpcpp/server_context.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/topics/delivery_policy.h"

namespace evbus::api::aws {
namespace {

constexpr char kXmlns[] = "http://sns.amazonaws.com/doc/2010-03-31/";
// SNS's page size for ListSubscriptions(ByTopic).
constexpr size_t kSubscriptionPage = 100;
// Bounds the ListTopics page walk of GetTopicAttributes.
constexpr int kMaxTopicPages = 100000;

using Form = std::vector<std::pair<std::string, std::string>>;

absl::Status InvalidParameter(absl::string_view what) {
  return common::AwsError(absl::StatusCode::kInvalidArgument,
                          "InvalidParameter",
                          absl::StrCat("Invalid parameter: ", what));
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FormDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The form's parameters by name (the first value of a repeated name wins).
class Params {
 public:
  explicit Params(const Form& form) : form_(form) {}

  std::optional<std::string> Get(absl::string_view key) const {
    for (const auto& [k, v] : form_) {
      if (k == key) return v;
    }
    return std::nullopt;
  }
  std::string Value(absl::string_view key) const {
    return Get(key).value_or("");
  }

  // The entries of an awsQuery list or map: for parameters named
  // "<prefix>N" or "<prefix>N.<suffix>" (prefix e.g. "Attributes.entry."),
  // N → (suffix → value), ordered by N. Names whose N is not a positive
  // number are ignored.
  std::map<int, std::map<std::string, std::string>> Entries(
      absl::string_view prefix) const {
    std::map<int, std::map<std::string, std::string>> out;
    for (const auto& [k, v] : form_) {
      if (!absl::StartsWith(k, prefix)) continue;
      absl::string_view rest = absl::string_view(k).substr(prefix.size());
      std::pair<absl::string_view, absl::string_view> parts =
          absl::StrSplit(rest, absl::MaxSplits('.', 1));
      int n = 0;
      if (!absl::SimpleAtoi(parts.first, &n) || n <= 0) continue;
      out[n].emplace(std::string(parts.second), v);  // first value wins
    }
    return out;
  }

  // An awsQuery map <name>.entry.N.key / .value.
  absl::StatusOr<std::map<std::string, std::string>> Map(
      absl::string_view name) const {
    std::map<std::string, std::string> out;
    for (const auto& [n, fields] : Entries(absl::StrCat(name, ".entry."))) {
      auto key = fields.find("key");
      if (key == fields.end() || key->second.empty()) {
        return InvalidParameter(absl::StrCat(name, ".entry.", n, ".key"));
      }
      auto value = fields.find("value");
      out[key->second] = value == fields.end() ? "" : value->second;
    }
    return out;
  }

 private:
  const Form& form_;
};

// ---- XML -------------------------------------------------------------------

std::string Element(absl::string_view name, absl::string_view text) {
  return absl::StrCat("<", name, ">", XmlEscape(text), "</", name, ">");
}

std::string AttributesXml(
    const std::vector<std::pair<std::string, std::string>>& attributes) {
  std::string out = "<Attributes>";
  for (const auto& [k, v] : attributes) {
    absl::StrAppend(&out, "<entry>", Element("key", k), Element("value", v),
                    "</entry>");
  }
  absl::StrAppend(&out, "</Attributes>");
  return out;
}

// The account of an SNS ARN (arn:aws:sns:<region>:<account>:...), or
// `fallback`.
std::string OwnerOf(absl::string_view arn, const std::string& fallback) {
  std::vector<absl::string_view> parts = absl::StrSplit(arn, ':');
  if (parts.size() >= 6 && parts[0] == "arn" && !parts[4].empty()) {
    return std::string(parts[4]);
  }
  return fallback;
}

std::string SubscriptionXml(const evbus::v1::Subscription& s,
                            const AwsCaller& caller) {
  return absl::StrCat(
      "<member>",
      Element("SubscriptionArn", s.pending_confirmation()
                                     ? std::string("PendingConfirmation")
                                     : s.subscription_arn()),
      Element("Owner", OwnerOf(s.topic_arn(), caller.account)),
      Element("Protocol", s.protocol()), Element("Endpoint", s.endpoint()),
      Element("TopicArn", s.topic_arn()), "</member>");
}

// ---- Actions ---------------------------------------------------------------
// Each returns the inner XML of its <XResult> element, or nullopt for an
// action without output.

using Result = absl::StatusOr<std::optional<std::string>>;

struct Call {
  const Params& params;
  const AwsCaller& caller;
  api::TopicServiceImpl& topics;
  TagStore& tags;
};

// The topic `arn_or_name` names exists (NotFound otherwise).
absl::Status TopicExists(const Call& c, const std::string& arn_or_name) {
  evbus::v1::ListSubscriptionsByTopicRequest request;
  request.set_topic_arn(arn_or_name);
  grpc::ServerContext ctx;
  evbus::v1::ListSubscriptionsResponse response;
  return FromGrpc(c.topics.ListSubscriptionsByTopic(&ctx, &request, &response));
}

// Tags.member.N.Key / .Value; a tag without a key is refused.
absl::StatusOr<std::map<std::string, std::string>> TagsParam(const Call& c) {
  std::map<std::string, std::string> tags;
  for (const auto& [n, fields] : c.params.Entries("Tags.member.")) {
    auto key = fields.find("Key");
    if (key == fields.end()) {
      return InvalidParameter(absl::StrCat("Tags.member.", n, ".Key"));
    }
    auto value = fields.find("Value");
    if (value == fields.end()) {
      return InvalidParameter(absl::StrCat("Tags.member.", n, ".Value"));
    }
    tags[key->second] = value->second;
  }
  absl::Status valid = TagStore::Validate(tags);
  if (!valid.ok()) {
    return InvalidParameter(absl::StrCat("Tags Reason: ", valid.message()));
  }
  return tags;
}

Result CreateTopic(const Call& c) {
  evbus::v1::CreateTopicRequest request;
  request.set_name(c.params.Value("Name"));
  EVBUS_ASSIGN_OR_RETURN(auto attributes, c.params.Map("Attributes"));
  for (auto& [k, v] : attributes) (*request.mutable_attributes())[k] = v;
  EVBUS_ASSIGN_OR_RETURN(auto tags, TagsParam(c));
  // DataProtectionPolicy is accepted and ignored.
  const bool existed =
      !request.name().empty() && TopicExists(c, request.name()).ok();
  grpc::ServerContext ctx;
  evbus::v1::Topic topic;
  EVBUS_RETURN_IF_ERROR(FromGrpc(c.topics.CreateTopic(&ctx, &request, &topic)));
  if (!existed) {
    EVBUS_RETURN_IF_ERROR(c.tags.Reset(topic.topic_arn(), tags));
  } else if (!tags.empty()) {
    // CreateTopic of an existing topic is idempotent only with tags it
    // already has.
    EVBUS_ASSIGN_OR_RETURN(auto current, c.tags.List(topic.topic_arn()));
    for (const auto& [k, v] : tags) {
      auto it = current.find(k);
      if (it == current.end() || it->second != v) {
        return InvalidParameter(
            "Tags Reason: Topic already exists with different tags");
      }
    }
  }
  return Element("TopicArn", topic.topic_arn());
}

// The topic named `name`, if there is one (a walk over ListTopics' pages).
absl::StatusOr<std::optional<evbus::v1::Topic>> FindTopic(
    const Call& c, const std::string& name) {
  evbus::v1::ListTopicsRequest request;
  for (int page = 0; page < kMaxTopicPages; ++page) {
    grpc::ServerContext ctx;
    evbus::v1::ListTopicsResponse response;
    EVBUS_RETURN_IF_ERROR(
        FromGrpc(c.topics.ListTopics(&ctx, &request, &response)));
    for (const evbus::v1::Topic& t : response.topics()) {
      if (t.name() == name) return t;
    }
    if (response.next_token().empty()) break;
    request.set_next_token(response.next_token());
  }
  return std::nullopt;
}

// The topic a tag call names by ResourceArn, as SNS reports a missing one:
// its own ARN, exactly (another region or account names another topic).
absl::StatusOr<std::string> TaggableTopic(const Call& c) {
  std::optional<std::string> arn = c.params.Get("ResourceArn");
  if (!arn.has_value() || !absl::StartsWith(*arn, "arn:")) {
    return InvalidParameter("ResourceArn");
  }
  absl::Status exists = TopicExists(c, *arn);
  if (absl::IsNotFound(exists)) {
    return common::AwsError(absl::StatusCode::kNotFound, "ResourceNotFound",
                            "Resource does not exist");
  }
  // Not a topic's ARN (a subscription's, another service's).
  if (absl::IsInvalidArgument(exists)) return InvalidParameter("ResourceArn");
  EVBUS_RETURN_IF_ERROR(exists);
  EVBUS_ASSIGN_OR_RETURN(std::optional<evbus::v1::Topic> topic,
                         FindTopic(c, arn->substr(arn->rfind(':') + 1)));
  if (!topic.has_value() || topic->topic_arn() != *arn) {
    return common::AwsError(absl::StatusCode::kNotFound, "ResourceNotFound",
                            "Resource does not exist");
  }
  return topic->topic_arn();
}

Result TagResource(const Call& c) {
  EVBUS_ASSIGN_OR_RETURN(std::string arn, TaggableTopic(c));
  EVBUS_ASSIGN_OR_RETURN(auto added, TagsParam(c));
  if (added.empty()) return InvalidParameter("Tags");
  EVBUS_ASSIGN_OR_RETURN(auto current, c.tags.List(arn));
  for (const auto& [k, v] : added) current[k] = v;
  if (current.size() > TagStore::kMaxTagsPerResource) {
    return common::AwsError(
        absl::StatusCode::kInvalidArgument, "TagLimitExceeded",
        "Could not complete request: tag quota of per resource exceeded");
  }
  EVBUS_RETURN_IF_ERROR(c.tags.Tag(arn, added));
  return std::string();
}

Result UntagResource(const Call& c) {
  EVBUS_ASSIGN_OR_RETURN(std::string arn, TaggableTopic(c));
  std::vector<std::string> keys;
  for (const auto& [n, fields] : c.params.Entries("TagKeys.member.")) {
    auto key = fields.find("");
    if (key != fields.end()) keys.push_back(key->second);
  }
  if (keys.empty()) return InvalidParameter("TagKeys");
  absl::Status u = c.tags.Untag(arn, keys);
  if (absl::IsInvalidArgument(u)) {
    return InvalidParameter(absl::StrCat("TagKeys Reason: ", u.message()));
  }
  EVBUS_RETURN_IF_ERROR(u);
  return std::string();
}

Result ListTagsForResource(const Call& c) {
  EVBUS_ASSIGN_OR_RETURN(std::string arn, TaggableTopic(c));
  EVBUS_ASSIGN_OR_RETURN(auto current, c.tags.List(arn));
  std::string out = "<Tags>";
  for (const auto& [k, v] : current) {
    absl::StrAppend(&out, "<member>", Element("Key", k), Element("Value", v),
                    "</member>");
  }
  absl::StrAppend(&out, "</Tags>");
  return out;
}

Result ListTopics(const Call& c) {
  evbus::v1::ListTopicsRequest request;
  request.set_next_token(c.params.Value("NextToken"));
  grpc::ServerContext ctx;
  evbus::v1::ListTopicsResponse response;
  EVBUS_RETURN_IF_ERROR(
      FromGrpc(c.topics.ListTopics(&ctx, &request, &response)));
  std::string out = "<Topics>";
  for (const evbus::v1::Topic& t : response.topics()) {
    absl::StrAppend(&out, "<member>", Element("TopicArn", t.topic_arn()),
                    "</member>");
  }
  absl::StrAppend(&out, "</Topics>");
  if (!response.next_token().empty()) {
    absl::StrAppend(&out, Element("NextToken", response.next_token()));
  }
  return out;
}

Result DeleteTopic(const Call& c) {
  std::optional<std::string> arn = c.params.Get("TopicArn");
  if (!arn.has_value()) return InvalidParameter("TopicArn");
  evbus::v1::DeleteTopicRequest request;
  request.set_topic_arn(*arn);
  grpc::ServerContext ctx;
  evbus::v1::TopicEmpty response;
  EVBUS_RETURN_IF_ERROR(
      FromGrpc(c.topics.DeleteTopic(&ctx, &request, &response)));
  return std::nullopt;
}

// The subscriptions of one topic, or of all topics when `topic_arn` is
// empty.
absl::StatusOr<std::vector<evbus::v1::Subscription>> AllSubscriptions(
    const Call& c, const std::string& topic_arn) {
  evbus::v1::ListSubscriptionsByTopicRequest request;
  request.set_topic_arn(topic_arn);
  grpc::ServerContext ctx;
  evbus::v1::ListSubscriptionsResponse response;
  EVBUS_RETURN_IF_ERROR(
      FromGrpc(c.topics.ListSubscriptionsByTopic(&ctx, &request, &response)));
  return std::vector<evbus::v1::Subscription>(
      std::make_move_iterator(response.mutable_subscriptions()->begin()),
      std::make_move_iterator(response.mutable_subscriptions()->end()));
}

// Where a subscription sits in the listing order: its topic's name, then
// its id (the last part of its ARN), "<topic>:<id>".
std::string ListingKey(const evbus::v1::Subscription& s) {
  auto last = [](absl::string_view arn) {
    const size_t colon = arn.rfind(':');
    return colon == absl::string_view::npos ? arn : arn.substr(colon + 1);
  };
  return absl::StrCat(last(s.topic_arn()), ":", last(s.subscription_arn()));
}

// ListSubscriptions and ListSubscriptionsByTopic: pages of 100; NextToken is
// the listing key of the next page's first subscription, so that
// subscriptions removed or added between pages do not shift the pages
// (none listed twice, none skipped that was there throughout).
Result SubscriptionsPage(const Call& c, const std::string& topic_arn) {
  std::string start;
  if (std::optional<std::string> token = c.params.Get("NextToken")) {
    if (!token->empty() && (!absl::WebSafeBase64Unescape(*token, &start) ||
                            !absl::StrContains(start, ':'))) {
      return InvalidParameter("NextToken");
    }
  }
  EVBUS_ASSIGN_OR_RETURN(std::vector<evbus::v1::Subscription> subs,
                         AllSubscriptions(c, topic_arn));
  std::sort(subs.begin(), subs.end(), [](const auto& a, const auto& b) {
    return ListingKey(a) < ListingKey(b);
  });
  std::string out = "<Subscriptions>";
  size_t listed = 0;
  std::string next;
  for (const evbus::v1::Subscription& s : subs) {
    const std::string key = ListingKey(s);
    if (key < start) continue;
    if (listed == kSubscriptionPage) {
      next = key;
      break;
    }
    absl::StrAppend(&out, SubscriptionXml(s, c.caller));
    ++listed;
  }
  absl::StrAppend(&out, "</Subscriptions>");
  if (!next.empty()) {
    absl::StrAppend(&out,
                    Element("NextToken", absl::WebSafeBase64Escape(next)));
  }
  return out;
}

Result ListSubscriptions(const Call& c) { return SubscriptionsPage(c, ""); }

Result ListSubscriptionsByTopic(const Call& c) {
  std::string arn = c.params.Value("TopicArn");
  // An empty TopicArn would list every topic's subscriptions.
  if (arn.empty()) return InvalidParameter("TopicArn");
  return SubscriptionsPage(c, arn);
}

Result Subscribe(const Call& c) {
  evbus::v1::SubscribeRequest request;
  std::string arn = c.params.Value("TopicArn");
  if (arn.empty()) return InvalidParameter("TopicArn");
  request.set_topic_arn(arn);
  request.set_protocol(c.params.Value("Protocol"));
  request.set_endpoint(c.params.Value("Endpoint"));
  EVBUS_ASSIGN_OR_RETURN(auto attributes, c.params.Map("Attributes"));
  for (auto& [k, v] : attributes) (*request.mutable_attributes())[k] = v;
  bool return_arn =
      absl::AsciiStrToLower(c.params.Value("ReturnSubscriptionArn")) == "true";
  grpc::ServerContext ctx;
  evbus::v1::Subscription sub;
  EVBUS_RETURN_IF_ERROR(FromGrpc(c.topics.Subscribe(&ctx, &request, &sub)));
  return Element("SubscriptionArn", sub.pending_confirmation() && !return_arn
                                        ? "pending confirmation"
                                        : sub.subscription_arn());
}

Result ConfirmSubscription(const Call& c) {
  std::string arn = c.params.Value("TopicArn");
  if (arn.empty()) return InvalidParameter("TopicArn");
  evbus::v1::ConfirmSubscriptionRequest request;
  request.set_topic_arn(arn);
  request.set_token(c.params.Value("Token"));
  grpc::ServerContext ctx;
  evbus::v1::Subscription sub;
  EVBUS_RETURN_IF_ERROR(
      FromGrpc(c.topics.ConfirmSubscription(&ctx, &request, &sub)));
  return Element("SubscriptionArn", sub.subscription_arn());
}

Result Unsubscribe(const Call& c) {
  std::string arn = c.params.Value("SubscriptionArn");
  if (arn.empty()) return InvalidParameter("SubscriptionArn");
  evbus::v1::UnsubscribeRequest request;
  request.set_subscription_arn(arn);
  grpc::ServerContext ctx;
  evbus::v1::TopicEmpty response;
  EVBUS_RETURN_IF_ERROR(
      FromGrpc(c.topics.Unsubscribe(&ctx, &request, &response)));
  return std::nullopt;
}

Result Publish(const Call& c) {
  evbus::v1::PublishRequest request;
  std::string topic = c.params.Value("TopicArn");
  std::string target = c.params.Value("TargetArn");
  if (!c.params.Value("PhoneNumber").empty()) {
    return InvalidParameter(
        "PhoneNumber Reason: evbus does not deliver SMS; publish to a topic");
  }
  if (!topic.empty() && !target.empty() && topic != target) {
    return InvalidParameter(
        "TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may "
        "be specified");
  }
  request.set_topic_arn(topic.empty() ? target : topic);
  request.set_message(c.params.Value("Message"));
  request.set_subject(c.params.Value("Subject"));
  request.set_message_structure(c.params.Value("MessageStructure"));
  for (const auto& [n, fields] : c.params.Entries("MessageAttributes.entry.")) {
    auto field = [&fields = fields](const char* name) -> std::string {
      auto it = fields.find(name);
      return it == fields.end() ? "" : it->second;
    };
    std::string name = field("Name");
    if (name.empty()) {
      return InvalidParameter(
          absl::StrCat("MessageAttributes.entry.", n, ".Name"));
    }
    evbus::v1::MessageAttributeValue& v =
        (*request.mutable_message_attributes())[name];
    v.set_data_type(field("Value.DataType"));
    v.set_string_value(field("Value.StringValue"));
    if (fields.count("Value.BinaryValue") > 0) {
      std::string bytes;
      if (!absl::Base64Unescape(field("Value.BinaryValue"), &bytes)) {
        return common::AwsError(
            absl::StatusCode::kInvalidArgument, "InvalidParameterValue",
            absl::StrCat("The message attribute '", name,
                         "' has an invalid binary value: not base64."));
      }
      v.set_binary_value(bytes);
    }
  }
  // MessageGroupId / MessageDeduplicationId (FIFO) are ignored.
  grpc::ServerContext ctx;
  evbus::v1::PublishResponse response;
  EVBUS_RETURN_IF_ERROR(FromGrpc(c.topics.Publish(&ctx, &request, &response)));
  return Element("MessageId", response.message_id());
}

// TopicArn, Owner, DisplayName, the subscription counts and the stored
// attributes (Policy, DeliveryPolicy, ...).
Result GetTopicAttributes(const Call& c) {
  std::string arn = c.params.Value("TopicArn");
  if (arn.empty()) return InvalidParameter("TopicArn");
  // Validates the ARN and answers NotFound for an unknown topic.
  EVBUS_ASSIGN_OR_RETURN(std::vector<evbus::v1::Subscription> subs,
                         AllSubscriptions(c, arn));
  std::string name = arn.substr(arn.rfind(':') + 1);
  EVBUS_ASSIGN_OR_RETURN(std::optional<evbus::v1::Topic> topic,
                         FindTopic(c, name));
  if (!topic.has_value()) {  // deleted meanwhile
    return common::AwsError(absl::StatusCode::kNotFound, "NotFound",
                            "Topic does not exist");
  }
  int confirmed = 0;
  int pending = 0;
  for (const evbus::v1::Subscription& s : subs) {
    if (s.pending_confirmation()) {
      ++pending;
    } else {
      ++confirmed;
    }
  }
  std::vector<std::pair<std::string, std::string>> attributes = {
      {"TopicArn", topic->topic_arn()},
      {"Owner", OwnerOf(topic->topic_arn(), c.caller.account)},
      {"DisplayName", topic->display_name()},
      {"SubscriptionsConfirmed", absl::StrCat(confirmed)},
      {"SubscriptionsPending", absl::StrCat(pending)},
      {"SubscriptionsDeleted", "0"},
  };
  std::map<std::string, std::string> stored(topic->attributes().begin(),
                                            topic->attributes().end());
  // The retry policy http(s) subscribers get (topics/delivery_policy).
  auto policy = stored.find("DeliveryPolicy");
  absl::StatusOr<topics::HttpRetryPolicy> effective =
      policy == stored.end() ? topics::HttpRetryPolicy{}
                             : topics::ParseHttpDeliveryPolicy(policy->second);
  stored["EffectiveDeliveryPolicy"] = topics::EffectiveDeliveryPolicyJson(
      effective.value_or(topics::HttpRetryPolicy{}));
  for (auto& [k, v] : stored) attributes.emplace_back(k, v);
  return AttributesXml(attributes);
}

Result GetSubscriptionAttributes(const Call& c) {
  std::string arn = c.params.Value("SubscriptionArn");
  if (arn.empty()) return InvalidParameter("SubscriptionArn");
  EVBUS_ASSIGN_OR_RETURN(std::vector<evbus::v1::Subscription> subs,
                         AllSubscriptions(c, ""));
  for (const evbus::v1::Subscription& s : subs) {
    if (s.subscription_arn() != arn) continue;
    std::vector<std::pair<std::string, std::string>> attributes = {
        {"SubscriptionArn", s.subscription_arn()},
        {"TopicArn", s.topic_arn()},
        {"Owner", OwnerOf(s.topic_arn(), c.caller.account)},
        {"Protocol", s.protocol()},
        {"Endpoint", s.endpoint()},
        {"PendingConfirmation", s.pending_confirmation() ? "true" : "false"},
        {"ConfirmationWasAuthenticated",
         s.pending_confirmation() ? "false" : "true"},
        {"RawMessageDelivery", s.raw_message_delivery() ? "true" : "false"},
    };
    if (!s.filter_policy().empty()) {
      attributes.emplace_back("FilterPolicy", s.filter_policy());
      attributes.emplace_back("FilterPolicyScope", s.filter_policy_scope());
    }
    return AttributesXml(attributes);
  }
  return common::AwsError(absl::StatusCode::kNotFound, "NotFound",
                          "Subscription does not exist");
}

using Action = Result (*)(const Call&);

// The action named `name`, or nullptr.
Action FindAction(absl::string_view name) {
  if (name == "CreateTopic") return CreateTopic;
  if (name == "ListTopics") return ListTopics;
  if (name == "DeleteTopic") return DeleteTopic;
  if (name == "GetTopicAttributes") return GetTopicAttributes;
  if (name == "Subscribe") return Subscribe;
  if (name == "Unsubscribe") return Unsubscribe;
  if (name == "ConfirmSubscription") return ConfirmSubscription;
  if (name == "ListSubscriptions") return ListSubscriptions;
  if (name == "ListSubscriptionsByTopic") return ListSubscriptionsByTopic;
  if (name == "GetSubscriptionAttributes") return GetSubscriptionAttributes;
  if (name == "Publish") return Publish;
  if (name == "TagResource") return TagResource;
  if (name == "UntagResource") return UntagResource;
  if (name == "ListTagsForResource") return ListTagsForResource;
  return nullptr;
}

// A service error as SNS's awsQuery error. Errors that carry an exception
// name keep it; others get SNS's code for their kind.
AwsHttpResponse SnsError(const absl::Status& status) {
  AwsErrorInfo info = ErrorInfoOf(status);
  bool named = absl::StartsWith(status.message(), info.code + ": ");
  int http = info.status;
  std::string code;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      http = 404;
      code = "NotFound";
      break;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      http = 403;
      code = "AuthorizationError";
      break;
    case absl::StatusCode::kResourceExhausted:
      http = 429;
      code = "Throttled";
      break;
    default:
      code = http >= 500 ? "InternalError" : "InvalidParameter";
  }
  return QueryError(http, named ? info.code : code, info.message);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseFormEncoded(
    absl::string_view body) {
  Form out;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    out.emplace_back(FormDecode(kv.first), FormDecode(kv.second));
  }
  return out;
}

AwsHttpResponse HandleSnsQuery(const Form& params, const AwsCaller& caller,
                               api::TopicServiceImpl& topics, TagStore& tags) {
  Params p(params);
  std::optional<std::string> name = p.Get("Action");
  if (!name.has_value() || name->empty()) {
    return QueryError(400, "MissingAction", "Missing Action");
  }
  Action action = FindAction(*name);
  if (action == nullptr) {
    return QueryError(
        400, "InvalidAction",
        absl::StrCat("The action ", *name, " is not valid for this endpoint."));
  }
  Result result = action(Call{p, caller, topics, tags});
  if (!result.ok()) return SnsError(result.status());
  std::string request_id = common::NewUuidV4();
  AwsHttpResponse r;
  r.status = 200;
  r.content_type = "text/xml";
  r.headers.emplace_back("x-amzn-RequestId", request_id);
  r.body = absl::StrCat("<", *name, "Response xmlns=\"", kXmlns, "\">");
  if (result->has_value()) {
    absl::StrAppend(&r.body, "<", *name, "Result>", **result, "</", *name,
                    "Result>");
  }
  absl::StrAppend(&r.body, "<ResponseMetadata>",
                  Element("RequestId", request_id), "</ResponseMetadata></",
                  *name, "Response>");
  return r;
}

AwsHttpResponse UnsubscribePage(int status, absl::string_view title,
                                absl::string_view text) {
  AwsHttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=UTF-8";
  r.headers = {{"Cache-Control", "no-store"},
               {"X-Content-Type-Options", "nosniff"}};
  r.body = absl::StrCat(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
      XmlEscape(title), "</title></head><body><h1>", XmlEscape(title),
      "</h1><p>", XmlEscape(text), "</p></body></html>\n");
  return r;
}

AwsHttpResponse HandleUnsubscribePage(
    const std::vector<std::pair<std::string, std::string>>& query,
    api::TopicServiceImpl& topics) {
  std::string arn, endpoint;
  for (const auto& [k, v] : query) {
    if (k == "SubscriptionArn") arn = v;
    if (k == "Endpoint") endpoint = v;
  }
  const auto page = UnsubscribePage;
  if (arn.empty()) {
    return page(400, "Invalid request",
                "The link has no SubscriptionArn parameter.");
  }
  const size_t colon = arn.rfind(':');
  evbus::v1::ListSubscriptionsByTopicRequest list;
  list.set_topic_arn(colon == std::string::npos ? arn : arn.substr(0, colon));
  grpc::ServerContext list_ctx;
  evbus::v1::ListSubscriptionsResponse subs;
  const evbus::v1::Subscription* found = nullptr;
  if (topics.ListSubscriptionsByTopic(&list_ctx, &list, &subs).ok()) {
    for (const evbus::v1::Subscription& s : subs.subscriptions()) {
      if (s.subscription_arn() == arn &&
          (endpoint.empty() || s.endpoint() == endpoint)) {
        found = &s;
      }
    }
  }
  if (found == nullptr) {
    return page(404, "Subscription not found",
                "There is no such subscription: it may have been removed "
                "already.");
  }
  evbus::v1::UnsubscribeRequest request;
  request.set_subscription_arn(arn);
  grpc::ServerContext ctx;
  evbus::v1::TopicEmpty response;
  grpc::Status removed = topics.Unsubscribe(&ctx, &request, &response);
  if (!removed.ok()) {
    return page(500, "Subscription not removed", removed.error_message());
  }
  return page(200, "Subscription removed!",
              absl::StrCat(found->endpoint(),
                           " will no longer receive messages from topic ",
                           found->topic_arn(), "."));
}

}  // namespace evbus::api::aws
