// File: server/metricstore/datapoint.h
//
// The per-period aggregate a CloudWatch-style metric store keeps for one
// metric (namespace, name, dimension set, unit) and one period bucket:
// SampleCount, Sum, Minimum and Maximum exactly, plus a mergeable quantile
// sketch for percentile statistics (p50, p99, p99.9, ...). Pure: no I/O, no
// storage; the store persists Serialize() bytes and merges buckets into
// coarser periods with Merge().
//
// The sketch is a DDSketch-style log-bucketed histogram (Masson, Rim, Lee,
// "DDSketch: a fast and fully-mergeable quantile sketch with
// relative-error guarantees", VLDB 2019): a value x > 0 goes to bucket
// ceil(log_gamma(x)) with gamma = (1 + a) / (1 - a), a = 1%, so any quantile
// the sketch returns is within 1% (relative) of a value of the requested
// rank. Negative values use a mirrored set of buckets, zero (and subnormal
// values) a zero bucket. Buckets are stored sparsely (index -> count), so an
// aggregate of one sample costs a single bucket; at most kMaxSketchBins
// buckets per sign are kept (the ones nearest zero are collapsed first, which
// affects only the lowest-magnitude percentiles).
//
// Thread safety: Aggregate and QuantileSketch are values (thread-compatible);
// the free functions are thread-safe.
//
// Example:
//   Aggregate a;
//   EVBUS_RETURN_IF_ERROR(a.Add(12.5));                     // one sample
//   EVBUS_RETURN_IF_ERROR(a.Add(40.0, 3));                  // Values+Counts
//   EVBUS_RETURN_IF_ERROR(a.AddStatisticSet(10, 500, 1, 90));  //
//   StatisticValues absl::StatusOr<double> avg = Statistic(a, "Average");
//   absl::StatusOr<double> p99 = Statistic(a, "p99");  // from the 4 samples
//   std::string bytes = a.Serialize();
//   absl::StatusOr<Aggregate> back = Aggregate::Parse(bytes);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evbus::metricstore {

// CloudWatch's StandardUnit, in the API model's order (PutMetricData and
// PutMetricAlarm accept these and no other).
inline constexpr absl::string_view kStandardUnits[] = {"Seconds",
                                                       "Microseconds",
                                                       "Milliseconds",
                                                       "Bytes",
                                                       "Kilobytes",
                                                       "Megabytes",
                                                       "Gigabytes",
                                                       "Terabytes",
                                                       "Bits",
                                                       "Kilobits",
                                                       "Megabits",
                                                       "Gigabits",
                                                       "Terabits",
                                                       "Percent",
                                                       "Count",
                                                       "Bytes/Second",
                                                       "Kilobytes/Second",
                                                       "Megabytes/Second",
                                                       "Gigabytes/Second",
                                                       "Terabytes/Second",
                                                       "Bits/Second",
                                                       "Kilobits/Second",
                                                       "Megabits/Second",
                                                       "Gigabits/Second",
                                                       "Terabits/Second",
                                                       "Count/Second",
                                                       "None"};

// Relative accuracy of QuantileSketch::Quantile (a in the header comment).
inline constexpr double kSketchRelativeAccuracy = 0.01;
// Buckets kept per sign (positive values, negative values).
inline constexpr size_t kMaxSketchBins = 2048;

// A mergeable quantile sketch with relative-error guarantees. Counts are
// doubles because CloudWatch's Values/Counts and StatisticValues.SampleCount
// are doubles. Thread-compatible value type.
class QuantileSketch {
 public:
  QuantileSketch() = default;

  // Adds `count` occurrences of `value`.
  // REQUIRES: `value` finite, `count` finite and > 0 (Aggregate checks).
  void Add(double value, double count);

  // Adds every sample of `other` (bucket-wise sum; exact, order-independent
  // up to floating-point addition of counts).
  void Merge(const QuantileSketch& other);

  // Total count of samples added.
  double count() const;
  bool empty() const;
  // Exact extremes of the added values. REQUIRES: !empty().
  double min() const { return min_; }
  double max() const { return max_; }
  // Number of non-empty buckets (zero bucket included).
  size_t bin_count() const;

  // The nearest-rank percentile: the value of 1-based rank ceil(q × count)
  // in sorted order (the smallest value with at least q of the samples at or
  // below it: p99 of {12, 30} is 30, p50 is 12), within
  // kSketchRelativeAccuracy relative error (exact for q = 0 and q = 1, which
  // are the minimum and maximum). `q` is clamped to [0, 1]. nullopt when the
  // sketch is empty.
  std::optional<double> Quantile(double q) const;

  bool operator==(const QuantileSketch& other) const = default;

 private:
  friend struct Aggregate;  // serialises the sketch

  // Appends the bucket encoding (see datapoint.cc) to `out`, and the
  // extremes when `with_extremes`.
  void EncodeTo(std::string* out, bool with_extremes) const;
  // Decodes from the front of `*in`, advancing it. Without stored extremes a
  // non-empty sketch takes [min, max]. DataLoss on truncated or invalid
  // input.
  static absl::StatusOr<QuantileSketch> DecodeFrom(absl::string_view* in,
                                                   bool with_extremes,
                                                   double min, double max);
  // Sorted by bucket index, counts > 0.
  using Bins = std::vector<std::pair<int32_t, double>>;

  // The representative value of the bucket holding rank q × (count − 1).
  // REQUIRES: !empty().
  double BucketQuantile(double q) const;
  static void AddToBins(Bins& bins, int32_t index, double count);
  static void MergeBins(Bins& into, const Bins& from);
  static void Collapse(Bins& bins);

  Bins positive_;  // values > 0, by ceil(log_gamma(x))
  Bins negative_;  // values < 0, by ceil(log_gamma(-x))
  double zero_count_ = 0;
  // Exact extremes of the added values (meaningful when not empty): p0 and
  // p100 are exact, and every estimate is clamped to [min_, max_].
  double min_ = 0;
  double max_ = 0;
};

// The aggregate of one metric over one period. Fields are public so that the
// store and the query code can read them directly; use the member functions
// to change them so that the sketch stays consistent.
//
// SampleCount/Sum/Minimum/Maximum are exact. Percentiles come from the
// sketch, which holds only individually added values (Add); statistic sets
// (AddStatisticSet) carry no distribution and add nothing to it.
struct Aggregate {
  double sample_count = 0;
  double sum = 0;
  double minimum = 0;  // meaningful only when sample_count > 0
  double maximum = 0;  // meaningful only when sample_count > 0
  QuantileSketch sketch;

  bool empty() const { return sample_count <= 0; }

  // One sample (PutMetricData Value). InvalidArgument when `value` is NaN or
  // infinite.
  absl::Status Add(double value);
  // `count` samples of `value` (PutMetricData Values[] + Counts[]).
  // InvalidArgument when `value` is not finite or `count` is negative, NaN or
  // infinite. A zero count is accepted and changes nothing.
  absl::Status Add(double value, double count);
  // A pre-aggregated statistic set (PutMetricData StatisticValues).
  // InvalidArgument when a field is not finite, `sample_count` <= 0 or
  // `minimum` > `maximum`. Contributes no percentile information.
  absl::Status AddStatisticSet(double sample_count, double sum, double minimum,
                               double maximum);
  // Combines `other` into this aggregate (e.g. 1-minute buckets into a
  // 5-minute period). Merging is equivalent to adding the same samples to one
  // aggregate.
  void Merge(const Aggregate& other);

  // Percentile `p` in [0, 100] of the individually added samples (see
  // QuantileSketch::Quantile: within 1%, p0 and p100 exact). nullopt when the
  // sketch is empty (no samples, or only statistic sets).
  std::optional<double> Percentile(double p) const;

  // Compact, versioned binary encoding (format in datapoint.cc).
  std::string Serialize() const;
  // Inverse of Serialize(). DataLoss when `bytes` is truncated, has trailing
  // bytes, an unknown version, or inconsistent contents. Never crashes on
  // arbitrary input.
  static absl::StatusOr<Aggregate> Parse(absl::string_view bytes);

  bool operator==(const Aggregate& other) const = default;
};

// The statistics a CloudWatch query or alarm may ask for.
enum class StatisticKind {
  kSampleCount,
  kAverage,
  kSum,
  kMinimum,
  kMaximum,
  kPercentile,  // ExtendedStatistic pNN / pNN.NN
};

struct StatisticSpec {
  StatisticKind kind = StatisticKind::kSum;
  double percentile = 0;  // kPercentile only: 0..100
  std::string name;       // as given, e.g. "Sum", "p99.9"

  bool is_percentile() const { return kind == StatisticKind::kPercentile; }
};

// Validates a statistic name: "SampleCount", "Average", "Sum", "Minimum",
// "Maximum" (case-sensitive, as CloudWatch), or a percentile matching
// CloudWatch's documented pattern p(\d{1,2}(\.\d{0,2})?|100) — p0 .. p100,
// e.g. p50, p99.9, p99.99. Other extended statistics (tm90, tc90, ts90,
// wm90, IQM, PR(..), TM(..), ...) are not implemented.
//
// Errors:
//   InvalidArgument: "Invalid statistic 'foo': expected SampleCount, Average,
//     Sum, Minimum, Maximum or a percentile such as p99 or p99.9"
//   Unimplemented (a valid CloudWatch extended statistic that evbus does not
//     compute: tm/tc/ts/wm/IQM/PR/TM/TC/TS/WM): "Unsupported statistic
//     'tm90': only SampleCount, Average, Sum, Minimum, Maximum and
//     percentiles p0..p100 are implemented"
// API layers map these to their own AWS texts.
absl::StatusOr<StatisticSpec> ParseStatisticName(absl::string_view name);

// True for exactly the five names of CloudWatch's Statistic enum.
bool IsSimpleStatistic(absl::string_view name);

// The value of `spec` over `aggregate`; nullopt when there is none (empty
// aggregate, or a percentile with an empty sketch).
std::optional<double> StatisticValue(const Aggregate& aggregate,
                                     const StatisticSpec& spec);

// ParseStatisticName + StatisticValue.
// Errors: InvalidArgument / Unimplemented for a bad name (see
// ParseStatisticName);
// NotFound when the aggregate has no value for the statistic (empty, or a
// percentile requested but only statistic sets were added) — CloudWatch omits
// such datapoints.
absl::StatusOr<double> Statistic(const Aggregate& aggregate,
                                 absl::string_view stat);

}  // namespace evbus::metricstore
