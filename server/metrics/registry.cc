#include "server/metrics/registry.h"

#include <sstream>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/common/check.h"

namespace evbus::metrics {

struct Registry::Families {
  std::map<std::string, prometheus::Family<prometheus::Counter>*, std::less<>>
      counters;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*, std::less<>>
      gauges;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*, std::less<>>
      histograms;
};

void Counter::Increment(double by) const {
  if (c_ != nullptr) c_->Increment(by);
}
double Counter::Value() const { return c_ == nullptr ? 0 : c_->Value(); }

void Gauge::Set(double v) const {
  if (g_ != nullptr) g_->Set(v);
}
void Gauge::Increment(double by) const {
  if (g_ != nullptr) g_->Increment(by);
}
void Gauge::Decrement(double by) const {
  if (g_ != nullptr) g_->Decrement(by);
}
double Gauge::Value() const { return g_ == nullptr ? 0 : g_->Value(); }

void Histogram::Observe(double v) const {
  if (h_ != nullptr) h_->Observe(v);
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

Registry::Registry()
    : registry_(std::make_unique<prometheus::Registry>()),
      families_(std::make_unique<Families>()) {}

Registry::~Registry() = default;

Counter Registry::GetCounter(absl::string_view name, absl::string_view help,
                             const Labels& labels) {
  absl::MutexLock lock(&mu_);
  EVBUS_CHECK(families_->gauges.count(name) == 0 &&
              families_->histograms.count(name) == 0);
  auto it = families_->counters.find(name);
  if (it == families_->counters.end()) {
    auto& family = prometheus::BuildCounter()
                       .Name(std::string(name))
                       .Help(std::string(help))
                       .Register(*registry_);
    it = families_->counters.emplace(std::string(name), &family).first;
  }
  return Counter(&it->second->Add(labels));
}

Gauge Registry::GetGauge(absl::string_view name, absl::string_view help,
                         const Labels& labels) {
  absl::MutexLock lock(&mu_);
  EVBUS_CHECK(families_->counters.count(name) == 0 &&
              families_->histograms.count(name) == 0);
  auto it = families_->gauges.find(name);
  if (it == families_->gauges.end()) {
    auto& family = prometheus::BuildGauge()
                       .Name(std::string(name))
                       .Help(std::string(help))
                       .Register(*registry_);
    it = families_->gauges.emplace(std::string(name), &family).first;
  }
  return Gauge(&it->second->Add(labels));
}

Histogram Registry::GetHistogram(absl::string_view name, absl::string_view help,
                                 const std::vector<double>& buckets,
                                 const Labels& labels) {
  absl::MutexLock lock(&mu_);
  EVBUS_CHECK(families_->counters.count(name) == 0 &&
              families_->gauges.count(name) == 0);
  auto it = families_->histograms.find(name);
  if (it == families_->histograms.end()) {
    auto& family = prometheus::BuildHistogram()
                       .Name(std::string(name))
                       .Help(std::string(help))
                       .Register(*registry_);
    it = families_->histograms.emplace(std::string(name), &family).first;
  }
  return Histogram(&it->second->Add(labels, buckets));
}

std::string Registry::Serialize() const {
  std::vector<prometheus::MetricFamily> collected = registry_->Collect();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collected);
  return out.str();
}

}  // namespace evbus::metrics
