// File: server/topics/topic_service.h
//
// TopicService: SNS-like topics and subscriptions, and Publish. Topics and
// subscriptions live in the `catalog` family; Publish validates the message
// (SNS's limits and texts), picks the subscriptions whose filter policy
// matches (the EventBridge pattern engine), and writes one durable delivery
// task per subscriber in one synced batch (bus "aws.sns", rule = topic,
// target id = subscription id) before it returns. The dispatcher delivers
// them with retries: email / email-json through the SMTP relay (mailto:),
// http / https with SNS's JSON envelope and x-amz-sns-* headers, lambda
// through the function's asynchronous queue.
//
// Subscriptions are confirmed at once (no confirmation flow on-prem).
//
// Thread safety: thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "evbus/v1/topic.pb.h"
#include "server/common/clock.h"
#include "server/delivery/dispatcher.h"
#include "server/metrics/registry.h"
#include "server/pattern/pattern.h"
#include "server/storage/store.h"
#include "server/topics/sns_messages.h"

namespace evbus::topics {

inline constexpr char kTopicQueueBus[] = "aws.sns";

struct TopicServiceOptions {
  std::string account = "000000000000";
  std::string region = "us-east-1";
  // From address of email notifications. Default: no-reply@<host>.
  std::string email_from = "no-reply@evbus.localhost";
  // Base URL of the daemon's HTTP listener (unsubscribe and confirmation
  // links). SetPublicUrl once the listener is bound.
  std::string public_url = "http://127.0.0.1:4011";
  // email, email-json and http(s) subscriptions start pending until their
  // endpoint confirms (SNS's behaviour). Default: off (confirmed at once).
  bool require_confirmation = false;
};

class TopicService {
 public:
  TopicService(storage::Store& store, common::Clock& clock,
               metrics::Registry& registry, TopicServiceOptions options);
  // REQUIRES: called once before Publish.
  void SetDispatcher(delivery::Dispatcher* dispatcher) {
    dispatcher_ = dispatcher;
  }
  // REQUIRES: called before serving (the HTTP port is known late).
  void SetPublicUrl(std::string url) { public_url_ = std::move(url); }
  // Signs envelopes (the topic's SignatureVersion, 1 unless set to 2).
  // REQUIRES: before serving.
  void SetSigner(Signer signer) { signer_ = std::move(signer); }
  // Makes the Token of unsubscribe links (UnsubscribeLinkSubject of the
  // subscription ARN; see MessageSigner::LinkToken). Unset: links carry
  // none. REQUIRES: before serving.
  void SetLinkTokens(std::function<std::string(absl::string_view)> tokens) {
    link_tokens_ = std::move(tokens);
  }

  absl::Status Load();

  absl::StatusOr<evbus::v1::Topic> CreateTopic(
      const evbus::v1::CreateTopicRequest& request);
  // SNS SetTopicAttributes: DisplayName (up to 100 characters) or any
  // other attribute, kept verbatim (an empty value removes it). NotFound,
  // InvalidParameter.
  absl::StatusOr<evbus::v1::Topic> SetTopicAttributes(
      const std::string& topic_arn_or_name, const std::string& name,
      const std::string& value);
  std::vector<evbus::v1::Topic> ListTopics() const;
  absl::Status DeleteTopic(const std::string& topic_arn_or_name);
  absl::StatusOr<evbus::v1::Subscription> Subscribe(
      const evbus::v1::SubscribeRequest& request);
  absl::Status Unsubscribe(const std::string& subscription_arn);
  // Every subscription of a topic, or of all topics when `topic` is empty.
  absl::StatusOr<std::vector<evbus::v1::Subscription>> ListSubscriptions(
      const std::string& topic_arn_or_name) const;

  // Returns the message id.
  absl::StatusOr<std::string> Publish(const evbus::v1::PublishRequest& request);

  absl::StatusOr<evbus::v1::Subscription> ConfirmSubscription(
      const std::string& topic_arn_or_name, const std::string& token);

  // Checks a target naming a topic (topic:NAME or an SNS ARN).
  absl::Status CheckTopic(const std::string& topic_arn_or_name) const;

  // Whether subscription `subscription_id` (the last part of its ARN) of
  // topic `topic_name` still exists, pending or confirmed: the dispatcher
  // drops queued messages and retries for one that was removed, or whose
  // topic was (DispatcherOptions::inline_target_live).
  bool HasSubscription(const std::string& topic_name,
                       const std::string& subscription_id) const;

 private:
  struct TopicEntry {
    evbus::v1::Topic topic;
    std::map<std::string, evbus::v1::Subscription> subscriptions;  // by id
    std::map<std::string, std::shared_ptr<pattern::Pattern>> filters;
  };
  absl::StatusOr<std::string> TopicNameOf(const std::string& arn_or_name) const;
  std::string TopicArn(const std::string& name) const;
  // Queues the SubscriptionConfirmation message of `sub` into `batch`.
  delivery::QueueEntry AddConfirmation(const evbus::v1::Subscription& sub,
                                       const std::string& topic_name,
                                       const evbus::v1::Topic& topic,
                                       storage::WriteBatch& batch);

  storage::Store& store_;
  common::Clock& clock_;
  metrics::Registry& registry_;
  const TopicServiceOptions options_;
  delivery::Dispatcher* dispatcher_ = nullptr;
  std::string public_url_;
  Signer signer_;
  std::function<std::string(absl::string_view)> link_tokens_;

  mutable absl::Mutex mu_;
  std::map<std::string, TopicEntry> topics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::topics
