#include "lookout/metrics/metric_view.h"

#include <gtest/gtest.h>

#include "agent/collectors/app/exposition_parser.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

MetricView ViewOf(const std::string& text) {
  auto fs = app::ParseExposition(text, app::ExpositionFormat::kText, {});
  EXPECT_TRUE(fs.ok());
  return MetricView(std::move(fs).value());
}

Selector Sel(std::string_view s) {
  auto r = ParseSelector(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().detail);
  return r.ok() ? std::move(r).value() : Selector{};
}

const std::string kText =
    "# TYPE payment_attempts_total counter\n"
    "payment_attempts_total{provider=\"stripe\",method=\"card\"} 100\n"
    "payment_attempts_total{provider=\"adyen\",method=\"card\"} 50\n"
    "payment_attempts_total{provider=\"adyen\",method=\"wallet\"} 5\n"
    "# TYPE lat histogram\n"
    "lat_bucket{route=\"/pay\",le=\"0.1\"} 7\n"
    "lat_bucket{route=\"/pay\",le=\"+Inf\"} 9\n"
    "lat_sum{route=\"/pay\"} 1.5\nlat_count{route=\"/pay\"} 9\n"
    "# TYPE rpc summary\nrpc{quantile=\"0.99\"} 0.2\nrpc_sum 3\nrpc_count 4\n";

double Sum(const std::vector<SeriesPoint>& ps) {
  double s = 0;
  for (const auto& p : ps) s += p.value;
  return s;
}

TEST(MetricView, SelectsLikePromQL) {
  const MetricView v = ViewOf(kText);
  EXPECT_EQ(Sum(v.Select(Sel("payment_attempts_total"))), 155);
  EXPECT_EQ(Sum(v.Select(Sel("payment_attempts_total{provider=\"adyen\"}"))), 55);
  EXPECT_EQ(Sum(v.Select(Sel("payment_attempts_total{provider!=\"adyen\"}"))), 100);
  EXPECT_EQ(
      Sum(v.Select(Sel("payment_attempts_total{method=~\"card|wallet\",provider=~\"ady.*\"}"))),
      55);
  // Anchored: "ady" alone does not match "adyen".
  EXPECT_EQ(v.Select(Sel("payment_attempts_total{provider=~\"ady\"}")).size(), 0u);
  EXPECT_EQ(Sum(v.Select(Sel("payment_attempts_total{provider!~\"stripe\"}"))), 55);
  // A missing label matches "".
  EXPECT_EQ(Sum(v.Select(Sel("payment_attempts_total{region=\"\"}"))), 155);
  EXPECT_EQ(v.Select(Sel("lat_bucket{le=\"0.1\"}"))[0].value, 7);
  EXPECT_EQ(v.Select(Sel("lat_bucket{le=\"+Inf\",route=\"/pay\"}"))[0].value, 9);
  EXPECT_EQ(v.Select(Sel("lat_count"))[0].value, 9);
  EXPECT_EQ(v.Select(Sel("lat_sum"))[0].value, 1.5);
  EXPECT_EQ(v.Select(Sel("rpc{quantile=\"0.99\"}"))[0].value, 0.2);
  EXPECT_EQ(v.Select(Sel("rpc_count"))[0].value, 4);
  EXPECT_TRUE(v.Select(Sel("lat")).empty());  // a histogram has no bare series
  EXPECT_TRUE(v.Select(Sel("nothing")).empty());
}

// A view of named series asks its sources for those families only.
TEST(MetricViewSource, ViewOfNamedSeriesCopiesOnlyTheirFamilies) {
  struct Source final : Collectable {
    void Collect(std::vector<MetricFamily>& out) override {
      auto fs = app::ParseExposition(kText, app::ExpositionFormat::kText, {});
      for (auto& f : *fs) out.push_back(std::move(f));
    }
  };
  auto src = std::make_shared<Source>();
  MetricViewSource store;
  store.Add(src);
  const MetricView v = store.View({"lat_bucket", "rpc_count"});
  EXPECT_EQ(v.Select(Sel("lat_bucket{le=\"0.1\"}"))[0].value, 7);
  EXPECT_EQ(v.Select(Sel("rpc_count"))[0].value, 4);
  EXPECT_TRUE(v.Select(Sel("payment_attempts_total")).empty());
  EXPECT_EQ(Sum(store.View({"payment_attempts_total"}).Select(Sel("payment_attempts_total"))), 155);
  EXPECT_EQ(Sum(store.View().Select(Sel("payment_attempts_total"))), 155);
}

// Shared families: target labels belong to every series, for matching, grouping and Select.
TEST(MetricView, SharedFamiliesCarryTheirTargetLabels) {
  auto fs = app::ParseExposition(kText, app::ExpositionFormat::kText, {});
  ASSERT_TRUE(fs.ok());
  auto families = std::make_shared<const std::vector<MetricFamily>>(std::move(fs).value());
  auto pod_a = std::make_shared<const Labels>(Labels{{"pod", "a"}, {"namespace", "shop"}});
  auto pod_b = std::make_shared<const Labels>(Labels{{"pod", "b"}, {"namespace", "shop"}});
  const MetricView v({{families, pod_a}, {families, pod_b}},
                     [](std::string_view n) { return n != "rpc"; });
  EXPECT_EQ(Sum(v.Select(Sel("payment_attempts_total"))), 310);
  EXPECT_EQ(Sum(v.Select(Sel("payment_attempts_total{pod=\"b\",provider=\"adyen\"}"))), 55);
  const auto le = v.Select(Sel("lat_bucket{pod=\"a\",le=\"+Inf\"}"));
  ASSERT_EQ(le.size(), 1u);
  EXPECT_EQ(le[0].value, 9);
  Sample bucket;
  bucket.labels = le[0].labels;
  EXPECT_EQ(testing::LabelValue(bucket, "namespace"), "shop");
  EXPECT_EQ(le[0].labels.back().name, "le");        // after the target labels, as Select appends
  EXPECT_TRUE(v.Select(Sel("rpc_count")).empty());  // not wanted
  int seen = 0;
  v.ForEach("payment_attempts_total", {}, [&](const SeriesRef& r) {
    EXPECT_EQ(r.Label("namespace"), "shop");
    EXPECT_FALSE(r.Label("provider").empty());
    EXPECT_TRUE(r.Label("absent").empty());
    ++seen;
  });
  EXPECT_EQ(seen, 6);
}

// One name in two sources with different types (an untyped scrape, an OTLP counter): both are
// selected, as PromQL selects series whatever their TYPE.
TEST(MetricView, FamiliesOfOneNameWithDifferentTypesAreAllSelected) {
  auto counter = std::make_shared<std::vector<MetricFamily>>(1);
  (*counter)[0].name = "jobs_total";
  (*counter)[0].type = MetricType::kCounter;
  (*counter)[0].samples.resize(1);
  (*counter)[0].samples[0].labels = {{"src", "otlp"}};
  (*counter)[0].samples[0].value = 3;
  auto untyped = std::make_shared<std::vector<MetricFamily>>(*counter);
  (*untyped)[0].type = MetricType::kUntyped;
  (*untyped)[0].samples[0].labels = {{"src", "scrape"}};
  (*untyped)[0].samples[0].value = 4;
  const MetricView v({{counter, nullptr}, {untyped, nullptr}, {counter, nullptr}},
                     [](std::string_view) { return true; });
  EXPECT_EQ(Sum(v.Select(Sel("jobs_total"))), 10);
  EXPECT_EQ(Sum(v.Select(Sel("jobs_total{src=\"scrape\"}"))), 4);
}

// Regular expressions are Prometheus's (Go's RE2 syntax), fully anchored: what PromQL accepts
// the SLO engine accepts, and what it refuses (backreferences, lookaround) is refused here too.
TEST(LabelMatcher, RegexesArePrometheusSyntaxFullyAnchored) {
  auto re = [](std::string v) {
    return LabelMatcher::Make("l", LabelMatcher::Op::kRegexMatch, std::move(v));
  };
  auto ci = re("(?i)post|put");  // std::regex (ECMAScript) refused (?i)
  ASSERT_TRUE(ci.ok());
  EXPECT_TRUE(ci->Matches("POST"));
  EXPECT_TRUE(ci->Matches("Put"));
  EXPECT_FALSE(ci->Matches("GET"));
  EXPECT_FALSE(ci->Matches("POSTS"));  // anchored: the whole value
  auto classes = re("[[:digit:]]\\pL+");
  ASSERT_TRUE(classes.ok());
  EXPECT_TRUE(classes->Matches("5é"));
  auto alt = re("a|b");  // anchored around the whole alternation, not its first branch
  EXPECT_FALSE(alt->Matches("ab"));
  EXPECT_TRUE(re("").value().Matches(""));  // =~"" matches the empty (or missing) value
  EXPECT_FALSE(re("").value().Matches("x"));
  for (const char* bad : {"(a)\\1", "a(?=b)", "(?<!a)b", "(", "a{2,1}"}) {
    auto r = re(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().detail.find("invalid regular expression"), std::string::npos);
    }
  }
  auto no = LabelMatcher::Make("l", LabelMatcher::Op::kRegexNoMatch, "(?i)get");
  EXPECT_FALSE(no->Matches("Get"));
  EXPECT_TRUE(no->Matches("POST"));
}

TEST(ParseSelector, SyntaxAndErrors) {
  const Selector s = Sel(" a:b_c { x = \"1\" , y !~ 'z\\\\d' , } ");
  EXPECT_EQ(s.metric, "a:b_c");
  ASSERT_EQ(s.matchers.size(), 2u);
  EXPECT_TRUE(s.matchers[1].Matches("q"));
  EXPECT_FALSE(s.matchers[1].Matches("z5"));  // the value unescapes to the regex z\d
  for (const char* bad : {"", "{a=\"b\"}", "m{a=\"b\"", "m{a=b}", "m{a=~\"(\"}", "m{1a=\"x\"}",
                          "m x", "m{a==\"b\"}"}) {
    auto r = ParseSelector(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().reason, "selector");
    }
  }
}

}  // namespace
}  // namespace lookout
