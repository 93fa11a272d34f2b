#include "server/topics/topic_service.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/common/aws_error.h"
#include "server/common/ids.h"
#include "server/common/json.h"
#include "server/common/status_macros.h"
#include "server/pattern/flat_event.h"
#include "server/storage/keys.h"
#include "server/topics/delivery_policy.h"
#include "server/topics/filter_policy_limits.h"

namespace evbus::topics {
namespace {

constexpr char kTopicKind[] = "topic";
constexpr char kSubscriptionKind[] = "subscription";

// How long a subscription's confirmation token is good for.
constexpr absl::Duration kConfirmationTokenLifetime = absl::Hours(3 * 24);

absl::Status InvalidParameter(absl::string_view what) {
  return common::AwsError(absl::StatusCode::kInvalidArgument,
                          "InvalidParameter",
                          absl::StrCat("Invalid parameter: ", what));
}

// A topic attribute's value, checked where evbus acts on it.
absl::Status CheckTopicAttribute(absl::string_view name,
                                 absl::string_view value) {
  if (name == "DisplayName" && value.size() > 100) {
    return InvalidParameter("DisplayName");
  }
  if (name == "DeliveryPolicy") {
    absl::StatusOr<HttpRetryPolicy> policy = ParseHttpDeliveryPolicy(value);
    if (!policy.ok()) {
      return InvalidParameter(
          absl::StrCat("Attributes Reason: ", policy.status().message()));
    }
  }
  if (name == "SignatureVersion" && value != "1" && value != "2") {
    return InvalidParameter(
        "Attributes Reason: SignatureVersion: Invalid value. Valid values are "
        "1 and 2.");
  }
  return absl::OkStatus();
}

// The delays between tries of a message to an http(s) subscriber of
// `topic`: its DeliveryPolicy's, or SNS's default (3 retries, 20 s apart).
std::vector<int32_t> HttpRetryDelays(const evbus::v1::Topic& topic) {
  auto it = topic.attributes().find("DeliveryPolicy");
  absl::StatusOr<HttpRetryPolicy> policy =
      it == topic.attributes().end() ? HttpRetryPolicy{}
                                     : ParseHttpDeliveryPolicy(it->second);
  return RetryDelays(policy.value_or(HttpRetryPolicy{}));
}

// Puts `delays` on a delivery task's target: one retry per delay.
void SetRetryDelays(const std::vector<int32_t>& delays,
                    evbus::v1::Target* target) {
  target->clear_retry_delay_seconds();
  for (int32_t d : delays) target->add_retry_delay_seconds(d);
  target->mutable_retry_policy()->set_maximum_retry_attempts(
      static_cast<int32_t>(delays.size()));
}

// The SignatureVersion messages of `topic` are signed with ("1" unless
// set).
std::string SignatureVersionOf(const evbus::v1::Topic& topic) {
  auto it = topic.attributes().find("SignatureVersion");
  return it != topic.attributes().end() && it->second == "2" ? "2" : "1";
}

absl::Status TopicNotFound() {
  return common::AwsError(absl::StatusCode::kNotFound, "NotFound",
                          "Topic does not exist");
}

bool ValidTopicName(absl::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_';
  });
}

std::string SubscriptionKey(const std::string& topic, const std::string& id) {
  std::string name = topic;
  name.push_back('\0');
  name += id;
  return storage::keys::CatalogKey(kSubscriptionKind, name);
}

// The id part of <topic arn>:<id>.
std::string SubscriptionId(const std::string& arn) {
  size_t colon = arn.rfind(':');
  return colon == std::string::npos ? arn : arn.substr(colon + 1);
}

std::string UrlEncode(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out,
                      absl::StrFormat("%%%02X", static_cast<unsigned char>(c)));
    }
  }
  return out;
}

bool NeedsConfirmation(const std::string& protocol) {
  return protocol == "email" || protocol == "email-json" ||
         protocol == "http" || protocol == "https";
}

std::string NewToken() {
  std::string token;
  for (int i = 0; i < 2; ++i) {
    std::string uuid = common::NewUuidV4();
    uuid.erase(std::remove(uuid.begin(), uuid.end(), '-'), uuid.end());
    token += uuid;
  }
  return token;
}

}  // namespace

TopicService::TopicService(storage::Store& store, common::Clock& clock,
                           metrics::Registry& registry,
                           TopicServiceOptions options)
    : store_(store),
      clock_(clock),
      registry_(registry),
      options_(std::move(options)),
      public_url_(options_.public_url) {}

std::string TopicService::TopicArn(const std::string& name) const {
  return absl::StrCat("arn:aws:sns:", options_.region, ":", options_.account,
                      ":", name);
}

absl::StatusOr<std::string> TopicService::TopicNameOf(
    const std::string& arn_or_name) const {
  absl::string_view name = arn_or_name;
  if (absl::StartsWith(name, "arn:")) {
    std::vector<absl::string_view> parts = absl::StrSplit(name, ':');
    if (parts.size() != 6 || parts[2] != "sns") {
      return InvalidParameter("TopicArn");
    }
    name = parts[5];
  } else if (absl::StartsWith(name, "topic:")) {
    name.remove_prefix(6);
  }
  if (!ValidTopicName(name)) return InvalidParameter("TopicArn");
  return std::string(name);
}

absl::Status TopicService::Load() {
  std::map<std::string, TopicEntry> loaded;
  std::string prefix = storage::keys::CatalogPrefix(kTopicKind);
  EVBUS_RETURN_IF_ERROR(store_.Scan(
      storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
      [&](absl::string_view, absl::string_view value) {
        evbus::v1::Topic t;
        if (t.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          loaded[t.name()].topic = std::move(t);
        }
        return true;
      }));
  prefix = storage::keys::CatalogPrefix(kSubscriptionKind);
  EVBUS_RETURN_IF_ERROR(store_.Scan(
      storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
      [&](absl::string_view, absl::string_view value) {
        evbus::v1::Subscription s;
        if (!s.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return true;
        }
        absl::StatusOr<std::string> topic = TopicNameOf(s.topic_arn());
        if (!topic.ok() || loaded.count(*topic) == 0) return true;
        TopicEntry& entry = loaded[*topic];
        if (!s.filter_policy().empty()) {
          absl::StatusOr<pattern::Pattern> p =
              pattern::Pattern::Compile(s.filter_policy());
          if (p.ok()) {
            entry.filters[SubscriptionId(s.subscription_arn())] =
                std::make_shared<pattern::Pattern>(*std::move(p));
          }
        }
        entry.subscriptions[SubscriptionId(s.subscription_arn())] =
            std::move(s);
        return true;
      }));
  absl::MutexLock lock(&mu_);
  topics_ = std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<evbus::v1::Topic> TopicService::CreateTopic(
    const evbus::v1::CreateTopicRequest& request) {
  if (absl::EndsWith(request.name(), ".fifo")) {
    return InvalidParameter(
        "Topic Name: evbus does not support FIFO topics yet");
  }
  if (!ValidTopicName(request.name())) {
    return InvalidParameter(
        "Topic Name: must be 1 to 256 characters of letters, digits, '-' "
        "and '_'");
  }
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(request.name());
  if (it != topics_.end()) {
    // Idempotent, as SNS, when every attribute given has the value the
    // topic has; a different one is refused rather than silently kept.
    const evbus::v1::Topic& have = it->second.topic;
    for (const auto& [k, v] : request.attributes()) {
      auto stored = have.attributes().find(k);
      const std::string current = k == "DisplayName" ? have.display_name()
                                  : stored != have.attributes().end()
                                      ? stored->second
                                      : "";
      if (current != v) {
        return InvalidParameter(
            "Attributes Reason: Topic already exists with different "
            "attributes");
      }
    }
    return have;
  }
  evbus::v1::Topic topic;
  topic.set_name(request.name());
  topic.set_topic_arn(TopicArn(request.name()));
  topic.set_created_ms(absl::ToUnixMillis(clock_.Now()));
  for (const auto& [k, v] : request.attributes()) {
    EVBUS_RETURN_IF_ERROR(CheckTopicAttribute(k, v));
    if (k == "DisplayName") {
      topic.set_display_name(v);
    } else {
      (*topic.mutable_attributes())[k] = v;
    }
  }
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kTopicKind, topic.name()),
            topic.SerializeAsString());
  // A new topic starts without tags (see BusService::CreateEventBus).
  if (it == topics_.end()) {
    batch.Delete(storage::Family::kCatalog,
                 storage::keys::TagKey(topic.topic_arn()));
  }
  EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  topics_[topic.name()].topic = topic;
  return topic;
}

absl::StatusOr<evbus::v1::Topic> TopicService::SetTopicAttributes(
    const std::string& topic_arn_or_name, const std::string& name,
    const std::string& value) {
  EVBUS_ASSIGN_OR_RETURN(std::string topic_name,
                         TopicNameOf(topic_arn_or_name));
  if (name.empty()) return InvalidParameter("AttributeName");
  if (name != "SignatureVersion" || !value.empty()) {
    EVBUS_RETURN_IF_ERROR(CheckTopicAttribute(name, value));
  }
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic_name);
  if (it == topics_.end()) return TopicNotFound();
  evbus::v1::Topic topic = it->second.topic;
  if (name == "DisplayName") {
    topic.set_display_name(value);
  } else if (value.empty()) {
    topic.mutable_attributes()->erase(name);
  } else {
    (*topic.mutable_attributes())[name] = value;
  }
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kTopicKind, topic.name()),
            topic.SerializeAsString());
  EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  it->second.topic = topic;
  return topic;
}

std::vector<evbus::v1::Topic> TopicService::ListTopics() const {
  absl::MutexLock lock(&mu_);
  std::vector<evbus::v1::Topic> out;
  for (const auto& [name, entry] : topics_) out.push_back(entry.topic);
  return out;
}

absl::Status TopicService::CheckTopic(const std::string& arn_or_name) const {
  EVBUS_ASSIGN_OR_RETURN(std::string name, TopicNameOf(arn_or_name));
  absl::MutexLock lock(&mu_);
  if (topics_.count(name) == 0) return TopicNotFound();
  return absl::OkStatus();
}

absl::Status TopicService::DeleteTopic(const std::string& arn_or_name) {
  EVBUS_ASSIGN_OR_RETURN(std::string name, TopicNameOf(arn_or_name));
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return absl::OkStatus();  // as SNS: idempotent
  storage::WriteBatch batch;
  batch.Delete(storage::Family::kCatalog,
               storage::keys::CatalogKey(kTopicKind, name));
  batch.Delete(storage::Family::kCatalog,
               storage::keys::TagKey(TopicArn(name)));
  for (const auto& [id, s] : it->second.subscriptions) {
    batch.Delete(storage::Family::kCatalog, SubscriptionKey(name, id));
  }
  EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  topics_.erase(it);
  return absl::OkStatus();
}

namespace {

// Whether `requested` (a new subscription from Subscribe's attributes)
// has the attributes of `existing`: filter policies compared as JSON.
bool SameAttributes(const evbus::v1::Subscription& existing,
                    const evbus::v1::Subscription& requested) {
  if (existing.filter_policy_scope() != requested.filter_policy_scope() ||
      existing.raw_message_delivery() != requested.raw_message_delivery()) {
    return false;
  }
  if (existing.filter_policy().empty() || requested.filter_policy().empty()) {
    return existing.filter_policy().empty() ==
           requested.filter_policy().empty();
  }
  absl::StatusOr<common::Json> a = common::ParseJson(existing.filter_policy());
  absl::StatusOr<common::Json> b = common::ParseJson(requested.filter_policy());
  return a.ok() && b.ok() && *a == *b;
}

}  // namespace

absl::StatusOr<evbus::v1::Subscription> TopicService::Subscribe(
    const evbus::v1::SubscribeRequest& request) {
  EVBUS_ASSIGN_OR_RETURN(std::string name, TopicNameOf(request.topic_arn()));
  std::string protocol = request.protocol();
  if (protocol == "function") protocol = "lambda";
  const std::string& endpoint = request.endpoint();
  if (protocol == "email" || protocol == "email-json") {
    if (endpoint.find('@') == std::string::npos ||
        endpoint.find_first_of(" \t\r\n<>,") != std::string::npos) {
      return InvalidParameter("Email address");
    }
  } else if (protocol == "http" || protocol == "https") {
    if (!absl::StartsWith(endpoint, protocol + "://")) {
      return InvalidParameter(absl::StrCat(
          "Endpoint must match the specified protocol (", protocol, ")"));
    }
  } else if (protocol == "lambda") {
    if (endpoint.empty()) return InvalidParameter("Endpoint");
  } else {
    return InvalidParameter(absl::StrCat(
        "Amazon SNS does not support this protocol string: ", protocol,
        " (evbus supports email, email-json, http, https, lambda)"));
  }
  evbus::v1::Subscription sub;
  sub.set_topic_arn(TopicArn(name));
  sub.set_protocol(protocol);
  sub.set_endpoint(endpoint);
  sub.set_filter_policy_scope("MessageAttributes");
  sub.set_created_ms(absl::ToUnixMillis(clock_.Now()));
  std::shared_ptr<pattern::Pattern> filter;
  // The scope first: the policy's limits depend on it.
  auto scope = request.attributes().find("FilterPolicyScope");
  const std::string filter_scope =
      scope != request.attributes().end() ? scope->second : "MessageAttributes";
  for (const auto& [k, v] : request.attributes()) {
    if (k == "FilterPolicy") {
      if (v.empty()) continue;
      absl::StatusOr<pattern::Pattern> p = pattern::Pattern::Compile(v);
      if (!p.ok()) {
        return InvalidParameter(
            absl::StrCat("FilterPolicy: ", p.status().message()));
      }
      if (absl::Status limits = CheckFilterPolicyLimits(v, filter_scope);
          !limits.ok()) {
        return InvalidParameter(limits.message());
      }
      filter = std::make_shared<pattern::Pattern>(*std::move(p));
      sub.set_filter_policy(v);
    } else if (k == "FilterPolicyScope") {
      if (v != "MessageAttributes" && v != "MessageBody") {
        return InvalidParameter(
            "Attributes Reason: FilterPolicyScope: Invalid value [" + v +
            "]. Please use either MessageBody or MessageAttributes");
      }
      sub.set_filter_policy_scope(v);
    } else if (k == "RawMessageDelivery") {
      if (v != "true" && v != "false") {
        return InvalidParameter(
            "Attributes Reason: RawMessageDelivery: "
            "Invalid value [" +
            v + "]. Must be true or false.");
      }
      sub.set_raw_message_delivery(v == "true");
    } else {
      return InvalidParameter(
          absl::StrCat("Attributes Reason: Unknown attribute ", k,
                       " (evbus supports FilterPolicy, FilterPolicyScope, "
                       "RawMessageDelivery)"));
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return TopicNotFound();
  for (const auto& [id, existing] : it->second.subscriptions) {
    if (existing.protocol() != protocol || existing.endpoint() != endpoint) {
      continue;
    }
    // As SNS: the same subscription, unless the request gives attributes
    // it does not have (there is no SetSubscriptionAttributes yet, and a
    // filter silently dropped would deliver everything).
    if (!request.attributes().empty() && !SameAttributes(existing, sub)) {
      return InvalidParameter(
          "Attributes Reason: Subscription already exists with different "
          "attributes");
    }
    if (existing.pending_confirmation() && dispatcher_ != nullptr) {
      // Asked again: the confirmation is sent again, with the same token.
      storage::WriteBatch batch;
      std::vector<delivery::QueueEntry> entries = {
          AddConfirmation(existing, name, it->second.topic, batch)};
      EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
      dispatcher_->Enqueued(std::move(entries));
    }
    return existing;
  }
  std::string id = common::NewUuidV4();
  sub.set_subscription_arn(absl::StrCat(TopicArn(name), ":", id));
  storage::WriteBatch batch;
  std::vector<delivery::QueueEntry> entries;
  if (options_.require_confirmation && NeedsConfirmation(protocol)) {
    sub.set_pending_confirmation(true);
    sub.set_confirmation_token(NewToken());
    entries.push_back(AddConfirmation(sub, name, it->second.topic, batch));
  }
  batch.Put(storage::Family::kCatalog, SubscriptionKey(name, id),
            sub.SerializeAsString());
  EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  if (!entries.empty() && dispatcher_ != nullptr) {
    dispatcher_->Enqueued(std::move(entries));
  }
  it->second.subscriptions[id] = sub;
  if (filter != nullptr) it->second.filters[id] = filter;
  return sub;
}

absl::Status TopicService::Unsubscribe(const std::string& subscription_arn) {
  std::string id = SubscriptionId(subscription_arn);
  absl::MutexLock lock(&mu_);
  for (auto& [name, entry] : topics_) {
    auto it = entry.subscriptions.find(id);
    if (it == entry.subscriptions.end() ||
        it->second.subscription_arn() != subscription_arn) {
      continue;
    }
    storage::WriteBatch batch;
    batch.Delete(storage::Family::kCatalog, SubscriptionKey(name, id));
    EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
    entry.subscriptions.erase(it);
    entry.filters.erase(id);
    return absl::OkStatus();
  }
  return common::AwsError(absl::StatusCode::kNotFound, "NotFound",
                          "Subscription does not exist");
}

absl::StatusOr<std::vector<evbus::v1::Subscription>>
TopicService::ListSubscriptions(const std::string& topic_arn_or_name) const {
  std::vector<evbus::v1::Subscription> out;
  std::string name;
  if (!topic_arn_or_name.empty()) {
    EVBUS_ASSIGN_OR_RETURN(name, TopicNameOf(topic_arn_or_name));
  }
  absl::MutexLock lock(&mu_);
  if (!name.empty() && topics_.count(name) == 0) return TopicNotFound();
  for (const auto& [topic, entry] : topics_) {
    if (!name.empty() && topic != name) continue;
    for (const auto& [id, s] : entry.subscriptions) out.push_back(s);
  }
  return out;
}

delivery::QueueEntry TopicService::AddConfirmation(
    const evbus::v1::Subscription& sub, const std::string& topic_name,
    const evbus::v1::Topic& topic, storage::WriteBatch& batch) {
  const std::string& display_name = topic.display_name();
  const std::string signature_version = SignatureVersionOf(topic);
  absl::Time now = clock_.Now();
  std::string message_id = common::NewUuidV4();
  std::string subscribe_url = absl::StrCat(
      public_url_,
      "/?Action=ConfirmSubscription&TopicArn=", UrlEncode(sub.topic_arn()),
      "&Token=", sub.confirmation_token());
  evbus::v1::DeliveryTask task;
  task.set_task_id(common::NewUuidV4());
  task.set_event_bus_name(kTopicQueueBus);
  task.set_rule_name(topic_name);
  task.set_rule_arn(sub.topic_arn());
  task.set_target_id(SubscriptionId(sub.subscription_arn()));
  task.set_event_id(message_id);
  task.set_ingest_time_ms(absl::ToUnixMillis(now));
  task.set_due_ms(absl::ToUnixMillis(now));
  evbus::v1::Target* target = task.mutable_inline_target();
  target->set_id(task.target_id());
  // As a message: email's schedule, or the topic's HTTP policy.
  SetRetryDelays(sub.protocol() == "email" || sub.protocol() == "email-json"
                     ? EmailRetryDelays()
                     : HttpRetryDelays(topic),
                 target);
  target->mutable_retry_policy()->set_maximum_event_age_in_seconds(
      sub.protocol() == "email" || sub.protocol() == "email-json" ? 6 * 3600
                                                                  : 3600);
  if (sub.protocol() == "email" || sub.protocol() == "email-json") {
    target->set_arn("mailto:" + sub.endpoint());
    EmailMessage email;
    email.from_address = options_.email_from;
    email.from_display_name =
        display_name.empty() ? "AWS Notifications" : display_name;
    email.to_address = sub.endpoint();
    email.subject = "AWS Notification - Subscription Confirmation";
    email.body = absl::StrCat(
        "You have chosen to subscribe to the topic: \n", sub.topic_arn(),
        "\n\nTo confirm this subscription, click or visit the link below (If "
        "this was in error no action is necessary): \nConfirm subscription\n",
        subscribe_url,
        "\n\nPlease do not reply directly to this email. If you wish to "
        "remove yourself from receiving all future SNS subscription "
        "confirmation requests please send an email to the operator of this "
        "evbus.\n");
    task.set_envelope_json(RenderRfc5322(
        email, now, absl::StrCat(message_id, "@", options_.region, ".evbus")));
  } else {
    target->set_arn(sub.endpoint());
    auto& headers =
        *target->mutable_http_parameters()->mutable_header_parameters();
    headers["x-amz-sns-message-type"] = "SubscriptionConfirmation";
    headers["x-amz-sns-message-id"] = message_id;
    headers["x-amz-sns-topic-arn"] = sub.topic_arn();
    headers["Content-Type"] = "text/plain; charset=UTF-8";
    headers["User-Agent"] = "Amazon Simple Notification Service Agent";
    common::Json body = common::Json::object();
    body["Type"] = "SubscriptionConfirmation";
    body["MessageId"] = message_id;
    body["Token"] = sub.confirmation_token();
    body["TopicArn"] = sub.topic_arn();
    body["Message"] = absl::StrCat(
        "You have chosen to subscribe to the topic ", sub.topic_arn(),
        ".\nTo confirm the subscription, visit the SubscribeURL included in "
        "this message.");
    body["SubscribeURL"] = subscribe_url;
    body["Timestamp"] = FormatSnsTimestamp(now);
    body["SignatureVersion"] = signature_version;
    // SNS's canonical string of a confirmation: Message, MessageId,
    // SubscribeURL, Timestamp, Token, TopicArn, Type.
    std::string to_sign;
    for (const char* key : {"Message", "MessageId", "SubscribeURL", "Timestamp",
                            "Token", "TopicArn", "Type"}) {
      absl::StrAppend(&to_sign, key, "\n", body[key].get<std::string>(), "\n");
    }
    body["Signature"] = signer_ ? signer_(to_sign, signature_version) : "";
    body["SigningCertURL"] =
        absl::StrCat(public_url_, "/SimpleNotificationService-evbus.pem");
    task.set_envelope_json(common::DumpJson(body));
  }
  return delivery::Dispatcher::AddTo(batch, task);
}

absl::StatusOr<evbus::v1::Subscription> TopicService::ConfirmSubscription(
    const std::string& topic_arn_or_name, const std::string& token) {
  EVBUS_ASSIGN_OR_RETURN(std::string name, TopicNameOf(topic_arn_or_name));
  if (token.empty()) return InvalidParameter("Token");
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return TopicNotFound();
  for (auto& [id, sub] : it->second.subscriptions) {
    if (sub.confirmation_token() != token) continue;
    // Confirmed already (the endpoint followed the link twice): the same
    // answer, as SNS gives.
    if (!sub.pending_confirmation()) return sub;
    // Tokens expire after 3 days (spec §5.2).
    if (clock_.Now() - absl::FromUnixMillis(sub.created_ms()) >
        kConfirmationTokenLifetime) {
      return InvalidParameter("Invalid token");
    }
    evbus::v1::Subscription confirmed = sub;
    confirmed.set_pending_confirmation(false);
    storage::WriteBatch batch;
    batch.Put(storage::Family::kCatalog, SubscriptionKey(name, id),
              confirmed.SerializeAsString());
    EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
    sub = confirmed;
    return confirmed;
  }
  return InvalidParameter("Invalid token");
}

absl::StatusOr<std::string> TopicService::Publish(
    const evbus::v1::PublishRequest& request) {
  if (request.topic_arn().empty()) {
    return InvalidParameter(
        "TopicArn or TargetArn Reason: no value for "
        "required parameter");
  }
  EVBUS_ASSIGN_OR_RETURN(std::string name, TopicNameOf(request.topic_arn()));
  if (!request.message_structure().empty() &&
      request.message_structure() != "json") {
    return InvalidParameter("MessageStructure");
  }
  MessageAttributes attributes;
  for (const auto& [k, v] : request.message_attributes()) {
    attributes[k] =
        MessageAttribute{v.data_type(), v.string_value(), v.binary_value()};
  }
  bool json = request.message_structure() == "json";
  std::optional<std::string> subject;
  if (!request.subject().empty()) subject = request.subject();
  EVBUS_RETURN_IF_ERROR(
      ValidatePublish(request.message(), subject, json, attributes));
  Notification n;
  n.message_id = common::NewUuidV4();
  n.topic_arn = TopicArn(name);
  n.subject = subject;
  n.message = request.message();
  n.json_message_structure = json;
  n.timestamp = clock_.Now();
  n.attributes = attributes;
  n.signing_cert_url =
      absl::StrCat(public_url_, "/SimpleNotificationService-evbus.pem");

  std::vector<evbus::v1::Subscription> targets;
  std::string display_name;
  std::vector<int32_t> http_delays;
  {
    absl::MutexLock lock(&mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return TopicNotFound();
    display_name = it->second.topic.display_name();
    n.signature_version = SignatureVersionOf(it->second.topic);
    http_delays = HttpRetryDelays(it->second.topic);
    for (const auto& [id, s] : it->second.subscriptions) {
      if (s.pending_confirmation()) continue;  // nothing until confirmed
      auto f = it->second.filters.find(id);
      if (f != it->second.filters.end()) {
        std::string input;
        if (s.filter_policy_scope() == "MessageBody") {
          input = MessageForProtocol(n, s.protocol());
        } else {
          input = common::DumpJson(FilterPolicyInput(attributes));
        }
        absl::StatusOr<pattern::FlatEvent> ev =
            pattern::FlatEvent::Parse(input);
        if (!ev.ok() || !f->second->Matches(*ev)) continue;
      }
      targets.push_back(s);
    }
  }

  storage::WriteBatch batch;
  std::vector<delivery::QueueEntry> entries;
  int64_t now_ms = absl::ToUnixMillis(n.timestamp);
  for (const evbus::v1::Subscription& s : targets) {
    const std::string token =
        link_tokens_ == nullptr
            ? ""
            : link_tokens_(UnsubscribeLinkSubject(s.subscription_arn()));
    n.unsubscribe_url = absl::StrCat(
        public_url_,
        "/?Action=Unsubscribe&SubscriptionArn=", s.subscription_arn(),
        token.empty() ? "" : absl::StrCat("&Token=", token));
    evbus::v1::DeliveryTask task;
    task.set_task_id(common::NewUuidV4());
    task.set_event_bus_name(kTopicQueueBus);
    task.set_rule_name(name);
    task.set_rule_arn(n.topic_arn);
    task.set_target_id(SubscriptionId(s.subscription_arn()));
    task.set_event_id(n.message_id);
    task.set_ingest_time_ms(now_ms);
    task.set_due_ms(now_ms);
    evbus::v1::Target* target = task.mutable_inline_target();
    target->set_id(task.target_id());
    evbus::v1::RetryPolicy* retry = target->mutable_retry_policy();
    if (s.protocol() == "email" || s.protocol() == "email-json") {
      // SNS's customer-endpoint policy: 50 retries within about 6 hours.
      SetRetryDelays(EmailRetryDelays(), target);
      retry->set_maximum_event_age_in_seconds(6 * 3600);
      target->set_arn("mailto:" + s.endpoint());
      EmailOptions o;
      o.from_address = options_.email_from;
      o.display_name = display_name;
      o.subscription_arn = s.subscription_arn();
      o.endpoint = s.endpoint();
      o.unsubscribe_base_url = public_url_ + "/unsubscribe.html";
      o.unsubscribe_token = token;
      EmailMessage email = s.protocol() == "email"
                               ? FormatEmail(n, o)
                               : FormatEmailJson(n, o, signer_);
      task.set_envelope_json(RenderRfc5322(
          email, n.timestamp,
          absl::StrCat(n.message_id, "@", options_.region, ".evbus")));
    } else if (s.protocol() == "http" || s.protocol() == "https") {
      // SNS's default HTTP policy: 3 retries (within an hour).
      // The topic's DeliveryPolicy (SNS's default: 3 retries, 20 s
      // apart), within an hour.
      SetRetryDelays(http_delays, target);
      retry->set_maximum_event_age_in_seconds(3600);
      target->set_arn(s.endpoint());
      auto& headers =
          *target->mutable_http_parameters()->mutable_header_parameters();
      headers["x-amz-sns-message-type"] = "Notification";
      headers["x-amz-sns-message-id"] = n.message_id;
      headers["x-amz-sns-topic-arn"] = n.topic_arn;
      headers["x-amz-sns-subscription-arn"] = s.subscription_arn();
      headers["Content-Type"] = "text/plain; charset=UTF-8";
      headers["User-Agent"] = "Amazon Simple Notification Service Agent";
      if (s.raw_message_delivery()) {
        headers["x-amz-sns-rawdelivery"] = "true";
        task.set_envelope_json(MessageForProtocol(n, s.protocol()));
      } else {
        EnvelopeOptions eo;
        eo.protocol = s.protocol();
        eo.signer = signer_;
        task.set_envelope_json(NotificationEnvelope(n, eo));
      }
    } else {  // lambda: through the function's asynchronous queue
      retry->set_maximum_retry_attempts(185);
      retry->set_maximum_event_age_in_seconds(86400);
      std::string endpoint = s.endpoint();
      size_t fn = endpoint.find(":function:");
      if (fn != std::string::npos) {
        endpoint = endpoint.substr(fn + 10);
        endpoint = endpoint.substr(0, endpoint.find(':'));
      }
      target->set_arn("function:" + endpoint);
      task.set_envelope_json(LambdaSnsEvent(n, s.subscription_arn(), signer_));
    }
    entries.push_back(delivery::Dispatcher::AddTo(batch, task));
  }
  if (!entries.empty()) {
    EVBUS_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
    if (dispatcher_ != nullptr) dispatcher_->Enqueued(std::move(entries));
  }
  registry_
      .GetCounter("evbus_topic_messages_published_total",
                  "Messages published to a topic (AWS/SNS "
                  "NumberOfMessagesPublished).",
                  {{"topic", name}})
      .Increment();
  registry_
      .GetCounter("evbus_topic_deliveries_queued_total",
                  "Deliveries queued for a topic's subscribers (after filter "
                  "policies).",
                  {{"topic", name}})
      .Increment(static_cast<double>(targets.size()));
  return n.message_id;
}

bool TopicService::HasSubscription(const std::string& topic_name,
                                   const std::string& subscription_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = topics_.find(topic_name);
  return it != topics_.end() &&
         it->second.subscriptions.count(subscription_id) > 0;
}

}  // namespace evbus::topics
