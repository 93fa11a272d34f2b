// File: server/api/grpc/topic_service.h
//
// evbus.v1.TopicService: SNS's topic API over gRPC, a thin layer over
// topics::TopicService.
//
// Thread safety: thread-safe.
#pragma once

#include "evbus/v1/topic.grpc.pb.h"
#include "server/api/grpc/call_authorizer.h"
#include "server/topics/topic_service.h"

namespace evbus::api {

class TopicServiceImpl final : public evbus::v1::TopicService::Service {
 public:
  explicit TopicServiceImpl(topics::TopicService& topics) : topics_(topics) {}

  grpc::Status CreateTopic(grpc::ServerContext*,
                           const evbus::v1::CreateTopicRequest* request,
                           evbus::v1::Topic* response) override;
  grpc::Status SetTopicAttributes(
      grpc::ServerContext*, const evbus::v1::SetTopicAttributesRequest* request,
      evbus::v1::Topic* response) override;
  grpc::Status ListTopics(grpc::ServerContext*,
                          const evbus::v1::ListTopicsRequest* request,
                          evbus::v1::ListTopicsResponse* response) override;
  grpc::Status DeleteTopic(grpc::ServerContext*,
                           const evbus::v1::DeleteTopicRequest* request,
                           evbus::v1::TopicEmpty* response) override;
  grpc::Status Subscribe(grpc::ServerContext*,
                         const evbus::v1::SubscribeRequest* request,
                         evbus::v1::Subscription* response) override;
  grpc::Status Unsubscribe(grpc::ServerContext*,
                           const evbus::v1::UnsubscribeRequest* request,
                           evbus::v1::TopicEmpty* response) override;
  grpc::Status ListSubscriptionsByTopic(
      grpc::ServerContext*,
      const evbus::v1::ListSubscriptionsByTopicRequest* request,
      evbus::v1::ListSubscriptionsResponse* response) override;
  grpc::Status Publish(grpc::ServerContext*,
                       const evbus::v1::PublishRequest* request,
                       evbus::v1::PublishResponse* response) override;
  grpc::Status ConfirmSubscription(
      grpc::ServerContext*,
      const evbus::v1::ConfirmSubscriptionRequest* request,
      evbus::v1::Subscription* response) override;

  // Every call must pass `authorizer` (which must outlive this service);
  // without one, every call is accepted.
  void SetAuthorizer(const CallAuthorizer* authorizer) {
    authorizer_ = authorizer;
  }

 private:
  const CallAuthorizer* authorizer_ = &CallAuthorizer::Open();
  topics::TopicService& topics_;
};

}  // namespace evbus::api
