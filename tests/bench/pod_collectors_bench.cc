// Scrape cost of the pod collectors at Kubernetes' default pod limit: 110 pods x 3 containers
// (plus sandboxes) on a cgroup v2 / systemd / containerd tree written by
// tests/fixtures/pods/generate.py --bench. Reports CPU per collect, CPU per whole scrape
// (collect + sort/merge + text encoding, as the /metrics handler does it) and bytes per scrape.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "agent/collectors/collector_set.h"
#include "agent/collectors/pod/pod_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/malloc_tuning.h"
#include "agent/config/config.h"
#include "agent/k8s/pod_list.h"
#include "exporters/prometheus/metrics_renderer.h"

namespace lookout {
namespace {

constexpr int kPods = 110;
constexpr int kContainers = 3;

class StaticPodIndex final : public PodIndex {
 public:
  explicit StaticPodIndex(std::shared_ptr<const PodSnapshot> s) : snap_(std::move(s)) {}
  std::shared_ptr<const PodSnapshot> Snapshot() const override { return snap_; }
  void RequestRefresh() override {}

 private:
  std::shared_ptr<const PodSnapshot> snap_;
};

struct BenchTree {
  std::string dir;
  std::shared_ptr<PodIndex> index;
  PodsOptions pods;
  NodeOptions node;
  bool ok = false;

  BenchTree() {
    dir = (std::filesystem::temp_directory_path() / "lookout-pod-bench").string();
    const std::string cmd = "/usr/bin/python3 " LOOKOUT_SOURCE_DIR
                            "/tests/fixtures/pods/generate.py --bench " +
                            dir + " " + std::to_string(kPods) + " " + std::to_string(kContainers);
    if (std::system(cmd.c_str()) != 0) return;
    auto text = ReadFileLimited(dir + "/pods.json", 64 << 20);
    if (!text.ok()) return;
    auto list = ParsePodList(*text);
    if (!list.ok()) return;
    index = std::make_shared<StaticPodIndex>(std::make_shared<const PodSnapshot>(std::move(*list)));
    pods = DefaultConfig().pods;
    pods.cgroupfs = dir + "/cgroup";
    node = DefaultConfig().node;
    ok = true;
  }
  ~BenchTree() { std::filesystem::remove_all(dir); }
};

BenchTree& Tree() {
  static BenchTree t;
  return t;
}

void BM_ContainersCollect(benchmark::State& state) {
  auto& t = Tree();
  if (!t.ok) return state.SkipWithError("could not generate the bench tree");
  auto c = NewContainersCollector(t.pods, t.node, t.index);
  std::vector<MetricFamily> out;
  size_t series = 0;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(c->Collect(out));
    series = 0;
    for (const auto& f : out) series += f.samples.size();
  }
  state.counters["series"] = static_cast<double>(series);
}
BENCHMARK(BM_ContainersCollect)->Unit(benchmark::kMillisecond);

// What a Prometheus scrape of the pod part costs: collectors, gather, text encoding.
void BM_PodScrape(benchmark::State& state) {
  auto& t = Tree();
  if (!t.ok) return state.SkipWithError("could not generate the bench tree");
  std::vector<std::unique_ptr<Collector>> cs;
  cs.push_back(NewPodInfoCollector(t.index));
  cs.push_back(NewContainersCollector(t.pods, t.node, t.index));
  auto set = std::make_shared<CollectorSet>(std::move(cs));
  prometheus::MetricsRenderer handler;
  handler.Add(set);
  size_t bytes = 0, gz = 0;
  for (auto _ : state) {
    bytes = handler.Render("", "").body.size();
    benchmark::DoNotOptimize(bytes);
  }
  gz = handler.Render("", "gzip").body.size();
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["gzip_bytes"] = static_cast<double>(gz);
}
BENCHMARK(BM_PodScrape)->Unit(benchmark::kMillisecond);

// The kernel's share: open, read and close every file the containers collector reads that
// exists, with no parsing and no output (issue 18's floor).
void BM_ReadSameFilesOnly(benchmark::State& state) {
  auto& t = Tree();
  if (!t.ok) return state.SkipWithError("could not generate the bench tree");
  static const char* const kFiles[] = {"cpu.stat",
                                       "cpu.max",
                                       "cpu.weight",
                                       "memory.current",
                                       "memory.max",
                                       "memory.stat",
                                       "memory.swap.current",
                                       "memory.events",
                                       "io.stat",
                                       "pids.current",
                                       "pids.max",
                                       "cgroup.procs",
                                       "cpu.pressure",
                                       "memory.pressure",
                                       "io.pressure"};
  // Only the files that exist: the floor is what reading them costs, not looking for others.
  std::vector<std::string> paths;
  size_t cgroups = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(t.pods.cgroupfs)) {
    if (!e.is_directory() || e.path().string().find("kubepods") == std::string::npos ||
        !std::filesystem::exists(e.path() / "cpu.stat")) {
      continue;
    }
    ++cgroups;
    for (const char* f : kFiles) {
      if (std::filesystem::exists(e.path() / f)) paths.push_back((e.path() / f).string());
    }
  }
  char buf[8192];
  for (auto _ : state) {
    for (const auto& p : paths) {
      const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      benchmark::DoNotOptimize(::read(fd, buf, sizeof buf));
      ::close(fd);
    }
  }
  state.counters["cgroups"] = static_cast<double>(cgroups);
  state.counters["files"] = static_cast<double>(paths.size());
}
BENCHMARK(BM_ReadSameFilesOnly)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lookout

int main(int argc, char** argv) {
  lookout::TuneAllocator();  // as agent/main.cc does
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
