#include "server/metricstore/metric_queries.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/metricmath/evaluate.h"

namespace evbus::metricstore {
namespace {

absl::Status InvalidValue(absl::string_view message) {
  return common::AwsError(absl::StatusCode::kInvalidArgument,
                          "InvalidParameterValue", message);
}

// The most datapoints one GetMetricData page returns (and MaxDatapoints'
// default).
constexpr int64_t kMaxDatapoints = 100800;
// With metric math, the most periods one request may span (the same
// limit).
constexpr int64_t kMaxMathBuckets = kMaxDatapoints;

// Metric math errors (bad expressions, ids, kinds of values).
absl::Status MathError(absl::string_view message) {
  return common::AwsError(absl::StatusCode::kInvalidArgument, "ValidationError",
                          message);
}

absl::Status Missing(absl::string_view parameter) {
  return common::AwsError(
      absl::StatusCode::kInvalidArgument, "MissingParameter",
      absl::StrCat("The parameter ", parameter, " is required."));
}

// Per-period aggregates of one series in [start, end): (period start,
// merged aggregate), oldest first, periods without data left out.
absl::StatusOr<std::vector<std::pair<absl::Time, Aggregate>>> Periods(
    MetricStore& store, const std::string& ns, const std::string& name,
    const Dimensions& dims, absl::Time start, absl::Time end,
    absl::Duration period) {
  absl::Time aligned = absl::FromUnixMillis(absl::ToUnixMillis(start) -
                                            absl::ToUnixMillis(start) % 60000);
  absl::StatusOr<std::vector<MinutePoint>> minutes =
      store.Query(ns, name, dims, aligned, end);
  if (!minutes.ok()) return minutes.status();
  std::vector<std::pair<absl::Time, Aggregate>> out;
  for (const MinutePoint& p : *minutes) {
    int64_t index = (p.minute - aligned) / period;
    absl::Time bucket = aligned + index * period;
    if (out.empty() || out.back().first != bucket) {
      out.emplace_back(bucket, Aggregate());
    }
    out.back().second.Merge(p.aggregate);
  }
  return out;
}

absl::Status CheckWindow(int64_t start_ms, int64_t end_ms, int period,
                         absl::string_view period_name) {
  if (start_ms == 0) return Missing("StartTime");
  if (end_ms == 0) return Missing("EndTime");
  if (start_ms >= end_ms) {
    return InvalidValue(
        "The parameter StartTime must be less than the parameter EndTime.");
  }
  if (period == 0) return Missing(period_name);
  if (period < 0 || period % 60 != 0) {
    return InvalidValue(absl::StrCat(
        "The parameter ", period_name, " (", period,
        ") must be a positive multiple of 60 (evbus keeps one-minute "
        "resolution)."));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<evbus::v1::GetMetricStatisticsResponse> GetMetricStatistics(
    MetricStore& store, const evbus::v1::GetMetricStatisticsRequest& request) {
  if (request.namespace_().empty()) return Missing("Namespace");
  if (request.metric_name().empty()) return Missing("MetricName");
  absl::Status window =
      CheckWindow(request.start_time_ms(), request.end_time_ms(),
                  request.period(), "Period");
  if (!window.ok()) return window;
  if (request.statistics_size() == 0 &&
      request.extended_statistics_size() == 0) {
    return common::AwsError(absl::StatusCode::kInvalidArgument,
                            "InvalidParameterCombination",
                            "Must specify either Statistics or "
                            "ExtendedStatistics, but not both.");
  }
  if (request.statistics_size() > 5 ||
      request.extended_statistics_size() > 10) {
    return InvalidValue(
        "The collection Statistics must not have a size greater than 5.");
  }
  std::vector<StatisticSpec> simple, extended;
  for (const std::string& s : request.statistics()) {
    absl::StatusOr<StatisticSpec> spec = ParseStatisticName(s);
    if (!spec.ok() || spec->is_percentile()) {
      return InvalidValue(absl::StrCat(
          "1 validation error detected: Value '", s,
          "' at 'statistics' failed to satisfy constraint: Member must "
          "satisfy enum value set: [Maximum, SampleCount, Sum, Minimum, "
          "Average]"));
    }
    simple.push_back(*spec);
  }
  for (const std::string& s : request.extended_statistics()) {
    absl::StatusOr<StatisticSpec> spec = ParseStatisticName(s);
    if (!spec.ok() || !spec->is_percentile()) {
      return InvalidValue(absl::StrCat(
          "The value ", s, " for parameter ExtendedStatistics is invalid."));
    }
    extended.push_back(*spec);
  }
  int64_t points = (request.end_time_ms() - request.start_time_ms()) /
                   (int64_t{request.period()} * 1000);
  if (points > 1440) {
    return InvalidValue(absl::StrCat(
        "You have requested up to ", points,
        " datapoints, which exceeds the limit of 1440. You may reduce the "
        "datapoints requested by increasing Period, or decreasing the time "
        "range."));
  }
  absl::StatusOr<std::vector<std::pair<absl::Time, Aggregate>>> periods =
      Periods(store, request.namespace_(), request.metric_name(),
              MetricStore::DimensionsOf(request.dimensions()),
              absl::FromUnixMillis(request.start_time_ms()),
              absl::FromUnixMillis(request.end_time_ms()),
              absl::Seconds(request.period()));
  if (!periods.ok()) return periods.status();
  evbus::v1::GetMetricStatisticsResponse response;
  response.set_label(request.metric_name());
  std::string unit = request.unit();
  if (unit.empty()) {
    unit = store.UnitOf(request.namespace_(), request.metric_name(),
                        MetricStore::DimensionsOf(request.dimensions()));
  }
  if (unit.empty()) unit = "None";
  for (const auto& [time, aggregate] : *periods) {
    evbus::v1::Datapoint* d = response.add_datapoints();
    d->set_timestamp_ms(absl::ToUnixMillis(time));
    d->set_unit(unit);
    for (const StatisticSpec& spec : simple) {
      std::optional<double> v = StatisticValue(aggregate, spec);
      if (!v.has_value()) continue;
      switch (spec.kind) {
        case StatisticKind::kSampleCount:
          d->set_sample_count(*v);
          break;
        case StatisticKind::kAverage:
          d->set_average(*v);
          break;
        case StatisticKind::kSum:
          d->set_sum(*v);
          break;
        case StatisticKind::kMinimum:
          d->set_minimum(*v);
          break;
        case StatisticKind::kMaximum:
          d->set_maximum(*v);
          break;
        case StatisticKind::kPercentile:
          break;
      }
    }
    for (const StatisticSpec& spec : extended) {
      std::optional<double> v = StatisticValue(aggregate, spec);
      if (v.has_value()) (*d->mutable_extended_statistics())[spec.name] = *v;
    }
  }
  return response;
}

absl::StatusOr<evbus::v1::GetMetricDataResponse> GetMetricData(
    MetricStore& store, const evbus::v1::GetMetricDataRequest& request) {
  if (request.metric_data_queries_size() == 0) {
    return Missing("MetricDataQueries");
  }
  if (request.metric_data_queries_size() > 500) {
    return InvalidValue(
        "The collection MetricDataQueries must not have a size greater than "
        "500.");
  }
  bool ascending = request.scan_by() == "TimestampAscending";
  if (!request.scan_by().empty() && !ascending &&
      request.scan_by() != "TimestampDescending") {
    return InvalidValue(absl::StrCat(
        "1 validation error detected: Value '", request.scan_by(),
        "' at 'scanBy' failed to satisfy constraint: Member must satisfy "
        "enum value set: [TimestampDescending, TimestampAscending]"));
  }
  // Every query is checked, and the MetricStat queries' period found,
  // before anything is read.
  std::vector<metricmath::QueryInput> inputs;
  std::vector<StatisticSpec> specs(request.metric_data_queries_size());
  int stat_period = 0;  // of the MetricStat queries, when expressions exist
  bool has_expression = false;
  for (int i = 0; i < request.metric_data_queries_size(); ++i) {
    const evbus::v1::MetricDataQuery& q = request.metric_data_queries(i);
    const std::string member = absl::StrCat("MetricDataQueries.member.", i + 1);
    if (q.id().empty()) return Missing(absl::StrCat(member, ".Id"));
    metricmath::QueryInput in;
    in.id = q.id();
    in.label = q.label();
    if (q.has_metric_stat() == !q.expression().empty()) {
      return InvalidValue(
          absl::StrCat("The query ", q.id(),
                       " must have exactly one of MetricStat and Expression."));
    }
    if (!q.expression().empty()) {
      has_expression = true;
      absl::StatusOr<metricmath::Expression> e =
          metricmath::Expression::Parse(q.expression());
      if (!e.ok()) {
        return MathError(absl::StrCat("Error in the expression of query '",
                                      q.id(), "': ", e.status().message()));
      }
      in.expression = *std::move(e);
      inputs.push_back(std::move(in));
      continue;
    }
    const evbus::v1::MetricStat& stat = q.metric_stat();
    absl::Status window = CheckWindow(
        request.start_time_ms(), request.end_time_ms(), stat.period(),
        absl::StrCat(member, ".MetricStat.Period (query ", q.id(), ")"));
    if (!window.ok()) return window;
    absl::StatusOr<StatisticSpec> spec = ParseStatisticName(stat.stat());
    if (!spec.ok()) {
      return InvalidValue(absl::StrCat("The value ", stat.stat(),
                                       " for parameter ", member,
                                       ".MetricStat.Stat is invalid."));
    }
    specs[i] = *spec;
    if (in.label.empty()) in.label = stat.metric().metric_name();
    in.series.emplace();  // read below
    inputs.push_back(std::move(in));
  }
  absl::Status ids = metricmath::CheckQueries(inputs);
  if (!ids.ok()) return MathError(ids.message());
  // With metric math every series shares one grid: one period for all.
  if (has_expression) {
    std::string first_id;
    for (int i = 0; i < request.metric_data_queries_size(); ++i) {
      const evbus::v1::MetricDataQuery& q = request.metric_data_queries(i);
      const int period =
          q.has_metric_stat() ? q.metric_stat().period() : q.period();
      if (period == 0) continue;
      if (period < 0 || period % 60 != 0) {
        return InvalidValue(
            absl::StrCat("The parameter MetricDataQueries.member.", i + 1,
                         ".Period (query ", q.id(),
                         ") must be a positive multiple of 60 "
                         "(evbus keeps one-minute resolution)."));
      }
      if (stat_period == 0) {
        stat_period = period;
        first_id = q.id();
      } else if (period != stat_period) {
        return MathError(
            absl::StrCat("evbus evaluates metric math on one period: query ",
                         q.id(), " has period ", period, " and query ",
                         first_id, " ", stat_period, "."));
      }
    }
    if (stat_period == 0) stat_period = 60;
    absl::Status window = CheckWindow(
        request.start_time_ms(), request.end_time_ms(), stat_period, "Period");
    if (!window.ok()) return window;
  }

  // Results are made per query, then listed in the order of the queries.
  std::vector<std::vector<evbus::v1::MetricDataResult>> results(
      static_cast<size_t>(request.metric_data_queries_size()));
  auto add_result = [&](int query, const std::string& label,
                        std::vector<std::pair<absl::Time, double>> values) {
    evbus::v1::MetricDataResult* r =
        &results[static_cast<size_t>(query)].emplace_back();
    r->set_id(request.metric_data_queries(query).id());
    r->set_label(label);
    r->set_status_code("Complete");
    if (!ascending) std::reverse(values.begin(), values.end());
    for (size_t k = 0; k < values.size(); ++k) {
      r->add_timestamps_ms(absl::ToUnixMillis(values[k].first));
      r->add_values(values[k].second);
    }
  };
  const absl::Time start = absl::FromUnixMillis(request.start_time_ms());
  const absl::Time end = absl::FromUnixMillis(request.end_time_ms());
  const absl::Time aligned = absl::FromUnixMillis(
      request.start_time_ms() - request.start_time_ms() % 60000);
  metricmath::Grid grid;
  if (has_expression) {
    grid.start = aligned;
    grid.period = absl::Seconds(stat_period);
    const int64_t buckets =
        (end - aligned + grid.period - absl::Nanoseconds(1)) / grid.period;
    // Every series of the request is held on the grid: bound it as
    // GetMetricData bounds the datapoints it returns.
    if (buckets > kMaxMathBuckets) {
      return MathError(absl::StrCat(
          "The metric math of this request spans ", buckets, " periods of ",
          stat_period, " s; the limit is ", kMaxMathBuckets,
          ". Reduce the time range or increase the period."));
    }
    grid.count = static_cast<int>(buckets);
    // The fetched series alone must fit the budget, before any is read.
    int64_t stat_queries = 0;
    for (const metricmath::QueryInput& in : inputs) {
      stat_queries += in.series.has_value() ? 1 : 0;
    }
    if (stat_queries * (buckets + 1) > metricmath::kMaxValues) {
      return MathError(absl::StrCat(
          "The metric math of this request needs ", stat_queries, " series of ",
          buckets, " periods, more than ", metricmath::kMaxValues,
          " values in all; reduce the time range or the number of queries, "
          "or use a longer period."));
    }
  }
  for (int i = 0; i < request.metric_data_queries_size(); ++i) {
    const evbus::v1::MetricDataQuery& q = request.metric_data_queries(i);
    if (!q.has_metric_stat()) continue;
    const evbus::v1::MetricStat& stat = q.metric_stat();
    absl::StatusOr<std::vector<std::pair<absl::Time, Aggregate>>> periods =
        Periods(store, stat.metric().namespace_(), stat.metric().metric_name(),
                MetricStore::DimensionsOf(stat.metric().dimensions()), start,
                end, absl::Seconds(stat.period()));
    if (!periods.ok()) return periods.status();
    std::vector<std::pair<absl::Time, double>> values;
    for (const auto& [time, aggregate] : *periods) {
      std::optional<double> v = StatisticValue(aggregate, specs[i]);
      if (v.has_value()) values.emplace_back(time, *v);
    }
    if (has_expression) {
      metricmath::Series& series = *inputs[i].series;
      series.assign(static_cast<size_t>(grid.count), std::nullopt);
      for (const auto& [time, v] : values) {
        const int64_t k = (time - grid.start) / grid.period;
        if (k >= 0 && k < grid.count) series[static_cast<size_t>(k)] = v;
      }
    }
    if (q.has_return_data() && !q.return_data()) continue;
    add_result(i, inputs[i].label, std::move(values));
  }

  absl::StatusOr<std::vector<metricmath::Value>> values =
      has_expression ? metricmath::EvaluateQueries(grid, inputs)
                     : std::vector<metricmath::Value>();
  if (!values.ok()) return MathError(values.status().message());
  auto points = [&grid](const metricmath::Series& s) {
    std::vector<std::pair<absl::Time, double>> out;
    for (int k = 0; k < grid.count; ++k) {
      const std::optional<double>& v = s[static_cast<size_t>(k)];
      if (v.has_value()) out.emplace_back(grid.BucketStart(k), *v);
    }
    return out;
  };
  for (int i = 0; i < request.metric_data_queries_size(); ++i) {
    const evbus::v1::MetricDataQuery& q = request.metric_data_queries(i);
    if (!has_expression || q.has_metric_stat()) continue;
    if (q.has_return_data() && !q.return_data()) continue;
    const metricmath::Value& v = (*values)[static_cast<size_t>(i)];
    const std::string label = q.label().empty() ? q.id() : q.label();
    if (v.kind == metricmath::Value::Kind::kArray) {
      for (size_t m = 0; m < v.array.size(); ++m) {
        add_result(
            i,
            v.labels[m].empty() ? label : absl::StrCat(label, " ", v.labels[m]),
            points(v.array[m]));
      }
      continue;
    }
    absl::StatusOr<metricmath::Series> s = v.AsSeries(grid);
    if (!s.ok()) return MathError(s.status().message());
    add_result(i, label, points(*s));
  }
  // Pages of at most MaxDatapoints datapoints in all: the results' points
  // in order, from the offset the NextToken holds. A result cut short is
  // PartialData, and the NextToken says where the next page starts.
  const int64_t limit =
      request.max_datapoints() > 0 ? request.max_datapoints() : kMaxDatapoints;
  int64_t offset = 0;
  if (!request.next_token().empty() &&
      (!absl::SimpleAtoi(request.next_token(), &offset) || offset < 0)) {
    return common::AwsError(absl::StatusCode::kInvalidArgument,
                            "InvalidNextToken",
                            "The service couldn't process the NextToken.");
  }
  evbus::v1::GetMetricDataResponse response;
  int64_t position = 0;  // datapoints before the current result
  int64_t returned = 0;
  for (std::vector<evbus::v1::MetricDataResult>& list : results) {
    for (evbus::v1::MetricDataResult& r : list) {
      const int64_t size = r.values_size();
      const int64_t first = std::max<int64_t>(0, offset - position);
      position += size;
      // Results already returned whole on earlier pages are left out; an
      // empty result is listed on the first page.
      if (first >= size && (size > 0 || offset > 0)) continue;
      if (returned == limit) {  // this result starts the next page
        response.set_next_token(absl::StrCat(offset + returned));
        return response;
      }
      const int64_t take = std::min(size - first, limit - returned);
      evbus::v1::MetricDataResult* out = response.add_metric_data_results();
      out->set_id(r.id());
      out->set_label(r.label());
      out->set_status_code(first + take < size ? "PartialData" : "Complete");
      for (int64_t k = first; k < first + take; ++k) {
        out->add_timestamps_ms(r.timestamps_ms(static_cast<int>(k)));
        out->add_values(r.values(static_cast<int>(k)));
      }
      returned += take;
      if (first + take < size) {
        response.set_next_token(absl::StrCat(offset + returned));
        return response;
      }
    }
  }
  return response;
}

}  // namespace evbus::metricstore
