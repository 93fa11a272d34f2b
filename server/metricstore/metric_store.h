// File: server/metricstore/metric_store.h
//
// MetricStore: CloudWatch-style metrics — per series (namespace, metric
// name, exact dimension set) and per minute, an Aggregate (SampleCount,
// Sum, Minimum, Maximum and a quantile sketch), persisted in the `metrics`
// family (docs/storage_format.md) and kept for `retention` (15 days).
//
// Samples are merged in memory and written once a second (Flush; not
// synced: a crash loses at most the last second of metrics, never events);
// queries flush first, so they see everything recorded before them.
//
// Thread safety: thread-safe.
//
// Example:
//   MetricStore metrics(store, clock, {});
//   EVBUS_RETURN_IF_ERROR(metrics.Load());
//   metrics.Record("AWS/Lambda", "Errors", {{"FunctionName", "f"}}, now, 1);
//   auto points = metrics.Query("AWS/Lambda", "Errors", dims, from, to);
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evbus/v1/cloudwatch.pb.h"
#include "server/common/clock.h"
#include "server/common/metric_sink.h"
#include "server/metricstore/datapoint.h"
#include "server/storage/store.h"

namespace evbus::metricstore {

using Dimensions = std::vector<std::pair<std::string, std::string>>;

struct MetricStoreOptions {
  absl::Duration retention = absl::Hours(24 * 15);
};

// One minute of one series.
struct MinutePoint {
  absl::Time minute;
  Aggregate aggregate;
};

// The largest magnitude PutMetricData accepts: 2^360.
inline constexpr double kMaxMetricValue = 0x1p360;

class MetricStore : public common::MetricSink {
 public:
  MetricStore(storage::Store& store, common::Clock& clock,
              MetricStoreOptions options);

  // Reads the series index.
  absl::Status Load();

  // Adds one sample (evbus's own metrics; not validated).
  void Record(const std::string& ns, const std::string& name,
              const Dimensions& dimensions, absl::Time time, double value,
              const std::string& unit = "") override;

  // PutMetricData: validates the whole request (CloudWatch's limits and
  // texts), then adds every datum. `allow_aws` lets tests write AWS/*.
  // Values (Value, Values, and a StatisticValues' SampleCount, Sum, Minimum
  // and Maximum) must lie within ±2^360 (InvalidParameterValue: "The value
  // 1e+300 for parameter MetricData.member.1.Value is invalid."); Unit must
  // be one of kStandardUnits (ValidationError with the model's enum
  // constraint at 'metricData.N.member.unit').
  absl::Status PutMetricData(const evbus::v1::PutMetricDataRequest& request,
                             bool allow_aws = false);

  // Writes what was recorded since the last flush (not synced: evbus's own
  // metrics; PutMetricData writes synced before it answers).
  absl::Status Flush();

  // Minutes of the series with data in [start, end), oldest first.
  absl::StatusOr<std::vector<MinutePoint>> Query(const std::string& ns,
                                                 const std::string& name,
                                                 const Dimensions& dimensions,
                                                 absl::Time start,
                                                 absl::Time end);

  // Series matching the filters (empty = any; a dimension with an empty
  // value matches any value), sorted.
  std::vector<evbus::v1::Metric> ListMetrics(
      const std::string& ns, const std::string& name,
      const Dimensions& dimension_filter) const;

  // The unit the series was first recorded with ("" when none or unknown).
  std::string UnitOf(const std::string& ns, const std::string& name,
                     const Dimensions& dimensions) const;

  // Deletes minutes older than the retention (call periodically).
  absl::Status Trim();

  // The dimension list of a request, sorted by name.
  static Dimensions DimensionsOf(
      const google::protobuf::RepeatedPtrField<evbus::v1::Dimension>& dims);

 private:
  // Flush, synced or not.
  absl::Status Write(bool sync);
  struct Series {
    std::string ns, name;
    Dimensions dimensions;  // sorted by name
    std::string unit;
  };
  static std::string SeriesId(const std::string& ns, const std::string& name,
                              Dimensions dimensions);

  storage::Store& store_;
  common::Clock& clock_;
  const MetricStoreOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, Series> series_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> unsaved_series_ ABSL_GUARDED_BY(mu_);
  // (series id, minute ms) -> samples not yet written.
  std::map<std::pair<std::string, int64_t>, Aggregate> pending_
      ABSL_GUARDED_BY(mu_);
  absl::Mutex flush_mu_ ABSL_ACQUIRED_BEFORE(mu_);
};

}  // namespace evbus::metricstore
