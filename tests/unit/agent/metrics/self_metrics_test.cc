#include "lookout/metrics/self_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>

namespace lookout {
namespace {

using ::prometheus::BuildCounter;
using ::prometheus::BuildGauge;
using ::prometheus::BuildHistogram;

TEST(SelfMetrics, ValidatesNamesAtRegistration) {
  SelfMetrics r;
  EXPECT_THROW(r.AddCounter(BuildCounter().Name("bad name_total").Help("h")),
               std::invalid_argument);
  EXPECT_THROW(r.AddCounter(BuildCounter().Name("no_suffix").Help("h")), std::invalid_argument);
  EXPECT_THROW(r.AddGauge(BuildGauge().Name("g").Help("h"), {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.AddGauge(BuildGauge().Name("g").Help("h"), {"1abc"}), std::invalid_argument);
  EXPECT_THROW(r.AddGauge(BuildGauge().Name("g").Help("h"), {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram(BuildHistogram().Name("h").Help("h"), {1, 2}, {"le"}),
               std::invalid_argument);
  EXPECT_THROW(r.AddHistogram(BuildHistogram().Name("h2").Help("h"), {2, 1}),
               std::invalid_argument);
  EXPECT_THROW(r.AddHistogram(BuildHistogram().Name("h3").Help("h"), {1, 1}),
               std::invalid_argument);
  r.AddGauge(BuildGauge().Name("dup").Help("h"));
  EXPECT_THROW(r.AddGauge(BuildGauge().Name("dup").Help("h")), std::invalid_argument);
  EXPECT_THROW(r.AddCounter(BuildCounter().Name("dup").Help("h")), std::invalid_argument);
  r.AddCounter(BuildCounter().Name("c_total").Help("h"));
  EXPECT_THROW(r.AddCounter(BuildCounter().Name("c_total").Help("h")), std::invalid_argument);
  // A refused counter does not stay registered: the name can still be used.
  r.AddGauge(BuildGauge().Name("no_suffix").Help("h"));
  // Nothing above left a family behind except the three accepted ones, listed without
  // children as lookout always has.
  std::vector<MetricFamily> out;
  r.Collect(out);
  std::vector<std::string> names;
  for (const auto& f : out) {
    names.push_back(f.name);
    EXPECT_TRUE(f.samples.empty()) << f.name;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"c_total", "dup", "no_suffix"}));
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_FALSE(IsValidMetricName("9a"));
  EXPECT_FALSE(IsValidMetricName(""));
}

TEST(SelfMetrics, CountersGaugesHistogramsWithLabels) {
  SelfMetrics r;
  auto& c = r.AddCounter(BuildCounter().Name("reqs_total").Help("Requests."), {"code"});
  c.WithLabels({"200"}).Increment();
  c.WithLabels({"200"}).Increment(2);
  c.WithLabels({"500"}).Increment(-5);  // ignored: counters never go down
  EXPECT_THROW(c.WithLabels({"a", "b"}), std::invalid_argument);
  EXPECT_EQ(&c.WithLabels({"200"}), &c.WithLabels({"200"}));  // one child per label set
  auto& g = r.AddGauge(BuildGauge().Name("temp_celsius").Help("T."), {}, "celsius");
  g.Get().Set(3);
  g.Get().Increment(-1.5);
  auto& h = r.AddHistogram(BuildHistogram().Name("lat_seconds").Help("L."), {0.1, 1, INFINITY}, {},
                           "seconds");
  h.Get().Observe(0.05);
  h.Get().Observe(0.5);
  h.Get().Observe(7);
  h.Get().Observe(1);  // le is inclusive

  std::vector<MetricFamily> out;
  r.Collect(out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "reqs_total");  // counters keep _total in lookout's model
  EXPECT_EQ(out[0].help, "Requests.");
  EXPECT_EQ(out[0].type, MetricType::kCounter);
  EXPECT_EQ(out[0].unit, "");
  ASSERT_EQ(out[0].samples.size(), 2u);
  EXPECT_EQ(out[0].samples[0].labels, (Labels{{"code", "200"}}));
  EXPECT_EQ(out[0].samples[0].value, 3);
  EXPECT_EQ(out[0].samples[1].labels, (Labels{{"code", "500"}}));
  EXPECT_EQ(out[0].samples[1].value, 0);
  EXPECT_EQ(out[1].type, MetricType::kGauge);
  EXPECT_EQ(out[1].unit, "celsius");
  EXPECT_EQ(out[1].samples[0].value, 1.5);
  EXPECT_TRUE(out[1].samples[0].labels.empty());
  EXPECT_EQ(out[2].type, MetricType::kHistogram);
  EXPECT_EQ(out[2].unit, "seconds");
  const Sample& hs = out[2].samples[0];
  ASSERT_EQ(hs.buckets.size(), 3u);  // the +Inf given is not doubled
  EXPECT_EQ(hs.buckets[0].upper_bound, 0.1);
  EXPECT_EQ(hs.buckets[0].cumulative_count, 1u);
  EXPECT_EQ(hs.buckets[1].upper_bound, 1);
  EXPECT_EQ(hs.buckets[1].cumulative_count, 3u);
  EXPECT_TRUE(std::isinf(hs.buckets[2].upper_bound));
  EXPECT_EQ(hs.buckets[2].cumulative_count, 4u);
  EXPECT_EQ(hs.count, 4u);
  EXPECT_DOUBLE_EQ(hs.sum, 8.55);
}

// prometheus-cpp keeps children in a hash map with labels sorted by name; the exposition keeps
// lookout's order: labels as declared, series by label values.
TEST(SelfMetrics, LabelsInDeclaredOrderSeriesByValues) {
  SelfMetrics r;
  auto& c = r.AddCounter(BuildCounter().Name("x_total").Help("h"), {"zone", "code", "a"});
  for (const char* zone : {"z9", "b", "z1", "a", "m"}) {
    for (const char* code : {"500", "200"}) c.WithLabels({zone, code, "v"}).Increment();
  }
  std::vector<MetricFamily> out;
  r.Collect(out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].samples.size(), 10u);
  EXPECT_EQ(out[0].samples[0].labels, (Labels{{"zone", "a"}, {"code", "200"}, {"a", "v"}}));
  EXPECT_EQ(out[0].samples[1].labels, (Labels{{"zone", "a"}, {"code", "500"}, {"a", "v"}}));
  EXPECT_EQ(out[0].samples[9].labels, (Labels{{"zone", "z9"}, {"code", "500"}, {"a", "v"}}));
  for (size_t i = 1; i < out[0].samples.size(); ++i) {
    const auto& p = out[0].samples[i - 1].labels;
    const auto& s = out[0].samples[i].labels;
    EXPECT_LT(std::tie(p[0].value, p[1].value), std::tie(s[0].value, s[1].value));
  }
}

TEST(SelfMetrics, ConcurrentIncrementsAreNotLost) {
  SelfMetrics r;
  auto& c = r.AddCounter(BuildCounter().Name("n_total").Help("h")).Get();
  auto& fam = r.AddHistogram(BuildHistogram().Name("x").Help("h"), {1}, {"t"});
  std::vector<std::thread> ts;
  ts.reserve(4);
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      auto& h = fam.WithLabels({"same"});  // looked up concurrently: one child
      for (int i = 0; i < 10000; ++i) {
        c.Increment();
        h.Observe(0.5);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value(), 40000);
  std::vector<MetricFamily> out;
  r.Collect(out);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[1].samples.size(), 1u);
  EXPECT_EQ(out[1].samples[0].count, 40000u);
  EXPECT_EQ(out[1].samples[0].buckets[0].cumulative_count, 40000u);
}

}  // namespace
}  // namespace lookout
