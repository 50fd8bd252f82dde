// The SLO engine's state file: windows and counter readings survive restarts, the downtime's
// events are counted (spread over the gap), and every bad file is refused with a reason while
// the engine carries on fresh.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "agent/slo/event_windows.h"
#include "agent/slo/slo_engine.h"
#include "agent/slo/spec_parser.h"
#include "agent/slo/state_file.h"
#include "tests/fixtures/slo/state_fixture.h"
#include "tests/unit/agent/slo/fake_app.h"
#include "tests/unit/test_util.h"

namespace lookout::slo {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
namespace fs = std::filesystem;

// AddSpread over a gap equals adding the same events one equal share per tick of the gap, in
// every window, for random layouts, histories and gaps.
TEST(WindowedCountsTest, AddSpreadEqualsEvenPerTickAdds) {
  std::mt19937_64 rng(20261129);
  for (int round = 0; round < 40; ++round) {
    const int64_t max_buckets = std::uniform_int_distribution<int64_t>(1, 60)(rng);
    auto layout = WindowLayout::Make(
        seconds(10), {minutes(5), minutes(30), hours(1), hours(6), hours(24), hours(72)},
        max_buckets);
    ASSERT_TRUE(layout.ok());
    WindowedCounts spread(*layout, 2, 0), reference(*layout, 2, 0);
    int64_t t = 0;
    for (int i = 0; i < 200; ++i) {  // some history first
      t += std::uniform_int_distribution<int64_t>(1, 30)(rng);
      const double d[2] = {static_cast<double>(i % 7), static_cast<double>(i % 11)};
      for (auto* w : {&spread, &reference}) {
        w->AdvanceTo(t);
        w->Add(d);
      }
    }
    const int64_t from = t;
    const int64_t gap = std::uniform_int_distribution<int64_t>(1, 40'000)(rng);
    const double d[2] = {1000.0 * gap, 37.0 * gap};
    spread.AdvanceTo(from + gap);
    spread.AddSpread(d, from, from + gap);
    for (int64_t tick = from + 1; tick <= from + gap; ++tick) {
      reference.AdvanceTo(tick);
      const double share[2] = {1000, 37};
      reference.Add(share);
    }
    for (size_t w = 0; w < layout->windows().size(); ++w) {
      for (int c = 0; c < 2; ++c) {
        const double want = reference.Sum(w, c);
        EXPECT_NEAR(spread.Sum(w, c), want, 1e-5 * std::max(1.0, want))
            << "round " << round << " window " << w << " gap " << gap;
      }
    }
    EXPECT_NEAR(spread.Total(0), reference.Total(0), 1e-6 * reference.Total(0));
    // And both age the same way afterwards.
    for (int64_t tick = from + gap + 1; tick <= from + gap + 2000; tick += 7) {
      spread.AdvanceTo(tick);
      reference.AdvanceTo(tick);
      for (size_t w = 0; w < layout->windows().size(); ++w) {
        EXPECT_NEAR(spread.Sum(w, 0), reference.Sum(w, 0),
                    1e-5 * std::max(1.0, reference.Sum(w, 0)));
      }
    }
  }
}

const char kTwoSlos[] = R"(
slos:
  - name: checkout
    service: shop
    objective: 99.9
    sli:
      ratio:
        bad: 'requests_total{code="500"}'
        total: 'requests_total'
        group_by: [pod]
  - name: search
    service: shop
    objective: 99
    sli:
      ratio:
        bad: 'search_total{code="500"}'
        total: 'search_total'
)";

PaymentsSpec Payments() {
  PaymentsSpec p;
  p.enabled = true;
  p.attempts = *ParseSelector("payment_attempts_total");
  p.success = *ParseSelector("payment_success_total");
  p.declines = *ParseSelector("payment_declines_total");
  p.errors = *ParseSelector("payment_errors_total");
  p.group_by = {"provider"};
  p.period = hours(24 * 30);
  p.page = DefaultPageWindows();
  p.ticket = DefaultTicketWindows();
  return p;
}

// An app whose counters grow by fixed amounts per tick, read by a restarted engine (with a
// state directory) and by a twin that never stops.
struct Cluster {
  testing::FakeClock clock;
  std::shared_ptr<FakeApp> app = std::make_shared<FakeApp>();
  std::shared_ptr<MetricViewSource> store = std::make_shared<MetricViewSource>();
  testing::TempDir dir;
  std::unique_ptr<SloEngine> agent, twin;
  double ok[2] = {0, 0}, err[2] = {0, 0}, search_ok = 0, search_err = 0;
  double attempts = 0, success = 0, declines = 0, errors = 0;

  SloDuration tick;

  explicit Cluster(SloDuration tick_length = seconds(10)) : tick(tick_length) {
    store->Add(app);
    twin = Make(kTwoSlos, "");
    agent = Make(kTwoSlos, dir.path());
  }
  std::unique_ptr<SloEngine> Make(const std::string& specs, const std::string& state_dir,
                                  std::string node = "node-a") {
    EngineOptions o{tick, 48, 1000, minutes(15), {}};
    o.state.directory = state_dir;
    o.state.node_name = std::move(node);
    return std::make_unique<SloEngine>(o, ParseSloSpecs(specs, "test.yaml"), Payments(), store,
                                       clock);
  }
  // One tick of traffic: pod a at 1% errors, pod b at 5%, search 2%, payments 3% errors.
  void Traffic() {
    ok[0] += 990, err[0] += 10, ok[1] += 95, err[1] += 5;
    search_ok += 98, search_err += 2;
    attempts += 100, success += 90, declines += 7, errors += 3;
    for (int p = 0; p < 2; ++p) {
      const char* pod = p == 0 ? "a" : "b";
      app->Set("requests_total", {{"pod", pod}, {"code", "200"}}, ok[p]);
      app->Set("requests_total", {{"pod", pod}, {"code", "500"}}, err[p]);
    }
    app->Set("search_total", {{"code", "200"}}, search_ok);
    app->Set("search_total", {{"code", "500"}}, search_err);
    app->Set("payment_attempts_total", {{"provider", "stripe"}}, attempts);
    app->Set("payment_success_total", {{"provider", "stripe"}}, success);
    app->Set("payment_declines_total", {{"provider", "stripe"}}, declines);
    app->Set("payment_errors_total", {{"provider", "stripe"}}, errors);
  }
  // `ticks` ticks of traffic; the agent ticks too unless it is down.
  void Run(int ticks, bool agent_up = true) {
    for (int i = 0; i < ticks; ++i) {
      Traffic();
      clock.Advance(tick);
      twin->Tick();
      if (agent_up) agent->Tick();
    }
  }
  static testing::Collected Collect(SloEngine& e) {
    testing::Collected c;
    e.Collect(c.families);
    return c;
  }
};

// Every window count of every SLO group and payment group: the restarted agent's equal the
// twin's (the traffic was even over the gap, so spreading is exact up to float rounding).
void ExpectSameWindows(SloEngine& agent, SloEngine& twin) {
  const auto a = Cluster::Collect(agent), t = Cluster::Collect(twin);
  size_t compared = 0;
  for (const char* name : {"lookout_slo_window_events", "lookout_slo_window_good_events",
                           "lookout_payment_window_attempts", "lookout_payment_window_errors",
                           "lookout_slo_events_total", "lookout_payment_attempts_total"}) {
    const MetricFamily* ft = t.Family(name);
    ASSERT_NE(ft, nullptr) << name;
    for (const Sample& s : ft->samples) {
      const double want = s.value;
      const double got = a.Value(name, s.labels);
      std::string labels;
      for (const auto& l : s.labels) labels += l.name + "=" + l.value + " ";
      EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, want)) << name << " " << labels;
      ++compared;
    }
  }
  EXPECT_GT(compared, 50u);
}

TEST(SloStateTest, ARestartWithDowntimeMatchesAnAgentThatNeverStopped) {
  Cluster c;
  c.Traffic();
  c.agent->Tick();
  c.twin->Tick();        // both take their baseline
  c.Run(6 * 40);         // 40 minutes
  c.agent.reset();       // SIGTERM: Stop() saves
  c.Run(6 * 25, false);  // 25 minutes down, traffic goes on
  c.agent = c.Make(kTwoSlos, c.dir.path());
  auto fresh = Cluster::Collect(*c.agent);
  EXPECT_EQ(fresh.Value("lookout_slo_state_restored", {{"slo", "checkout"}}), 1);
  EXPECT_EQ(fresh.Value("lookout_slo_state_restored", {{"slo", "search"}}), 1);
  EXPECT_EQ(fresh.Value("lookout_payment_state_restored", {}), 1);
  EXPECT_NEAR(fresh.Value("lookout_slo_state_gap_seconds", {}), 25 * 60, 1e-6);
  c.Run(1);  // the first tick counts the downtime
  ExpectSameWindows(*c.agent, *c.twin);
  c.Run(6 * 70);  // and they stay equal as the windows move on (1h window: past the gap)
  ExpectSameWindows(*c.agent, *c.twin);
}

// At a 1s tick the payments' 5m window has buckets of 10 ticks, so a save lands inside a bucket
// and the groups' windows are a few ticks behind the set's (moved only when a bucket closes).
TEST(SloStateTest, ASaveInsideABucketRestoresAndSpreadsFromTheSetsTick) {
  Cluster c(seconds(1));
  c.Traffic();
  c.agent->Tick();
  c.twin->Tick();
  c.Run(17);
  c.agent.reset();
  c.Run(23, false);
  c.agent = c.Make(kTwoSlos, c.dir.path());
  EXPECT_EQ(Cluster::Collect(*c.agent).Value("lookout_payment_state_restored", {}), 1);
  c.Run(1);
  ExpectSameWindows(*c.agent, *c.twin);
}

TEST(SloStateTest, KillNineLosesNothingBecauseTheSavedReadingIsTheBaseline) {
  Cluster c;
  c.Traffic();
  c.agent->Tick();
  c.twin->Tick();
  c.Run(6 * 10);
  c.agent->SaveState();  // the last periodic save
  const std::string saved = c.dir.path() + "/slo-state";
  fs::copy_file(saved, saved + ".crash");
  c.Run(6 * 3);  // counted in memory, never saved
  c.agent.reset();
  fs::rename(saved + ".crash", saved);  // what a kill -9 leaves: the file of the last save
  c.Run(6 * 2, false);
  c.agent = c.Make(kTwoSlos, c.dir.path());
  c.Run(1);
  ExpectSameWindows(*c.agent, *c.twin);
}

TEST(SloStateTest, AChangedSpecStartsOnlyThatSloFresh) {
  Cluster c;
  c.Traffic();
  c.agent->Tick();
  c.twin->Tick();
  c.Run(6 * 20);
  c.agent.reset();
  c.Run(3, false);
  std::string changed = kTwoSlos;
  changed.replace(changed.find("search_total{code=\"500\"}"), 24, "search_total{code=~\"5..\"}");
  changed.replace(changed.find("objective: 99.9"), 15, "objective: 99.5");  // no count changes
  c.agent = c.Make(changed, c.dir.path());
  const auto a = Cluster::Collect(*c.agent);
  EXPECT_EQ(a.Value("lookout_slo_state_restored", {{"slo", "checkout"}}), 1);
  EXPECT_EQ(a.Value("lookout_slo_state_restored", {{"slo", "search"}}), 0);
  EXPECT_EQ(
      a.Value("lookout_slo_state_refused_total", {{"slo", "search"}, {"reason", "spec_changed"}}),
      1);
  c.Run(1);
  const auto after = Cluster::Collect(*c.agent), twin = Cluster::Collect(*c.twin);
  const Labels search_1h = {{"slo", "search"}, {"service", "shop"}, {"window", "1h"}};
  const Labels checkout_1h = {
      {"slo", "checkout"}, {"service", "shop"}, {"pod", "a"}, {"window", "1h"}};
  EXPECT_EQ(after.Value("lookout_slo_window_events", search_1h), 0);  // a new baseline
  EXPECT_NEAR(after.Value("lookout_slo_window_events", checkout_1h),
              twin.Value("lookout_slo_window_events", checkout_1h), 1e-6);
}

TEST(SloStateTest, ALongerDowntimeThanAWindowOnlyFillsWhatTheWindowCovers) {
  Cluster c;
  c.Traffic();
  c.agent->Tick();
  c.twin->Tick();
  c.Run(6 * 30);
  c.agent.reset();
  c.Run(6 * 60 * 5, false);  // five hours down: 5m, 30m, 1h and 2h are all inside the gap
  c.agent = c.Make(kTwoSlos, c.dir.path());
  c.Run(1);
  ExpectSameWindows(*c.agent, *c.twin);
}

// A saved time so far in the past that the downtime in ticks does not fit in 64 bits (a forged
// file; fuzz.slo_state found it under clang's UBSan): the downtime is capped, the SLOs restore
// with every window past, and the engine ticks on.
TEST(SloStateTest, ADowntimeBeyondAnyTickCountIsCappedNotOverflowed) {
  Cluster c;
  c.Traffic();
  c.agent->Tick();
  c.Run(6 * 10);
  c.agent.reset();  // saves
  std::string payload;
  {
    auto dir = StateDirectory::Open(c.dir.path());
    ASSERT_TRUE(dir.ok());
    payload = (*dir)->Load(1 << 20).value();
  }
  // The payload starts with the node name (u32 length, bytes), then the saved unix time.
  uint32_t node_len = 0;
  std::memcpy(&node_len, payload.data(), sizeof node_len);
  const double forged = -1e300;
  std::memcpy(payload.data() + sizeof node_len + node_len, &forged, sizeof forged);
  std::ofstream(c.dir.path() + "/slo-state", std::ios::binary | std::ios::trunc)
      << StateDirectory::EncodeFile(payload);
  c.agent = c.Make(kTwoSlos, c.dir.path());
  const auto a = Cluster::Collect(*c.agent);
  EXPECT_EQ(a.Value("lookout_slo_state_restored", {{"slo", "checkout"}}), 1);
  EXPECT_GT(a.Value("lookout_slo_state_gap_seconds", {}), 1e299);
  c.Run(1);
  // One tick after a downtime longer than every window: the 5m window holds only the increase
  // spread over the capped gap (nothing measurable), never the whole history.
  EXPECT_LT(
      Cluster::Collect(*c.agent).Value("lookout_slo_window_events",
                                       {{"slo", "search"}, {"service", "shop"}, {"window", "5m"}}),
      1);
  // And what it saves next is accepted by the next start (its tick is within the load check).
  c.agent.reset();
  c.agent = c.Make(kTwoSlos, c.dir.path());
  EXPECT_EQ(Cluster::Collect(*c.agent).Value("lookout_slo_state_restored", {{"slo", "checkout"}}),
            1);
}

TEST(SloStateTest, ACounterResetDuringTheDowntimeCountsItsNewValue) {
  Cluster c;
  c.Traffic();
  c.agent->Tick();
  c.Run(30);
  c.agent.reset();
  c.search_ok = 40, c.search_err = 10;  // the app restarted: its counters began again
  c.app->Set("search_total", {{"code", "200"}}, c.search_ok);
  c.app->Set("search_total", {{"code", "500"}}, c.search_err);
  c.clock.Advance(minutes(2));
  c.agent = c.Make(kTwoSlos, c.dir.path());
  const auto before = Cluster::Collect(*c.agent);
  const Labels search = {{"slo", "search"}, {"service", "shop"}};
  const double events = before.Value("lookout_slo_events_total", search);
  c.clock.Advance(seconds(10));
  c.agent->Tick();
  const auto after = Cluster::Collect(*c.agent);
  EXPECT_NEAR(after.Value("lookout_slo_events_total", search), events + 50, 1e-9);
  EXPECT_GT(after.Value("lookout_slo_input_resets_total", {{"slo", "search"}}),
            before.Value("lookout_slo_input_resets_total", {{"slo", "search"}}));
}

// Each bad file is refused with its reason; the engine starts fresh and keeps working.
TEST(SloStateTest, BadFilesAreRefusedWithAReasonAndTheEngineCarriesOn) {
  Cluster good;
  good.Traffic();
  good.agent->Tick();
  good.Run(20);
  good.agent->SaveState();
  std::string file;
  {
    std::ifstream in(good.dir.path() + "/slo-state", std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(file.size(), 100u);
  struct Case {
    const char* name;
    std::function<void(const std::string& path)> write;
    const char* reason;
  };
  auto put = [](const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  };
  std::string flipped = file;
  flipped[flipped.size() / 2] ^= 0x40;
  std::string other_version = file;
  other_version[18] = 7;  // the u32 after the magic
  const std::vector<Case> cases = {
      {"truncated", [&](const std::string& p) { put(p, file.substr(0, file.size() / 2)); },
       "truncated"},
      {"empty", [&](const std::string& p) { put(p, ""); }, "truncated"},
      {"flipped bit", [&](const std::string& p) { put(p, flipped); }, "corrupt"},
      {"garbage", [&](const std::string& p) { put(p, std::string(4096, 'x')); }, "corrupt"},
      {"other version", [&](const std::string& p) { put(p, other_version); }, "version"},
      {"1 GB",
       [&](const std::string& p) {
         const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
         ASSERT_EQ(::ftruncate(fd, int64_t{1} << 30), 0);  // sparse: costs no disk
         ::close(fd);
       },
       "too_large"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Cluster c;
    c.agent.reset();
    tc.write(c.dir.path() + "/slo-state");
    c.agent = c.Make(kTwoSlos, c.dir.path());
    const auto a = Cluster::Collect(*c.agent);
    EXPECT_EQ(a.Value("lookout_slo_state_restored", {{"slo", "checkout"}}), 0);
    EXPECT_EQ(
        a.Value("lookout_slo_state_refused_total", {{"slo", "checkout"}, {"reason", tc.reason}}),
        1);
    EXPECT_EQ(a.Value("lookout_payment_state_refused_total", {{"reason", tc.reason}}), 1);
    c.Traffic();
    c.agent->Tick();  // works: a fresh baseline
    c.Run(3);
    EXPECT_EQ(Cluster::Collect(*c.agent).Value(
                  "lookout_slo_window_events",
                  {{"slo", "search"}, {"service", "shop"}, {"window", "5m"}}),
              300);
  }
  // Written for another node: refused whole.
  Cluster c;
  c.agent.reset();
  put(c.dir.path() + "/slo-state", file);
  c.agent = c.Make(kTwoSlos, c.dir.path(), "node-b");
  EXPECT_EQ(Cluster::Collect(*c.agent).Value("lookout_slo_state_refused_total",
                                             {{"slo", "search"}, {"reason", "node"}}),
            1);
}

TEST(SloStateTest, OneProcessPerDirectory) {
  Cluster c;  // c.agent holds c.dir
  EXPECT_THROW(c.Make(kTwoSlos, c.dir.path()), std::runtime_error);
}

TEST(SloStateTest, SavesAreCountedAndTheFileReplacedWhole) {
  Cluster c;
  c.Traffic();
  c.agent->Tick();
  c.Run(5);
  c.agent->SaveState();
  c.agent->SaveState();
  const auto a = Cluster::Collect(*c.agent);
  EXPECT_EQ(a.Value("lookout_slo_state_saves_total", {{"result", "ok"}}), 2);
  EXPECT_EQ(a.Value("lookout_slo_state_bytes", {}),
            static_cast<double>(fs::file_size(c.dir.path() + "/slo-state")));
  EXPECT_FALSE(fs::exists(c.dir.path() + "/slo-state.tmp"));
  fs::remove_all(c.dir.path());  // the directory vanished: the save fails, counted, no crash
  c.agent->SaveState();
  EXPECT_EQ(
      Cluster::Collect(*c.agent).Value("lookout_slo_state_saves_total", {{"result", "error"}}), 1);
}

// The committed fixture is a real file: this history, saved by this engine, byte for byte.
TEST(SloStateTest, TheFixtureIsWhatTheEngineWrites) {
  testing::FakeClock clock;
  auto app = std::make_shared<FakeApp>();
  auto store = std::make_shared<MetricViewSource>();
  store->Add(app);
  testing::TempDir dir;
  {
    EngineOptions o{seconds(10), 48, 1000, minutes(15), {}};
    o.state.directory = dir.path();
    o.state.node_name = testing::kStateFixtureNode;
    SloEngine engine(o, ParseSloSpecs(testing::kStateFixtureSpecs, "fixture.yaml"), {}, store,
                     clock);
    for (int t = 0; t < 40; ++t) {
      for (const char* pod : {"a", "b", "c"}) {
        app->Set("requests_total", {{"pod", pod}, {"code", "200"}}, 100.0 * t);
        app->Set("requests_total", {{"pod", pod}, {"code", "500"}}, t % 7 == 0 ? t : t - 1);
      }
      if (t == 25) app->Remove("requests_total", {{"pod", "c"}, {"code", "500"}});
      const auto n = static_cast<uint64_t>(t);
      app->SetHistogram("rpc_seconds", {},
                        {{0.1, 10 * n, {}},
                         {0.25, 15 * n, {}},
                         {1, 20 * n, {}},
                         {std::numeric_limits<double>::infinity(), 21 * n, {}}},
                        21 * n);
      clock.Advance(seconds(10));
      engine.Tick();
    }
  }  // Stop() saves
  std::string written;
  {
    std::ifstream in(dir.path() + "/slo-state", std::ios::binary);
    written.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string fixture = testing::FixturePath("slo/slo-state");
  if (std::getenv("LOOKOUT_UPDATE_FIXTURES") != nullptr) {
    std::ofstream(fixture, std::ios::binary | std::ios::trunc) << written;
  }
  std::ifstream in(fixture, std::ios::binary);
  const std::string committed((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(committed, written) << "the engine writes another state file than " << fixture
                                << ": rerun with LOOKOUT_UPDATE_FIXTURES=1 (and the fuzz seed "
                                   "follows), or bump StateDirectory::kFormatVersion";
}

}  // namespace
}  // namespace lookout::slo
