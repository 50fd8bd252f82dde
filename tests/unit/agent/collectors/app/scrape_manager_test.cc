#include "agent/collectors/app/scrape_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "agent/config/config.h"
#include "exporters/prometheus/metrics_renderer.h"
#include "exporters/prometheus/text_encoder.h"
#include "lookout/metrics/metric_view.h"
#include "tests/unit/test_util.h"

namespace lookout::app {
namespace {

class SwappablePodIndex final : public PodIndex {
 public:
  std::shared_ptr<const PodSnapshot> Snapshot() const override {
    std::lock_guard lock(mu_);
    return snap_;
  }
  void RequestRefresh() override {}
  void Set(std::vector<Pod> pods) {
    std::lock_guard lock(mu_);
    snap_ = std::make_shared<const PodSnapshot>(std::move(pods));
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const PodSnapshot> snap_;
};

// Answers by URL; records what was asked.
class UrlHttpClient final : public HttpClient {
 public:
  Result<HttpClientResponse> Do(const HttpClientRequest& req) noexcept override {
    std::lock_guard lock(mu_);
    requests.push_back(req);
    auto it = answers.find(req.url);
    if (it == answers.end()) return MakeError("connect", req.url + ": refused");
    if (!it->second.ok()) return it->second.error();
    return it->second.value();
  }
  void Answer(const std::string& url, std::string body,
              std::string content_type = "text/plain; version=0.0.4", long status = 200) {
    answers.insert_or_assign(
        url, Result<HttpClientResponse>(HttpClientResponse{status, std::move(content_type),
                                                           std::move(body), std::nullopt}));
  }
  std::map<std::string, Result<HttpClientResponse>> answers;
  std::vector<HttpClientRequest> requests;

 private:
  std::mutex mu_;
};

Pod MakePod(std::string name, std::string ip, std::map<std::string, std::string> annotations,
            std::vector<ContainerInfo> containers = {}, std::string phase = "Running") {
  Pod p;
  p.uid = "uid-" + name;
  p.name = std::move(name);
  p.namespace_name = "shop";
  p.phase = std::move(phase);
  p.pod_ip = std::move(ip);
  p.annotations = std::move(annotations);
  p.containers = std::move(containers);
  return p;
}

ContainerInfo Container(std::string name, const std::vector<int>& ports) {
  ContainerInfo c;
  c.name = std::move(name);
  for (int p : ports) c.ports.push_back({"", p, "TCP"});
  return c;
}

AppsOptions Apps() { return DefaultConfig().apps; }

using testing::FindFamily;
// What /metrics serves of the manager: its own families and every target's compact ones,
// merged by the renderer.
std::vector<MetricFamily> Exposed(ScrapeManager& m) {
  const std::shared_ptr<Collectable> unowned(&m, [](Collectable*) {});
  prometheus::MetricsRenderer r;
  r.Add(unowned);
  return r.Gather();
}

const MetricFamily* Find(const std::vector<MetricFamily>& fs, std::string_view name) {
  return FindFamily(fs, name);
}
std::string LabelOf(const Sample& s, std::string_view name) { return testing::LabelValue(s, name); }

TEST(PodTargets, FollowsPrometheusAnnotations) {
  PodSnapshot snap({
      MakePod("a", "10.0.0.1",
              {{"prometheus.io/scrape", "true"},
               {"prometheus.io/port", "9102"},
               {"prometheus.io/path", "stats"}},
              {Container("app", {8080}), Container("exporter", {9102})}),
      // No port annotation: every declared TCP port is a target.
      MakePod("b", "10.0.0.2", {{"prometheus.io/scrape", "true"}}, {Container("web", {80, 81})}),
      MakePod("https", "fd00::5",
              {{"prometheus.io/scrape", "true"},
               {"prometheus.io/port", "8443"},
               {"prometheus.io/scheme", "https"}}),
      MakePod("not-annotated", "10.0.0.3", {}, {Container("x", {80})}),
      MakePod("false", "10.0.0.4", {{"prometheus.io/scrape", "false"}}, {Container("x", {80})}),
      MakePod("pending", "10.0.0.5", {{"prometheus.io/scrape", "true"}}, {Container("x", {80})},
              "Pending"),
      MakePod("bad-port", "10.0.0.6",
              {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "http"}}),
      MakePod("no-port", "10.0.0.7", {{"prometheus.io/scrape", "true"}}),
      MakePod("bad-scheme", "10.0.0.8",
              {{"prometheus.io/scrape", "true"}, {"prometheus.io/scheme", "ftp"}}),
  });
  std::vector<DiscoverySkip> skipped;
  const auto ts = PodTargets(snap, Apps(), &skipped);
  ASSERT_EQ(ts.size(), 4u);
  EXPECT_EQ(ts[0].url, "http://10.0.0.1:9102/stats");
  EXPECT_EQ(ts[0].Label("container"), "exporter");
  EXPECT_EQ(ts[0].Label("namespace"), "shop");
  EXPECT_EQ(ts[0].Label("pod"), "a");
  EXPECT_EQ(ts[0].Label("job"), "kubernetes-pods");
  EXPECT_EQ(ts[0].Label("instance"), "10.0.0.1:9102");
  EXPECT_EQ(ts[1].url, "http://10.0.0.2:80/metrics");
  EXPECT_EQ(ts[2].url, "http://10.0.0.2:81/metrics");
  EXPECT_EQ(ts[3].url, "https://[fd00::5]:8443/metrics");
  EXPECT_EQ(ts[3].Label("container"), "");
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped[0].reason, "bad_port");
  EXPECT_EQ(skipped[1].reason, "no_port");
  EXPECT_EQ(skipped[2].reason, "bad_scheme");
}

TEST(StaticTargets, DefaultsAndLabels) {
  AppsOptions c = Apps();
  c.static_targets.push_back(
      {"http://127.0.0.1:8080/metrics", "api", {}, {}, {{"team", "pay"}}, {}});
  c.static_targets.push_back({"http://localhost:9000/m",
                              "x",
                              std::chrono::seconds(5),
                              std::chrono::seconds(2),
                              {{"instance", "custom"}},
                              {}});
  const auto ts = StaticTargets(c);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].Label("instance"), "127.0.0.1:8080");
  EXPECT_EQ(ts[0].Label("team"), "pay");
  EXPECT_EQ(ts[0].interval, c.scrape_interval);
  EXPECT_EQ(ts[1].Label("instance"), "custom");
  EXPECT_EQ(ts[1].interval, std::chrono::seconds(5));
  EXPECT_EQ(ts[1].timeout, std::chrono::seconds(2));
}

TEST(ScrapeManager, ReexposesWithTargetLabelsAndDropsVanishedPods) {
  auto index = std::make_shared<SwappablePodIndex>();
  index->Set({MakePod("cart-1", "10.0.0.1",
                      {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "8080"}},
                      {Container("cart", {8080})}),
              MakePod("cart-2", "10.0.0.2",
                      {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "8080"}},
                      {Container("cart", {8080})})});
  UrlHttpClient http;
  const std::string body =
      "# HELP orders_total Orders.\n# TYPE orders_total counter\n"
      "orders_total{pod=\"app-thinks-its-name\"} 7\n";
  http.Answer("http://10.0.0.1:8080/metrics", body);
  http.Answer("http://10.0.0.2:8080/metrics", "garbage{{{\n");
  ScrapeManager m(Apps(), index, nullptr);
  m.ScrapeAllOnce(http);

  std::vector<MetricFamily> out = Exposed(m);
  const auto* orders = Find(out, "orders_total");
  ASSERT_NE(orders, nullptr);
  ASSERT_EQ(orders->samples.size(), 1u);
  const Sample& s = orders->samples[0];
  EXPECT_EQ(s.value, 7);
  EXPECT_EQ(LabelOf(s, "pod"), "cart-1");
  EXPECT_EQ(LabelOf(s, "exported_pod"), "app-thinks-its-name");
  EXPECT_EQ(LabelOf(s, "namespace"), "shop");
  EXPECT_EQ(LabelOf(s, "container"), "cart");
  EXPECT_EQ(LabelOf(s, "job"), "kubernetes-pods");
  EXPECT_EQ(LabelOf(s, "instance"), "10.0.0.1:8080");

  const auto* up = Find(out, "lookout_scrape_target_up");
  ASSERT_NE(up, nullptr);
  ASSERT_EQ(up->samples.size(), 2u);
  std::map<std::string, double> up_by_pod;
  for (const auto& u : up->samples) up_by_pod[LabelOf(u, "pod")] = u.value;
  EXPECT_EQ(up_by_pod["cart-1"], 1);
  EXPECT_EQ(up_by_pod["cart-2"], 0);
  const auto* fails = Find(out, "lookout_scrape_target_failures_total");
  ASSERT_NE(fails, nullptr);
  ASSERT_EQ(fails->samples.size(), 1u);
  EXPECT_EQ(LabelOf(fails->samples[0], "reason"), "parse");
  EXPECT_EQ(Find(out, "lookout_scrape_samples")->samples.size(), 2u);
  // The scrape asked for OpenMetrics first, with the timeout header.
  ASSERT_FALSE(http.requests.empty());
  EXPECT_TRUE(http.requests[0].headers[0].second.starts_with("application/openmetrics-text"));

  // cart-1 goes away: its series go with it.
  index->Set({MakePod("cart-2", "10.0.0.2",
                      {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "8080"}})});
  m.ScrapeAllOnce(http);
  out = Exposed(m);
  EXPECT_EQ(Find(out, "orders_total"), nullptr);
  EXPECT_EQ(Find(out, "lookout_scrape_target_up")->samples.size(), 1u);
}

TEST(ScrapeManager, FailureReasonsAndRecovery) {
  AppsOptions c = Apps();
  c.static_targets.push_back({"http://h:1/down", "j", {}, {}, {}, {}});
  c.static_targets.push_back({"http://h:1/404", "j", {}, {}, {}, {}});
  c.static_targets.push_back({"http://h:1/big", "j", {}, {}, {}, {}});
  c.static_targets.push_back({"http://h:1/om-truncated", "j", {}, {}, {}, {}});
  c.static_targets.push_back({"http://h:1/ok", "j", {}, {}, {}, {}});
  c.max_samples = 2;
  UrlHttpClient http;
  http.Answer("http://h:1/404", "", "text/plain", 404);
  http.Answer("http://h:1/big", "a 1\nb 2\nc 3\n");
  http.Answer("http://h:1/om-truncated", "a 1\n", "application/openmetrics-text; version=1.0.0");
  http.Answer("http://h:1/ok", "# TYPE a gauge\na 1\n");
  ScrapeManager m(c, nullptr, nullptr);
  m.ScrapeAllOnce(http);
  std::vector<MetricFamily> out = Exposed(m);
  std::set<std::string> reasons;
  for (const auto& s : Find(out, "lookout_scrape_target_failures_total")->samples) {
    reasons.insert(LabelOf(s, "reason"));
  }
  EXPECT_EQ(reasons, (std::set<std::string>{"connect", "http_404", "sample_limit", "truncated"}));
  ASSERT_NE(Find(out, "a"), nullptr);
  EXPECT_EQ(Find(out, "a")->samples.size(), 1u);

  // The broken target recovers: its series come back.
  http.Answer("http://h:1/404", "# TYPE b gauge\nb 2\n");
  m.ScrapeAllOnce(http);
  out = Exposed(m);
  ASSERT_NE(Find(out, "b"), nullptr);
}

// Parse buffers go from target to target (the scratch pool): what is exposed must always be
// exactly each target's latest body, whatever shapes the buffer held before (histograms,
// summaries, longer label sets), and a result a reader still holds must not change.
TEST(ScrapeManager, ReusedParseBuffersExposeOnlyTheLatestBodies) {
  AppsOptions c = Apps();
  c.static_targets.push_back({"http://r:1/m", "r", {}, {}, {}, {}});
  c.static_targets.push_back({"http://s:1/m", "s", {}, {}, {}, {}});
  c.max_concurrent_scrapes = 1;  // one buffer, handed from target to target
  UrlHttpClient http;
  ScrapeManager m(c, nullptr, nullptr);
  const std::vector<std::string> r_bodies = {
      "# TYPE a gauge\na{k=\"long-label-value-on-the-heap-1\"} 1\na{k=\"2\"} 2\n",
      "# TYPE b counter\nb_total{z=\"9\"} 9\n# TYPE a gauge\na{k=\"3\"} 3\n",
      "# TYPE a gauge\na{k=\"long-label-value-on-the-heap-4\",j=\"x\"} 4\n",
  };
  const std::vector<std::string> s_bodies = {
      "# TYPE hh histogram\nhh_bucket{le=\"1\"} 1\nhh_bucket{le=\"+Inf\"} 2\nhh_sum 3\n"
      "hh_count 2\n# TYPE ss summary\nss{quantile=\"0.5\"} 1\nss_sum 2\nss_count 3\n",
      "# TYPE hh histogram\nhh_bucket{x=\"long-label-value-on-the-heap\",le=\"0.5\"} 1\n"
      "hh_bucket{x=\"long-label-value-on-the-heap\",le=\"+Inf\"} 5\n"
      "hh_sum{x=\"long-label-value-on-the-heap\"} 3\nhh_count{x=\"long-label-value-on-the-heap\"} "
      "5\n",
      "# TYPE g2 gauge\ng2{k=\"v\"} 7\n",
      "# TYPE ss summary\nss{quantile=\"0.9\",q=\"w\"} 4\nss_sum{q=\"w\"} 1\nss_count{q=\"w\"} 2\n",
  };
  auto expected = [](const std::string& body, const std::string& job) {
    ParseOptions opt;
    opt.target_labels = {{"job", job}, {"instance", job + ":1"}};
    auto parsed = ParseExposition(body, ExpositionFormat::kText, opt);
    EXPECT_TRUE(parsed.ok());
    return parsed.ok() ? *parsed : std::vector<MetricFamily>{};
  };
  auto text_of = [](std::vector<MetricFamily> fs) {
    std::stable_sort(fs.begin(), fs.end(),  // /metrics is sorted by family name
                     [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
    std::string text;
    prometheus::EncodeText(fs, text);
    return text;
  };
  // Results a reader holds, with what they held when taken.
  std::vector<std::pair<std::shared_ptr<const CompactFamilies>, std::string>> held;
  for (size_t round = 0; round < 12; ++round) {
    const std::string& rb = r_bodies[round % r_bodies.size()];
    const std::string& sb = s_bodies[round % s_bodies.size()];
    http.Answer("http://r:1/m", rb);
    http.Answer("http://s:1/m", sb);
    m.ScrapeAllOnce(http);
    std::vector<MetricFamily> out = Exposed(m);
    std::erase_if(out, [](const MetricFamily& f) { return f.name.starts_with("lookout_"); });
    auto want = expected(rb, "r");
    for (auto& f : expected(sb, "s")) want.push_back(std::move(f));
    EXPECT_EQ(text_of(out), text_of(want)) << "round " << round;
    if (round % 2 == 0) {
      std::vector<std::shared_ptr<const CompactFamilies>> now;
      m.CollectCompact(now);
      for (auto& r : now) {
        std::vector<MetricFamily> fs;
        for (size_t i = 0; i < r->family_count(); ++i) fs.push_back(r->ExpandFamily(i));
        held.emplace_back(r, text_of(fs));
      }
    }
  }
  ASSERT_EQ(held.size(), 12u);
  for (const auto& [r, text] : held) {
    std::vector<MetricFamily> fs;
    for (size_t i = 0; i < r->family_count(); ++i) fs.push_back(r->ExpandFamily(i));
    EXPECT_EQ(text_of(fs), text);
  }
}

// A body with the last body's series gets only its values read (steady_shape.h), and a result
// a reader holds keeps its values; any other body is parsed whole and its shape learned again.
TEST(ScrapeManager, ABodyWithTheSameSeriesIsReadThroughItsShape) {
  AppsOptions c = Apps();
  c.static_targets.push_back({"http://v:1/m", "v", {}, {}, {}, {}});
  UrlHttpClient http;
  ScrapeManager m(c, nullptr, nullptr);
  auto body = [](int n, const char* extra = "") {
    return "# TYPE req_total counter\nreq_total{code=\"200\"} " + std::to_string(n) +
           "\n# TYPE h histogram\nh_bucket{le=\"1\"} " + std::to_string(n) +
           "\nh_bucket{le=\"+Inf\"} " + std::to_string(n + 1) + "\nh_sum 2.5\nh_count " +
           std::to_string(n + 1) + "\n" + extra;
  };
  auto value_of = [&](std::string_view name) {
    const auto out = Exposed(m);
    const MetricFamily* f = Find(out, name);
    return f == nullptr || f->samples.empty() ? -1.0 : f->samples[0].value;
  };
  auto reused = [&] {
    const auto out = Exposed(m);
    const MetricFamily* f = Find(out, "lookout_scrape_shape_reused_total");
    return f == nullptr || f->samples.empty() ? -1.0 : f->samples[0].value;
  };
  http.Answer("http://v:1/m", body(1));
  m.ScrapeAllOnce(http);
  EXPECT_EQ(reused(), 0);
  std::vector<std::shared_ptr<const CompactFamilies>> first;
  m.CollectCompact(first);
  ASSERT_EQ(first.size(), 1u);
  http.Answer("http://v:1/m", body(5));
  m.ScrapeAllOnce(http);
  EXPECT_EQ(reused(), 1);
  EXPECT_EQ(value_of("req_total"), 5);
  const auto out = Exposed(m);
  ASSERT_NE(Find(out, "h"), nullptr);
  EXPECT_EQ(Find(out, "h")->samples[0].count, 6u);
  EXPECT_EQ(Find(out, "h")->samples[0].buckets[0].cumulative_count, 5u);
  EXPECT_EQ(first[0]->ExpandFamily(0).samples[0].value, 1);  // the held result is unchanged
  // A series more: parsed whole, then the new shape is used.
  http.Answer("http://v:1/m", body(6, "new_gauge 3\n"));
  m.ScrapeAllOnce(http);
  EXPECT_EQ(reused(), 1);
  EXPECT_EQ(value_of("new_gauge"), 3);
  http.Answer("http://v:1/m", body(7, "new_gauge 4\n"));
  m.ScrapeAllOnce(http);
  EXPECT_EQ(reused(), 2);
  EXPECT_EQ(value_of("new_gauge"), 4);
  EXPECT_EQ(value_of("req_total"), 7);
  // A failed scrape drops the series and the shape; the next one parses whole.
  http.Answer("http://v:1/m", "", "text/plain", 500);
  m.ScrapeAllOnce(http);
  EXPECT_EQ(value_of("req_total"), -1);
  http.Answer("http://v:1/m", body(8, "new_gauge 4\n"));
  m.ScrapeAllOnce(http);
  EXPECT_EQ(reused(), 2);
  EXPECT_EQ(value_of("req_total"), 8);
}

// The SLO engine's read follows each scrape and each set of names asked for: the expansion it
// keeps per target is of the latest result and of the names wanted now.
TEST(ScrapeManager, SharedReadFollowsRescrapesAndTheNamesAskedFor) {
  AppsOptions c = Apps();
  c.static_targets.push_back({"http://a:1/m", "a", {}, {}, {}, {}});
  UrlHttpClient http;
  auto m = std::make_shared<ScrapeManager>(c, nullptr, nullptr);
  MetricViewSource store;
  store.Add(m);
  auto value = [&](const std::string& name) {
    const auto points = store.View({name}).Select(*ParseSelector(name + "{job=\"a\"}"));
    return points.size() == 1 ? points[0].value : -1.0;
  };
  http.Answer("http://a:1/m", "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 10\n");
  m->ScrapeAllOnce(http);
  EXPECT_EQ(value("x"), 1);
  EXPECT_EQ(value("y"), 10);  // another name, same result
  EXPECT_EQ(value("x"), 1);
  http.Answer("http://a:1/m", "# TYPE x gauge\nx 2\n# TYPE y gauge\ny 20\n");
  m->ScrapeAllOnce(http);
  EXPECT_EQ(value("x"), 2);
  EXPECT_EQ(value("y"), 20);
  http.Answer("http://a:1/m", "", "text/plain", 503);  // down: its series go
  m->ScrapeAllOnce(http);
  EXPECT_EQ(value("x"), -1);
}

TEST(ScrapeManager, ConflictingTypesAcrossTargetsKeepOne) {
  AppsOptions c = Apps();
  c.static_targets.push_back({"http://a:1/m", "a", {}, {}, {}, {}});
  c.static_targets.push_back({"http://b:1/m", "b", {}, {}, {}, {}});
  UrlHttpClient http;
  http.Answer("http://a:1/m", "# TYPE x counter\nx 1\n");
  http.Answer("http://b:1/m", "# TYPE x gauge\nx 2\n");
  ScrapeManager m(c, nullptr, nullptr);
  m.ScrapeAllOnce(http);
  std::vector<MetricFamily> out = Exposed(m);
  size_t n = 0;
  for (const auto& f : out) n += f.name == "x";
  EXPECT_EQ(n, 1u);
}

// The SLO engine's read shares each target's last result (ShareSome) instead of copying it:
// what it selects is what the copying read selects, target labels included, plus the series
// the exposition leaves out for their TYPE (one name, one type there; PromQL ignores TYPE).
TEST(ScrapeManager, SharedReadSelectsWhatTheCopiedReadSelectsAndOtherTypes) {
  AppsOptions c = Apps();
  c.static_targets.push_back({"http://a:1/m", "a", {}, {}, {}, {}});
  c.static_targets.push_back({"http://b:1/m", "b", {}, {}, {}, {}});
  c.static_targets.push_back({"http://c:1/m", "c", {}, {}, {}, {}});
  UrlHttpClient http;
  http.Answer("http://a:1/m",
              "# TYPE orders_total counter\norders_total{code=\"200\",job=\"app\"} 7\n"
              "orders_total{code=\"500\"} 1\n# TYPE other gauge\nother 3\n");
  http.Answer("http://b:1/m", "# TYPE orders_total counter\norders_total{code=\"200\"} 5\n");
  http.Answer("http://c:1/m", "# TYPE orders_total gauge\norders_total 100\n");  // a gauge
  auto m = std::make_shared<ScrapeManager>(c, nullptr, nullptr);
  m->ScrapeAllOnce(http);
  MetricViewSource store;
  store.Add(m);
  const MetricView shared = store.View({"orders_total"});
  std::vector<MetricFamily> copied_families;
  m->CollectSome([](std::string_view n) { return n == "orders_total"; }, copied_families);
  const MetricView copied(std::move(copied_families));
  auto select = [](const MetricView& v, std::string_view text) {
    std::multiset<std::pair<std::string, double>> got;
    for (auto& p : v.Select(*ParseSelector(text))) {
      std::sort(p.labels.begin(), p.labels.end(),
                [](const Label& a, const Label& b) { return a.name < b.name; });
      std::string key;
      for (const auto& l : p.labels) key += l.name + "=" + l.value + ",";
      got.emplace(key, p.value);
    }
    return got;
  };
  for (const char* sel :
       {"orders_total{job=~\"a|b\"}", "orders_total{job=\"b\"}", "orders_total{code=\"500\"}",
        "orders_total{exported_job=\"app\",instance=~\"a:.*\"}", "other"}) {
    EXPECT_EQ(select(shared, sel), select(copied, sel)) << sel;
  }
  EXPECT_EQ(select(copied, "orders_total").size(), 3u);  // the exposition drops c's gauge
  EXPECT_EQ(select(shared, "orders_total").size(), 4u);  // a's two, b's and c's gauge
  EXPECT_EQ(select(shared, "orders_total{job=\"c\"}").size(), 1u);
  EXPECT_EQ(select(shared, "orders_total{job=\"b\"}").size(), 1u);
  EXPECT_TRUE(select(shared, "other").empty());  // not asked for
}

// A pod list refresh while a target's scrape is in flight keeps the target's state: the worker
// records into it (it used to be erased and freed under the worker: a use-after-free ASan found).
TEST(ScrapeManager, PodRefreshDuringAScrapeKeepsTheTargetItsWorkerHolds) {
  AppsOptions c = Apps();
  c.scrape_interval = std::chrono::milliseconds(2000);
  c.scrape_timeout = std::chrono::milliseconds(2000);
  c.max_concurrent_scrapes = 2;  // the other worker refreshes the pod list meanwhile
  auto index = std::make_shared<SwappablePodIndex>();
  const auto pods = [] {
    return std::vector<Pod>{MakePod(
        "cart-1", "10.0.0.1", {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "8080"}},
        {Container("cart", {8080})})};
  };
  index->Set(pods());
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, released = false, first = true;
  };
  auto gate = std::make_shared<Gate>();
  struct Blocking final : HttpClient {
    std::shared_ptr<Gate> g;
    Result<HttpClientResponse> Do(const HttpClientRequest&) noexcept override {
      std::unique_lock lock(g->mu);
      if (g->first) {  // the first scrape waits until the test lets it go
        g->first = false;
        g->entered = true;
        g->cv.notify_all();
        g->cv.wait(lock, [&] { return g->released; });
      }
      return HttpClientResponse{200, "text/plain; version=0.0.4",
                                "# TYPE orders_total counter\norders_total 7\n", std::nullopt};
    }
  };
  ScrapeManager m(c, index, [gate] {
    auto b = std::make_unique<Blocking>();
    b->g = gate;
    return b;
  });
  m.Start();
  {
    std::unique_lock lock(gate->mu);
    ASSERT_TRUE(gate->cv.wait_for(lock, std::chrono::seconds(5), [&] { return gate->entered; }));
  }
  index->Set(pods());  // a new snapshot: the next refresh rebuilds the target map
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // > one refresh period (1 s)
  {
    std::lock_guard lock(gate->mu);
    gate->released = true;
  }
  gate->cv.notify_all();
  bool recorded = false;
  for (int i = 0; i < 40 && !recorded; ++i) {
    std::vector<MetricFamily> out = Exposed(m);
    const auto* orders = Find(out, "orders_total");
    recorded = orders != nullptr && orders->samples.size() == 1;
    if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  m.Stop();
  EXPECT_TRUE(recorded);
}

TEST(ScrapeManager, WorkersScrapeOnTheirInterval) {
  AppsOptions c = Apps();
  c.scrape_interval = std::chrono::milliseconds(1000);
  c.scrape_timeout = std::chrono::milliseconds(500);
  c.max_concurrent_scrapes = 2;
  for (int i = 0; i < 3; ++i) {
    c.static_targets.push_back({"http://t:1/" + std::to_string(i), "j", {}, {}, {}, {}});
  }
  auto http = std::make_shared<UrlHttpClient>();
  for (int i = 0; i < 3; ++i) http->Answer("http://t:1/" + std::to_string(i), "g 1\n");
  struct Shared final : HttpClient {
    std::shared_ptr<UrlHttpClient> h;
    Result<HttpClientResponse> Do(const HttpClientRequest& r) noexcept override { return h->Do(r); }
  };
  ScrapeManager m(c, nullptr, [http] {
    auto s = std::make_unique<Shared>();
    s->h = http;
    return s;
  });
  m.Start();
  // Every target is scraped within its first interval (offsets spread them over it).
  for (int i = 0; i < 60; ++i) {
    std::vector<MetricFamily> out = Exposed(m);
    const auto* up = Find(out, "lookout_scrape_target_up");
    size_t ups = 0;
    for (const auto& s : up->samples) ups += s.value == 1;
    if (ups == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  m.Stop();
  std::vector<MetricFamily> out = Exposed(m);
  size_t ups = 0;
  for (const auto& s : Find(out, "lookout_scrape_target_up")->samples) ups += s.value == 1;
  EXPECT_EQ(ups, 3u);
  size_t g_samples = 0;
  for (const auto& f : out) g_samples += f.name == "g" ? f.samples.size() : 0;
  EXPECT_EQ(g_samples, 3u);
}

}  // namespace
}  // namespace lookout::app
