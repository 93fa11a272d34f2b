// File: server/common/metric_sink.h
//
// MetricSink: where components report CloudWatch-named metric samples
// (AWS/Events, AWS/Lambda, evbus/*) for the metric store, without depending
// on it. Implementations are thread-safe and cheap (no I/O on the caller's
// thread).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace evbus::common {

class MetricSink {
 public:
  using Dimensions = std::vector<std::pair<std::string, std::string>>;
  virtual ~MetricSink() = default;
  virtual void Record(const std::string& ns, const std::string& name,
                      const Dimensions& dimensions, absl::Time time,
                      double value, const std::string& unit) = 0;
};

// AWS/Events dimensions of a rule: RuleName alone on the default bus,
// EventBusName + RuleName on a custom bus (CloudWatch's convention).
inline MetricSink::Dimensions RuleDimensions(const std::string& bus,
                                             const std::string& rule) {
  if (bus == "default") return {{"RuleName", rule}};
  return {{"EventBusName", bus}, {"RuleName", rule}};
}

}  // namespace evbus::common
