#include "lookout/metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace lookout {
namespace {

TEST(Registry, ValidatesNamesAtRegistration) {
  Registry r;
  EXPECT_THROW(r.AddCounter("bad name_total", "h"), std::invalid_argument);
  EXPECT_THROW(r.AddCounter("no_suffix", "h"), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("g", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("g", "h", {"1abc"}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h", "h", {1, 2}, {"le"}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h2", "h", {2, 1}), std::invalid_argument);
  r.AddGauge("dup", "h");
  EXPECT_THROW(r.AddGauge("dup", "h"), std::invalid_argument);
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_FALSE(IsValidMetricName("9a"));
  EXPECT_FALSE(IsValidMetricName(""));
}

TEST(Registry, CountersGaugesHistogramsWithLabels) {
  Registry r;
  auto& c = r.AddCounter("reqs_total", "h", {"code"});
  c.WithLabels({"200"}).Inc();
  c.WithLabels({"200"}).Inc(2);
  c.WithLabels({"500"}).Inc(-5);  // ignored: counters never go down
  EXPECT_THROW(c.WithLabels({"a", "b"}), std::invalid_argument);
  auto& g = r.AddGauge("temp", "h");
  g.Get().Set(3);
  g.Get().Add(-1.5);
  auto& h = r.AddHistogram("lat_seconds", "h", {0.1, 1}, {}, "seconds");
  h.Get().Observe(0.05);
  h.Get().Observe(0.5);
  h.Get().Observe(7, {{"trace_id", "abc"}}, 1700000000.5);

  std::vector<MetricFamily> out;
  r.Collect(out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].samples[0].value, 3);  // code=200
  EXPECT_EQ(out[0].samples[1].value, 0);  // code=500
  EXPECT_EQ(out[1].samples[0].value, 1.5);
  const Sample& hs = out[2].samples[0];
  ASSERT_EQ(hs.buckets.size(), 3u);
  EXPECT_EQ(hs.buckets[0].cumulative_count, 1u);
  EXPECT_EQ(hs.buckets[1].cumulative_count, 2u);
  EXPECT_TRUE(std::isinf(hs.buckets[2].upper_bound));
  EXPECT_EQ(hs.buckets[2].cumulative_count, 3u);
  EXPECT_EQ(hs.count, 3u);
  EXPECT_DOUBLE_EQ(hs.sum, 7.55);
  ASSERT_TRUE(hs.buckets[2].exemplar.has_value());
  EXPECT_EQ(hs.buckets[2].exemplar->labels[0].value, "abc");
  EXPECT_FALSE(hs.buckets[0].exemplar.has_value());
}

TEST(Registry, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.AddCounter("n_total", "h").Get();
  auto& h = r.AddHistogram("x", "h", {1}).Get();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(0.5);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value(), 40000);
  Sample s;
  h.Snapshot(s);
  EXPECT_EQ(s.count, 40000u);
}

}  // namespace
}  // namespace lookout
