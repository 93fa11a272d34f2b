// File: server/metricmath/evaluate.h
//
// Evaluates a set of metric data queries (MetricStat queries whose series
// the caller fetched, and Expression queries over them) on one grid of
// period buckets, in dependency order. Pure: the caller reads the metric
// store; this file only computes. Semantics are those of expression.h.
//
// Thread safety: pure functions; thread-safe.
//
// Example:
//   Grid grid{.start = t0, .period = absl::Minutes(1), .count = 5};
//   std::vector<QueryInput> queries = {
//       {.id = "e", .series = errors},            // fetched MetricStat
//       {.id = "i", .series = invocations},
//       {.id = "r", .expression = *Expression::Parse("100*e/i")}};
//   absl::StatusOr<std::vector<Value>> values = EvaluateQueries(grid, queries);
//   // (*values)[2].series: the error rate per bucket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/metricmath/expression.h"

namespace evbus::metricmath {

// The most values (one per bucket of a series, the fetched series
// included) one EvaluateQueries may hold or produce in all, and the most
// time series one value may hold (CloudWatch: an expression returns at
// most 500). They bound the memory and time of any request.
inline constexpr int64_t kMaxValues = 2'000'000;
inline constexpr size_t kMaxSeriesPerValue = 500;

// Buckets start, start + period, ..., start + (count - 1) * period.
struct Grid {
  absl::Time start;
  absl::Duration period = absl::Minutes(1);
  int count = 0;

  absl::Time BucketStart(int i) const { return start + period * i; }
};

// One value per bucket of the grid, oldest first; nullopt: no datapoint.
using Series = std::vector<std::optional<double>>;

struct Value {
  enum class Kind { kScalar, kSeries, kArray };
  Kind kind = Kind::kScalar;
  std::optional<double> scalar;     // kScalar (nullopt: no value, e.g. AVG of
                                    // a series without datapoints)
  Series series;                    // kSeries
  std::vector<Series> array;        // kArray
  std::vector<std::string> labels;  // kArray: each member's label

  // The value as one series on `grid`: a series as it is, a scalar in every
  // bucket. InvalidArgument for an array.
  absl::StatusOr<Series> AsSeries(const Grid& grid) const;
};

// A query of the set: either a fetched series (MetricStat) or an expression.
struct QueryInput {
  std::string id;
  std::string label;                     // METRICS("text") filters on it
  std::optional<Series> series;          // MetricStat: fetched, grid-sized
  std::optional<Expression> expression;  // Expression queries
};

// Checks the set without evaluating it: ids valid and unique, every id an
// expression names exists, no cycle. InvalidArgument naming the query:
//   "Invalid id 'X': ids start with a lower-case letter ..."
//   "Duplicate id 'X' in the metrics list."
//   "The expression of query 'X' refers to unknown id 'Y'."
//   "Circular dependency between queries: a -> b -> a."
absl::Status CheckQueries(const std::vector<QueryInput>& queries);

// Evaluates every query (CheckQueries first). Returns one Value per query,
// in the order given. InvalidArgument for what only evaluation finds, e.g.
// two arrays combined or a function given the wrong kind of value, naming
// the query and the position in its expression; and when the evaluation
// would exceed kMaxValues or an array kMaxSeriesPerValue (it stops there:
// the memory it takes is bounded by the budget).
absl::StatusOr<std::vector<Value>> EvaluateQueries(
    const Grid& grid, const std::vector<QueryInput>& queries);

}  // namespace evbus::metricmath
