#include "agent/collectors/app/exposition_parser.h"

#include <gtest/gtest.h>

#include <cmath>

#include "exporters/prometheus/openmetrics_encoder.h"
#include "exporters/prometheus/text_encoder.h"
#include "tests/unit/test_util.h"

namespace lookout::app {
namespace {

std::vector<MetricFamily> MustParse(std::string_view body,
                                    ExpositionFormat f = ExpositionFormat::kText,
                                    const ParseOptions& opt = {}, ParseStats* stats = nullptr) {
  auto r = ParseExposition(body, f, opt, stats);
  EXPECT_TRUE(r.ok()) << r.error().reason << ": " << r.error().detail;
  return r.ok() ? std::move(r).value() : std::vector<MetricFamily>{};
}

Error MustFail(std::string_view body, ExpositionFormat f = ExpositionFormat::kText,
               const ParseOptions& opt = {}) {
  auto r = ParseExposition(body, f, opt);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? Error{} : r.error();
}

using testing::FindFamily;
const MetricFamily* Find(const std::vector<MetricFamily>& fs, std::string_view name) {
  return FindFamily(fs, name);
}
std::string LabelOf(const Sample& s, std::string_view name) { return testing::LabelValue(s, name); }

TEST(FormatFromContentType, Negotiates) {
  EXPECT_EQ(FormatFromContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(FormatFromContentType("Application/OpenMetrics-Text"), ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(FormatFromContentType("text/plain; version=0.0.4"), ExpositionFormat::kText);
  EXPECT_EQ(FormatFromContentType(""), ExpositionFormat::kText);
}

TEST(ExpositionParser, TextCountersGaugesAndSpecialValues) {
  const auto fs = MustParse(
      "# HELP http_requests_total Total requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"get\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3\n"
      "# TYPE temp gauge\n"
      "temp +Inf\n"
      "temp{x=\"a\"} -Inf\n"
      "temp{x=\"b\"} NaN\n"
      "temp{x=\"c\"} 1.5e-3\n"
      "   \n"
      "# a plain comment\n"
      "untyped_thing 42\n");
  ASSERT_EQ(fs.size(), 3u);
  const auto* c = Find(fs, "http_requests_total");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->type, MetricType::kCounter);
  EXPECT_EQ(c->help, "Total requests.");
  ASSERT_EQ(c->samples.size(), 2u);
  EXPECT_EQ(c->samples[0].value, 1027);
  EXPECT_EQ(c->samples[0].timestamp_ms, 1395066363000);
  EXPECT_EQ(LabelOf(c->samples[1], "code"), "400");
  const auto* g = Find(fs, "temp");
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(g->samples.size(), 4u);
  EXPECT_TRUE(std::isinf(g->samples[0].value) && g->samples[0].value > 0);
  EXPECT_TRUE(std::isinf(g->samples[1].value) && g->samples[1].value < 0);
  EXPECT_TRUE(std::isnan(g->samples[2].value));
  EXPECT_DOUBLE_EQ(g->samples[3].value, 0.0015);
  const auto* u = Find(fs, "untyped_thing");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->type, MetricType::kUntyped);
}

TEST(ExpositionParser, EscapesInLabelsAndHelp) {
  const auto fs = MustParse(
      "# HELP m A \\\\ backslash and a\\nnewline, \"quotes\" stay.\n"
      "# TYPE m gauge\n"
      "m{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\nbye\",utf=\"\xc3\xa9t\xc3\xa9\",} 1\n");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].help, "A \\ backslash and a\nnewline, \"quotes\" stay.");
  const Sample& s = fs[0].samples[0];
  EXPECT_EQ(LabelOf(s, "path"), "C:\\dir");
  EXPECT_EQ(LabelOf(s, "msg"), "say \"hi\"\nbye");
  EXPECT_EQ(LabelOf(s, "utf"), "\xc3\xa9t\xc3\xa9");
}

TEST(ExpositionParser, TextHistogramAndSummaryGrouped) {
  const auto fs = MustParse(
      "# TYPE lat histogram\n"
      "lat_bucket{path=\"/a\",le=\"0.1\"} 2\n"
      "lat_bucket{path=\"/b\",le=\"0.1\"} 7\n"
      "lat_bucket{le=\"+Inf\",path=\"/a\"} 5\n"
      "lat_bucket{path=\"/a\",le=\"1\"} 4\n"
      "lat_sum{path=\"/a\"} 2.5\n"
      "lat_count{path=\"/a\"} 5\n"
      "lat_bucket{path=\"/b\",le=\"+Inf\"} 9\n"
      "lat_sum{path=\"/b\"} 1\n"
      "lat_count{path=\"/b\"} 9\n"
      "# TYPE rpc summary\n"
      "rpc{quantile=\"0.5\"} 0.01\n"
      "rpc{quantile=\"0.99\"} 0.2\n"
      "rpc_sum 12\n"
      "rpc_count 100\n");
  const auto* h = Find(fs, "lat");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->type, MetricType::kHistogram);
  ASSERT_EQ(h->samples.size(), 2u);
  const Sample& a = h->samples[0];
  ASSERT_EQ(a.buckets.size(), 3u);  // sorted by le
  EXPECT_EQ(a.buckets[0].upper_bound, 0.1);
  EXPECT_EQ(a.buckets[1].upper_bound, 1);
  EXPECT_TRUE(std::isinf(a.buckets[2].upper_bound));
  EXPECT_EQ(a.buckets[2].cumulative_count, 5u);
  EXPECT_EQ(a.count, 5u);
  EXPECT_EQ(a.sum, 2.5);
  const auto* s = Find(fs, "rpc");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->samples.size(), 1u);
  ASSERT_EQ(s->samples[0].quantiles.size(), 2u);
  EXPECT_EQ(s->samples[0].quantiles[1].value, 0.2);
  EXPECT_EQ(s->samples[0].count, 100u);
}

TEST(ExpositionParser, InterleavedFamiliesAndMissingMetadata) {
  const auto fs = MustParse(
      "# TYPE a counter\n"
      "a{x=\"1\"} 1\n"
      "# TYPE b gauge\n"
      "b 2\n"
      "a{x=\"2\"} 3\n"
      "no_help_no_type 4\n"
      "# HELP only_help Described but untyped.\n"
      "only_help 5\n");
  const auto* a = Find(fs, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->samples.size(), 2u);
  EXPECT_EQ(Find(fs, "only_help")->help, "Described but untyped.");
  EXPECT_EQ(Find(fs, "only_help")->type, MetricType::kUntyped);
  EXPECT_EQ(fs.size(), 4u);
}

TEST(ExpositionParser, DuplicateSeriesKeepTheFirst) {
  ParseStats stats;
  const auto fs = MustParse(
      "# TYPE g gauge\n"
      "g{a=\"1\",b=\"2\"} 1\n"
      "g{b=\"2\",a=\"1\"} 2\n"  // same series, labels in another order
      "g{a=\"1\"} 3\n",
      ExpositionFormat::kText, {}, &stats);
  ASSERT_EQ(fs[0].samples.size(), 2u);
  EXPECT_EQ(fs[0].samples[0].value, 1);
  EXPECT_EQ(stats.duplicates, 1u);
  EXPECT_EQ(stats.samples, 3u);
}

// Repeats are found after the body is read (FindRepeats), not as lines come; the outcome must be
// what the line-by-line rule gives: the first line's series stays where it was, and takes a
// later repeat's value only when that one is later in time, repeats applied in line order.
TEST(ExpositionParser, RepeatedSeriesFollowTheLineOrderRule) {
  ParseStats stats;
  const auto fs = MustParse(
      "# TYPE g gauge\n"
      "g{k=\"a\"} 1 10\n"
      "g{k=\"b\"} 2\n"
      "g{k=\"a\"} 3 5\n"  // earlier in time: ignored
      "g{k=\"c\"} 4 7\n"
      "g{k=\"a\"} 5 20\n"  // later in time: taken
      "g{k=\"b\"} 6 30\n"  // the first had no timestamp: the first stays
      "g{k=\"a\"} 7 15\n"  // earlier than the 20 taken: ignored
      "g{k=\"c\"} 8\n"     // no timestamp is "now": taken
      "g{k=\"d\"} 9\n",
      ExpositionFormat::kText, {}, &stats);
  ASSERT_EQ(fs.size(), 1u);
  const auto& ss = fs[0].samples;
  ASSERT_EQ(ss.size(), 4u);
  EXPECT_EQ(LabelOf(ss[0], "k"), "a");
  EXPECT_EQ(ss[0].value, 5);
  EXPECT_EQ(ss[0].timestamp_ms, 20);
  EXPECT_EQ(LabelOf(ss[1], "k"), "b");
  EXPECT_EQ(ss[1].value, 2);
  EXPECT_FALSE(ss[1].timestamp_ms.has_value());
  EXPECT_EQ(LabelOf(ss[2], "k"), "c");
  EXPECT_EQ(ss[2].value, 8);
  EXPECT_FALSE(ss[2].timestamp_ms.has_value());
  EXPECT_EQ(LabelOf(ss[3], "k"), "d");
  EXPECT_EQ(stats.duplicates, 5u);
  EXPECT_EQ(stats.samples, 9u);
}

// A run of one series is folded as it comes (one sample, not one per line); the outcome is still
// the line-by-line rule's, and a run after other lines folds into the latest occurrence.
TEST(ExpositionParser, RunsOfOneSeriesFoldAsTheyCome) {
  ParseStats stats;
  const std::string body = R"(# TYPE g gauge
g{k="a"} 1 10
g{k="a"} 2
g{k="a"} 3 30
g{k="b"} 4 10
g{k="b"} 5 5
g{k="b"} 6 20
g{k="a"} 7 40
g{k="b"} 8 15
g{k="b"} 9 25
)";
  const auto fs = MustParse(body, ExpositionFormat::kText, {}, &stats);
  ASSERT_EQ(fs.size(), 1u);
  const auto& ss = fs[0].samples;
  ASSERT_EQ(ss.size(), 2u);
  EXPECT_EQ(ss[0].value, 2);  // took the line without a timestamp, then nothing is later
  EXPECT_FALSE(ss[0].timestamp_ms.has_value());
  EXPECT_EQ(ss[1].value, 9);  // 10, not 5, then 20, not 15, then 25
  EXPECT_EQ(ss[1].timestamp_ms, 25);
  EXPECT_EQ(stats.duplicates, 7u);
}

// A histogram that turns raw (a bucket without le) hands its series to untyped families; later
// lines of those names repeating a series handed over are repeats there too.
TEST(ExpositionParser, RepeatsAfterAFamilyTurnsRaw) {
  ParseStats stats;
  // The third line has no le: h turns raw. The fourth is the series of the h_count handed
  // over, and the fifth that of the first bucket: the first ones stay.
  const std::string body = R"(# TYPE h histogram
h_bucket{le="1"} 1
h_count 1
h_bucket 9
h_count 2
h_bucket{le="1"} 3
)";
  const auto fs = MustParse(body, ExpositionFormat::kText, {}, &stats);
  const auto* count = Find(fs, "h_count");
  ASSERT_NE(count, nullptr);
  ASSERT_EQ(count->samples.size(), 1u);
  EXPECT_EQ(count->samples[0].value, 1);
  const auto* bucket = Find(fs, "h_bucket");
  ASSERT_NE(bucket, nullptr);
  ASSERT_EQ(bucket->samples.size(), 2u);  // le="1" (the first: 1) and the one without le
  EXPECT_EQ(bucket->samples[0].value, 1);
  EXPECT_EQ(stats.duplicates, 2u);
}

// Prometheus stores what each line says and nothing more: a histogram without +Inf, _count or
// _sum was completed (a series the target never served) or dropped (series it did serve).
TEST(ExpositionParser, IncompleteHistogramKeepsItsSeriesAsWritten) {
  const auto fs = MustParse(
      "# TYPE h histogram\n"
      "h_bucket{k=\"no_inf\",le=\"1\"} 1\n"
      "h_count{k=\"no_inf\"} 3\n"
      "h_bucket{k=\"no_count\",le=\"+Inf\"} 4\n"
      "h_bucket{k=\"broken\",le=\"1\"} 1\n");
  EXPECT_EQ(Find(fs, "h"), nullptr);
  const auto* b = Find(fs, "h_bucket");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, MetricType::kUntyped);
  ASSERT_EQ(b->samples.size(), 3u);
  EXPECT_EQ(LabelOf(b->samples[0], "le"), "1");
  EXPECT_EQ(b->samples[1].value, 4);
  ASSERT_NE(Find(fs, "h_count"), nullptr);
  EXPECT_EQ(Find(fs, "h_count")->samples.size(), 1u);
  EXPECT_EQ(Find(fs, "h_count")->samples[0].value, 3);
  EXPECT_EQ(Find(fs, "h_sum"), nullptr);
  // Fractional counts, _count other than +Inf, decreasing buckets: the same.
  for (const char* body : {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\n",
                           "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 5\n",
                           "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\n"
                           "h_sum 1\nh_count 4\n"}) {
    const auto raw = MustParse(body);
    EXPECT_EQ(Find(raw, "h"), nullptr) << body;
    ASSERT_NE(Find(raw, "h_count"), nullptr) << body;
    EXPECT_EQ(Find(raw, "h_count")->samples[0].value, Find(raw, "h_count")->samples[0].value);
  }
  EXPECT_EQ(Find(MustParse("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\n"
                           "h_count 1.5\n"),
                 "h_count")
                ->samples[0]
                .value,
            1.5);
}

// le is a label value: "1", "1.0" and "0.10" are kept as written (three series to Prometheus).
TEST(ExpositionParser, BucketBoundsKeepTheirSpelling) {
  const auto fs = MustParse(
      "# TYPE h histogram\nh_bucket{le=\"0.10\"} 0\nh_bucket{le=\"1.0\"} 1\n"
      "h_bucket{le=\"+inf\"} 2\nh_sum 3\nh_count 2\n");
  const auto* h = Find(fs, "h");
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->samples[0].buckets.size(), 3u);
  EXPECT_EQ(h->samples[0].buckets[0].le, "0.10");
  EXPECT_EQ(h->samples[0].buckets[1].le, "1.0");
  EXPECT_EQ(h->samples[0].buckets[2].le, "+inf");
  std::string om;
  prometheus::EncodeOpenMetrics(fs, om);
  EXPECT_NE(om.find("h_bucket{le=\"0.10\"} 0"), std::string::npos) << om;
  std::string text;
  prometheus::EncodeText(fs, text);
  EXPECT_NE(text.find("h_bucket{le=\"1.0\"} 1"), std::string::npos) << text;
  // Two spellings of one bound are two series: no longer one histogram.
  const auto two = MustParse(
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1\n"
      "h_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n");
  ASSERT_NE(Find(two, "h_bucket"), nullptr);
  EXPECT_EQ(Find(two, "h_bucket")->samples.size(), 3u);
}

TEST(ExpositionParser, OpenMetricsWithExemplarsCreatedAndUnits) {
  const auto fs = MustParse(
      "# TYPE req counter\n"
      "# UNIT req \n"
      "# HELP req Requests with a \\\"quote\\\".\n"
      "req_total{code=\"200\"} 10 1700000000.5 # {trace_id=\"abc\"} 1 1700000000.1\n"
      "req_created{code=\"200\"} 1699999000 1700000000.5\n"
      "# TYPE dur_seconds histogram\n"
      "# UNIT dur_seconds seconds\n"
      "dur_seconds_bucket{le=\"0.5\"} 1 # {trace_id=\"t1\",span_id=\"s1\"} 0.2\n"
      "dur_seconds_bucket{le=\"+Inf\"} 2\n"
      "dur_seconds_count 2\n"
      "dur_seconds_sum 1.2\n"
      "# TYPE build info\n"
      "build_info{version=\"1.2\"} 1\n"
      "# TYPE state stateset\n"
      "state{state=\"ok\"} 1\n"
      "state{state=\"bad\"} 0\n"
      "# TYPE q gaugehistogram\n"
      "q_bucket{le=\"+Inf\"} 3\n"
      "q_gcount 3\n"
      "# EOF\n",
      ExpositionFormat::kOpenMetrics);
  const auto* c = Find(fs, "req_total");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->type, MetricType::kCounter);
  EXPECT_EQ(c->help, "Requests with a \"quote\".");
  ASSERT_EQ(c->samples.size(), 1u);
  EXPECT_EQ(c->samples[0].timestamp_ms, 1700000000500);
  ASSERT_TRUE(c->samples[0].exemplar.has_value());
  EXPECT_EQ(c->samples[0].exemplar->labels[0].value, "abc");
  EXPECT_EQ(c->samples[0].exemplar->timestamp, 1700000000.1);
  EXPECT_EQ(c->samples[0].created, 1699999000);
  const auto* h = Find(fs, "dur_seconds");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->unit, "seconds");
  ASSERT_TRUE(h->samples[0].buckets[0].exemplar.has_value());
  EXPECT_EQ(h->samples[0].buckets[0].exemplar->value, 0.2);
  ASSERT_NE(Find(fs, "build_info"), nullptr);
  EXPECT_EQ(Find(fs, "build_info")->type, MetricType::kInfo);
  EXPECT_EQ(Find(fs, "state")->type, MetricType::kGauge);
  EXPECT_EQ(Find(fs, "state")->samples.size(), 2u);
  // gaugehistogram passes through as untyped series under their own names.
  ASSERT_NE(Find(fs, "q_bucket"), nullptr);
  EXPECT_EQ(LabelOf(Find(fs, "q_bucket")->samples[0], "le"), "+Inf");
  ASSERT_NE(Find(fs, "q_gcount"), nullptr);
}

TEST(ExpositionParser, OpenMetricsStrictness) {
  EXPECT_EQ(MustFail("# TYPE a gauge\na 1\n", ExpositionFormat::kOpenMetrics).reason, "truncated");
  EXPECT_EQ(MustFail("a 1\n# EOF\na 2\n", ExpositionFormat::kOpenMetrics).reason, "parse");
  EXPECT_EQ(MustFail("a 1\n\n# EOF\n", ExpositionFormat::kOpenMetrics).reason, "parse");
  // Exemplars do not exist in text 0.0.4.
  EXPECT_EQ(MustFail("a 1 # {x=\"y\"} 1\n").reason, "parse");
  // Exemplar labels over 128 characters: Prometheus drops the exemplar, keeps the sample.
  const auto long_ex =
      MustParse("# TYPE a counter\na_total 1 # {x=\"" + std::string(130, 'y') + "\"} 1\n# EOF\n",
                ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(long_ex.size(), 1u);
  EXPECT_FALSE(long_ex[0].samples[0].exemplar.has_value());
  // Exemplars only on _total and _bucket samples (as Prometheus 2.42).
  EXPECT_EQ(
      MustFail("# TYPE g gauge\ng 1 # {a=\"b\"} 2\n# EOF\n", ExpositionFormat::kOpenMetrics).reason,
      "parse");
  for (const char* bad :
       {"a  1\n# EOF\n", "a 1 \n# EOF\n", " a 1\n# EOF\n", "a{x=\"1\",} 1\n# EOF\n",
        "a{x=\"1\", y=\"2\"} 1\n# EOF\n", "# comment\na 1\n# EOF\n", "a 1\n# EOF\n\n",
        "# TYPE a untyped\na 1\n# EOF\n", "# UNIT a seconds\na 1\n# EOF\n", "# HELP a\n# EOF\n",
        "a\t1\n# EOF\n", "a 1 NaN\n# EOF\n"}) {
    EXPECT_EQ(MustFail(bad, ExpositionFormat::kOpenMetrics).reason, "parse") << bad;
  }
  MustParse("a 1\n# EOF", ExpositionFormat::kOpenMetrics);
  MustParse("# HELP a \n# UNIT a \na 1 -1.5\n# EOF\n", ExpositionFormat::kOpenMetrics);
}

// Found by fuzz.exposition: a sample named i_info before `# TYPE i info` made two families
// named i_info. Prometheus takes every one of these bodies (a TYPE only names metadata); the
// sample names keep their first family, so each name is exposed once, with its first value.
TEST(ExpositionParser, TypeAfterItsSamplesKeepsTheSeries) {
  const auto i = MustParse("i_info{v=\"1\"} 1\n# TYPE i info\ni_info{v=\"1\"} 2\n# EOF\n",
                           ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(i[0].name, "i_info");
  EXPECT_EQ(i[0].samples.size(), 1u);
  EXPECT_EQ(i[0].samples[0].value, 1);
  const auto c = MustParse("c_total 1\n# TYPE c counter\n# EOF\n", ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].name, "c_total");
  EXPECT_EQ(c[0].samples[0].value, 1);
  const auto h = MustParse("h_sum 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n");
  ASSERT_NE(Find(h, "h_sum"), nullptr);
  ASSERT_NE(Find(h, "h_bucket"), nullptr);
  ASSERT_NE(Find(h, "h_count"), nullptr);
  EXPECT_EQ(Find(h, "h"), nullptr);
  // Found by fuzz.exposition: `le` on a histogram's _count line became a series label of the
  // histogram, and the re-exposed buckets carried two `le` labels. Now the family goes raw.
  const auto le = MustParse("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count{le=\"0y\"} 2\n");
  ASSERT_NE(Find(le, "h_count"), nullptr);
  EXPECT_EQ(LabelOf(Find(le, "h_count")->samples[0], "le"), "0y");
  EXPECT_EQ(LabelOf(Find(le, "h_bucket")->samples[0], "le"), "+Inf");
  const auto q = MustParse("# TYPE s summary\ns_sum{quantile=\"1\"} 2\n");
  ASSERT_NE(Find(q, "s_sum"), nullptr);
  EXPECT_EQ(LabelOf(Find(q, "s_sum")->samples[0], "quantile"), "1");
  // On other types le/quantile are ordinary labels.
  EXPECT_EQ(LabelOf(MustParse("# TYPE g gauge\ng{le=\"1\"} 2\n")[0].samples[0], "le"), "1");
}

// The filed issue: prometheus-net #477 (two TYPEs, one name) and OpenMetrics #282 (a counter's
// sample without _total) failed the whole target; Prometheus keeps every series.
TEST(ExpositionParser, IssueInputsKeepEverySeries) {
  const auto a = MustParse(
      "# TYPE http_requests_started gauge\nhttp_requests_started 4.0\n"
      "# TYPE http_requests_started counter\nhttp_requests_started_total 3.0\n"
      "# TYPE app_up gauge\napp_up 1.0\n# EOF\n",
      ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(Find(a, "http_requests_started")->type, MetricType::kGauge);
  EXPECT_EQ(Find(a, "http_requests_started")->samples[0].value, 4);
  EXPECT_EQ(Find(a, "http_requests_started_total")->type, MetricType::kUntyped);
  EXPECT_EQ(Find(a, "http_requests_started_total")->samples[0].value, 3);
  EXPECT_EQ(Find(a, "app_up")->samples[0].value, 1);
  std::string om;
  prometheus::EncodeOpenMetrics(a, om);
  EXPECT_EQ(om,
            "# TYPE http_requests_started gauge\nhttp_requests_started 4\n"
            "# TYPE http_requests_started_total unknown\nhttp_requests_started_total 3\n"
            "# TYPE app_up gauge\napp_up 1\n# EOF\n");
  const auto b = MustParse("# TYPE jobs_failed counter\njobs_failed 2.0\n# EOF\n",
                           ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].name, "jobs_failed");
  EXPECT_EQ(b[0].type, MetricType::kUntyped);
  EXPECT_EQ(b[0].samples[0].value, 2);
  // A counter whose OpenMetrics names clash with a plain sample (c_created in text, as the
  // python client writes it) is exposed as plain series: both names, both values.
  const auto c = MustParse("# TYPE c_total counter\nc_total 3\nc_created 1.7e9\n");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(Find(c, "c_total")->type, MetricType::kUntyped);
  EXPECT_EQ(Find(c, "c_created")->samples[0].value, 1.7e9);
}

// Text-format leniencies of Prometheus's lexer, each with the value it reads.
TEST(ExpositionParser, TextAcceptsWhatPrometheusAccepts) {
  const auto fs = MustParse(
      "a {x=\"1\"} 1\n"               // blank before the label set
      "b{x=\"1\"}2\n"                 // no blank before the value
      "c{ x = \"1\" y=\"2\" , } 3\n"  // blanks, a missing and a trailing comma
      "d{x=\"a\\qb\"} 4\n"            // an unknown escape stays as written
      "e{x=\"two\nlines\"} 5\n"       // a raw newline inside a label value
      "f{x=\"\",y=\"1\"} 6\n"         // an empty value is no label
      "g 1e-400\n"                    // underflow is 0
      "h -Infinity 0012\n"            // timestamps are digits; leading zeros fine
      "#\tTYPE i\tgauge\n"
      "i 7\n"
      "# TYPE j-gauge\n"  // the type is what follows the name's first character
      "j 8\n"
      "\t# comment after a blank\n");
  EXPECT_EQ(LabelOf(Find(fs, "a")->samples[0], "x"), "1");
  EXPECT_EQ(Find(fs, "b")->samples[0].value, 2);
  EXPECT_EQ(LabelOf(Find(fs, "c")->samples[0], "y"), "2");
  EXPECT_EQ(LabelOf(Find(fs, "d")->samples[0], "x"), "a\\qb");
  EXPECT_EQ(LabelOf(Find(fs, "e")->samples[0], "x"), "two\nlines");
  EXPECT_EQ(Find(fs, "f")->samples[0].labels.size(), 1u);
  EXPECT_EQ(Find(fs, "g")->samples[0].value, 0);
  EXPECT_EQ(Find(fs, "h")->samples[0].timestamp_ms, 12);
  EXPECT_EQ(Find(fs, "i")->type, MetricType::kGauge);
  EXPECT_EQ(Find(fs, "j")->type, MetricType::kGauge);
  // A NUL where a line starts ends the input, as the lexer's \0 rule does.
  EXPECT_EQ(MustParse(std::string("a 1\n\0b 2\n\0", 10)).size(), 1u);
}

TEST(ExpositionParser, GoFloatSpellings) {
  const auto fs = MustParse(
      "m{k=\"a\"} nan\nm{k=\"b\"} +inf\nm{k=\"c\"} -INFINITY\nm{k=\"d\"} .5\nm{k=\"e\"} 5.\n"
      "m{k=\"f\"} +.5e1\nm{k=\"g\"} -0\n");
  const auto& s = Find(fs, "m")->samples;
  EXPECT_TRUE(std::isnan(s[0].value));
  EXPECT_TRUE(std::isinf(s[1].value) && s[1].value > 0);
  EXPECT_TRUE(std::isinf(s[2].value) && s[2].value < 0);
  EXPECT_EQ(s[3].value, 0.5);
  EXPECT_EQ(s[4].value, 5);
  EXPECT_EQ(s[5].value, 5);
  EXPECT_TRUE(s[6].value == 0 && std::signbit(s[6].value));
  for (const char* bad : {"+NaN", "1_000", "0x1p3", "0x10", "1e400", "nan(1)", "infin", "1e"}) {
    EXPECT_EQ(MustFail(std::string("m ") + bad + "\n").reason, "parse") << bad;
  }
}

TEST(ExpositionParser, MalformedLinesNameTheLine) {
  const std::vector<std::string> bad = {
      "m{a=\"1\" 1\n",
      "m{a=1} 1\n",
      "m{1a=\"x\"} 1\n",
      "m 1 2 3\n",
      "m one\n",
      "m\n",
      "{a=\"b\"} 1\n",
      "m 1 12.5\n",
      "# TYPE m bogus\nm 1\n",
      "m{a=\"\xff\"} 1\n",
      "m 1\r\n",
      " m 1\n",
      "m 1 -5\n",
      "m{a:b=\"1\"} 1\n",
      "m{,a=\"1\"} 1\n",
      "m{__name__=\"\"} 1\n",
      "# TYPE m gauge \nm 1\n",
      "# HELP m \xff\nm 1\n",
  };
  for (const auto& b : bad) {
    const Error e = MustFail("ok 1\n" + b);
    EXPECT_EQ(e.reason, "parse") << b;
    EXPECT_TRUE(e.detail.starts_with("line 2:") || e.detail.starts_with("line 3:"))
        << b << " -> " << e.detail;
  }
}

TEST(ExpositionParser, LimitsFailTheTarget) {
  ParseOptions opt;
  opt.limits.max_samples = 3;
  EXPECT_EQ(MustFail("a 1\nb 2\nc 3\nd 4\n", ExpositionFormat::kText, opt).reason, "sample_limit");
  opt = {};
  opt.limits.max_labels = 3;
  opt.target_labels = {{"job", "j"}};
  MustParse("m{a=\"1\",b=\"2\"} 1\n", ExpositionFormat::kText, opt);
  EXPECT_EQ(MustFail("m{a=\"1\",b=\"2\",c=\"3\"} 1\n", ExpositionFormat::kText, opt).reason,
            "label_limit");
  opt = {};
  opt.limits.max_label_value_length = 8;
  EXPECT_EQ(MustFail("m{a=\"123456789\"} 1\n", ExpositionFormat::kText, opt).reason,
            "label_length");
  opt.limits.max_label_name_length = 4;
  EXPECT_EQ(MustFail("m{abcde=\"1\"} 1\n", ExpositionFormat::kText, opt).reason, "label_length");
}

TEST(ExpositionParser, TargetLabelsAddedAndClashesExported) {
  ParseOptions opt;
  opt.target_labels = {{"namespace", "shop"}, {"pod", "cart-1"}, {"job", "kubernetes-pods"}};
  const auto fs = MustParse(
      "# TYPE h histogram\n"
      "h_bucket{namespace=\"app-ns\",exported_namespace=\"x\",le=\"+Inf\"} 1\n"
      "h_count{namespace=\"app-ns\",exported_namespace=\"x\"} 1\n"
      "h_sum{namespace=\"app-ns\",exported_namespace=\"x\"} 1\n"
      "plain 1\n",
      ExpositionFormat::kText, opt);
  const Sample& s = Find(fs, "h")->samples[0];
  EXPECT_EQ(LabelOf(s, "namespace"), "shop");
  EXPECT_EQ(LabelOf(s, "exported_namespace"), "x");
  EXPECT_EQ(LabelOf(s, "exported_exported_namespace"), "app-ns");
  EXPECT_EQ(LabelOf(s, "job"), "kubernetes-pods");
  EXPECT_EQ(LabelOf(Find(fs, "plain")->samples[0], "pod"), "cart-1");
}

TEST(ExpositionParser, RoundTripsThroughBothEncoders) {
  const std::string text =
      "# HELP c_total C.\n# TYPE c_total counter\nc_total{a=\"x\"} 3\n"
      "# HELP legacy Counter without _total.\n# TYPE legacy counter\nlegacy 7\n"
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
      "h_sum 3\nh_count 2\n";
  const auto fs = MustParse(text);
  std::string out;
  prometheus::EncodeText(fs, out);
  EXPECT_EQ(out, text);
  std::string om;
  prometheus::EncodeOpenMetrics(fs, om);
  // The OpenMetrics rendering parses back to the same series; `legacy` keeps its name.
  const auto back = MustParse(om, ExpositionFormat::kOpenMetrics);
  ASSERT_NE(Find(back, "legacy"), nullptr);
  EXPECT_EQ(Find(back, "legacy")->samples[0].value, 7);
  ASSERT_NE(Find(back, "c_total"), nullptr);
  EXPECT_EQ(Find(back, "c_total")->type, MetricType::kCounter);
  EXPECT_EQ(Find(back, "h")->samples[0].count, 2u);
}

// Reusing an earlier result's memory must not change the output, whatever that result held.
TEST(ExpositionParser, RecycledResultDoesNotLeakIntoTheNext) {
  ParseOptions opt;
  opt.target_labels = {{"job", "j"}, {"namespace", "n"}};
  const std::string first =
      "# TYPE h histogram\nh_bucket{a=\"long-value-that-needs-the-heap\",le=\"1\"} 1\n"
      "h_bucket{a=\"long-value-that-needs-the-heap\",le=\"+Inf\"} 2\nh_count{a=\"long-value-"
      "that-needs-the-heap\"} 2\nh_sum{a=\"long-value-that-needs-the-heap\"} 3\n"
      "# TYPE c counter\nc{x=\"1\",y=\"2\",z=\"3\",namespace=\"app\"} 5\nc{x=\"2\"} 6\n";
  const std::string second =
      "# TYPE g gauge\ng{b=\"x\"} 1\ng 2\ng{b=\"y\",c=\"z\"} 3\ng{le=\"5\"} 4\n"
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_count 4\nh_sum 1\n";
  for (bool attach : {true, false}) {
    opt.attach_target_labels = attach;
    for (const auto& [from, to] :
         {std::pair{first, second}, std::pair{second, first}, std::pair{first, first}}) {
      auto earlier = ParseExposition(from, ExpositionFormat::kText, opt);
      ASSERT_TRUE(earlier.ok()) << earlier.error().detail;
      auto recycled =
          ParseExposition(to, ExpositionFormat::kText, opt, nullptr, std::move(*earlier));
      auto fresh = ParseExposition(to, ExpositionFormat::kText, opt);
      ASSERT_TRUE(recycled.ok() && fresh.ok());
      std::string x, y;
      prometheus::EncodeOpenMetrics(*recycled, x);
      prometheus::EncodeOpenMetrics(*fresh, y);
      EXPECT_EQ(x, y);
    }
  }
}

TEST(ExpositionParser, LargeInputIsLinear) {
  // 200k series in one family, then 200k lines of one series (folded as they come, one sample):
  // a quadratic path would take minutes here.
  for (bool one_series : {false, true}) {
    std::string body = "# TYPE big gauge\n";
    for (int i = 0; i < 200000; ++i) {
      const std::string n = std::to_string(i);
      body += (one_series ? "big{i=\"x\"} " : "big{i=\"" + n + "\"} ") + n + "\n";
    }
    ParseStats stats;
    const auto fs = MustParse(body, ExpositionFormat::kText, {}, &stats);
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].samples.size(), one_series ? 1u : 200000u);
    EXPECT_EQ(stats.duplicates, one_series ? 199999u : 0u);
    EXPECT_EQ(fs[0].samples[0].value, 0);  // without timestamps the first line stays
  }
}

TEST(ExpositionParser, TruncatedAndGarbageBodiesNeverCrash) {
  const std::string good =
      "# TYPE h histogram\nh_bucket{le=\"1\",a=\"\\\"x\"} 1 # {t=\"1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 1\n# EOF\n";
  for (size_t n = 0; n <= good.size(); ++n) {
    (void)ParseExposition(good.substr(0, n), ExpositionFormat::kOpenMetrics, {});
    (void)ParseExposition(good.substr(0, n), ExpositionFormat::kText, {});
  }
  std::string garbage;
  for (int i = 1; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
  EXPECT_FALSE(ParseExposition(garbage, ExpositionFormat::kText, {}).ok());
}

}  // namespace
}  // namespace lookout::app

namespace lookout::app {
namespace {

// Regression (fuzz.exposition): a bucket with two `le` labels kept the second as an ordinary
// label, and the histogram re-exposed as h_sum{le="+Inf"}, which no parser accepts.
TEST(ExpositionParser, DuplicateLabelNamesAreRefused) {
  EXPECT_NE(MustFail("m{a=\"1\",a=\"2\"} 1\n").detail.find("has the label a twice"),
            std::string::npos);
  EXPECT_NE(MustFail("# TYPE h histogram\nh_bucket{le=\"+Inf\",x=\"1\",le=\"+Inf\"} 2\n")
                .detail.find("has the label le twice"),
            std::string::npos);
  EXPECT_NE(
      MustFail("# TYPE s summary\ns{quantile=\"0.5\",quantile=\"0.9\"} 1\n").detail.find("twice"),
      std::string::npos);
  // One le on an untyped series is an ordinary label and fine.
  EXPECT_EQ(MustParse("u{le=\"1\"} 1\n").size(), 1u);
}

}  // namespace
}  // namespace lookout::app

namespace lookout::app {
namespace {

// An OpenMetrics timestamp whose milliseconds do not fit int64 is a bad timestamp, not an
// undefined float-to-int conversion (the input fuzz.exposition found under UBSan).
TEST(ExpositionParser, OpenMetricsTimestampsBeyondInt64MillisecondsFail) {
  for (const char* ts : {"1e300", "-1e300", "9.3e15", "-9.3e15"}) {
    const std::string body = std::string("a 1 ") + ts + "\n# EOF\n";
    EXPECT_EQ(MustFail(body, ExpositionFormat::kOpenMetrics).reason, "parse") << ts;
  }
  // Just inside the range still parses.
  auto ok = ParseExposition("a 1 9.2e15\n# EOF\n", ExpositionFormat::kOpenMetrics, {});
  ASSERT_TRUE(ok.ok()) << ok.error().detail;
}

}  // namespace
}  // namespace lookout::app
