#include "server/metricstore/metric_store.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/metricstore/metric_queries.h"
#include "tests/testing/temp_dir.h"

namespace evbus::metricstore {
namespace {

absl::Time T(const char* rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

class MetricStoreTest : public ::testing::Test {
 protected:
  void Open() {
    absl::StatusOr<std::unique_ptr<storage::Store>> s =
        storage::Store::Open({.path = dir_.Join("db")});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    metrics_ =
        std::make_unique<MetricStore>(*store_, clock_, MetricStoreOptions{});
    ASSERT_TRUE(metrics_->Load().ok());
  }
  void SetUp() override { Open(); }

  testing::TempDir dir_;
  common::ManualClock clock_{T("2026-03-01T12:00:00Z")};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<MetricStore> metrics_;
};

TEST_F(MetricStoreTest, AggregatesPerMinuteAndSurvivesReopen) {
  Dimensions fn = {{"FunctionName", "hc"}};
  metrics_->Record("AWS/Lambda", "Duration", fn, T("2026-03-01T12:00:05Z"), 10);
  metrics_->Record("AWS/Lambda", "Duration", fn, T("2026-03-01T12:00:50Z"), 30);
  metrics_->Record("AWS/Lambda", "Duration", fn, T("2026-03-01T12:01:10Z"), 20);
  ASSERT_TRUE(metrics_->Flush().ok());
  // Recorded again after a flush: merged with what is stored.
  metrics_->Record("AWS/Lambda", "Duration", fn, T("2026-03-01T12:00:59Z"), 2);
  ASSERT_TRUE(metrics_->Flush().ok());
  // Not flushed: lost with the instance (metrics are written once a second).
  metrics_->Record("AWS/Lambda", "Duration", fn, T("2026-03-01T12:00:58Z"), 7);
  metrics_.reset();
  store_.reset();
  Open();
  absl::StatusOr<std::vector<MinutePoint>> points =
      metrics_->Query("AWS/Lambda", "Duration", fn, T("2026-03-01T11:00:00Z"),
                      T("2026-03-01T13:00:00Z"));
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 2u);
  EXPECT_EQ((*points)[0].minute, T("2026-03-01T12:00:00Z"));
  EXPECT_EQ((*points)[0].aggregate.sample_count, 3);
  EXPECT_EQ((*points)[0].aggregate.sum, 42);
  EXPECT_EQ((*points)[0].aggregate.maximum, 30);
  EXPECT_EQ((*points)[1].aggregate.sample_count, 1);
  // Different dimensions are a different series.
  points =
      metrics_->Query("AWS/Lambda", "Duration", {}, T("2026-03-01T11:00:00Z"),
                      T("2026-03-01T13:00:00Z"));
  ASSERT_TRUE(points.ok());
  EXPECT_TRUE(points->empty());
  std::vector<evbus::v1::Metric> listed =
      metrics_->ListMetrics("AWS/Lambda", "", {{"FunctionName", ""}});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].dimensions(0).value(), "hc");
}

TEST_F(MetricStoreTest, PutMetricDataValidatesAndGetMetricStatisticsReads) {
  evbus::v1::PutMetricDataRequest put;
  put.set_namespace_("Custom/App");
  for (int minute = 0; minute < 5; ++minute) {
    evbus::v1::MetricDatum* d = put.add_metric_data();
    d->set_metric_name("Latency");
    d->set_timestamp_ms(absl::ToUnixMillis(T("2026-03-01T11:50:00Z")) +
                        minute * 60000);
    for (int v = 1; v <= 100; ++v) d->add_values(v);
  }
  ASSERT_TRUE(metrics_->PutMetricData(put).ok());

  evbus::v1::GetMetricStatisticsRequest get;
  get.set_namespace_("Custom/App");
  get.set_metric_name("Latency");
  get.set_start_time_ms(absl::ToUnixMillis(T("2026-03-01T11:50:00Z")));
  get.set_end_time_ms(absl::ToUnixMillis(T("2026-03-01T12:00:00Z")));
  get.set_period(300);
  get.add_statistics("Sum");
  get.add_statistics("SampleCount");
  get.add_statistics("Average");
  get.add_extended_statistics("p90");
  absl::StatusOr<evbus::v1::GetMetricStatisticsResponse> r =
      GetMetricStatistics(*metrics_, get);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->datapoints_size(), 1);
  EXPECT_EQ(r->datapoints(0).sum(), 5 * 5050);
  EXPECT_EQ(r->datapoints(0).sample_count(), 500);
  EXPECT_DOUBLE_EQ(r->datapoints(0).average(), 50.5);
  EXPECT_NEAR(r->datapoints(0).extended_statistics().at("p90"), 90, 2);

  evbus::v1::GetMetricDataRequest data;
  evbus::v1::MetricDataQuery* q = data.add_metric_data_queries();
  q->set_id("m1");
  q->mutable_metric_stat()->mutable_metric()->set_namespace_("Custom/App");
  q->mutable_metric_stat()->mutable_metric()->set_metric_name("Latency");
  q->mutable_metric_stat()->set_period(60);
  q->mutable_metric_stat()->set_stat("Maximum");
  data.set_start_time_ms(get.start_time_ms());
  data.set_end_time_ms(get.end_time_ms());
  absl::StatusOr<evbus::v1::GetMetricDataResponse> d =
      GetMetricData(*metrics_, data);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->metric_data_results(0).values_size(), 5);
  // Newest first by default.
  EXPECT_GT(d->metric_data_results(0).timestamps_ms(0),
            d->metric_data_results(0).timestamps_ms(4));
  EXPECT_EQ(d->metric_data_results(0).values(0), 100);

  // Bad input is refused whole, naming the parameter.
  evbus::v1::PutMetricDataRequest bad = put;
  bad.mutable_metric_data(3)->set_value(1);
  absl::Status s = metrics_->PutMetricData(bad);
  EXPECT_NE(s.message().find("InvalidParameterCombination"), std::string::npos);
  EXPECT_NE(s.message().find("MetricData.member.4"), std::string::npos) << s;
  bad = put;
  bad.set_namespace_("AWS/Lambda");
  EXPECT_NE(metrics_->PutMetricData(bad).message().find("Namespace"),
            std::string::npos);
  bad = put;
  bad.mutable_metric_data(0)->set_timestamp_ms(
      absl::ToUnixMillis(T("2026-01-01T00:00:00Z")));
  EXPECT_NE(metrics_->PutMetricData(bad).message().find("Timestamp"),
            std::string::npos);
  get.set_period(90);
  EXPECT_FALSE(GetMetricStatistics(*metrics_, get).ok());
}

// MaxDatapoints bounds the datapoints of a page across all results; a
// result cut short is PartialData and NextToken fetches the rest.
TEST_F(MetricStoreTest, GetMetricDataPagesByMaxDatapoints) {
  for (int i = 0; i < 5; ++i) {
    const absl::Time t = T("2026-03-01T12:00:10Z") + absl::Minutes(i);
    metrics_->Record("App", "a", {}, t, i + 1);
    metrics_->Record("App", "b", {}, t, 10 * (i + 1));
  }
  ASSERT_TRUE(metrics_->Flush().ok());
  evbus::v1::GetMetricDataRequest data;
  for (const char* name : {"a", "b"}) {
    evbus::v1::MetricDataQuery* q = data.add_metric_data_queries();
    q->set_id(name);
    q->mutable_metric_stat()->mutable_metric()->set_namespace_("App");
    q->mutable_metric_stat()->mutable_metric()->set_metric_name(name);
    q->mutable_metric_stat()->set_period(60);
    q->mutable_metric_stat()->set_stat("Sum");
  }
  data.set_start_time_ms(absl::ToUnixMillis(T("2026-03-01T12:00:00Z")));
  data.set_end_time_ms(absl::ToUnixMillis(T("2026-03-01T12:10:00Z")));
  data.set_scan_by("TimestampAscending");
  data.set_max_datapoints(4);
  std::vector<std::string> pages;
  for (int page = 0; page < 5; ++page) {
    absl::StatusOr<evbus::v1::GetMetricDataResponse> d =
        GetMetricData(*metrics_, data);
    ASSERT_TRUE(d.ok()) << d.status();
    std::string text;
    for (const evbus::v1::MetricDataResult& r : d->metric_data_results()) {
      absl::StrAppend(&text, r.id(), "(", r.status_code(), "):");
      for (double v : r.values()) absl::StrAppend(&text, " ", v);
      text += "; ";
    }
    pages.push_back(text);
    if (d->next_token().empty()) break;
    data.set_next_token(d->next_token());
  }
  EXPECT_THAT(pages, ::testing::ElementsAre(
                         "a(PartialData): 1 2 3 4; ",
                         "a(Complete): 5; b(PartialData): 10 20 30; ",
                         "b(Complete): 40 50; "));
  // Ids are checked with or without expressions (lower-case first, unique).
  evbus::v1::GetMetricDataRequest bad = data;
  bad.clear_next_token();
  bad.mutable_metric_data_queries(0)->set_id("A");
  EXPECT_NE(
      GetMetricData(*metrics_, bad).status().message().find("Invalid id 'A'"),
      std::string::npos);
  bad.mutable_metric_data_queries(0)->set_id("b");
  EXPECT_NE(
      GetMetricData(*metrics_, bad).status().message().find("Duplicate id 'b'"),
      std::string::npos);
  data.set_next_token("not-a-token");
  EXPECT_NE(GetMetricData(*metrics_, data)
                .status()
                .message()
                .find("InvalidNextToken"),
            std::string::npos);
}

// GetMetricData with metric math: an error rate over two metrics, results
// in the order of the queries, buckets missing in either metric left out.
TEST_F(MetricStoreTest, GetMetricDataEvaluatesExpressions) {
  Dimensions fn = {{"FunctionName", "hc"}};
  // Minutes 12:00..12:03: errors 1, -, 3, 0; invocations 10, 5, 6, -.
  const char* minutes[] = {"2026-03-01T12:00:10Z", "2026-03-01T12:01:10Z",
                           "2026-03-01T12:02:10Z", "2026-03-01T12:03:10Z"};
  const double errors[] = {1, -1, 3, 0};
  const double calls[] = {10, 5, 6, -1};
  for (int i = 0; i < 4; ++i) {
    if (errors[i] >= 0) {
      metrics_->Record("AWS/Lambda", "Errors", fn, T(minutes[i]), errors[i]);
    }
    if (calls[i] >= 0) {
      metrics_->Record("AWS/Lambda", "Invocations", fn, T(minutes[i]),
                       calls[i]);
    }
  }
  ASSERT_TRUE(metrics_->Flush().ok());
  evbus::v1::GetMetricDataRequest data;
  auto stat = [&](const char* id, const char* name) {
    evbus::v1::MetricDataQuery* q = data.add_metric_data_queries();
    q->set_id(id);
    q->set_return_data(false);
    evbus::v1::MetricStat* s = q->mutable_metric_stat();
    s->mutable_metric()->set_namespace_("AWS/Lambda");
    s->mutable_metric()->set_metric_name(name);
    evbus::v1::Dimension* d = s->mutable_metric()->add_dimensions();
    d->set_name("FunctionName");
    d->set_value("hc");
    s->set_period(60);
    s->set_stat("Sum");
  };
  evbus::v1::MetricDataQuery* rate = data.add_metric_data_queries();
  rate->set_id("rate");
  rate->set_expression("100*e/i");
  rate->set_label("Error rate");
  stat("e", "Errors");
  stat("i", "Invocations");
  evbus::v1::MetricDataQuery* all = data.add_metric_data_queries();
  all->set_id("all");
  all->set_expression("SUM(METRICS())");
  data.set_start_time_ms(absl::ToUnixMillis(T("2026-03-01T12:00:00Z")));
  data.set_end_time_ms(absl::ToUnixMillis(T("2026-03-01T12:05:00Z")));
  data.set_scan_by("TimestampAscending");
  absl::StatusOr<evbus::v1::GetMetricDataResponse> d =
      GetMetricData(*metrics_, data);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->metric_data_results_size(), 2);
  const evbus::v1::MetricDataResult& r = d->metric_data_results(0);
  EXPECT_EQ(r.id(), "rate");
  EXPECT_EQ(r.label(), "Error rate");
  ASSERT_EQ(r.values_size(), 2);
  EXPECT_EQ(r.timestamps_ms(0), absl::ToUnixMillis(T("2026-03-01T12:00:00Z")));
  EXPECT_DOUBLE_EQ(r.values(0), 10);
  EXPECT_EQ(r.timestamps_ms(1), absl::ToUnixMillis(T("2026-03-01T12:02:00Z")));
  EXPECT_DOUBLE_EQ(r.values(1), 50);
  const evbus::v1::MetricDataResult& sum = d->metric_data_results(1);
  EXPECT_EQ(sum.id(), "all");
  EXPECT_EQ(sum.label(), "all");
  ASSERT_EQ(sum.values_size(), 4);
  EXPECT_DOUBLE_EQ(sum.values(0), 11);
  EXPECT_DOUBLE_EQ(sum.values(1), 5);
  EXPECT_DOUBLE_EQ(sum.values(2), 9);
  EXPECT_DOUBLE_EQ(sum.values(3), 0);

  // Bad expressions are refused, naming the query.
  evbus::v1::GetMetricDataRequest bad = data;
  bad.mutable_metric_data_queries(0)->set_expression("100*e/x");
  absl::Status s = GetMetricData(*metrics_, bad).status();
  EXPECT_NE(s.message().find("ValidationError"), std::string::npos) << s;
  EXPECT_NE(s.message().find("unknown id 'x'"), std::string::npos) << s;
  bad = data;
  bad.mutable_metric_data_queries(0)->set_expression("100*e/");
  s = GetMetricData(*metrics_, bad).status();
  EXPECT_NE(s.message().find("query 'rate'"), std::string::npos) << s;
  bad = data;
  bad.mutable_metric_data_queries(1)->mutable_metric_stat()->set_period(120);
  s = GetMetricData(*metrics_, bad).status();
  EXPECT_NE(s.message().find("one period"), std::string::npos) << s;
  bad = data;
  bad.mutable_metric_data_queries(1)->set_expression("1");
  s = GetMetricData(*metrics_, bad).status();
  EXPECT_NE(s.message().find("exactly one of MetricStat and Expression"),
            std::string::npos)
      << s;
}

// CloudWatch rejects values beyond ±2^360 (spec §4.6) in every form a datum
// can carry them, and nothing of the request is stored.
TEST_F(MetricStoreTest, PutMetricDataRejectsValuesBeyond2To360) {
  auto request = [](auto fill) {
    evbus::v1::PutMetricDataRequest put;
    put.set_namespace_("QA");
    evbus::v1::MetricDatum* d = put.add_metric_data();
    d->set_metric_name("m");
    fill(d);
    return put;
  };
  auto invalid = [&](const evbus::v1::PutMetricDataRequest& put) {
    return std::string(metrics_->PutMetricData(put).message());
  };
  EXPECT_EQ(invalid(request([](auto* d) { d->set_value(1e300); })),
            "InvalidParameterValue: The value 1e+300 for parameter "
            "MetricData.member.1.Value is invalid.");
  EXPECT_EQ(invalid(request([](auto* d) { d->set_value(-1e300); })),
            "InvalidParameterValue: The value -1e+300 for parameter "
            "MetricData.member.1.Value is invalid.");
  EXPECT_EQ(invalid(request([](auto* d) {
              d->add_values(1);
              d->add_values(1e300);
              d->add_counts(1);
              d->add_counts(1);
            })),
            "InvalidParameterValue: The value 1e+300 for parameter "
            "MetricData.member.1.Values.member.2 is invalid.");
  EXPECT_EQ(invalid(request([](auto* d) {
              evbus::v1::StatisticSet* s = d->mutable_statistic_values();
              s->set_sample_count(1);
              s->set_sum(1e300);
              s->set_minimum(1e300);
              s->set_maximum(1e300);
            })),
            "InvalidParameterValue: The value 1e+300 for parameter "
            "MetricData.member.1.StatisticValues.Sum is invalid.");
  // The bounds themselves are accepted.
  EXPECT_TRUE(metrics_
                  ->PutMetricData(
                      request([](auto* d) { d->set_value(kMaxMetricValue); }))
                  .ok());
  EXPECT_TRUE(metrics_
                  ->PutMetricData(
                      request([](auto* d) { d->set_value(-kMaxMetricValue); }))
                  .ok());
  EXPECT_FALSE(metrics_
                   ->PutMetricData(request([](auto* d) {
                     d->set_value(std::nextafter(kMaxMetricValue, 1e308));
                   }))
                   .ok());
}

// Unit is the model's StandardUnit enum: PutMetricData answers as
// PutMetricAlarm does, with the constraint text.
TEST_F(MetricStoreTest, PutMetricDataRejectsAUnitOutsideTheEnum) {
  evbus::v1::PutMetricDataRequest put;
  put.set_namespace_("QA");
  evbus::v1::MetricDatum* d = put.add_metric_data();
  d->set_metric_name("m");
  d->set_value(1);
  d->set_unit("Count");
  EXPECT_TRUE(metrics_->PutMetricData(put).ok());
  d = put.add_metric_data();
  d->set_metric_name("m");
  d->set_value(1);
  d->set_unit("Bogus");
  absl::Status s = metrics_->PutMetricData(put);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "ValidationError: 1 validation error detected: Value 'Bogus' at "
            "'metricData.2.member.unit' failed to satisfy constraint: Member "
            "must satisfy enum value set: [Seconds, Microseconds, "
            "Milliseconds, Bytes, Kilobytes, Megabytes, Gigabytes, Terabytes, "
            "Bits, Kilobits, Megabits, Gigabits, Terabits, Percent, Count, "
            "Bytes/Second, Kilobytes/Second, Megabytes/Second, "
            "Gigabytes/Second, Terabytes/Second, Bits/Second, "
            "Kilobits/Second, Megabits/Second, Gigabits/Second, "
            "Terabits/Second, Count/Second, None]");
}

TEST_F(MetricStoreTest, TrimDropsMinutesPastRetention) {
  metrics_->Record("evbus/Test", "N", {}, T("2026-02-01T00:00:00Z"), 1);
  metrics_->Record("evbus/Test", "N", {}, T("2026-02-28T00:00:00Z"), 1);
  ASSERT_TRUE(metrics_->Flush().ok());
  ASSERT_TRUE(metrics_->Trim().ok());
  absl::StatusOr<std::vector<MinutePoint>> points =
      metrics_->Query("evbus/Test", "N", {}, T("2026-01-01T00:00:00Z"),
                      T("2026-03-02T00:00:00Z"));
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 1u);
  EXPECT_EQ((*points)[0].minute, T("2026-02-28T00:00:00Z"));
}

}  // namespace
}  // namespace evbus::metricstore
