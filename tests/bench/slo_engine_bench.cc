// The SLO engine at the scale: 10,000 SLO groups x 8 windows (5m, 30m, 1h, 2h, 6h, 1d,
// 3d, 30d), as 10 SLOs of 1,000 groups each (group_by pod), every group fed by two counter
// series (code 200 and 500): 20,000 series, each read once per tick (one state per series; the
// 500s count as bad and as total). Target: under 2 ms per tick and 4 KiB per group.
//
// BM_TickUpdate: the engine's own work per tick (select, diff, add, rotate) on a prebuilt
//   metric view; values move every tick, so every group takes events.
// BM_TickWithRead: the same plus building the view from the metric store, as the agent's tick
//   does, over 1,000 scraped pods whose last results are shared, not copied (ScrapeManager's
//   ShareSome). BM_TickWithCopiedRead: the same read from a source that copies its families
//   out with the target labels appended (the OTLP store, or the scraper before ShareSome).
// All three report bytes_per_group: heap the engine holds (malloc's own count, before and after).
// BM_StateSave / BM_StateRestore: the state file (slo.state.directory) at this scale: a save
//   (encode under the engine's lock, write, fdatasync, rename) and a restore (read, check,
//   decode into a new engine); file_bytes is the file's size. Target: a save's CPU under one
//   tick's budget (2 ms) per tick of save_interval (1m at a 10s tick: 6 ticks, 12 ms).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <filesystem>
#include <memory>
#include <string>

#include "agent/common/malloc_tuning.h"
#include "agent/slo/slo_engine.h"
#include "agent/slo/spec_parser.h"

namespace lookout {
namespace {

constexpr int kSlos = 10;
constexpr int kGroupsPerSlo = 1000;

std::string Specs() {
  std::string y = "slos:\n";
  for (int i = 0; i < kSlos; ++i) {
    const std::string m = "app" + std::to_string(i) + "_requests_total";
    y += "  - name: slo" + std::to_string(i) + "\n    objective: 99.9\n    sli:\n      ratio:\n";
    y += "        bad: '" + m + "{code=\"500\"}'\n        total: '" + m + "'\n";
    y += "        group_by: [pod]\n";
  }
  return y;
}

std::vector<MetricFamily> Families(double base) {
  std::vector<MetricFamily> out;
  for (int i = 0; i < kSlos; ++i) {
    MetricFamily f;
    f.name = "app" + std::to_string(i) + "_requests_total";
    f.type = MetricType::kCounter;
    for (int g = 0; g < kGroupsPerSlo; ++g) {
      for (const char* code : {"200", "500"}) {
        Sample s;
        s.labels = {{"namespace", "shop"},
                    {"pod", "cart-7d9f8b6c4-" + std::to_string(g)},
                    {"container", "cart"},
                    {"code", code}};
        s.value = base + (code[0] == '2' ? 1000 : 1) * (g + 1);
        f.samples.push_back(std::move(s));
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

// One scraped pod's families (all ten SLOs' counters, codes 200 and 500) and its target labels.
SharedFamilies Target(int g, double base) {
  auto families = std::make_shared<std::vector<MetricFamily>>();
  for (int i = 0; i < kSlos; ++i) {
    MetricFamily f;
    f.name = "app" + std::to_string(i) + "_requests_total";
    f.type = MetricType::kCounter;
    for (const char* code : {"200", "500"}) {
      Sample s;
      s.labels = {{"container", "cart"}, {"code", code}};
      s.value = base + (code[0] == '2' ? 1000 : 1) * (g + 1);
      f.samples.push_back(std::move(s));
    }
    families->push_back(std::move(f));
  }
  auto labels = std::make_shared<const Labels>(
      Labels{{"namespace", "shop"}, {"pod", "cart-7d9f8b6c4-" + std::to_string(g)}});
  return {std::move(families), std::move(labels)};
}

// Hands out 1,000 pods' scrapes as the scraper does: `shared`, each target's families shared
// with their target labels apart (ShareSome; the scrape manager keeps them expanded between
// scrapes); otherwise copies with the target labels appended, as a source without snapshots
// does (the default ShareSome over Collect). `Step` moves the values.
class Source final : public Collectable {
 public:
  explicit Source(bool shared) : shared_(shared) {
    for (int g = 0; g < kGroupsPerSlo; ++g) {
      targets_[0].push_back(Target(g, 0));
      targets_[1].push_back(Target(g, 1e6));
    }
  }
  void Collect(std::vector<MetricFamily>& out) override {
    for (const auto& t : targets_[flip_]) {
      for (const auto& f : *t.families) {
        out.push_back(f);
        for (Sample& s : out.back().samples) {
          s.labels.insert(s.labels.end(), t.target_labels->begin(), t.target_labels->end());
        }
      }
    }
  }
  void ShareSome(const std::function<bool(std::string_view)>& wanted,
                 std::vector<SharedFamilies>& out) override {
    if (!shared_) return Collectable::ShareSome(wanted, out);
    out.insert(out.end(), targets_[flip_].begin(), targets_[flip_].end());
  }
  void Step() { flip_ ^= 1; }

 private:
  const bool shared_;
  std::vector<SharedFamilies> targets_[2];
  int flip_ = 0;
};

class StepClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(mono_.time_since_epoch());
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_; }
  void Advance() { mono_ += std::chrono::seconds(10); }

 private:
  std::chrono::steady_clock::time_point mono_{std::chrono::hours(1000)};
};

struct Setup {
  StepClock clock;
  std::shared_ptr<Source> source;
  std::shared_ptr<MetricViewSource> store = std::make_shared<MetricViewSource>();
  std::unique_ptr<slo::SloEngine> engine;
  double bytes_per_group = 0;

  explicit Setup(const std::string& state_dir = "", bool shared = true)
      : source(std::make_shared<Source>(shared)) {
    store->Add(source);
    const auto specs = slo::ParseSloSpecs(Specs(), "bench.yaml");
    const size_t before = mallinfo2().uordblks;
    engine =
        std::make_unique<slo::SloEngine>(Options(state_dir), specs, PaymentsSpec{}, store, clock);
    engine->Tick();  // creates every group and series
    // Heap after the tick, less the view the tick built and freed: what the engine keeps.
    bytes_per_group = static_cast<double>(mallinfo2().uordblks - before) / (kSlos * kGroupsPerSlo);
  }
  static slo::EngineOptions Options(const std::string& state_dir) {
    slo::EngineOptions o;
    o.state.directory = state_dir;
    return o;
  }
};

// A scratch state directory under the build tree's working directory (a real disk, as a
// hostPath is; /tmp may be tmpfs, which would hide the fdatasync).
std::string StateDir(const char* name) {
  std::string dir = std::filesystem::current_path().string() + "/slo-state-bench-" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

void BM_StateSave(benchmark::State& state) {
  const std::string dir = StateDir("save");
  Setup s(dir);
  s.clock.Advance();
  s.source->Step();
  s.engine->Tick();
  for (auto _ : state) s.engine->SaveState();
  state.counters["file_bytes"] =
      static_cast<double>(std::filesystem::file_size(dir + "/slo-state"));
  state.counters["groups"] = kSlos * kGroupsPerSlo;
  s.engine.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StateSave)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_StateRestore(benchmark::State& state) {
  const std::string dir = StateDir("restore");
  std::unique_ptr<Setup> s = std::make_unique<Setup>(dir);
  s->clock.Advance();
  s->source->Step();
  s->engine->Tick();
  s->engine.reset();  // Stop() saves
  const auto specs = slo::ParseSloSpecs(Specs(), "bench.yaml");
  for (auto _ : state) {
    slo::SloEngine restored(Setup::Options(dir), specs, PaymentsSpec{}, s->store, s->clock);
    state.PauseTiming();  // not the save at destruction
    std::filesystem::remove(dir + "/slo-state.tmp");
    restored.Stop();
    state.ResumeTiming();
  }
  state.counters["groups"] = kSlos * kGroupsPerSlo;
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StateRestore)->Unit(benchmark::kMillisecond);

void Report(benchmark::State& state, const Setup& s) {
  state.counters["groups"] = kSlos * kGroupsPerSlo;
  state.counters["bytes_per_group"] = s.bytes_per_group;
}

void BM_TickUpdate(benchmark::State& state) {
  Setup s;
  const MetricView views[2] = {MetricView(Families(0)), MetricView(Families(1e6))};
  int i = 0;
  for (auto _ : state) {
    s.clock.Advance();
    s.engine->Tick(views[++i & 1]);  // values jump up, then reset: events every tick
  }
  Report(state, s);
}
BENCHMARK(BM_TickUpdate)->Unit(benchmark::kMillisecond);

void TickWithRead(benchmark::State& state, bool shared) {
  Setup s("", shared);
  for (auto _ : state) {
    s.clock.Advance();
    s.source->Step();
    s.engine->Tick();
  }
  Report(state, s);
}
void BM_TickWithRead(benchmark::State& state) { TickWithRead(state, true); }
BENCHMARK(BM_TickWithRead)->Unit(benchmark::kMillisecond);
void BM_TickWithCopiedRead(benchmark::State& state) { TickWithRead(state, false); }
BENCHMARK(BM_TickWithCopiedRead)->Unit(benchmark::kMillisecond);

// Exposing it all: 10,000 groups x (8 windows x 4 + 5) series.
void BM_Collect(benchmark::State& state) {
  Setup s;
  s.clock.Advance();
  s.source->Step();
  s.engine->Tick();
  size_t series = 0;
  for (auto _ : state) {
    std::vector<MetricFamily> out;
    s.engine->Collect(out);
    series = 0;
    for (const auto& f : out) series += f.samples.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["series"] = static_cast<double>(series);
}
BENCHMARK(BM_Collect)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lookout

int main(int argc, char** argv) {
  lookout::TuneAllocator();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
