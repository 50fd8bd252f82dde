// metric_relabel_configs inside the exposition parser: each sample line's series goes through
// the rules as Prometheus's scrape loop sends it (target labels attached, clashes renamed,
// __name__ included) before it is stored.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "agent/collectors/app/exposition_parser.h"
#include "exporters/prometheus/text_encoder.h"

namespace lookout::app {
namespace {

RelabelConfig Rule(RelabelAction a, std::vector<std::string> src, std::string regex,
                   std::string target = "", std::string replacement = "$1") {
  RelabelConfig c;
  c.action = a;
  c.source_labels = std::move(src);
  c.regex = std::move(regex);
  c.target_label = std::move(target);
  c.replacement = std::move(replacement);
  return c;
}

// The sample lines of the text exposition, sorted: the series and their values.
std::string Series(std::string_view body, const std::vector<RelabelConfig>& rules,
                   ParseStats* stats = nullptr) {
  auto relabeler = Relabeler::Make(rules);
  EXPECT_TRUE(relabeler.ok()) << relabeler.error().detail;
  ParseOptions opt;
  opt.target_labels = {{"job", "app"}, {"pod", "web-1"}};
  opt.attach_target_labels = false;  // relabeling attaches them anyway
  opt.relabel = &relabeler.value();
  auto fs = ParseExposition(body, ExpositionFormat::kText, opt, stats);
  if (!fs.ok()) return fs.error().reason + ": " + fs.error().detail;
  std::string text;
  prometheus::EncodeText(*fs, text);
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("#")) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

const char* const kBody =
    "# TYPE http_requests_total counter\n"
    "http_requests_total{code=\"200\",pod=\"inner\"} 7\n"
    "http_requests_total{code=\"500\",pod=\"inner\"} 1\n"
    "# TYPE latency_seconds histogram\n"
    "latency_seconds_bucket{le=\"0.1\"} 3\n"
    "latency_seconds_bucket{le=\"+Inf\"} 5\n"
    "latency_seconds_sum 0.9\n"
    "latency_seconds_count 5\n"
    "go_goroutines 12\n";

TEST(ExpositionRelabel, NoRulesNoTargetLabelsInTheSeries) {
  // The scrape manager's way without rules: clashes renamed, target labels kept per target.
  EXPECT_EQ(Series("m{pod=\"inner\"} 1\n", {}), "m{exported_pod=\"inner\"} 1\n");
}

TEST(ExpositionRelabel, DropsSeriesByNameAndCountsThem) {
  ParseStats stats;
  EXPECT_EQ(Series(kBody, {Rule(RelabelAction::kDrop, {"__name__"}, "go_.*|.*_bucket")}, &stats),
            "http_requests_total{code=\"200\",exported_pod=\"inner\",job=\"app\",pod=\"web-1\"} 7\n"
            "http_requests_total{code=\"500\",exported_pod=\"inner\",job=\"app\",pod=\"web-1\"} 1\n"
            "latency_seconds_count{job=\"app\",pod=\"web-1\"} 5\n"
            "latency_seconds_sum{job=\"app\",pod=\"web-1\"} 0.9\n");
  EXPECT_EQ(stats.relabel_dropped, 3u);
}

TEST(ExpositionRelabel, OneBucketLineDroppedLeavesTheRestOfTheHistogram) {
  EXPECT_EQ(Series(kBody, {Rule(RelabelAction::kDrop, {"le"}, "0.1"),
                           Rule(RelabelAction::kKeep, {"__name__"}, "latency.*")}),
            "latency_seconds_bucket{job=\"app\",pod=\"web-1\",le=\"+Inf\"} 5\n"
            "latency_seconds_count{job=\"app\",pod=\"web-1\"} 5\n"
            "latency_seconds_sum{job=\"app\",pod=\"web-1\"} 0.9\n");
}

TEST(ExpositionRelabel, RulesSeeAndChangeTargetLabels) {
  EXPECT_EQ(Series("m{a=\"1\"} 1\nn 2\n",
                   {Rule(RelabelAction::kReplace, {"pod", "a"}, "web-(.*);(.*)", "both", "$1-$2"),
                    Rule(RelabelAction::kLabelDrop, {}, "job")}),
            "m{a=\"1\",both=\"1-1\",pod=\"web-1\"} 1\n"
            "n{both=\"1-\",pod=\"web-1\"} 2\n");
}

TEST(ExpositionRelabel, RenamedSeriesGoToTheirNewName) {
  // Two lines renamed to one name: the rename is their only difference, so they are one
  // series, and the first stays (Prometheus: a duplicate sample for the timestamp).
  EXPECT_EQ(
      Series("# TYPE a counter\na_total 1\n# TYPE b counter\nb_total 2\n",
             {Rule(RelabelAction::kReplace, {"__name__"}, "[ab]_total", "__name__", "ab_total")}),
      "ab_total{job=\"app\",pod=\"web-1\"} 1\n");
  // The histogram's buckets renamed away: what is left is no histogram, every line stays.
  EXPECT_EQ(Series(kBody, {Rule(RelabelAction::kReplace, {"__name__"}, "latency_seconds_bucket",
                                "__name__", "buckets"),
                           Rule(RelabelAction::kKeep, {"__name__"}, "latency.*|buckets")}),
            "buckets{job=\"app\",pod=\"web-1\",le=\"+Inf\"} 5\n"
            "buckets{job=\"app\",pod=\"web-1\",le=\"0.1\"} 3\n"
            "latency_seconds_count{job=\"app\",pod=\"web-1\"} 5\n"
            "latency_seconds_sum{job=\"app\",pod=\"web-1\"} 0.9\n");
}

TEST(ExpositionRelabel, QuantilesDroppedLeaveOneSeriesTheFirstLine) {
  // Without quantile, a summary's quantile lines are one series (the first stays, as in
  // Prometheus); what is left is no summary, every line an untyped series of its own name.
  EXPECT_EQ(Series("# TYPE rpc_seconds summary\n"
                   "rpc_seconds{quantile=\"0.5\"} 0.01\n"
                   "rpc_seconds{quantile=\"0.99\"} 0.2\n"
                   "rpc_seconds_sum 3.5\n"
                   "rpc_seconds_count 40\n",
                   {Rule(RelabelAction::kLabelDrop, {}, "quantile")}),
            "rpc_seconds_count{job=\"app\",pod=\"web-1\"} 40\n"
            "rpc_seconds_sum{job=\"app\",pod=\"web-1\"} 3.5\n"
            "rpc_seconds{job=\"app\",pod=\"web-1\"} 0.01\n");
}

TEST(ExpositionRelabel, NoNameOrAnInvalidNameLeftFailsTheScrape) {
  // As Prometheus 2.42: errNameLabelMandatory, "invalid metric name or label names".
  EXPECT_EQ(Series("m 1\n", {Rule(RelabelAction::kLabelDrop, {}, "__name__")}),
            "parse: line 1: no __name__ left by metric_relabel_configs");
  EXPECT_EQ(Series("n 2\nm 1\n",
                   {Rule(RelabelAction::kReplace, {"__name__"}, "m", "__name__", "not-a-name")}),
            "parse: line 2: invalid metric name or label names after metric_relabel_configs");
  EXPECT_EQ(Series("m{a1x=\"v\"} 1\n", {Rule(RelabelAction::kLabelMap, {}, "a(.*)", "", "$1")}),
            "parse: line 1: invalid metric name or label names after metric_relabel_configs");
}

TEST(ExpositionRelabel, LimitsApplyToWhatTheRulesLeave) {
  std::string many = "m{keep=\"1\"";
  for (int i = 0; i < 70; ++i) many += ",x" + std::to_string(i) + "=\"v\"";
  many += "} 1\n";
  // 70 labels, 64 allowed: the rule drops them first, as in Prometheus.
  EXPECT_EQ(Series(many, {Rule(RelabelAction::kLabelDrop, {}, "x.*")}),
            "m{job=\"app\",keep=\"1\",pod=\"web-1\"} 1\n");
  EXPECT_EQ(Series("m{v=\"" + std::string(5000, 'a') + "\"} 1\n",
                   {Rule(RelabelAction::kLabelDrop, {}, "v")}),
            "m{job=\"app\",pod=\"web-1\"} 1\n");
  // And what they make is checked: a value over max_label_value_length (4096).
  EXPECT_EQ(Series("m{v=\"" + std::string(3000, 'a') + "\"} 1\n",
                   {Rule(RelabelAction::kReplace, {"v", "v"}, "(.*)", "w", "$1")}),
            "label_length: line 1: label value longer than 4096");
}

TEST(ExpositionRelabel, LabelLimitCountsTheLabelsTheRulesLeave) {
  auto relabeler = Relabeler::Make({Rule(RelabelAction::kLabelMap, {}, "(.*)", "", "copy_$1")});
  ASSERT_TRUE(relabeler.ok());
  ParseOptions opt;
  opt.limits.max_labels = 3;
  opt.relabel = &relabeler.value();
  auto fs = ParseExposition("m{a=\"1\",b=\"2\"} 1\n", ExpositionFormat::kText, opt);
  ASSERT_FALSE(fs.ok());
  EXPECT_EQ(fs.error().reason, "label_limit");
}

}  // namespace
}  // namespace lookout::app
