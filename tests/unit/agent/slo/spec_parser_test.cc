#include "agent/slo/spec_parser.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "agent/config/config.h"
#include "agent/slo/rule_generator.h"
#include "tests/unit/test_util.h"

namespace lookout::slo {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseSloSpecs(yaml, "slos.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(SloSpecParserTest, NativeFormatWithDefaults) {
  const auto specs = ParseSloSpecs(R"(
slos:
  - name: checkout-availability
    service: checkout
    description: Checkout requests that did not fail
    objective: 99.9
    labels: {team: payments}
    sli:
      ratio:
        good: 'http_requests_total{job="checkout",code!~"5.."}'
        total: 'http_requests_total{job="checkout"}'
        group_by: [namespace]
  - name: fast
    objective: 99
    period: 7d
    sli:
      latency: {histogram: 'rpc_duration_seconds{job="api"}', le: 0.3}
    alerting:
      page: [{long: 2h, short: 10m, burn_rate: 10}]
      ticket: []
      min_bad_events: 3
)",
                                   "slos.yaml");
  ASSERT_EQ(specs.size(), 2u);
  const SloSpec& a = specs[0];
  EXPECT_EQ(a.name, "checkout-availability");
  EXPECT_EQ(a.service, "checkout");
  EXPECT_EQ(a.objective, 0.999);  // exactly, not 0.9990000000000001
  EXPECT_EQ(a.period, hours(24 * 30));
  EXPECT_EQ(a.labels.size(), 1u);
  EXPECT_FALSE(a.sli.events_are_bad);
  EXPECT_EQ(a.sli.events.metric, "http_requests_total");
  EXPECT_EQ(a.sli.events.matchers.size(), 2u);
  EXPECT_EQ(a.sli.group_by, std::vector<std::string>{"namespace"});
  ASSERT_EQ(a.page.size(), 2u);
  EXPECT_EQ(a.page[0].long_window, hours(1));
  EXPECT_EQ(a.page[0].short_window, minutes(5));
  EXPECT_EQ(a.page[0].burn_rate, 14.4);
  EXPECT_EQ(a.ticket[1].long_window, hours(72));
  EXPECT_EQ(a.min_bad_events, 10);  // the low-traffic guard's default
  EXPECT_EQ(a.source, "slos.yaml:3:5");
  // The issue's windows: 5m, 30m, 1h, 2h, 6h, 1d, 3d and the period.
  const std::vector<SloDuration> expected = {minutes(5), minutes(30), hours(1),  hours(2),
                                             hours(6),   hours(24),   hours(72), hours(720)};
  EXPECT_EQ(a.Windows(), expected);

  const SloSpec& b = specs[1];
  EXPECT_EQ(b.service, "fast");
  EXPECT_EQ(b.sli.kind, SliSpec::Kind::kLatency);
  EXPECT_EQ(b.sli.events.metric, "rpc_duration_seconds_bucket");
  EXPECT_EQ(b.sli.total.metric, "rpc_duration_seconds_count");
  EXPECT_EQ(b.sli.le, 0.3);
  EXPECT_EQ(b.page.size(), 1u);
  EXPECT_TRUE(b.ticket.empty());
  EXPECT_EQ(b.min_bad_events, 3);
  EXPECT_EQ(b.Windows(), (std::vector<SloDuration>{minutes(10), hours(2), hours(24 * 7)}));
}

TEST(SloSpecParserTest, SpanMetricsSli) {
  const auto specs = ParseSloSpecs(R"(
slos:
  - name: cart
    service: cart
    objective: 99.5
    sli: {span_metrics: {span_kind: SERVER}}
)",
                                   "s.yaml");
  const SliSpec& s = specs[0].sli;
  EXPECT_TRUE(s.events_are_bad);
  EXPECT_EQ(s.total.metric, kSpanMetricsCallsMetric);
  MetricFamily f{kSpanMetricsCallsMetric, "", MetricType::kCounter, "", {}};
  auto add = [&](const char* svc, const char* kind, const char* status, double v) {
    Sample x;
    x.labels = {{"service_name", svc}, {"span_kind", kind}, {"status_code", status}};
    x.value = v;
    f.samples.push_back(x);
  };
  add("cart", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", 3);
  add("cart", "SPAN_KIND_SERVER", "STATUS_CODE_UNSET", 90);
  add("cart", "SPAN_KIND_CLIENT", "STATUS_CODE_ERROR", 5);
  add("shop", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", 7);
  const MetricView view({f});
  EXPECT_EQ(view.Select(s.events).size(), 1u);
  EXPECT_EQ(view.Select(s.total).size(), 2u);
}

TEST(SloSpecParserTest, OpenSloWithIndicatorRefAcrossDocuments) {
  const auto specs = ParseSloSpecs(R"(
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-availability
  displayName: API availability
  labels: {tier: [critical, external]}
spec:
  service: api
  indicatorRef: api-errors
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: good, target: 0.995}]
  alertPolicies: [fast-burn]
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: api-errors}
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec: {query: 'sum by (route) (rate(api_requests_total{code=~"5.."}[5m]))'}
    total:
      metricSource:
        type: prometheus
        spec: {query: 'sum(increase(api_requests_total[1m])) by (route)'}
---
apiVersion: openslo/v1
kind: Service
metadata: {name: api}
spec: {description: the API}
)",
                                   "openslo.yaml");
  ASSERT_EQ(specs.size(), 1u);
  const SloSpec& s = specs[0];
  EXPECT_EQ(s.name, "api-availability");
  EXPECT_EQ(s.description, "API availability");
  EXPECT_EQ(s.objective, 0.995);
  EXPECT_EQ(s.period, hours(24 * 28));
  EXPECT_TRUE(s.sli.events_are_bad);
  EXPECT_EQ(s.sli.events.metric, "api_requests_total");
  EXPECT_EQ(s.sli.events.matchers.size(), 1u);
  EXPECT_EQ(s.sli.group_by, std::vector<std::string>{"route"});
  ASSERT_EQ(s.labels.size(), 1u);
  EXPECT_EQ(s.labels[0].second, "critical,external");
  EXPECT_EQ(s.page.size(), 2u);
}

TEST(SloSpecParserTest, OpenSloInlineIndicatorAndTargetPercent) {
  const auto specs = ParseSloSpecs(R"(
apiVersion: openslo/v1
kind: SLO
metadata: {name: web}
spec:
  indicator:
    metadata: {name: web-good}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'web_total{ok="true"}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: web_total}}}
  timeWindow: [{duration: 4w, isRolling: true}]
  objectives: [{targetPercent: 99.95}]
)",
                                   "o.yaml");
  EXPECT_EQ(specs[0].objective, 0.9995);
  EXPECT_EQ(specs[0].period, hours(24 * 28));
  EXPECT_EQ(specs[0].service, "web");
  EXPECT_TRUE(specs[0].sli.group_by.empty());
}

TEST(SloSpecParserTest, ErrorsSayWhereAndWhat) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"slos:\n  - name: a\n    objective: 99\n    sli: {ratio: {good: x, total: y}}\n    typo: "
       "1\n",
       "slos.yaml:5:5: slos[0].typo: unknown key"},
      {"slos:\n  - name: a\n    objective: 100\n    sli: {ratio: {good: x, total: y}}\n",
       "slos.yaml:3:16: slos[0].objective: expected a number"},
      {"slos:\n  - {name: a, objective: 99, sli: {ratio: {good: x, bad: z, total: y}}}\n",
       "exactly one of good and bad"},
      {"slos:\n  - {name: a, objective: 99, sli: {ratio: {good: 'x{', total: y}}}\n",
       "slos[0].sli.ratio.good: expected a metric selector"},
      {"slos:\n  - {name: a, objective: 99, sli: {ratio: {good: x, total: y, group_by: "
       "[window]}}}\n",
       "not slo, service, window"},
      {"slos:\n  - {name: 'a b', objective: 99, sli: {ratio: {good: x, total: y}}}\n",
       "slos[0].name: expected a name"},
      {"slos:\n  - {name: a, objective: 99, sli: {ratio: {good: x, total: y}}}\n"
       "  - {name: a, objective: 98, sli: {ratio: {good: x, total: y}}}\n",
       "slos.yaml:3:5: SLO name \"a\" is defined twice"},
      {"slos:\n  - {name: a, objective: 99, sli: {}}\n", "exactly one of ratio, latency"},
      {"slos:\n  - name: a\n    objective: 99\n    sli: {ratio: {good: x, total: y}}\n"
       "    alerting: {page: [{long: 5m, short: 1h, burn_rate: 2}]}\n",
       "a window shorter than long"},
      {"slos:\n  - name: a\n    objective: 99\n    sli: {ratio: {good: x, total: y}}\n"
       "    alerting: {min_bad_events: -1}\n",
       "min_bad_events"},
      {"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  indicatorRef: nope\n"
       "  objectives: [{target: 0.9}]\n",
       "\"nope\" is not defined"},
      {"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  indicatorRef: x\n"
       "  timeWindow: [{duration: 1M, isRolling: true}]\n  objectives: [{target: 0.9}]\n",
       "a rolling duration like 28d"},
      {"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  indicatorRef: x\n"
       "  timeWindow: [{duration: 1w, isRolling: false}]\n  objectives: [{target: 0.9}]\n",
       "calendar-aligned windows are not supported"},
      {"apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: x}\nspec:\n  thresholdMetric: {}\n"
       "---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  indicatorRef: x\n"
       "  objectives: [{target: 0.9}]\n",
       "threshold SLIs are not supported"},
      {"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n"
       "  indicator: {spec: {ratioMetric: {good: {metricSource: {type: Datadog, spec: {query: "
       "x}}}, total: {metricSource: {type: Datadog, spec: {query: y}}}}}}\n"
       "  objectives: [{target: 0.9}]\n",
       "Prometheus (the only source lookout reads)"},
      {"apiVersion: openslo/v2alpha\nkind: SLO\n", "apiVersion: expected openslo/v1"},
      // Objectives are exclusive ranges: the error says so (it said "from 0 to 1" and refused 1).
      {"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  indicatorRef: x\n"
       "  objectives: [{target: 1.0}]\n",
       "target: expected a number greater than 0 and less than 1, got \"1.0\""},
      {"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  indicatorRef: x\n"
       "  objectives: [{targetPercent: 0}]\n",
       "targetPercent: expected a number greater than 0 and less than 100, got \"0\""},
      {"slos:\n  - {name: a, objective: 100, sli: {ratio: {good: x, total: y}}}\n",
       "objective: expected a number greater than 0 and less than 100, got \"100\""},
      {"slos: [\n", "invalid YAML"},
      {"- just a list\n", "expected a mapping"},
      // An SLI without spec (fuzz.slo_specs: a const lookup's invalid node threw InvalidNode).
      {"apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: e}\ns*ec: {}\n---\n"
       "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: o}\nspec:\n  indicatorRef: e\n"
       "  objectives: [{target: 0.9}]\n",
       "spec.ratioMetric: expected a ratioMetric (missing)"},
      // yaml-cpp's LoadAll loops forever on this (fuzz.slo_specs): refused instead.
      {",lws:", "YAML documents (or input the YAML parser cannot get past)"},
  };
  for (const auto& c : cases) {
    const std::string err = ErrorOf(c.yaml);
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.yaml << "\n-> " << err;
  }
}

TEST(SloSpecParserTest, UnwrapQuery) {
  struct Case {
    const char* query;
    const char* metric;
    size_t matchers;
    std::vector<std::string> group_by;
  };
  const Case ok[] = {
      {"http_requests_total", "http_requests_total", 0, {}},
      {"rate(x_total{a=\"b\"}[5m])", "x_total", 1, {}},
      {" sum ( irate ( x_total [1m] ) ) ", "x_total", 0, {}},
      {"sum by (a, b) (increase(x_total{c=~\"5..\"}[1h]))", "x_total", 1, {"a", "b"}},
      {"sum(rate(x_total{l=\"a)b\"}[5m])) by (pod)", "x_total", 1, {"pod"}},
  };
  for (const auto& c : ok) {
    auto q = UnwrapQuery(c.query);
    ASSERT_TRUE(q.ok()) << c.query << ": " << q.error().detail;
    EXPECT_EQ(q->selector.metric, c.metric) << c.query;
    EXPECT_EQ(q->selector.matchers.size(), c.matchers) << c.query;
    EXPECT_EQ(q->group_by, c.group_by) << c.query;
  }
  for (const char* bad : {"sum without (a) (x)", "avg(x)", "rate(x)", "x / y", "sum(rate(x[5m])",
                          "histogram_quantile(0.9, x)", "", "sum by (a) (x) by (b)"}) {
    auto q = UnwrapQuery(bad);
    EXPECT_FALSE(q.ok()) << bad;
    if (!q.ok()) {
      EXPECT_EQ(q.error().reason, "query");
    }
  }
}

TEST(SloSpecParserTest, LoadsADirectory) {
  testing::TempDir dir;
  dir.Write("a.yaml", "slos:\n  - {name: one, objective: 99, sli: {ratio: {good: g, total: t}}}\n");
  dir.Write("b.yml",
            "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: two}\nspec:\n"
            "  indicatorRef: shared\n  objectives: [{target: 0.9}]\n");
  dir.Write("c.yaml",
            "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: shared}\nspec:\n  ratioMetric:\n"
            "    good: {metricSource: {type: Prometheus, spec: {query: g}}}\n"
            "    total: {metricSource: {type: Prometheus, spec: {query: t}}}\n");
  dir.Write("README.md", "not yaml: [");
  const auto specs = LoadSloSpecs(dir.path());
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "one");
  EXPECT_EQ(specs[1].name, "two");
  EXPECT_THROW(LoadSloSpecs(dir.path() + "/missing.yaml"), ConfigError);
}

TEST(SloSpecParserTest, AgentConfigLoadsSpecsAndChecksTheTick) {
  testing::TempDir dir;
  dir.Write("s.yaml",
            "slos:\n  - name: x\n    objective: 99\n    sli: {ratio: {good: g, total: t}}\n"
            "    alerting: {page: [{long: 65s, short: 15s, burn_rate: 2}], ticket: []}\n");
  const std::string path = dir.path() + "/s.yaml";
  const Config ok = ParseConfig("slo: {specs: " + path + ", tick: 5s}\n", "c.yaml");
  EXPECT_EQ(ok.slo.slos.size(), 1u);
  try {
    ParseConfig("slo: {specs: " + path + "}\n", "c.yaml");
    FAIL() << "15s and 65s windows with a 10s tick must be refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("window 15s is not a whole number of slo.tick (10s)"),
              std::string::npos)
        << e.what();
  }
}

TEST(SloRuleGeneratorTest, RulesMirrorTheEngine) {
  const auto specs = ParseSloSpecs(R"(
slos:
  - name: checkout
    service: shop
    objective: 99.9
    labels: {team: payments}
    sli: {ratio: {bad: 'req_total{code="500"}', total: req_total, group_by: [route]}}
)",
                                   "s.yaml");
  const std::string yaml = GenerateRules(specs, DefaultConfig().slo.payments);
  const YAML::Node root = YAML::Load(yaml);
  std::map<std::string, int> records;
  std::vector<YAML::Node> alerts;
  for (const auto& g : root["groups"]) {
    for (const auto& r : g["rules"]) {
      if (r["record"]) ++records[r["record"].Scalar()];
      if (r["alert"]) alerts.push_back(r);
    }
  }
  // Eight windows for checkout and for payment-availability; 8 payment windows.
  EXPECT_EQ(records["lookout:slo_burn_rate"], 16);
  EXPECT_EQ(records["lookout:slo_error_budget_remaining"], 2);
  EXPECT_EQ(records["lookout:payment_success_ratio"], 8);
  ASSERT_EQ(alerts.size(), 4u);  // page and ticket for both SLOs
  EXPECT_EQ(alerts[0]["labels"]["severity"].Scalar(), "page");
  EXPECT_EQ(alerts[0]["labels"]["team"].Scalar(), "payments");
  const std::string page = alerts[0]["expr"].Scalar();
  EXPECT_NE(page.find("lookout:slo_burn_rate{slo=\"checkout\", window=\"1h\"}) > 14.4"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("window=\"30m\"}) > 6"), std::string::npos) << page;
  EXPECT_NE(yaml.find("sum by (slo, service, route) (increase(lookout_slo_events_total{slo="
                      "\"checkout\"}[5m]))"),
            std::string::npos);
  EXPECT_NE(yaml.find("/ (1 - 0.999)"), std::string::npos);
  EXPECT_NE(yaml.find("interval: 5m"), std::string::npos);  // the 30d records
}

}  // namespace
}  // namespace lookout::slo
