#include "client/topic_commands.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/command_support.h"
#include "evbus/v1/topic.grpc.pb.h"

namespace evbus::cli {
namespace {

using common::Json;

std::unique_ptr<evbus::v1::TopicService::Stub> Topics(Context& ctx) {
  return evbus::v1::TopicService::NewStub(ctx.Channel());
}

// --attributes as JSON {"K":"V"} or the shorthand K=V,K2=V2.
absl::Status AttributesOf(
    const Args& args, google::protobuf::Map<std::string, std::string>* out) {
  std::optional<std::string> raw = args.Get("attributes");
  if (!raw.has_value()) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadValue(*raw);
  if (!text.ok()) return text.status();
  if (!text->empty() && (*text)[0] == '{') {
    absl::StatusOr<Json> doc = common::ParseJson(*text, "--attributes");
    if (!doc.ok() || !doc->is_object()) {
      return absl::InvalidArgumentError(
          "Error parsing parameter '--attributes': expected a JSON object");
    }
    for (const auto& [k, v] : doc->items()) {
      (*out)[k] = v.is_string() ? v.get<std::string>() : common::DumpJson(v);
    }
    return absl::OkStatus();
  }
  for (absl::string_view pair : absl::StrSplit(*text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    (*out)[kv.first] = kv.second;
  }
  return absl::OkStatus();
}

Json SubscriptionJson(const evbus::v1::Subscription& s) {
  Json j = Json::object();
  j["SubscriptionArn"] =
      s.pending_confirmation() ? "PendingConfirmation" : s.subscription_arn();
  j["Owner"] =
      s.topic_arn()
          .substr(0, s.topic_arn().rfind(':'))
          .substr(s.topic_arn().substr(0, s.topic_arn().rfind(':')).rfind(':') +
                  1);
  j["Protocol"] = s.protocol();
  j["Endpoint"] = s.endpoint();
  j["TopicArn"] = s.topic_arn();
  return j;
}

absl::StatusOr<Json> CreateTopic(const Args& args, Context& ctx) {
  evbus::v1::CreateTopicRequest request;
  absl::StatusOr<std::string> name = args.Required("name");
  if (!name.ok()) return name.status();
  request.set_name(*name);
  absl::Status s = AttributesOf(args, request.mutable_attributes());
  if (!s.ok()) return s;
  evbus::v1::Topic response;
  auto c = NewContext(ctx);
  grpc::Status rpc = Topics(ctx)->CreateTopic(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "CreateTopic", ctx.endpoint);
  return Json{{"TopicArn", response.topic_arn()}};
}

absl::StatusOr<Json> ListTopics(const Args&, Context& ctx) {
  Json topics = Json::array();
  evbus::v1::ListTopicsRequest request;
  for (int page = 0; page < 10000; ++page) {
    evbus::v1::ListTopicsResponse response;
    auto c = NewContext(ctx);
    grpc::Status rpc = Topics(ctx)->ListTopics(c.get(), request, &response);
    if (!rpc.ok()) return RpcError(rpc, "ListTopics", ctx.endpoint);
    for (const auto& t : response.topics()) {
      topics.push_back(Json{{"TopicArn", t.topic_arn()}});
    }
    if (response.next_token().empty()) break;
    request.set_next_token(response.next_token());
  }
  return Json{{"Topics", topics}};
}

absl::StatusOr<Json> DeleteTopic(const Args& args, Context& ctx) {
  evbus::v1::DeleteTopicRequest request;
  absl::StatusOr<std::string> arn = args.Required("topic-arn");
  if (!arn.ok()) return arn.status();
  request.set_topic_arn(*arn);
  evbus::v1::TopicEmpty response;
  auto c = NewContext(ctx);
  grpc::Status rpc = Topics(ctx)->DeleteTopic(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "DeleteTopic", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> Subscribe(const Args& args, Context& ctx) {
  evbus::v1::SubscribeRequest request;
  absl::StatusOr<std::string> arn = args.Required("topic-arn");
  if (!arn.ok()) return arn.status();
  absl::StatusOr<std::string> protocol = args.Required("protocol");
  if (!protocol.ok()) return protocol.status();
  request.set_topic_arn(*arn);
  request.set_protocol(*protocol);
  request.set_endpoint(args.Get("notification-endpoint").value_or(""));
  absl::Status s = AttributesOf(args, request.mutable_attributes());
  if (!s.ok()) return s;
  evbus::v1::Subscription response;
  auto c = NewContext(ctx);
  grpc::Status rpc = Topics(ctx)->Subscribe(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "Subscribe", ctx.endpoint);
  return Json{{"SubscriptionArn", response.pending_confirmation() &&
                                          !args.Has("return-subscription-arn")
                                      ? "pending confirmation"
                                      : response.subscription_arn()}};
}

absl::StatusOr<Json> ConfirmSubscription(const Args& args, Context& ctx) {
  evbus::v1::ConfirmSubscriptionRequest request;
  absl::StatusOr<std::string> arn = args.Required("topic-arn");
  if (!arn.ok()) return arn.status();
  absl::StatusOr<std::string> token = args.Required("token");
  if (!token.ok()) return token.status();
  request.set_topic_arn(*arn);
  request.set_token(*token);
  evbus::v1::Subscription response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      Topics(ctx)->ConfirmSubscription(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "ConfirmSubscription", ctx.endpoint);
  return Json{{"SubscriptionArn", response.subscription_arn()}};
}

absl::StatusOr<Json> Unsubscribe(const Args& args, Context& ctx) {
  evbus::v1::UnsubscribeRequest request;
  absl::StatusOr<std::string> arn = args.Required("subscription-arn");
  if (!arn.ok()) return arn.status();
  request.set_subscription_arn(*arn);
  evbus::v1::TopicEmpty response;
  auto c = NewContext(ctx);
  grpc::Status rpc = Topics(ctx)->Unsubscribe(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "Unsubscribe", ctx.endpoint);
  return Json();
}

absl::StatusOr<Json> ListSubscriptions(const Args& args, Context& ctx,
                                       bool by_topic) {
  evbus::v1::ListSubscriptionsByTopicRequest request;
  if (by_topic) {
    absl::StatusOr<std::string> arn = args.Required("topic-arn");
    if (!arn.ok()) return arn.status();
    request.set_topic_arn(*arn);
  }
  evbus::v1::ListSubscriptionsResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc =
      Topics(ctx)->ListSubscriptionsByTopic(c.get(), request, &response);
  if (!rpc.ok()) {
    return RpcError(rpc,
                    by_topic ? "ListSubscriptionsByTopic" : "ListSubscriptions",
                    ctx.endpoint);
  }
  Json subs = Json::array();
  for (const auto& s : response.subscriptions()) {
    subs.push_back(SubscriptionJson(s));
  }
  return Json{{"Subscriptions", subs}};
}

absl::StatusOr<Json> Publish(const Args& args, Context& ctx) {
  evbus::v1::PublishRequest request;
  absl::StatusOr<std::string> arn = args.Required("topic-arn");
  if (!arn.ok()) return arn.status();
  absl::StatusOr<std::string> message = args.Required("message");
  if (!message.ok()) return message.status();
  absl::StatusOr<std::string> text = ReadValue(*message);
  if (!text.ok()) return text.status();
  request.set_topic_arn(*arn);
  request.set_message(*text);
  request.set_subject(args.Get("subject").value_or(""));
  request.set_message_structure(args.Get("message-structure").value_or(""));
  if (args.Has("message-attributes")) {
    absl::StatusOr<Json> doc = ParseJsonArg(args, "message-attributes");
    if (!doc.ok()) return doc.status();
    if (!doc->is_object()) {
      return absl::InvalidArgumentError(
          "Error parsing parameter '--message-attributes': expected "
          "{\"name\":{\"DataType\":\"String\",\"StringValue\":\"v\"}}");
    }
    MemberReader r("--message-attributes");
    for (const auto& [name, v] : doc->items()) {
      if (!v.is_object()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Error parsing parameter '--message-attributes': ", name,
            " must be an object"));
      }
      evbus::v1::MessageAttributeValue& a =
          (*request.mutable_message_attributes())[name];
      a.set_data_type(r.Str(v, "DataType"));
      a.set_string_value(r.Str(v, "StringValue"));
      a.set_binary_value(r.Str(v, "BinaryValue"));
    }
    if (!r.status().ok()) return r.status();
  }
  evbus::v1::PublishResponse response;
  auto c = NewContext(ctx);
  grpc::Status rpc = Topics(ctx)->Publish(c.get(), request, &response);
  if (!rpc.ok()) return RpcError(rpc, "Publish", ctx.endpoint);
  return Json{{"MessageId", response.message_id()}};
}

}  // namespace

std::vector<Command> TopicCommands() {
  return {
      {"create-topic",
       "--name N [--attributes DisplayName=X]",
       {"name", "attributes", "tags"},
       {},
       CreateTopic},
      {"list-topics", "", {}, {}, ListTopics},
      {"delete-topic", "--topic-arn A", {"topic-arn"}, {}, DeleteTopic},
      {"subscribe",
       "--topic-arn A --protocol email|email-json|http|https|lambda "
       "--notification-endpoint E [--attributes JSON]",
       {"topic-arn", "protocol", "notification-endpoint", "attributes",
        "return-subscription-arn"},
       {"return-subscription-arn"},
       Subscribe},
      {"confirm-subscription",
       "--topic-arn A --token T   (evbusd --sns-confirm-subscriptions)",
       {"topic-arn", "token"},
       {},
       ConfirmSubscription},
      {"unsubscribe",
       "--subscription-arn A",
       {"subscription-arn"},
       {},
       Unsubscribe},
      {"list-subscriptions-by-topic",
       "--topic-arn A",
       {"topic-arn"},
       {},
       [](const Args& a, Context& c) { return ListSubscriptions(a, c, true); }},
      {"list-subscriptions",
       "",
       {},
       {},
       [](const Args& a, Context& c) {
         return ListSubscriptions(a, c, false);
       }},
      {"publish",
       "--topic-arn A --message M|file://F [--subject S] "
       "[--message-structure json] [--message-attributes JSON]",
       {"topic-arn", "message", "subject", "message-structure",
        "message-attributes"},
       {},
       Publish},
  };
}

}  // namespace evbus::cli
