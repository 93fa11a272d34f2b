// File: server/metrics/registry.h
//
// The metrics facade: counters, gauges and histograms with labels, rendered
// in the Prometheus text format for /metrics. The only code that includes
// prometheus-cpp. Names follow `evbus_<thing>_<unit>` (docs/metrics.md).
//
// Handles are cheap to copy and stay valid for the registry's lifetime;
// callers look a labelled series up once and keep the handle.
//
// Thread safety: Registry and every handle are thread-safe.
//
// Example:
//   Registry registry;
//   Counter ingested = registry.GetCounter(
//       "evbus_events_ingested_total", "Events accepted.", {{"bus",
//       "default"}});
//   ingested.Increment();
//   std::string text = registry.Serialize();
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace evbus::metrics {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  Counter() = default;
  void Increment(double by = 1.0) const;
  double Value() const;

 private:
  friend class Registry;
  explicit Counter(prometheus::Counter* c) : c_(c) {}
  prometheus::Counter* c_ = nullptr;
};

class Gauge {
 public:
  Gauge() = default;
  void Set(double v) const;
  void Increment(double by = 1.0) const;
  void Decrement(double by = 1.0) const;
  double Value() const;

 private:
  friend class Registry;
  explicit Gauge(prometheus::Gauge* g) : g_(g) {}
  prometheus::Gauge* g_ = nullptr;
};

class Histogram {
 public:
  Histogram() = default;
  void Observe(double v) const;

 private:
  friend class Registry;
  explicit Histogram(prometheus::Histogram* h) : h_(h) {}
  prometheus::Histogram* h_ = nullptr;
};

// Latency buckets in seconds, 100 µs .. 10 s.
std::vector<double> LatencyBuckets();

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series `name{labels}`, created on first use. A name is registered
  // with one kind and one help text; asking for it as another kind is a
  // programming error (EVBUS_CHECK).
  Counter GetCounter(absl::string_view name, absl::string_view help,
                     const Labels& labels = {});
  Gauge GetGauge(absl::string_view name, absl::string_view help,
                 const Labels& labels = {});
  Histogram GetHistogram(absl::string_view name, absl::string_view help,
                         const std::vector<double>& buckets,
                         const Labels& labels = {});

  // Every series in the Prometheus text exposition format (version 0.0.4).
  std::string Serialize() const;

 private:
  struct Families;
  std::unique_ptr<prometheus::Registry> registry_;
  mutable absl::Mutex mu_;
  std::unique_ptr<Families> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evbus::metrics
