#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>

#include "agent/common/compression.h"
#include "exporters/prometheus/encode_util.h"
#include "exporters/prometheus/format.h"
#include "exporters/prometheus/metrics_renderer.h"
#include "exporters/prometheus/openmetrics_encoder.h"
#include "exporters/prometheus/text_encoder.h"

namespace lookout::prometheus {
namespace {

std::vector<MetricFamily> Sample() {
  std::vector<MetricFamily> f;
  MetricFamily c{"http_requests_total",
                 "Requests \\ with \"quotes\"\nand newline.",
                 MetricType::kCounter,
                 "",
                 {}};
  lookout::Sample cs;
  cs.labels = {{"path", "/a\"b\\c\nd"}, {"code", "200"}};
  cs.value = 1027;
  cs.created = 1700000000.25;
  cs.exemplar = Exemplar{{{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}}, 1, 1700000001.5};
  c.samples.push_back(cs);
  f.push_back(c);

  MetricFamily g{"temperature_celsius", "", MetricType::kGauge, "celsius", {}};
  lookout::Sample gs;
  gs.value = -0.5;
  g.samples.push_back(gs);
  lookout::Sample gn;
  gn.labels = {{"k", "nan"}};
  gn.value = NAN;
  g.samples.push_back(gn);
  lookout::Sample gi;
  gi.labels = {{"k", "inf"}};
  gi.value = -INFINITY;
  gi.timestamp_ms = 1700000000123;
  g.samples.push_back(gi);
  f.push_back(g);

  MetricFamily h{"rpc_duration_seconds", "RPC latency.", MetricType::kHistogram, "seconds", {}};
  lookout::Sample hs;
  hs.buckets = {{0.5, 3, std::nullopt},
                {1, 5, Exemplar{{{"span_id", "00f067aa0ba902b7"}}, 0.7, std::nullopt}},
                {INFINITY, 6, std::nullopt}};
  hs.sum = 4.25;
  hs.count = 6;
  h.samples.push_back(hs);
  f.push_back(h);

  MetricFamily s{"gc_pause_seconds", "GC.", MetricType::kSummary, "", {}};
  lookout::Sample ss;
  ss.quantiles = {{0.5, 0.01}, {0.99, 0.2}};
  ss.sum = 12;
  ss.count = 100;
  s.samples.push_back(ss);
  f.push_back(s);

  MetricFamily u{"legacy_thing", "Untyped.", MetricType::kUntyped, "", {}};
  lookout::Sample us;
  us.value = 12345678901234;
  u.samples.push_back(us);
  f.push_back(u);

  MetricFamily empty{"no_samples", "Skipped.", MetricType::kGauge, "", {}};
  f.push_back(empty);
  return f;
}

TEST(EncodeText, ExactOutput) {
  std::string out;
  EncodeText(Sample(), out);
  EXPECT_EQ(out,
            "# HELP http_requests_total Requests \\\\ with \"quotes\"\\nand newline.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 1027\n"
            "# TYPE temperature_celsius gauge\n"
            "temperature_celsius -0.5\n"
            "temperature_celsius{k=\"nan\"} NaN\n"
            "temperature_celsius{k=\"inf\"} -Inf 1700000000123\n"
            "# HELP rpc_duration_seconds RPC latency.\n"
            "# TYPE rpc_duration_seconds histogram\n"
            "rpc_duration_seconds_bucket{le=\"0.5\"} 3\n"
            "rpc_duration_seconds_bucket{le=\"1\"} 5\n"
            "rpc_duration_seconds_bucket{le=\"+Inf\"} 6\n"
            "rpc_duration_seconds_sum 4.25\n"
            "rpc_duration_seconds_count 6\n"
            "# HELP gc_pause_seconds GC.\n"
            "# TYPE gc_pause_seconds summary\n"
            "gc_pause_seconds{quantile=\"0.5\"} 0.01\n"
            "gc_pause_seconds{quantile=\"0.99\"} 0.2\n"
            "gc_pause_seconds_sum 12\n"
            "gc_pause_seconds_count 100\n"
            "# HELP legacy_thing Untyped.\n"
            "# TYPE legacy_thing untyped\n"
            "legacy_thing 12345678901234\n");
}

TEST(EncodeOpenMetrics, ExactOutput) {
  std::string out;
  EncodeOpenMetrics(Sample(), out);
  EXPECT_EQ(out,
            "# TYPE http_requests counter\n"
            "# HELP http_requests Requests \\\\ with \\\"quotes\\\"\\nand newline.\n"
            "http_requests_total{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 1027 # "
            "{trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 1 1700000001.5\n"
            "http_requests_created{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 1700000000.25\n"
            "# TYPE temperature_celsius gauge\n"
            "# UNIT temperature_celsius celsius\n"
            "temperature_celsius -0.5\n"
            "temperature_celsius{k=\"nan\"} NaN\n"
            "temperature_celsius{k=\"inf\"} -Inf 1700000000.123\n"
            "# TYPE rpc_duration_seconds histogram\n"
            "# UNIT rpc_duration_seconds seconds\n"
            "# HELP rpc_duration_seconds RPC latency.\n"
            "rpc_duration_seconds_bucket{le=\"0.5\"} 3\n"
            "rpc_duration_seconds_bucket{le=\"1.0\"} 5 # {span_id=\"00f067aa0ba902b7\"} 0.7\n"
            "rpc_duration_seconds_bucket{le=\"+Inf\"} 6\n"
            "rpc_duration_seconds_count 6\n"
            "rpc_duration_seconds_sum 4.25\n"
            "# TYPE gc_pause_seconds summary\n"
            "# HELP gc_pause_seconds GC.\n"
            "gc_pause_seconds{quantile=\"0.5\"} 0.01\n"
            "gc_pause_seconds{quantile=\"0.99\"} 0.2\n"
            "gc_pause_seconds_count 100\n"
            "gc_pause_seconds_sum 12\n"
            "# TYPE legacy_thing unknown\n"
            "# HELP legacy_thing Untyped.\n"
            "legacy_thing 12345678901234\n"
            "# EOF\n");
}

TEST(EncodeOpenMetrics, UnitLineOnlyWhenNameEndsWithUnit) {
  std::vector<MetricFamily> f = {
      {"mem_usage", "", MetricType::kGauge, "bytes", {lookout::Sample{}}}};
  std::string out;
  EncodeOpenMetrics(f, out);
  EXPECT_EQ(out.find("# UNIT"), std::string::npos);
}

TEST(EncodeOpenMetrics, CounterWithoutTotalSuffixAndInfo) {
  lookout::Sample info;
  info.labels = {{"v", "1"}};
  info.value = 1;
  std::vector<MetricFamily> f = {{"events", "", MetricType::kCounter, "", {lookout::Sample{}}},
                                 {"build_info", "", MetricType::kInfo, "", {info}}};
  std::string out;
  EncodeOpenMetrics(f, out);
  EXPECT_EQ(out,
            // A counter whose name lacks _total (scraped from a text-format app) keeps its
            // series name: OpenMetrics can only say so as unknown.
            "# TYPE events unknown\nevents 0\n"
            "# TYPE build info\nbuild_info{v=\"1\"} 1\n# EOF\n");
  std::string text;
  EncodeText(f, text);
  EXPECT_NE(text.find("# TYPE build_info gauge\n"), std::string::npos);
}

TEST(Negotiate, PrometheusDefaultAcceptPrefersOpenMetrics) {
  EXPECT_EQ(NegotiateFormat("application/openmetrics-text;version=1.0.0,application/"
                            "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
                            "*/*;q=0.1"),
            Format::kOpenMetrics100);
  EXPECT_EQ(NegotiateFormat("text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5"),
            Format::kText004);
  EXPECT_EQ(NegotiateFormat(""), Format::kText004);
  EXPECT_EQ(NegotiateFormat("*/*"), Format::kText004);
  EXPECT_EQ(NegotiateFormat("application/openmetrics-text; q=0"), Format::kText004);
  EXPECT_EQ(NegotiateFormat("Application/OpenMetrics-Text"), Format::kOpenMetrics100);
  EXPECT_EQ(NegotiateFormat(";;;,,,q=,=="), Format::kText004);
  EXPECT_EQ(ContentType(Format::kOpenMetrics100),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(ContentType(Format::kText004), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(Negotiate, Gzip) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0, *"));  // explicit refusal beats the wildcard
  EXPECT_FALSE(AcceptsGzip("identity"));
}

TEST(Gzip, RoundTrip) {
  std::string in;
  for (int i = 0; i < 10000; ++i)
    in += "node_cpu_seconds_total{cpu=\"" + std::to_string(i) + "\"} 1\n";
  auto z = Gzip(in);
  ASSERT_TRUE(z.ok());
  EXPECT_LT(z->size(), in.size() / 5);
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string back(in.size() + 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(z->data());
  zs.avail_in = static_cast<uInt>(z->size());
  zs.next_out = reinterpret_cast<Bytef*>(back.data());
  zs.avail_out = static_cast<uInt>(back.size());
  ASSERT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  back.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(back, in);
}

}  // namespace
}  // namespace lookout::prometheus

namespace lookout::prometheus {
namespace {

// `le` and `quantile` label values as Go writes them (strconv.FormatFloat 'g', -1): every value
// below is copied from Prometheus 2.42's own /metrics (client_golang), plus the exponent forms
// for small numbers that Go's rule (exponent < -4) gives.
TEST(BoundLabel, WrittenAsClientGolangWritesThem) {
  const char* from_prometheus[] = {"0",
                                   "0.005",
                                   "0.01",
                                   "0.025",
                                   "0.05",
                                   "0.1",
                                   "0.25",
                                   "0.5",
                                   "1",
                                   "1.6384e+06",
                                   "10",
                                   "100",
                                   "102.515625",
                                   "1024",
                                   "102400",
                                   "13.5",
                                   "153.7734375",
                                   "2.5",
                                   "2.62144e+07",
                                   "20.25",
                                   "230.66015625",
                                   "2767.921875",
                                   "345.990234375",
                                   "409600",
                                   "546.75",
                                   "6.5536e+06",
                                   "8192",
                                   "820.125",
                                   "0.99",
                                   "0.75"};
  for (const char* text : from_prometheus) {
    std::string out;
    detail::AppendBoundLabel(out, std::stod(text));
    EXPECT_EQ(out, text);
  }
  const std::pair<double, const char*> go[] = {
      {0.0005, "0.0005"}, {0.0001, "0.0001"},     {0.00001, "1e-05"}, {1.5e-7, "1.5e-07"},
      {123456, "123456"}, {999999.5, "999999.5"}, {1e6, "1e+06"},     {1234567, "1.234567e+06"},
      {1e21, "1e+21"},    {1e100, "1e+100"},      {-0.25, "-0.25"},   {-2e-9, "-2e-09"},
      {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}};
  for (const auto& [v, text] : go) {
    std::string out;
    detail::AppendBoundLabel(out, v);
    EXPECT_EQ(out, text) << v;
  }
  // OpenMetrics: ".0" where there is neither "." nor an exponent (client_golang's OM encoder).
  for (const auto& [v, text] : std::initializer_list<std::pair<double, const char*>>{
           {1, "1.0"}, {0, "0.0"}, {60, "60.0"}, {0.5, "0.5"}, {1e6, "1e+06"}, {1e-5, "1e-05"}}) {
    std::string out;
    detail::AppendBoundLabel(out, v, /*om_canonical=*/true);
    EXPECT_EQ(out, text) << v;
  }
}

}  // namespace
}  // namespace lookout::prometheus

namespace lookout::prometheus {
namespace {

class FixedFamilies final : public Collectable {
 public:
  explicit FixedFamilies(std::vector<MetricFamily> f) : families_(std::move(f)) {}
  void Collect(std::vector<MetricFamily>& out) override {
    out.insert(out.end(), families_.begin(), families_.end());
  }

 private:
  std::vector<MetricFamily> families_;
};

// Two sources of one family, the first without series, HELP or unit (SelfMetrics lists a family
// with no children that way): the merged family takes HELP and unit from the source that has
// them. (Without this, promtool said "no help text" on /metrics/cadvisor.)
TEST(MetricsRenderer, MergedFamilyTakesHelpFromTheSourceThatHasIt) {
  MetricsRenderer renderer;
  auto empty = std::make_shared<FixedFamilies>(
      std::vector<MetricFamily>{MetricFamily{"lookout_x_seconds", "", MetricType::kGauge, "", {}}});
  lookout::Sample s;
  s.labels = {{"collector", "cpu"}};
  s.value = 1;
  auto full = std::make_shared<FixedFamilies>(std::vector<MetricFamily>{
      MetricFamily{"lookout_x_seconds", "Time.", MetricType::kGauge, "seconds", {s}}});
  renderer.Add(empty);
  renderer.Add(full);
  const auto families = renderer.Gather();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].help, "Time.");
  EXPECT_EQ(families[0].unit, "seconds");
  EXPECT_EQ(families[0].samples.size(), 1u);
}

}  // namespace
}  // namespace lookout::prometheus
