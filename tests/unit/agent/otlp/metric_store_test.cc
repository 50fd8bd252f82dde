#include "agent/otlp/metric_store.h"

#include <gtest/gtest.h>

#include <limits>
#include <tuple>

#include "agent/config/config.h"
#include "agent/otlp/otlp_codec.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "tests/unit/test_util.h"

namespace lookout::otlp {
namespace {

using Request = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

Request FromJson(const std::string& j) {
  Request r;
  Status st = Decode(j, Encoding::kJson, &r);
  EXPECT_TRUE(st.ok()) << st.error().detail;
  return r;
}

std::string Wrap(const std::string& metrics,
                 const std::string& resource_attrs =
                     R"([{"key":"service.name","value":{"stringValue":"svc"}}])") {
  return R"({"resourceMetrics":[{"resource":{"attributes":)" + resource_attrs +
         R"(},"scopeMetrics":[{"scope":{"name":"s"},"metrics":[)" + metrics + "]}]}]}";
}

OtlpOptions Cfg() { return DefaultConfig().otlp; }

const Sample* One(const std::vector<MetricFamily>& fs, std::string_view name) {
  const MetricFamily* f = testing::FindFamily(fs, name);
  if (f == nullptr || f->samples.size() != 1) return nullptr;
  return &f->samples[0];
}

TEST(OtlpMetricStore, DeltaSumsAccumulateCumulativeReplace) {
  testing::FakeClock clock;
  OtlpMetricStore store(Cfg(), clock);
  const std::string delta = Wrap(
      R"({"name":"orders","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[{"asInt":"5"}]}})");
  const std::string cumulative = Wrap(
      R"({"name":"net.sent","unit":"By","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"asDouble":100,"startTimeUnixNano":"1700000000000000000"}]}})");
  EXPECT_EQ(store.Ingest(FromJson(delta)).accepted, 1);
  store.Ingest(FromJson(delta));
  store.Ingest(FromJson(cumulative));
  store.Ingest(FromJson(cumulative));
  std::vector<MetricFamily> out;
  store.Collect(out);
  const Sample* orders = One(out, "orders_total");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->value, 10);
  EXPECT_EQ(testing::LabelValue(*orders, "job"), "svc");
  EXPECT_EQ(testing::LabelValue(*orders, "otel_scope_name"), "s");
  // "bytes" is appended only when the name does not already say it.
  const Sample* sent = One(out, "net_sent_bytes_total");
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->value, 100);
  EXPECT_EQ(sent->created, 1700000000.0);
  EXPECT_EQ(testing::FindFamily(out, "orders_total")->type, MetricType::kCounter);
}

TEST(OtlpMetricStore, HistogramsWithExemplarsAndDeltaMerge) {
  testing::FakeClock clock;
  OtlpMetricStore store(Cfg(), clock);
  const std::string h = Wrap(
      R"({"name":"rpc.duration","unit":"ms","histogram":{"aggregationTemporality":1,"dataPoints":[{"count":"3","sum":60,"bucketCounts":["1","2","0"],"explicitBounds":[10,50],"exemplars":[{"asDouble":30,"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}]}})");
  store.Ingest(FromJson(h));
  store.Ingest(FromJson(h));
  std::vector<MetricFamily> out;
  store.Collect(out);
  const Sample* s = One(out, "rpc_duration_milliseconds");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->buckets.size(), 3u);
  EXPECT_EQ(s->buckets[0].cumulative_count, 2u);
  EXPECT_EQ(s->buckets[1].cumulative_count, 6u);
  EXPECT_EQ(s->buckets[2].cumulative_count, 6u);
  EXPECT_EQ(s->count, 6u);
  EXPECT_EQ(s->sum, 120);
  ASSERT_TRUE(s->buckets[1].exemplar.has_value());
  EXPECT_EQ(s->buckets[1].exemplar->labels[0].value, "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(s->buckets[1].exemplar->labels[1].value, "0102030405060708");
}

TEST(OtlpMetricStore, RefusesWhatItCannotKeepAndSaysWhy) {
  testing::FakeClock clock;
  OtlpOptions cfg = Cfg();
  cfg.metrics_max_series = 2;
  OtlpMetricStore store(cfg, clock);
  auto r = store.Ingest(FromJson(Wrap(
      R"({"name":"g","gauge":{"dataPoints":[{"asDouble":1,"attributes":[{"key":"a","value":{"stringValue":"1"}}]},{"asDouble":2,"attributes":[{"key":"a","value":{"stringValue":"2"}}]},{"asDouble":3,"attributes":[{"key":"a","value":{"stringValue":"3"}}]}]}},)"
      R"({"name":"e","exponentialHistogram":{"dataPoints":[{"count":"1"}]}},)"
      R"({"name":"bad","histogram":{"dataPoints":[{"count":"1","bucketCounts":["1"],"explicitBounds":[1,2]}]}})")));
  EXPECT_EQ(r.accepted, 2);
  EXPECT_EQ(r.rejected, 3);
  EXPECT_FALSE(r.error_message.empty());
  EXPECT_EQ(store.series_count(), 2u);
  // A non-monotonic sum is a gauge: it updates the existing series of the same name.
  auto r2 = store.Ingest(FromJson(Wrap(
      R"({"name":"g","sum":{"isMonotonic":false,"aggregationTemporality":2,"dataPoints":[{"asDouble":1,"attributes":[{"key":"a","value":{"stringValue":"1"}}]}]}})")));
  EXPECT_EQ(r2.accepted, 1);
  // The same name with another type is refused, not mixed into one family.
  auto r4 = store.Ingest(FromJson(Wrap(
      R"({"name":"g","histogram":{"aggregationTemporality":2,"dataPoints":[{"count":"1","attributes":[{"key":"a","value":{"stringValue":"1"}}]}]}})")));
  EXPECT_EQ(r4.rejected, 1);
  EXPECT_NE(r4.error_message.find("type_conflict"), std::string::npos);
  std::vector<MetricFamily> out;
  store.Collect(out);
  std::map<std::string, double> rejected;
  for (const auto& s : testing::FindFamily(out, "lookout_otlp_metric_points_total")->samples) {
    rejected[testing::LabelValue(s, "reason")] = s.value;
  }
  EXPECT_EQ(rejected["series_limit"], 1);
  EXPECT_EQ(rejected["exponential_histogram"], 1);
  EXPECT_EQ(rejected["invalid"], 1);
}

TEST(OtlpMetricStore, IdentityTargetInfoAndLabelClashes) {
  testing::FakeClock clock;
  OtlpMetricStore store(Cfg(), clock);
  store.Ingest(FromJson(Wrap(
      R"({"name":"g","gauge":{"dataPoints":[{"asDouble":1,"attributes":[{"key":"job","value":{"stringValue":"app-says"}},{"key":"a.b","value":{"intValue":"7"}},{"key":"a_b","value":{"boolValue":true}}]}]}})",
      R"([{"key":"service.name","value":{"stringValue":"cart"}},{"key":"service.namespace","value":{"stringValue":"shop"}},{"key":"service.instance.id","value":{"stringValue":"i-9"}},{"key":"host.name","value":{"stringValue":"node-a"}}])")));
  std::vector<MetricFamily> out;
  store.Collect(out);
  const Sample* g = One(out, "g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(testing::LabelValue(*g, "job"), "shop/cart");
  EXPECT_EQ(testing::LabelValue(*g, "instance"), "i-9");
  EXPECT_EQ(testing::LabelValue(*g, "exported_job"), "app-says");
  EXPECT_EQ(testing::LabelValue(*g, "a_b"), "7;true");  // colliding keys joined in key order
  const Sample* info = One(out, "target_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(testing::LabelValue(*info, "host_name"), "node-a");
  EXPECT_EQ(testing::LabelValue(*info, "job"), "shop/cart");
}

TEST(OtlpMetricStore, SeriesExpireAndNoRecordedValueRemoves) {
  testing::FakeClock clock;
  OtlpOptions cfg = Cfg();
  cfg.metrics_series_ttl = std::chrono::seconds(60);
  OtlpMetricStore store(cfg, clock);
  store.Ingest(FromJson(Wrap(R"({"name":"old","gauge":{"dataPoints":[{"asDouble":1}]}})")));
  clock.Advance(std::chrono::seconds(45));
  store.Ingest(FromJson(Wrap(R"({"name":"newer","gauge":{"dataPoints":[{"asDouble":1}]}})")));
  clock.Advance(std::chrono::seconds(30));
  std::vector<MetricFamily> out;
  store.Collect(out);
  EXPECT_EQ(testing::FindFamily(out, "old"), nullptr);
  EXPECT_NE(testing::FindFamily(out, "newer"), nullptr);
  // flags=1 (no recorded value): the series ends now.
  store.Ingest(FromJson(Wrap(R"({"name":"newer","gauge":{"dataPoints":[{"flags":1}]}})")));
  out.clear();
  store.Collect(out);
  EXPECT_EQ(testing::FindFamily(out, "newer"), nullptr);
  EXPECT_EQ(store.series_count(), 0u);  // no target_info: svc has no other attributes
}

TEST(OtlpCodec, JsonRulesAndHostileBodies) {
  Request r;
  // lowerCamelCase or snake_case, integer enums, string int64s, unknown fields ignored.
  ASSERT_TRUE(
      Decode(
          R"({"resource_metrics":[{"scopeMetrics":[{"metrics":[{"name":"x","unknownField":1,"sum":{"aggregationTemporality":1,"dataPoints":[{"asInt":"9007199254740993"}]}}]}]}]})",
          Encoding::kJson, &r)
          .ok());
  EXPECT_EQ(r.resource_metrics(0).scope_metrics(0).metrics(0).sum().data_points(0).as_int(),
            9007199254740993);
  EXPECT_EQ(Decode("[]", Encoding::kJson, &r).error().reason, "json");
  EXPECT_EQ(Decode(std::string(10000, '['), Encoding::kJson, &r).error().reason, "json");
  EXPECT_EQ(Decode("\x0a\xff\xff\xff\xff\x0f", Encoding::kProtobuf, &r).error().reason, "protobuf");
  EXPECT_EQ(EncodingFromContentType("application/x-protobuf"), Encoding::kProtobuf);
  EXPECT_EQ(EncodingFromContentType("Application/JSON; charset=utf-8"), Encoding::kJson);
  EXPECT_FALSE(EncodingFromContentType("text/plain").has_value());
}

// OTLP -> Prometheus translation edge cases, each with a defined answer: translated as the
// Collector's Prometheus exporter translates it, or refused (partial_success, reason invalid).
TEST(OtlpMetricStore, HistogramEdgeCasesTranslateAsTheCollectorOrAreRefused) {
  testing::FakeClock clock;
  auto buckets_of = [&](const std::string& point) {
    OtlpMetricStore store(Cfg(), clock);
    auto r = store.Ingest(FromJson(Wrap(
        R"({"name":"request.duration","unit":"s","histogram":{"aggregationTemporality":2,"dataPoints":[)" +
        point + "]}}")));
    std::vector<std::pair<double, uint64_t>> out;
    std::vector<MetricFamily> fams;
    store.Collect(fams);
    if (const Sample* smp = One(fams, "request_duration_seconds")) {
      for (const auto& b : smp->buckets) out.emplace_back(b.upper_bound, b.cumulative_count);
    }
    return std::make_pair(r.rejected, out);
  };
  const double inf = std::numeric_limits<double>::infinity();
  using B = std::vector<std::pair<double, uint64_t>>;
  // The issue's input (prometheus #19425, opentelemetry-dotnet #6290): bounds ending in +Inf
  // give one +Inf bucket, equal to the count.
  auto [rej, b] = buckets_of(
      R"({"count":"10","sum":17.5,"bucketCounts":["5","2","3","0"],"explicitBounds":[1,2,"Infinity"]})");
  EXPECT_EQ(rej, 0);
  EXPECT_EQ(b, (B{{1, 5}, {2, 7}, {inf, 10}}));
  // Unsorted bounds are sorted with their buckets.
  std::tie(rej, b) =
      buckets_of(R"({"count":"9","bucketCounts":["3","5","1"],"explicitBounds":[2,1]})");
  EXPECT_EQ(b, (B{{1, 5}, {2, 8}, {inf, 9}}));
  // A bound given twice keeps its first bucket.
  std::tie(rej, b) =
      buckets_of(R"({"count":"10","bucketCounts":["1","2","3","4"],"explicitBounds":[1,1,2]})");
  EXPECT_EQ(b, (B{{1, 1}, {2, 4}, {inf, 10}}));
  // -Inf is a bound like any other.
  std::tie(rej, b) =
      buckets_of(R"({"count":"3","bucketCounts":["1","2"],"explicitBounds":["-Infinity"]})");
  EXPECT_EQ(b, (B{{-inf, 1}, {inf, 3}}));
  // Refused: a NaN bound, counts of the wrong length, buckets holding more than the count.
  for (const char* bad : {R"({"count":"3","bucketCounts":["1","2"],"explicitBounds":["NaN"]})",
                          R"({"count":"3","bucketCounts":["1","2","0"],"explicitBounds":[1]})",
                          R"({"count":"3","bucketCounts":["1"],"explicitBounds":[1,2]})",
                          R"({"count":"2","bucketCounts":["5","0"],"explicitBounds":[1]})"}) {
    std::tie(rej, b) = buckets_of(bad);
    EXPECT_EQ(rej, 1) << bad;
    EXPECT_TRUE(b.empty()) << bad;
  }
}

TEST(OtlpMetricStore, NamesAndValuesThatAreNotMetricsAreRefused) {
  testing::FakeClock clock;
  OtlpMetricStore store(Cfg(), clock);
  auto r = store.Ingest(FromJson(Wrap(
      R"({"name":"","gauge":{"dataPoints":[{"asDouble":1},{"asDouble":2}]}},)"
      R"({"name":"  ","sum":{"isMonotonic":true,"aggregationTemporality":2,"dataPoints":[{"asDouble":1}]}},)"
      R"({"name":"c","sum":{"isMonotonic":true,"aggregationTemporality":2,"dataPoints":[{"asDouble":-1}]}},)"
      R"({"name":"g","gauge":{"dataPoints":[{"asDouble":-1}]}},)"
      R"({"name":"queue.depth","unit":"{requests}/min","gauge":{"dataPoints":[{"asDouble":3}]}},)"
      R"({"name":"disk.io","unit":"KiBy/s","sum":{"isMonotonic":false,"aggregationTemporality":2,"dataPoints":[{"asDouble":3}]}},)"
      R"({"name":"odd","unit":"widgets","gauge":{"dataPoints":[{"asDouble":3}]}})")));
  EXPECT_EQ(r.rejected, 4);  // two unnamed points, one unnamed sum, one negative counter
  EXPECT_EQ(r.accepted, 4);
  std::vector<MetricFamily> out;
  store.Collect(out);
  ASSERT_NE(One(out, "g"), nullptr);
  EXPECT_EQ(One(out, "g")->value, -1);                  // gauges may go below zero
  EXPECT_NE(One(out, "queue_depth_per_min"), nullptr);  // "min" is not in the per-unit table
  EXPECT_NE(One(out, "disk_io_kibibytes_per_second"), nullptr);
  EXPECT_NE(One(out, "odd_widgets"), nullptr);  // a unit not in the table is kept, sanitized
  EXPECT_EQ(testing::FindFamily(out, "_"), nullptr);
  EXPECT_EQ(testing::FindFamily(out, "c_total"), nullptr);
}

}  // namespace
}  // namespace lookout::otlp
