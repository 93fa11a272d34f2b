#include "server/metrics/registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, CountersGaugesHistogramsSerialize) {
  Registry r;
  Counter a = r.GetCounter("evbus_x_total", "X.", {{"bus", "a"}});
  Counter a_again = r.GetCounter("evbus_x_total", "X.", {{"bus", "a"}});
  a.Increment();
  a_again.Increment(2);
  EXPECT_EQ(a.Value(), 3);
  r.GetGauge("evbus_depth", "Depth.").Set(7);
  Histogram h = r.GetHistogram("evbus_lat_seconds", "Lat.", LatencyBuckets());
  h.Observe(0.002);
  std::string text = r.Serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE evbus_x_total counter"));
  EXPECT_THAT(text, HasSubstr("evbus_x_total{bus=\"a\"} 3"));
  EXPECT_THAT(text, HasSubstr("evbus_depth 7"));
  EXPECT_THAT(text, HasSubstr("evbus_lat_seconds_count 1"));
  EXPECT_THAT(text, HasSubstr("evbus_lat_seconds_bucket{le=\"0.0025\"} 1"));
}

TEST(RegistryTest, DefaultHandlesAreInert) {
  Counter c;
  c.Increment();
  EXPECT_EQ(c.Value(), 0);
}

}  // namespace
}  // namespace evbus::metrics
