// File: server/topics/filter_policy_limits.h
//
// SNS's own limits on subscription filter policies, checked at Subscribe
// on top of the pattern grammar they share with EventBridge (spec
// lambda-cloudwatch-sns.md §5.5): with FilterPolicyScope MessageAttributes
// the policy is flat and has at most 5 keys; in either scope at most 150
// value combinations; and SNS has no `wildcard` operator. Messages as SNS
// gives them ("Invalid parameter: FilterPolicy: Filter policy can not have
// more than 5 keys", ...).
//
// Thread safety: thread-safe.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace evbus::topics {

// Most keys of a MessageAttributes-scope policy, and most value
// combinations of any policy.
inline constexpr int kMaxFilterPolicyKeys = 5;
inline constexpr int kMaxFilterPolicyCombinations = 150;

// OK, or InvalidArgument with SNS's message (without "Invalid parameter: ").
// `policy` is JSON the pattern compiler accepted; `scope` is
// "MessageAttributes" or "MessageBody".
absl::Status CheckFilterPolicyLimits(absl::string_view policy,
                                     absl::string_view scope);

}  // namespace evbus::topics
