// File: server/topics/delivery_policy.h
//
// SNS delivery retry policies (spec lambda-cloudwatch-sns.md §5.6) as the
// delay before each retry, which the topic service puts on a message's
// delivery task (Target.retry_delay_seconds) for the dispatcher.
//
// HTTP/S: a topic's DeliveryPolicy attribute,
//   {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 20,
//     "maxDelayTarget": 20, "numRetries": 3, "numNoDelayRetries": 0,
//     "numMinDelayRetries": 0, "numMaxDelayRetries": 0,
//     "backoffFunction": "linear"}}}
// (those are the defaults: 3 retries 20 s apart). The retries run in four
// phases: without delay, at minDelayTarget, backing off from minDelayTarget
// to maxDelayTarget (numRetries less the other phases), and at
// maxDelayTarget; all of them within 3,600 s. AWS publishes the four backoff
// functions only as curves: evbus uses min + (max - min) * t for linear,
// * t^2 for arithmetic, min * (max/min)^t for geometric, and
// min + (max - min) * (2^(kt) - 1) / (2^k - 1) for exponential (t = i/k for
// the i-th of k backoff retries), rounded to whole seconds.
//
// Email (SNS's customer-endpoint policy): 2 retries 10 s apart, 10 backing
// off exponentially from 10 to 600 s, then 38 at 600 s.
//
// Thread safety: the functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::topics {

struct HttpRetryPolicy {
  int min_delay_target = 20;
  int max_delay_target = 20;
  int num_retries = 3;
  int num_no_delay_retries = 0;
  int num_min_delay_retries = 0;
  int num_max_delay_retries = 0;
  std::string backoff_function = "linear";
};

// The HTTP policy of a topic's DeliveryPolicy attribute (JSON), defaults
// for what it leaves out. InvalidArgument naming the member that is not
// valid (numRetries 0..100, delays 1..3600 with min <= max, phases that fit
// in numRetries, one of the four functions).
absl::StatusOr<HttpRetryPolicy> ParseHttpDeliveryPolicy(absl::string_view json);

// GetTopicAttributes' EffectiveDeliveryPolicy for `policy`: SNS's layout
// ({"http":{"defaultHealthyRetryPolicy":{...},"disableSubscriptionOverrides"
// :false,"defaultRequestPolicy":{"headerContentType":"text/plain;
// charset=UTF-8"}}}).
std::string EffectiveDeliveryPolicyJson(const HttpRetryPolicy& policy);

// The delay before each retry, in seconds.
std::vector<int32_t> RetryDelays(const HttpRetryPolicy& policy);

// SNS's customer-endpoint schedule (email, email-json).
std::vector<int32_t> EmailRetryDelays();

}  // namespace evbus::topics
