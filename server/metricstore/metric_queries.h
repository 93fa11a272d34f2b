// File: server/metricstore/metric_queries.h
//
// CloudWatch's read APIs over a MetricStore: GetMetricStatistics (every
// statistic of one metric per period) and GetMetricData (MetricStat queries
// and metric math expressions over them, evaluated by server/metricmath;
// with expressions, every query is on one period and the request spans at
// most 100,800 periods). Results come in the order of the queries; an
// expression whose value is an array gives one result per member. Metric
// math errors are ValidationError. Periods are aligned to the start
// time (floored to the minute); periods without data are omitted, as
// CloudWatch does. Validation errors carry CloudWatch's exception names.
//
// Thread safety: as MetricStore.
#pragma once

#include "absl/status/statusor.h"
#include "evbus/v1/cloudwatch.pb.h"
#include "server/metricstore/metric_store.h"

namespace evbus::metricstore {

absl::StatusOr<evbus::v1::GetMetricStatisticsResponse> GetMetricStatistics(
    MetricStore& store, const evbus::v1::GetMetricStatisticsRequest& request);

absl::StatusOr<evbus::v1::GetMetricDataResponse> GetMetricData(
    MetricStore& store, const evbus::v1::GetMetricDataRequest& request);

}  // namespace evbus::metricstore
