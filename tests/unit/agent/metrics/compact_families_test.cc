#include "lookout/metrics/compact_families.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "exporters/prometheus/metrics_renderer.h"
#include "exporters/prometheus/openmetrics_encoder.h"
#include "lookout/metrics/metric_view.h"
#include "tests/unit/zlib_peer.h"

namespace lookout {
namespace {

// Every field the model has, in every family type, with values that would show a stale field
// left over from a reused sample (exemplars here and not there, buckets of different counts).
std::vector<MetricFamily> EveryField() {
  std::vector<MetricFamily> out;
  MetricFamily c{
      "orders_total", "Orders \\ \"placed\".\nSecond line.", MetricType::kCounter, "", {}};
  for (int i = 0; i < 5; ++i) {
    Sample s;
    s.labels = {{"method", i % 2 ? "GET" : "POST"},
                {"route", "/api/v1/items/" + std::to_string(i) + "/a-value-longer-than-sso"},
                {"q", "a\"b\\c\nd"}};
    s.value = i * 1.5;
    if (i == 1) s.created = 1700000000.25;
    if (i == 2) s.exemplar = Exemplar{{{"trace_id", "4bf92f3577b34da6"}}, 1, 1700000001.5};
    if (i == 3) s.timestamp_ms = 1700000000123;
    c.samples.push_back(std::move(s));
  }
  out.push_back(std::move(c));

  MetricFamily g{"temperature_celsius", "", MetricType::kGauge, "celsius", {}};
  Sample nolabels;
  nolabels.value = -0.5;
  g.samples.push_back(nolabels);
  Sample inf;
  inf.labels = {{"k", "inf"}, {"empty", ""}};
  inf.value = INFINITY;
  g.samples.push_back(inf);
  out.push_back(std::move(g));

  MetricFamily h{"latency_seconds", "Latency.", MetricType::kHistogram, "seconds", {}};
  for (int i = 0; i < 3; ++i) {
    Sample s;
    s.labels = {{"path", "/p" + std::to_string(i)}};
    s.buckets.push_back({0.1, 1, std::nullopt, i == 0 ? "0.10" : ""});
    if (i != 1) {
      s.buckets.push_back(
          {1, 5, Exemplar{{{"span_id", "00f067aa0ba902b7"}}, 0.7, std::nullopt}, "1.0"});
    }
    s.buckets.push_back({INFINITY, 9, std::nullopt, ""});
    s.sum = 4.25 + i;
    s.count = 9;
    if (i == 2) s.created = 1700000000;
    h.samples.push_back(std::move(s));
  }
  out.push_back(std::move(h));

  MetricFamily sm{"rpc_seconds", "RPC.", MetricType::kSummary, "", {}};
  Sample q;
  q.labels = {{"service", "pay"}};
  q.quantiles = {{0.5, 0.01, "0.50"}, {0.99, 0.2, ""}};
  q.sum = 12;
  q.count = 100;
  sm.samples.push_back(q);
  out.push_back(std::move(sm));

  MetricFamily info{"build_info", "Build.", MetricType::kInfo, "", {}};
  Sample bi;
  bi.labels = {{"version", "1.2.3"}};
  bi.value = 1;
  info.samples.push_back(bi);
  out.push_back(std::move(info));

  out.push_back(MetricFamily{"no_series", "Listed, no series.", MetricType::kUntyped, "", {}});
  MetricFamily u{"legacy", "", MetricType::kUntyped, "", {}};
  Sample us;
  us.labels = {{"le", "5"}};  // an app's own `le` on an untyped series: just a label
  us.value = 7;
  u.samples.push_back(us);
  out.push_back(std::move(u));
  MetricFamily bytes{"odd_values", "", MetricType::kGauge, "", {}};
  Sample odd;  // sizes that take two and three LEB128 bytes; NUL, 0xFF, UTF-8
  odd.labels = {{"long", std::string(200, 'x')},
                {"longer", std::string(20000, 'y')},
                {"bytes", std::string("a\0b\xff\xc3\xa9", 6)}};
  odd.value = 3;
  bytes.samples.push_back(odd);
  Sample none;  // no labels at all, last in the text
  none.value = 4;
  bytes.samples.push_back(none);
  out.push_back(std::move(bytes));
  return out;
}

const Labels kTarget = {{"job", "app"}, {"instance", "10.0.0.1:8080"}};

std::vector<MetricFamily> WithTargetLabels(std::vector<MetricFamily> fs) {
  for (auto& f : fs) {
    for (auto& s : f.samples) s.labels.insert(s.labels.end(), kTarget.begin(), kTarget.end());
  }
  return fs;
}

void ExpectSameExemplar(const std::optional<Exemplar>& a, const std::optional<Exemplar>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (!a) return;
  EXPECT_EQ(a->labels, b->labels);
  EXPECT_EQ(a->value, b->value);
  EXPECT_EQ(a->timestamp, b->timestamp);
}

void ExpectSameSample(const Sample& a, const Sample& b) {
  EXPECT_EQ(a.labels, b.labels);
  if (std::isnan(a.value)) {
    EXPECT_TRUE(std::isnan(b.value));
  } else {
    EXPECT_EQ(a.value, b.value);
  }
  ASSERT_EQ(a.buckets.size(), b.buckets.size());
  for (size_t i = 0; i < a.buckets.size(); ++i) {
    EXPECT_EQ(a.buckets[i].upper_bound, b.buckets[i].upper_bound);
    EXPECT_EQ(a.buckets[i].cumulative_count, b.buckets[i].cumulative_count);
    EXPECT_EQ(a.buckets[i].le, b.buckets[i].le);
    ExpectSameExemplar(a.buckets[i].exemplar, b.buckets[i].exemplar);
  }
  ASSERT_EQ(a.quantiles.size(), b.quantiles.size());
  for (size_t i = 0; i < a.quantiles.size(); ++i) {
    EXPECT_EQ(a.quantiles[i].quantile, b.quantiles[i].quantile);
    EXPECT_EQ(a.quantiles[i].value, b.quantiles[i].value);
    EXPECT_EQ(a.quantiles[i].text, b.quantiles[i].text);
  }
  EXPECT_EQ(a.sum, b.sum);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.timestamp_ms, b.timestamp_ms);
  ExpectSameExemplar(a.exemplar, b.exemplar);
}

TEST(CompactFamilies, ExpandsToWhatWentInFieldByFieldWithTheTargetLabels) {
  const auto in = EveryField();
  const auto c = CompactFamilies::Make(in, kTarget);
  ASSERT_TRUE(c.has_value());
  const auto want = WithTargetLabels(in);
  ASSERT_EQ(c->family_count(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const MetricFamily got = c->ExpandFamily(i);
    EXPECT_EQ(got.name, want[i].name);
    EXPECT_EQ(got.help, want[i].help);
    EXPECT_EQ(got.type, want[i].type);
    EXPECT_EQ(got.unit, want[i].unit);
    EXPECT_EQ(c->sample_count(i), want[i].samples.size());
    ASSERT_EQ(got.samples.size(), want[i].samples.size()) << got.name;
    for (size_t k = 0; k < got.samples.size(); ++k) {
      SCOPED_TRACE(got.name + " sample " + std::to_string(k));
      ExpectSameSample(got.samples[k], want[i].samples[k]);
    }
  }
}

// The renderer expands chunk after chunk into one vector: whatever a slot held before (a
// histogram's buckets and exemplars, a longer label set) must not show in the next sample.
TEST(CompactFamilies, ChunksExpandedIntoOneReusedVectorEqualTheWholeFamily) {
  const auto in = EveryField();
  const auto c = CompactFamilies::Make(in, kTarget);
  ASSERT_TRUE(c.has_value());
  const auto want = WithTargetLabels(in);
  std::vector<Sample> chunk;
  for (const size_t size : {1, 2, 3, 64}) {
    // Families in reverse, so a histogram's slots are reused by counters and gauges.
    for (size_t i = want.size(); i-- > 0;) {
      for (size_t begin = 0; begin < c->sample_count(i); begin += size) {
        c->Expand(i, begin, size, chunk);
        ASSERT_EQ(chunk.size(), std::min(size, c->sample_count(i) - begin));
        for (size_t k = 0; k < chunk.size(); ++k) {
          SCOPED_TRACE(want[i].name + " sample " + std::to_string(begin + k));
          ExpectSameSample(chunk[k], want[i].samples[begin + k]);
        }
      }
    }
  }
  c->Expand(0, 1000, 10, chunk);  // past the end: nothing
  EXPECT_TRUE(chunk.empty());
}

class OwnedSource final : public Collectable {
 public:
  explicit OwnedSource(std::vector<MetricFamily> f) : families_(std::move(f)) {}
  void Collect(std::vector<MetricFamily>& out) override {
    out.insert(out.end(), families_.begin(), families_.end());
  }

 private:
  std::vector<MetricFamily> families_;
};

class CompactSource final : public Collectable {
 public:
  explicit CompactSource(const std::vector<MetricFamily>& f, const Labels& target,
                         std::optional<int64_t> scrape_time_ms = std::nullopt)
      : compact_(std::make_shared<const CompactFamilies>(
            *CompactFamilies::Make(f, target, scrape_time_ms))) {}
  void Collect(std::vector<MetricFamily>& /*out*/) override {}
  void CollectCompact(std::vector<std::shared_ptr<const CompactFamilies>>& out) override {
    out.push_back(compact_);
  }

 private:
  std::shared_ptr<const CompactFamilies> compact_;
};

// /metrics from a compact source is byte for byte what the same families (target labels
// appended) give when handed over whole: in both formats, merged with another source's family
// of the same name, losing to it on a type conflict, and across the renderer's chunk size.
TEST(CompactFamilies, RenderedExactlyAsTheSameFamiliesHandedOverWhole) {
  auto in = EveryField();
  MetricFamily big{"big_total", "Many series.", MetricType::kCounter, "", {}};
  for (int i = 0; i < 1500; ++i) {
    Sample s;
    s.labels = {{"shard", std::to_string(i)}};
    s.value = i;
    big.samples.push_back(std::move(s));
  }
  in.push_back(std::move(big));
  // The agent's own families: one shares a name and type with the app (merged), one shares a
  // name with another type (the agent's, first, wins).
  MetricFamily shared_name{"orders_total", "", MetricType::kCounter, "", {}};
  Sample own;
  own.labels = {{"source", "agent"}};
  own.value = 1;
  shared_name.samples.push_back(own);
  MetricFamily conflict{"temperature_celsius", "Agent's.", MetricType::kCounter, "", {}};
  conflict.samples.push_back(own);
  const std::vector<MetricFamily> agent = {shared_name, conflict};

  auto render = [&](bool compact, std::string_view accept) {
    prometheus::MetricsRenderer r;
    if (accept == "gather") {  // Gather(): the same merge, expanded whole
      r.Add(std::make_shared<OwnedSource>(std::vector<MetricFamily>{}));
    }
    auto first = std::make_shared<OwnedSource>(agent);
    std::shared_ptr<Collectable> app;
    if (compact) {
      app = std::make_shared<CompactSource>(in, kTarget);
    } else {
      app = std::make_shared<OwnedSource>(WithTargetLabels(in));
    }
    r.Add(first);
    r.Add(app);
    if (accept == "gather") {
      std::string text;
      prometheus::EncodeOpenMetrics(r.Gather(), text);
      return text;
    }
    return r.Render(accept, "").body;
  };
  for (const char* accept :
       {"text/plain", "application/openmetrics-text; version=1.0.0", "gather"}) {
    const std::string whole = render(false, accept);
    EXPECT_EQ(render(true, accept), whole) << accept;
    EXPECT_NE(whole.find("big_total{shard=\"1499\",job=\"app\""), std::string::npos);
    EXPECT_NE(whole.find("orders_total{source=\"agent\"}"), std::string::npos);
  }
}

// The SLO engine's reads see a compact source's series, with its target labels, whether they
// read everything or only the families they name (the default ShareSome over CollectSome).
// Remote write's Gather stamps scraped samples with their scrape's time; /metrics and the
// plain Gather leave them as scraped (a sample's own timestamp always wins).
TEST(CompactFamilies, GatherWithScrapeTimesStampsSamplesWithoutTheirOwn) {
  MetricFamily f{"jobs_total", "", MetricType::kCounter, "", {}};
  Sample plain;
  plain.labels = {{"queue", "a"}};
  plain.value = 3;
  Sample stamped = plain;
  stamped.labels = {{"queue", "b"}};
  stamped.timestamp_ms = 1600000000000;
  f.samples = {plain, stamped};
  auto source = std::make_shared<CompactSource>(std::vector<MetricFamily>{f},
                                                Labels{{"job", "app"}}, 1700000000123);
  prometheus::MetricsRenderer r;
  r.Add(source);
  const auto as_scraped = r.Gather();
  ASSERT_EQ(as_scraped.at(0).samples.size(), 2u);
  EXPECT_FALSE(as_scraped[0].samples[0].timestamp_ms);
  const auto stamped_now = r.Gather(true);
  EXPECT_EQ(stamped_now.at(0).samples.at(0).timestamp_ms, 1700000000123);
  EXPECT_EQ(stamped_now[0].samples.at(1).timestamp_ms, 1600000000000);
  EXPECT_EQ(r.Render("text/plain", "").body.find("1700000000"), std::string::npos);
}

TEST(CompactFamilies, QueryViewsSelectACompactSourcesSeries) {
  auto app = std::make_shared<CompactSource>(EveryField(), kTarget);
  MetricViewSource store;
  store.Add(app);
  for (const MetricView& v :
       {store.View(), store.View({"orders_total", "latency_seconds_bucket"})}) {
    EXPECT_EQ(v.Select(*ParseSelector("orders_total{job=\"app\",method=\"GET\"}")).size(), 2u);
    EXPECT_EQ(v.Select(*ParseSelector("latency_seconds_bucket{le=\"+Inf\"}")).size(), 3u);
  }
}

// A gzip /metrics is the uncompressed one, compressed: whole (libdeflate) when small, streamed
// in pieces (zlib) when large, and one gzip member either way.
TEST(CompactFamilies, GzipBodiesSmallAndLargeAreTheTextCompressedAsOneMember) {
  for (const int series : {50, 40000}) {
    MetricFamily big{"big_total", "Many series.", MetricType::kCounter, "", {}};
    for (int i = 0; i < series; ++i) {
      Sample s;
      s.labels = {{"shard", std::to_string(i)}, {"route", "/api/v1/items/" + std::to_string(i)}};
      s.value = i;
      big.samples.push_back(std::move(s));
    }
    prometheus::MetricsRenderer r;
    auto app = std::make_shared<CompactSource>(std::vector<MetricFamily>{big}, kTarget);
    r.Add(app);
    for (const char* accept : {"text/plain", "application/openmetrics-text; version=1.0.0"}) {
      const auto plain = r.Render(accept, "");
      const auto zipped = r.Render(accept, "gzip");
      ASSERT_FALSE(plain.gzip);
      ASSERT_TRUE(zipped.gzip);
      EXPECT_LT(zipped.body.size(), plain.body.size() / 3);
      EXPECT_EQ(testing::ZlibInflate(zipped.body, 15 + 16, plain.body.size() + 1), plain.body)
          << series << " " << accept;
    }
  }
}

}  // namespace
}  // namespace lookout
