#include "agent/trace/span_metrics.h"

#include <gtest/gtest.h>

#include "tests/unit/test_util.h"

namespace lookout::trace {
namespace {

using testing::FakeClock;

SpanFacts Facts(std::string_view service, std::string_view name, int status, double ms,
                std::string_view trace_id = "0123456789abcdef",
                std::string_view span_id = "ABCDEFGH") {
  SpanFacts f;
  f.service_name = service;
  f.span_name = name;
  f.kind = 2;
  f.status = status;
  f.start_ns = 1'000'000'000;
  f.end_ns = f.start_ns + static_cast<uint64_t>(ms * 1e6);
  f.trace_id = trace_id;
  f.span_id = span_id;
  return f;
}

const Sample* Find(const MetricFamily& f, std::string_view span_name, std::string_view status) {
  for (const auto& s : f.samples) {
    if (testing::LabelValue(s, "span_name") == span_name &&
        testing::LabelValue(s, "status_code") == status) {
      return &s;
    }
  }
  return nullptr;
}

TEST(SpanMetrics, CountsCallsAndDurationsWithTheConnectorsNames) {
  FakeClock clock;
  SpanMetrics m({}, clock);
  {
    SpanMetrics::Batch b(m);
    b.Record(Facts("checkout", "POST /pay", 0, 3));
    b.Record(Facts("checkout", "POST /pay", 0, 45));
    b.Record(Facts("checkout", "POST /pay", 2, 2000));
    b.Record(Facts("checkout", "POST /pay", 0, 20000));  // beyond the last bucket
  }
  std::vector<MetricFamily> out;
  m.Collect(out);
  const auto* calls = testing::FindFamily(out, "traces_span_metrics_calls_total");
  const auto* dur = testing::FindFamily(out, "traces_span_metrics_duration_milliseconds");
  ASSERT_NE(calls, nullptr);
  ASSERT_NE(dur, nullptr);
  EXPECT_EQ(dur->unit, "milliseconds");
  const Sample* ok = Find(*calls, "POST /pay", "STATUS_CODE_UNSET");
  const Sample* err = Find(*calls, "POST /pay", "STATUS_CODE_ERROR");
  ASSERT_NE(ok, nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(ok->value, 3);
  EXPECT_EQ(err->value, 1);
  EXPECT_EQ(testing::LabelValue(*ok, "service_name"), "checkout");
  EXPECT_EQ(testing::LabelValue(*ok, "span_kind"), "SPAN_KIND_SERVER");
  const Sample* h = Find(*dur, "POST /pay", "STATUS_CODE_UNSET");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->count, 3u);
  EXPECT_DOUBLE_EQ(h->sum, 20048);
  ASSERT_EQ(h->buckets.size(), 17u);  // 16 default bounds + +Inf
  EXPECT_EQ(h->buckets[0].upper_bound, 2);
  EXPECT_EQ(h->buckets[0].cumulative_count, 0u);
  EXPECT_EQ(h->buckets[1].cumulative_count, 1u);   // 3 ms <= 4
  EXPECT_EQ(h->buckets[5].cumulative_count, 2u);   // 45 ms <= 50
  EXPECT_EQ(h->buckets[15].cumulative_count, 2u);  // 20 s > 15 s
  EXPECT_EQ(h->buckets[16].cumulative_count, 3u);
  // Exemplars: the last span in the bucket, ids in hex.
  ASSERT_TRUE(h->buckets[1].exemplar.has_value());
  EXPECT_EQ(h->buckets[1].exemplar->labels[0].value, "30313233343536373839616263646566");
  EXPECT_EQ(h->buckets[1].exemplar->labels[1].value, "4142434445464748");
  EXPECT_DOUBLE_EQ(h->buckets[1].exemplar->value, 3);
  EXPECT_FALSE(h->buckets[0].exemplar.has_value());
  EXPECT_TRUE(ok->exemplar.has_value());
}

TEST(SpanMetrics, SecondsUnitAndDimensions) {
  FakeClock clock;
  SpanMetricsOptions o;
  o.seconds = true;
  o.dimensions = {"http.method", "tenant"};
  SpanMetrics m(o, clock);
  const std::string_view dims[] = {"GET", ""};
  SpanFacts f = Facts("svc", "GET /", 1, 250);
  f.dimension_values = dims;
  SpanMetrics::Batch(m).Record(f);
  std::vector<MetricFamily> out;
  m.Collect(out);
  const auto* dur = testing::FindFamily(out, "traces_span_metrics_duration_seconds");
  ASSERT_NE(dur, nullptr);
  ASSERT_EQ(dur->samples.size(), 1u);
  EXPECT_DOUBLE_EQ(dur->samples[0].sum, 0.25);
  EXPECT_EQ(dur->samples[0].buckets[0].upper_bound, 0.002);
  EXPECT_EQ(testing::LabelValue(dur->samples[0], "http_method"), "GET");
  EXPECT_EQ(testing::LabelValue(dur->samples[0], "tenant"), "<none>");  // empty = absent
  EXPECT_EQ(testing::LabelValue(dur->samples[0], "status_code"), "STATUS_CODE_OK");
}

TEST(SpanMetrics, CardinalityCapGoesToOneOverflowSeriesAndStaleSeriesExpire) {
  FakeClock clock;
  SpanMetricsOptions o;
  o.max_series = 3;
  o.expiry = std::chrono::minutes(5);
  SpanMetrics m(o, clock);
  std::vector<std::string> names;
  names.reserve(10);
  for (int i = 0; i < 10; ++i) names.push_back("span-" + std::to_string(i));
  {
    SpanMetrics::Batch b(m);
    for (const auto& n : names) b.Record(Facts("svc", n, 0, 1));
  }
  std::vector<MetricFamily> out;
  m.Collect(out);
  const auto* calls = testing::FindFamily(out, "traces_span_metrics_calls_total");
  ASSERT_NE(calls, nullptr);
  ASSERT_EQ(calls->samples.size(), 4u);  // 3 + overflow
  double overflow = 0;
  for (const auto& s : calls->samples) {
    if (testing::LabelValue(s, "otel_metric_overflow") == "true") overflow = s.value;
  }
  EXPECT_EQ(overflow, 7);
  EXPECT_EQ(m.series_count(), 3u);
  // Six minutes later only a fresh span is recorded: the old ones expire and free room.
  clock.Advance(std::chrono::minutes(6));
  SpanMetrics::Batch(m).Record(Facts("svc", "new", 0, 1));
  out.clear();
  m.Collect(out);
  calls = testing::FindFamily(out, "traces_span_metrics_calls_total");
  ASSERT_NE(calls, nullptr);
  ASSERT_EQ(calls->samples.size(), 1u);
  EXPECT_EQ(testing::LabelValue(calls->samples[0], "span_name"), "new");
  const auto* expired = testing::FindFamily(out, "lookout_span_metrics_series_expired_total");
  ASSERT_NE(expired, nullptr);
  EXPECT_EQ(expired->samples[0].value, 3);
}

}  // namespace
}  // namespace lookout::trace

namespace lookout::trace {
namespace {

// Regression (fuzz.otlp_traces): a span name with a byte that is not UTF-8 made /metrics
// unparseable for every scraper. Names are repaired with U+FFFD, before the series key, so two
// different bad names that repair alike stay one series.
TEST(SpanMetrics, RepairsNamesThatAreNotUtf8) {
  testing::FakeClock clock;
  SpanMetricsOptions o;
  o.dimensions = {"d"};
  SpanMetrics m(o, clock);
  const std::string_view bad_dim[] = {"x\xff"};
  SpanFacts a = Facts("svc\xc3", "GET \xaf", 0, 1);
  a.dimension_values = bad_dim;
  SpanFacts b = Facts("svc\xc3", "GET \xbf", 0, 1);
  b.dimension_values = bad_dim;
  {
    SpanMetrics::Batch batch(m);
    batch.Record(a);
    batch.Record(b);
  }
  std::vector<MetricFamily> out;
  m.Collect(out);
  const auto* calls = testing::FindFamily(out, "traces_span_metrics_calls_total");
  ASSERT_NE(calls, nullptr);
  ASSERT_EQ(calls->samples.size(), 1u);
  EXPECT_EQ(calls->samples[0].value, 2);
  EXPECT_EQ(testing::LabelValue(calls->samples[0], "span_name"), "GET \xef\xbf\xbd");
  EXPECT_EQ(testing::LabelValue(calls->samples[0], "service_name"), "svc\xef\xbf\xbd");
  EXPECT_EQ(testing::LabelValue(calls->samples[0], "d"), "x\xef\xbf\xbd");
}

}  // namespace
}  // namespace lookout::trace
