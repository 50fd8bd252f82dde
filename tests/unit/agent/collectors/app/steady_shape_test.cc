#include "agent/collectors/app/steady_shape.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "exporters/prometheus/openmetrics_encoder.h"

namespace lookout::app {
namespace {

constexpr int64_t kFirst = 1700000000000;
constexpr int64_t kSecond = 1700000015000;

const Labels kTargetLabels = {{"job", "app"}, {"instance", "10.0.0.1:8080"}};

ParseOptions Options(const Relabeler* relabel = nullptr) {
  ParseOptions o;
  o.target_labels = kTargetLabels;
  o.attach_target_labels = relabel != nullptr;
  o.relabel = relabel;
  return o;
}

// As the scrape manager makes a result: parsed, then compact with the target labels (none
// when relabeling put them in every series).
std::optional<CompactFamilies> Compact(std::string_view body, ExpositionFormat format,
                                       const ParseOptions& opt, int64_t time_ms,
                                       LineTrace* trace = nullptr, ParseStats* stats = nullptr) {
  auto parsed = ParseExposition(body, format, opt, stats, {}, trace);
  if (!parsed.ok()) return std::nullopt;
  return CompactFamilies::Make(*parsed, opt.relabel ? Labels{} : opt.target_labels, time_ms);
}

std::string Render(const CompactFamilies& c) {
  std::vector<MetricFamily> families;
  for (size_t i = 0; i < c.family_count(); ++i) families.push_back(c.ExpandFamily(i));
  std::string out;
  prometheus::EncodeOpenMetrics(families, out);
  return out;
}

struct Learned {
  std::optional<CompactFamilies> result;
  std::optional<SteadyShape> shape;
};

Learned Learn(std::string_view body, ExpositionFormat format = ExpositionFormat::kText,
              const ParseOptions& opt = Options()) {
  Learned l;
  LineTrace trace;
  l.result = Compact(body, format, opt, kFirst, &trace);
  if (l.result) l.shape = SteadyShape::Learn(body, format, opt.target_labels, trace, *l.result);
  return l;
}

// Applies `next` to what `first` taught; when it applies, the result must be what a full parse
// of `next` makes. Returns whether it applied.
bool AppliesAsAFullParse(std::string_view first, std::string_view next,
                         ExpositionFormat format = ExpositionFormat::kText,
                         const ParseOptions& opt = Options()) {
  const Learned l = Learn(first, format, opt);
  EXPECT_TRUE(l.shape.has_value()) << first;
  if (!l.shape) return false;
  auto applied = l.shape->Apply(next, format, opt.target_labels, *l.result, kSecond);
  if (!applied) return false;
  ParseStats stats;
  auto full = Compact(next, format, opt, kSecond, nullptr, &stats);
  EXPECT_TRUE(full.has_value()) << "applied, but a full parse fails:\n" << next;
  if (!full) return true;
  EXPECT_EQ(Render(*applied), Render(*full)) << next;
  EXPECT_EQ(l.shape->sample_lines(), stats.samples) << next;
  EXPECT_EQ(applied->scrape_time_ms(), kSecond);
  return true;
}

const char* const kCounters =
    "# HELP http_requests_total Requests.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{method=\"GET\",code=\"200\"} 10\n"
    "http_requests_total{code=\"500\",method=\"GET\"} 1\n"
    "# TYPE temperature gauge\n"
    "temperature -3.5\n"
    "up_since 1.7e9\n";

TEST(SteadyShape, ReadsNewValuesOfTheSameSeries) {
  EXPECT_TRUE(AppliesAsAFullParse(kCounters,
                                  "# HELP http_requests_total Requests.\n"
                                  "# TYPE http_requests_total counter\n"
                                  "http_requests_total{method=\"GET\",code=\"200\"} 12\n"
                                  "http_requests_total{code=\"500\",method=\"GET\"}\t\t+Inf  \n"
                                  "# TYPE temperature gauge\n"
                                  "temperature NaN\n"
                                  "up_since 1.8e9"));  // no final newline
}

TEST(SteadyShape, SkipsBlankLinesAsTheParserDoes) {
  EXPECT_TRUE(AppliesAsAFullParse(kCounters,
                                  "\n# HELP http_requests_total Requests.\n  \t\n"
                                  "# TYPE http_requests_total counter\n"
                                  "http_requests_total{method=\"GET\",code=\"200\"} 12\n"
                                  "http_requests_total{code=\"500\",method=\"GET\"} 2\n\n"
                                  "# TYPE temperature gauge\n"
                                  "temperature 4\n"
                                  "up_since 5\n\n"));
}

TEST(SteadyShape, GivesUpOnAnyOtherChange) {
  const std::string same_but(kCounters);
  auto with = [&](std::string_view from, std::string_view to) {
    std::string b = same_but;
    const size_t at = b.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    b.replace(at, from.size(), to);
    return b;
  };
  const std::vector<std::string> changed = {
      with("code=\"200\"} 10", "code=\"201\"} 10"),                // a label value
      with("Requests.", "Requests!"),                              // HELP
      with("TYPE temperature gauge", "TYPE temperature untyped"),  // TYPE
      with("temperature -3.5", "temperatures -3.5"),               // a longer name
      with("temperature -3.5", "temperature{a=\"b\"} -3.5"),       // labels where there were none
      with("temperature -3.5", "temperature -3.5 1700000000"),     // a timestamp
      with("temperature -3.5", "temperature -3.5 x"),              // text after the value
      with("temperature -3.5", "temperature 0x10"),                // a value Prometheus refuses
      with("temperature -3.5", "temperature"),                     // no value
      with("temperature -3.5", " temperature -3.5"),               // a blank before a sample
      with("up_since 1.7e9\n", ""),                                // a series less
      same_but + "new_series 1\n",                                 // a series more
      same_but + "# a comment more\n",                             // a comment more
  };
  for (const auto& b : changed) {
    EXPECT_FALSE(AppliesAsAFullParse(kCounters, b)) << b;
  }
  const Learned l = Learn(kCounters);
  ASSERT_TRUE(l.shape);
  EXPECT_FALSE(
      l.shape->Apply(kCounters, ExpositionFormat::kOpenMetrics, kTargetLabels, *l.result, kSecond));
  EXPECT_FALSE(
      l.shape->Apply(kCounters, ExpositionFormat::kText, {{"job", "other"}}, *l.result, kSecond));
  EXPECT_TRUE(
      l.shape->Apply(kCounters, ExpositionFormat::kText, kTargetLabels, *l.result, kSecond));
  EXPECT_EQ(l.shape->sample_lines(), 4u);
}

const char* const kHistogram =
    "# TYPE rpc_seconds histogram\n"
    "rpc_seconds_bucket{le=\"+Inf\",svc=\"a\"} 10\n"
    "rpc_seconds_bucket{le=\"0.1\",svc=\"a\"} 3\n"
    "rpc_seconds_bucket{svc=\"a\",le=\"1\"} 7\n"
    "rpc_seconds_sum{svc=\"a\"} 4.5\n"
    "rpc_seconds_count{svc=\"a\"} 10\n"
    "# TYPE rpc_quantiles summary\n"
    "rpc_quantiles{quantile=\"0.99\"} 0.8\n"
    "rpc_quantiles{quantile=\"0.5\"} 0.1\n"
    "rpc_quantiles_sum 30\n"
    "rpc_quantiles_count 100\n";

std::string Histogram(const char* inf, const char* b01, const char* b1, const char* count,
                      const char* q99 = "0.8") {
  return std::string("# TYPE rpc_seconds histogram\n") +
         "rpc_seconds_bucket{le=\"+Inf\",svc=\"a\"} " + inf +
         "\nrpc_seconds_bucket{le=\"0.1\",svc=\"a\"} " + b01 +
         "\nrpc_seconds_bucket{svc=\"a\",le=\"1\"} " + b1 +
         "\nrpc_seconds_sum{svc=\"a\"} 9.25\nrpc_seconds_count{svc=\"a\"} " + count +
         "\n# TYPE rpc_quantiles summary\nrpc_quantiles{quantile=\"0.99\"} " + q99 +
         "\nrpc_quantiles{quantile=\"0.5\"} 0.2\nrpc_quantiles_sum 31\nrpc_quantiles_count "
         "101\n";
}

TEST(SteadyShape, PutsBucketsAndQuantilesWhereTheParserDoes) {
  EXPECT_TRUE(AppliesAsAFullParse(kHistogram, Histogram("20", "5", "15", "20", "1.5")));
  // What the parser would not keep as a histogram is parsed whole.
  EXPECT_FALSE(AppliesAsAFullParse(kHistogram, Histogram("20", "16", "15", "20")));   // decreases
  EXPECT_FALSE(AppliesAsAFullParse(kHistogram, Histogram("20", "5", "15", "21")));    // count
  EXPECT_FALSE(AppliesAsAFullParse(kHistogram, Histogram("20", "5.5", "15", "20")));  // not whole
  EXPECT_FALSE(AppliesAsAFullParse(kHistogram, Histogram("20", "-0", "15", "20")));
}

const char* const kOpenMetrics =
    "# TYPE jobs counter\n"
    "# HELP jobs Jobs done.\n"
    "jobs_total{queue=\"a\"} 5\n"
    "jobs_created{queue=\"a\"} 1700000000.5\n"
    "# TYPE build info\n"
    "build_info{version=\"1.2\"} 1\n"
    "# TYPE depth gauge\n"
    "depth 3\n"
    "# EOF\n";

TEST(SteadyShape, ReadsOpenMetricsCountersCreatedAndInfo) {
  const auto om = ExpositionFormat::kOpenMetrics;
  std::string next(kOpenMetrics);
  next.replace(next.find("} 5"), 3, "} 6");
  next.replace(next.find("depth 3"), 7, "depth 4");
  next.replace(next.find("1700000000.5"), 12, "1700000001.5");
  EXPECT_TRUE(AppliesAsAFullParse(kOpenMetrics, next, om));
  // An info value other than 1 makes the family untyped in a full parse.
  std::string info2(kOpenMetrics);
  info2.replace(info2.find("\"} 1\n"), 5, "\"} 2\n");
  EXPECT_FALSE(AppliesAsAFullParse(kOpenMetrics, info2, om));
  // A timestamp, an exemplar, content after # EOF, two spaces: parsed whole.
  std::string ts(kOpenMetrics);
  ts.replace(ts.find("depth 3"), 7, "depth 3 1700000000");
  EXPECT_FALSE(AppliesAsAFullParse(kOpenMetrics, ts, om));
  std::string ex(kOpenMetrics);
  ex.replace(ex.find("} 5"), 3, "} 5 # {trace_id=\"ab\"} 1");
  EXPECT_FALSE(AppliesAsAFullParse(kOpenMetrics, ex, om));
  EXPECT_FALSE(AppliesAsAFullParse(kOpenMetrics, std::string(kOpenMetrics) + "\n", om));
  std::string two(kOpenMetrics);
  two.replace(two.find("depth 3"), 7, "depth  3");
  EXPECT_FALSE(AppliesAsAFullParse(kOpenMetrics, two, om));
}

TEST(SteadyShape, IsNotLearnedWhereALineIsNotPlain) {
  const std::vector<std::string> bodies = {
      "a 1\na 2\n",                // a repeated series
      "a 1 1700000000000\n",       // a timestamp
      "a{x=\"line\nbreak\"} 1\n",  // a label value over two lines
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 1\n",  // no +Inf: untyped
      std::string("a 1\n\0b 2\n", 9),                                    // a NUL ends the input
  };
  for (const auto& b : bodies) {
    const Learned l = Learn(b);
    ASSERT_TRUE(l.result) << b;
    EXPECT_FALSE(l.shape) << b;
  }
  const Learned om =
      Learn("# TYPE c counter\nc_total 1 # {a=\"b\"} 1\n# EOF\n", ExpositionFormat::kOpenMetrics);
  ASSERT_TRUE(om.result);
  EXPECT_FALSE(om.shape);
}

TEST(SteadyShape, FollowsRelabelingIncludingDroppedLines) {
  auto rules = Relabeler::Make({[] {
                                  RelabelConfig c;
                                  c.action = RelabelAction::kDrop;
                                  c.source_labels = {"code"};
                                  c.regex = "5..";
                                  return c;
                                }(),
                                [] {
                                  RelabelConfig c;
                                  c.action = RelabelAction::kReplace;
                                  c.source_labels = {"__name__"};
                                  c.regex = "temperature";
                                  c.target_label = "__name__";
                                  c.replacement = "temp_celsius";
                                  return c;
                                }()});
  ASSERT_TRUE(rules.ok()) << rules.error().detail;
  const ParseOptions opt = Options(&*rules);
  std::string next(kCounters);
  next.replace(next.find("} 10"), 4, "} 11");
  next.replace(next.find("} 1\n"), 4, "} 9\n");
  next.replace(next.find("-3.5"), 4, "-4.5");
  EXPECT_TRUE(AppliesAsAFullParse(kCounters, next, ExpositionFormat::kText, opt));
  // A dropped line's value is still read: one the parser refuses fails the scrape.
  std::string bad(kCounters);
  bad.replace(bad.find("} 1\n"), 4, "} one\n");
  EXPECT_FALSE(AppliesAsAFullParse(kCounters, bad, ExpositionFormat::kText, opt));
}

// Random bodies of every family type, then random value changes (and sometimes a structural
// one): whenever Apply takes a body, it equals the full parse; pure value changes that keep
// histograms whole are always taken.
TEST(SteadyShape, EqualsAFullParseOnRandomBodies) {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* values[] = {"0", "1", "2.5", "-1", "1e3", "+Inf", "-Inf", "NaN", "7", "3"};
  int applied = 0, refused = 0;
  for (int round = 0; round < 300; ++round) {
    const bool om = pick(2) == 1;
    const auto format = om ? ExpositionFormat::kOpenMetrics : ExpositionFormat::kText;
    // Shape: a list of (line template with a %V for the value).
    std::vector<std::string> lines;
    const int families = 1 + pick(4);
    for (int f = 0; f < families; ++f) {
      const std::string name = "fam" + std::to_string(f);
      switch (pick(4)) {
        case 0:
          lines.push_back("# TYPE " + name + " gauge");
          for (int s = 0; s < 1 + pick(3); ++s)
            lines.push_back(name + "{k=\"" + std::to_string(s) + "\",z=\"a\\\"b\"} %V");
          break;
        case 1:
          lines.push_back("# TYPE " + name + " counter");
          for (int s = 0; s < 1 + pick(3); ++s)
            lines.push_back(name + "_total{k=\"" + std::to_string(s) + "\"} %C");
          break;
        case 2:
          lines.push_back("# TYPE " + name + " histogram");
          for (int s = 0; s < 1 + pick(2); ++s) {
            const std::string k = "k=\"" + std::to_string(s) + "\"";
            lines.push_back(name + "_bucket{" + k + ",le=\"0.5\"} %B0");
            lines.push_back(name + "_bucket{le=\"+Inf\"," + k + "} %B2");
            lines.push_back(name + "_bucket{" + k + ",le=\"1\"} %B1");
            lines.push_back(name + "_sum{" + k + "} %V");
            lines.push_back(name + "_count{" + k + "} %B2");
          }
          break;
        default:
          lines.push_back("# TYPE " + name + " summary");
          lines.push_back(name + "{quantile=\"0.9\"} %V");
          lines.push_back(name + "_sum %V");
          lines.push_back(name + "_count %C");
      }
    }
    auto fill = [&](bool break_histograms) {
      std::string body;
      int b0 = pick(5), b1 = b0 + pick(5), b2 = b1 + pick(5);
      if (break_histograms) std::swap(b0, b2);
      for (const auto& t : lines) {
        std::string l = t;
        auto sub = [&](const std::string& key, const std::string& v) {
          for (size_t at; (at = l.find(key)) != std::string::npos;) l.replace(at, key.size(), v);
        };
        sub("%B0", std::to_string(b0));
        sub("%B1", std::to_string(b1));
        sub("%B2", std::to_string(b2));
        sub("%C", std::to_string(pick(100)));
        sub("%V", values[pick(10)]);
        body += l + "\n";
      }
      if (om) body += "# EOF\n";
      return body;
    };
    const std::string first = fill(false);
    const bool breaks = pick(4) == 0;
    std::string next = fill(breaks);
    if (pick(5) == 0) next[static_cast<size_t>(pick(static_cast<int>(next.size())))] = '9';
    const bool ok = AppliesAsAFullParse(first, next, format);
    ok ? ++applied : ++refused;
    const std::string values_only = fill(false);
    EXPECT_TRUE(AppliesAsAFullParse(first, values_only, format)) << first << "---\n" << values_only;
  }
  EXPECT_GT(applied, 50);
  EXPECT_GT(refused, 20);
}

}  // namespace
}  // namespace lookout::app
