#include "agent/slo/slo_engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "agent/config/config.h"
#include "agent/slo/series_table.h"
#include "agent/slo/spec_parser.h"
#include "tests/unit/agent/slo/fake_app.h"
#include "tests/unit/test_util.h"

namespace lookout::slo {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::FakeClock;

struct Fixture {
  FakeClock clock;
  std::shared_ptr<FakeApp> app = std::make_shared<FakeApp>();
  std::shared_ptr<MetricViewSource> store = std::make_shared<MetricViewSource>();
  std::unique_ptr<SloEngine> engine;

  explicit Fixture(const std::string& specs_yaml, PaymentsSpec payments = {},
                   const EngineOptions& options = {}) {
    store->Add(app);
    engine = std::make_unique<SloEngine>(options, ParseSloSpecs(specs_yaml, "test.yaml"),
                                         std::move(payments), store, clock);
  }
  // Advances one tick and runs it.
  void Step(SloDuration d = seconds(10)) {
    clock.Advance(d);
    engine->Tick();
  }
  testing::Collected Collect() {
    testing::Collected c;
    engine->Collect(c.families);
    return c;
  }
};

const char kCheckout[] = R"(
slos:
  - name: checkout
    service: shop
    objective: 99.9
    sli:
      ratio:
        bad: 'requests_total{code="500"}'
        total: 'requests_total'
)";

Labels L(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (const auto& [k, v] : l) out.push_back({k, v});
  return out;
}

Labels W(const char* window) {
  return L({{"slo", "checkout"}, {"service", "shop"}, {"window", window}});
}

// Events of ticks [from, t] as the window layout covers them: a window of n buckets of p
// ticks holds the open bucket and the n-1 before it.
double Covered(const std::vector<double>& per_tick, int64_t t, int64_t p, int64_t n) {
  const int64_t from = std::max<int64_t>(1, (t / p - n + 1) * p);
  double sum = 0;
  for (int64_t i = from; i <= t; ++i) sum += per_tick[static_cast<size_t>(i)];
  return sum;
}

// A known history: steady 0.1% errors for an hour, then incidents, then recovery; every value
// is checked against the history summed by hand over each window's coverage.
TEST(SloEngineTest, BurnRatesAndAlertStatesFollowAKnownHistory) {
  // 60 buckets per window: 1h is 60 buckets of 6 ticks, 30m 60 of 3, 6h 60 of 36, ...
  Fixture f(kCheckout, {}, EngineOptions{seconds(10), 60, 1000, minutes(15), {}});
  double ok = 5000, err = 0;
  std::vector<double> total_per_tick = {0}, errors_per_tick = {0};  // index = tick
  auto publish = [&] {
    f.app->Set("requests_total", L({{"code", "200"}}), ok);
    f.app->Set("requests_total", L({{"code", "500"}}), err);
  };
  auto run = [&](int ticks, double ok_per_tick, double err_per_tick) {
    for (int i = 0; i < ticks; ++i) {
      ok += ok_per_tick;
      err += err_per_tick;
      total_per_tick.push_back(ok_per_tick + err_per_tick);
      errors_per_tick.push_back(err_per_tick);
      publish();
      f.Step();
    }
  };
  const Labels page = L({{"slo", "checkout"}, {"service", "shop"}, {"severity", "page"}});
  const Labels ticket = L({{"slo", "checkout"}, {"service", "shop"}, {"severity", "ticket"}});
  const Labels group = L({{"slo", "checkout"}, {"service", "shop"}});
  // Burn over a window (p ticks per bucket, n buckets) from the history.
  auto burn = [&](int64_t p, int64_t n) {
    const int64_t t = static_cast<int64_t>(total_per_tick.size()) - 1;
    return Covered(errors_per_tick, t, p, n) / Covered(total_per_tick, t, p, n) / 0.001;
  };

  publish();
  f.engine->Tick();  // baseline: nothing counted
  auto c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 0);
  EXPECT_TRUE(std::isnan(c.Value("lookout_slo_error_ratio", W("5m"))));  // absent
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), 0);

  run(360, 999, 1);  // one hour at 0.1% errors: burn 1 everywhere
  c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 30 * 1000);
  EXPECT_EQ(c.Value("lookout_slo_window_good_events", W("5m")), 30 * 999);
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("5m")), 1.0, 1e-9);
  // 1h at tick 360 (6-tick buckets): ticks 6..360, one bucket short of the whole history.
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("1h")), 355 * 1000);
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("1h")), 1.0, 1e-9);
  EXPECT_EQ(c.Value("lookout_slo_events_total", group), 360 * 1000);
  EXPECT_EQ(c.Value("lookout_slo_good_events_total", group), 360 * 999);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), 0);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", ticket), 0);  // burn 1 is not above 1
  EXPECT_NEAR(c.Value("lookout_slo_error_budget_remaining_ratio", group), 0.0, 1e-9);

  run(30, 980, 20);  // five minutes at 2%
  c = f.Collect();
  EXPECT_NEAR(c.Value("lookout_slo_error_ratio", W("5m")), 0.02, 1e-12);
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("5m")), 20, 1e-9);
  // 1h: ticks 36..390: 325 x 1 + 30 x 20 errors of 355000.
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("1h")), 925.0 / 355000 / 0.001, 1e-9);
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("1h")), burn(6, 60), 1e-9);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), 0);  // 1h burns 2.6, not 14.4
  // Ticket: 3d and 6h both hold all 390 ticks: 960 / 390000 -> burn 2.46 > 1.
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("6h")), 960.0 / 390000 / 0.001, 1e-9);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", ticket), 1);

  run(90, 700, 300);  // fifteen minutes at 30%
  c = f.Collect();
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("5m")), 300, 1e-9);
  // 1h at tick 480: ticks 126..480: 235 x 1 + 30 x 20 + 90 x 300 errors of 355000.
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("1h")), 27835.0 / 355000 / 0.001, 1e-9);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), 1);
  // The period holds everything: 360 + 600 + 27000 errors of 480000.
  EXPECT_NEAR(c.Value("lookout_slo_error_budget_remaining_ratio", group),
              1 - 27960.0 / 480000 / 0.001, 1e-9);

  run(30, 1000, 0);  // five clean minutes
  c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_burn_rate", W("5m")), 0);  // events but no errors: 0, present
  EXPECT_GT(c.Value("lookout_slo_burn_rate", W("1h")), 14.4);
  // Page still holds through 6h & 30m: 30m = ticks 333..510.
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("30m")), burn(3, 60), 1e-9);
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("30m")), 27628.0 / 178000 / 0.001, 1e-9);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), 1);

  run(180, 1000, 0);  // thirty more: 30m is clean, the page clears; the ticket stays
  c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_burn_rate", W("30m")), 0);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), 0);
  EXPECT_EQ(c.Value("lookout_slo_alert_firing", ticket), 1);
  for (const auto& [window, p] : std::vector<std::pair<const char*, int64_t>>{
           {"2h", 12}, {"6h", 36}, {"1d", 144}, {"3d", 432}, {"30d", 4320}}) {
    EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W(window)), burn(p, 60), 1e-9) << window;
  }
}

// A scraped series read with its target labels apart (shared, not copied) is the same series
// as when they were appended: state files and hints keyed by the hash stay valid.
TEST(SloEngineTest, SeriesHashIsTheSameWithTargetLabelsApart) {
  const Labels own = {{"code", "500"}, {"container", "cart"}};
  const Labels target = {{"namespace", "shop"}, {"pod", "cart-1"}};
  Labels joined = own;
  joined.insert(joined.end(), target.begin(), target.end());
  EXPECT_EQ(slo::HashLabels(own, 7, &target), slo::HashLabels(joined, 7));
  EXPECT_NE(slo::HashLabels(own, 7, &target), slo::HashLabels(own, 7));
}

TEST(SloEngineTest, ResetsGapsAndNoTrafficLoseNothingAndInventNothing) {
  Fixture f(kCheckout);
  const Labels ok = L({{"code", "200"}, {"pod", "a"}});
  f.app->Set("requests_total", ok, 1000);
  f.engine->Tick();
  f.app->Set("requests_total", ok, 1100);
  f.Step();                              // +100
  f.app->Set("requests_total", ok, 40);  // the app restarted: 40 since
  f.Step();
  auto c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 140);
  EXPECT_EQ(c.Value("lookout_slo_input_resets_total", L({{"slo", "checkout"}})), 1);
  // A scrape gap: the series vanishes for three ticks, comes back 300 higher.
  f.app->Remove("requests_total", ok);
  f.Step();
  f.Step();
  f.Step();
  f.app->Set("requests_total", ok, 340);
  f.Step();
  c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 440);
  EXPECT_EQ(c.Value("lookout_slo_burn_rate", W("5m")), 0);
  // No traffic for longer than 5m: the 5m window has no ratio at all (absent, not 0, not NaN).
  for (int i = 0; i < 31; ++i) f.Step();
  c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 0);
  const MetricFamily* ratio = c.Family("lookout_slo_error_ratio");
  ASSERT_NE(ratio, nullptr);
  for (const auto& s : ratio->samples) {
    EXPECT_NE(testing::LabelValue(s, "window"), "5m");
    EXPECT_FALSE(std::isnan(s.value));
  }
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("1h")), 440);
}

TEST(SloEngineTest, LateSeriesCountFromTheirCreationOnly) {
  Fixture f(kCheckout);
  const double start = std::chrono::duration<double>(f.clock.Now().time_since_epoch()).count();
  f.engine->Tick();
  // Created after the engine started: all 50 requests happened while it watched.
  f.app->Set("requests_total", L({{"pod", "new"}}), 50, start + 5);
  // Created before (or unknown): its value is history we did not see; baseline only.
  f.app->Set("requests_total", L({{"pod", "old"}}), 7000, start - 3600);
  f.app->Set("requests_total", L({{"pod", "unknown"}}), 9000);
  f.Step();
  auto c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 50);
  // A newer _created is a reset even when the value went up.
  f.app->Set("requests_total", L({{"pod", "old"}}), 7100, start + 15);
  f.Step();
  c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 50 + 7100);
}

TEST(SloEngineTest, PodsComingAndGoingInOneGroupKeepTheirEvents) {
  Fixture f(R"(
slos:
  - name: api
    objective: 99
    sli:
      ratio:
        good: 'http_requests_total{code="200"}'
        total: 'http_requests_total'
        group_by: [route]
)",
            {}, EngineOptions{seconds(10), 60, 1000, minutes(1), {}});
  auto set = [&](const char* pod, const char* code, double v) {
    f.app->Set("http_requests_total", L({{"route", "/pay"}, {"pod", pod}, {"code", code}}), v);
  };
  set("a", "200", 100);
  set("a", "500", 0);
  f.engine->Tick();
  set("a", "200", 190);
  set("a", "500", 10);
  set("b", "200", 0);  // pod b starts (no _created: baseline 0)
  f.Step();
  set("b", "200", 50);
  f.Step();
  // Pod a goes away with its series; its 100 events must stay in the windows.
  f.app->Remove("http_requests_total", L({{"route", "/pay"}, {"pod", "a"}, {"code", "200"}}));
  f.app->Remove("http_requests_total", L({{"route", "/pay"}, {"pod", "a"}, {"code", "500"}}));
  for (int i = 0; i < 10; ++i) f.Step();  // past series_retention (1m)
  set("b", "200", 80);
  f.Step();
  auto c = f.Collect();
  const Labels w = L({{"slo", "api"}, {"service", "api"}, {"route", "/pay"}, {"window", "5m"}});
  EXPECT_EQ(c.Value("lookout_slo_window_events", w), 100 + 50 + 30);
  EXPECT_EQ(c.Value("lookout_slo_window_good_events", w), 90 + 50 + 30);
  EXPECT_NEAR(c.Value("lookout_slo_error_ratio", w), 10.0 / 180, 1e-12);
  // b's 200 series (one series, though it is both good and total); a's expired.
  EXPECT_EQ(c.Value("lookout_slo_series", L({{"slo", "api"}})), 1);
  EXPECT_EQ(c.Value("lookout_slo_groups", L({{"slo", "api"}})), 1);
}

TEST(SloEngineTest, LatencySliCountsTheBucketAtItsBound) {
  Fixture f(R"(
slos:
  - name: fast
    objective: 95
    sli:
      latency:
        histogram: 'rpc_duration_seconds{job="api"}'
        le: 0.25
)");
  auto hist = [&](uint64_t under_100ms, uint64_t under_250ms, uint64_t count) {
    f.app->SetHistogram("rpc_duration_seconds", L({{"job", "api"}}),
                        {{0.1, under_100ms, {}},
                         {0.25, under_250ms, {}},
                         {std::numeric_limits<double>::infinity(), count, {}}},
                        count);
  };
  hist(10, 20, 30);
  f.engine->Tick();
  hist(60, 110, 130);  // +100 requests, +90 at or under 250ms
  f.Step();
  auto c = f.Collect();
  const Labels w = L({{"slo", "fast"}, {"service", "fast"}, {"window", "5m"}});
  EXPECT_EQ(c.Value("lookout_slo_window_events", w), 100);
  EXPECT_EQ(c.Value("lookout_slo_window_good_events", w), 90);
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", w), 0.1 / 0.05, 1e-9);
}

TEST(SloEngineTest, PaymentsSplitDeclinesFromErrors) {
  PaymentsSpec p = DefaultConfig().slo.payments;
  ASSERT_TRUE(p.enabled);
  Fixture f("", p);
  auto set = [&](const char* name, const char* provider, double v) {
    f.app->Set(name, L({{"provider", provider}, {"method", "card"}}), v);
  };
  for (const char* n : {"payment_attempts_total", "payment_success_total", "payment_declines_total",
                        "payment_errors_total"}) {
    set(n, "stripe", 0);
    set(n, "adyen", 0);
  }
  f.engine->Tick();
  set("payment_attempts_total", "stripe", 1000);
  set("payment_success_total", "stripe", 950);
  set("payment_declines_total", "stripe", 45);
  set("payment_errors_total", "stripe", 5);
  f.Step();
  auto c = f.Collect();
  const Labels w = L({{"provider", "stripe"}, {"method", "card"}, {"window", "5m"}});
  EXPECT_EQ(c.Value("lookout_payment_window_attempts", w), 1000);
  EXPECT_NEAR(c.Value("lookout_payment_success_ratio", w), 0.95, 1e-12);
  EXPECT_NEAR(c.Value("lookout_payment_decline_ratio", w), 0.045, 1e-12);
  EXPECT_NEAR(c.Value("lookout_payment_error_ratio", w), 0.005, 1e-12);
  // No attempts at adyen: counts are 0, ratios absent.
  const Labels aw = L({{"provider", "adyen"}, {"method", "card"}, {"window", "5m"}});
  EXPECT_EQ(c.Value("lookout_payment_window_attempts", aw), 0);
  EXPECT_TRUE(std::isnan(c.Value("lookout_payment_success_ratio", aw)));
  // The ready-made availability SLO counts errors only: 5 of 1000 = 0.5% -> burn 5 at 99.9%.
  const Labels sw = L({{"slo", "payment-availability"},
                       {"service", "payments"},
                       {"provider", "stripe"},
                       {"method", "card"},
                       {"window", "5m"}});
  EXPECT_NEAR(c.Value("lookout_slo_burn_rate", sw), 5, 1e-9);
  EXPECT_EQ(
      c.Value("lookout_payment_attempts_total", L({{"provider", "stripe"}, {"method", "card"}})),
      1000);
}

TEST(SloEngineTest, DerivedDeclines) {
  PaymentsSpec p = DefaultConfig().slo.payments;
  p.declines = Selector{};  // attempts - success - errors
  Fixture f("", p);
  auto set = [&](const char* name, double v) {
    f.app->Set(name, L({{"provider", "x"}, {"method", "sepa"}}), v);
  };
  set("payment_attempts_total", 0);
  set("payment_success_total", 0);
  set("payment_errors_total", 0);
  f.engine->Tick();
  set("payment_attempts_total", 200);
  set("payment_success_total", 150);
  set("payment_errors_total", 10);
  f.Step();
  auto c = f.Collect();
  const Labels w = L({{"provider", "x"}, {"method", "sepa"}, {"window", "1h"}});
  EXPECT_EQ(c.Value("lookout_payment_window_declines", w), 40);
}

TEST(SloEngineTest, GroupsOverTheCapAreRefusedAndCounted) {
  Fixture f(R"(
slos:
  - name: per-pod
    objective: 99
    sli: {ratio: {good: 'ok_total', total: 'all_total', group_by: [pod]}}
)",
            {}, EngineOptions{seconds(10), 60, 3, minutes(15), {}});
  for (int i = 0; i < 5; ++i) {
    const std::string pod = "p" + std::to_string(i);
    f.app->Set("all_total", Labels{{"pod", pod}}, 1);
  }
  f.engine->Tick();
  auto c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_groups", L({{"slo", "per-pod"}})), 3);
  EXPECT_EQ(c.Value("lookout_slo_series_refused_total", L({{"slo", "per-pod"}})), 2);
}

TEST(SloEngineTest, WindowsThatAreNotWholeTicksAreAConfigError) {
  EXPECT_THROW(Fixture(kCheckout, {}, EngineOptions{seconds(7), 60, 1000, minutes(15), {}}),
               ConfigError);
}

TEST(SloEngineTest, MemoryPerGroupStaysUnderFourKiB) {
  Fixture f(R"(
slos:
  - name: per-pod
    objective: 99
    sli: {ratio: {good: 'ok_total', total: 'all_total', group_by: [pod]}}
)");
  for (int i = 0; i < 1000; ++i) {
    const std::string pod = "pod-" + std::to_string(i);
    f.app->Set("all_total", Labels{{"pod", pod}}, 1);
    f.app->Set("ok_total", Labels{{"pod", pod}}, 1);
  }
  f.engine->Tick();
  EXPECT_LT(f.engine->HeapBytes() / 1000, 4096u);
}

// lookout_slo_series counts distinct series (the README: the counter series the engine
// follows), not series x columns reading them: 2,000 series of which 1,000 are also bad events
// are 2,000 (it said 3,000). A reset of a series read by two columns is one reset.
TEST(SloEngineTest, SeriesAndResetsAreCountedOncePerSeries) {
  Fixture f(kCheckout);
  for (int pod = 0; pod < 1000; ++pod) {
    for (const char* code : {"200", "500"}) {
      f.app->Set("requests_total", L({{"code", code}, {"pod", std::to_string(pod).c_str()}}), 100);
    }
  }
  f.Step();
  f.app->Set("requests_total", L({{"code", "500"}, {"pod", "7"}}), 3);  // the app restarted
  f.Step();
  const auto c = f.Collect();
  EXPECT_EQ(c.Value("lookout_slo_series", L({{"slo", "checkout"}})), 2000);
  EXPECT_EQ(c.Value("lookout_slo_input_resets_total", L({{"slo", "checkout"}})), 1);
  // ... and its 3 new events count as bad and as total, once each.
  EXPECT_EQ(c.Value("lookout_slo_window_events", W("5m")), 3);
  EXPECT_EQ(c.Value("lookout_slo_window_good_events", W("5m")), 0);
}

// The low-traffic guard (alerting.min_bad_events, default 10): a fresh agent's first minutes
// with a few errors burn far above every factor, but page and ticket hold until the long window
// has enough bad events (the shipped payment SLO's 1x ticket fired within minutes of start).
TEST(SloEngineTest, AlertsWaitForEnoughBadEventsInTheLongWindow) {
  for (int64_t guard : {10, 0}) {
    std::string specs = kCheckout;
    specs += "    alerting: {min_bad_events: " + std::to_string(guard) + "}\n";
    Fixture f(specs);
    double ok = 0, bad = 0;
    auto step = [&](double o, double b) {
      ok += o, bad += b;
      f.app->Set("requests_total", L({{"code", "200"}}), ok);
      f.app->Set("requests_total", L({{"code", "500"}}), bad);
      f.Step();
    };
    step(0, 0);                               // baseline
    for (int i = 0; i < 6; ++i) step(19, 1);  // 5% errors, 50x burn: 6 bad events
    const Labels page = L({{"slo", "checkout"}, {"service", "shop"}, {"severity", "page"}});
    const Labels ticket = L({{"slo", "checkout"}, {"service", "shop"}, {"severity", "ticket"}});
    auto c = f.Collect();
    EXPECT_NEAR(c.Value("lookout_slo_burn_rate", W("5m")), 50, 1e-9);
    EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), guard == 0 ? 1 : 0) << guard;
    EXPECT_EQ(c.Value("lookout_slo_alert_firing", ticket), guard == 0 ? 1 : 0) << guard;
    for (int i = 0; i < 4; ++i) step(19, 1);  // 10 bad events now
    c = f.Collect();
    EXPECT_EQ(c.Value("lookout_slo_alert_firing", page), 1) << guard;
    EXPECT_EQ(c.Value("lookout_slo_alert_firing", ticket), 1) << guard;
  }
}

}  // namespace
}  // namespace lookout::slo
