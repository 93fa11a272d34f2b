#include "server/api/grpc/topic_service.h"

#include "server/api/grpc/status_conversion.h"

namespace evbus::api {

grpc::Status TopicServiceImpl::CreateTopic(
    grpc::ServerContext* context, const evbus::v1::CreateTopicRequest* request,
    evbus::v1::Topic* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Topic> t = topics_.CreateTopic(*request);
  if (!t.ok()) return ToGrpcStatus(t.status());
  *response = *std::move(t);
  return grpc::Status::OK;
}

grpc::Status TopicServiceImpl::SetTopicAttributes(
    grpc::ServerContext* context,
    const evbus::v1::SetTopicAttributesRequest* request,
    evbus::v1::Topic* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Topic> t = topics_.SetTopicAttributes(
      request->topic_arn(), request->attribute_name(),
      request->attribute_value());
  if (!t.ok()) return ToGrpcStatus(t.status());
  *response = *std::move(t);
  return grpc::Status::OK;
}

grpc::Status TopicServiceImpl::ListTopics(
    grpc::ServerContext* context, const evbus::v1::ListTopicsRequest* request,
    evbus::v1::ListTopicsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  // Pages of 100, as SNS; the token is the last name returned.
  size_t n = 0;
  for (evbus::v1::Topic& t : topics_.ListTopics()) {
    if (!request->next_token().empty() && t.name() <= request->next_token()) {
      continue;
    }
    if (n == 100) {
      response->set_next_token(
          response->topics(response->topics_size() - 1).name());
      break;
    }
    *response->add_topics() = std::move(t);
    ++n;
  }
  return grpc::Status::OK;
}

grpc::Status TopicServiceImpl::DeleteTopic(
    grpc::ServerContext* context, const evbus::v1::DeleteTopicRequest* request,
    evbus::v1::TopicEmpty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(topics_.DeleteTopic(request->topic_arn()));
}

grpc::Status TopicServiceImpl::Subscribe(
    grpc::ServerContext* context, const evbus::v1::SubscribeRequest* request,
    evbus::v1::Subscription* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Subscription> s = topics_.Subscribe(*request);
  if (!s.ok()) return ToGrpcStatus(s.status());
  *response = *std::move(s);
  return grpc::Status::OK;
}

grpc::Status TopicServiceImpl::Unsubscribe(
    grpc::ServerContext* context, const evbus::v1::UnsubscribeRequest* request,
    evbus::v1::TopicEmpty*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(topics_.Unsubscribe(request->subscription_arn()));
}

grpc::Status TopicServiceImpl::ListSubscriptionsByTopic(
    grpc::ServerContext* context,
    const evbus::v1::ListSubscriptionsByTopicRequest* request,
    evbus::v1::ListSubscriptionsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::vector<evbus::v1::Subscription>> subs =
      topics_.ListSubscriptions(request->topic_arn());
  if (!subs.ok()) return ToGrpcStatus(subs.status());
  for (auto& s : *subs) *response->add_subscriptions() = std::move(s);
  return grpc::Status::OK;
}

grpc::Status TopicServiceImpl::Publish(grpc::ServerContext* context,
                                       const evbus::v1::PublishRequest* request,
                                       evbus::v1::PublishResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<std::string> id = topics_.Publish(*request);
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_message_id(*id);
  return grpc::Status::OK;
}

grpc::Status TopicServiceImpl::ConfirmSubscription(
    grpc::ServerContext* context,
    const evbus::v1::ConfirmSubscriptionRequest* request,
    evbus::v1::Subscription* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::Subscription> sub =
      topics_.ConfirmSubscription(request->topic_arn(), request->token());
  if (!sub.ok()) return ToGrpcStatus(sub.status());
  *response = *std::move(sub);
  return grpc::Status::OK;
}

}  // namespace evbus::api
