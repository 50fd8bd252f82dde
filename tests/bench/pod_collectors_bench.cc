// Scrape cost of the pod collectors at Kubernetes' default pod limit: 110 pods x 3 containers
// (plus sandboxes) on a cgroup v2 / systemd / containerd tree written by
// tests/fixtures/pods/generate.py --bench. Reports CPU per collect, CPU per whole scrape
// (collect + sort/merge + text encoding, as the /metrics handler does it) and bytes per scrape.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string_view>

#include "agent/collectors/collector_set.h"
#include "agent/collectors/pod/cgroup_layout.h"
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

// The generated tree's shape: every file on every cgroup, or a kernel without PSI and swap
// accounting (RHEL 8 and 9 boot with PSI off), where 4 of the 15 files do not exist.
enum Shape : int64_t { kAllFiles = 0, kNoPsiNoSwap = 1 };

const char* const kFiles[] = {"cpu.stat",
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

// The files the collector keeps as text while watched (cgroup_stats.h): read once, then on a
// write only.
bool IsLimitFile(std::string_view f) {
  for (std::string_view limit :
       {"cpu.max", "cpu.weight", "memory.max", "pids.max", "cpu.cfs_quota_us", "cpu.cfs_period_us",
        "cpu.shares", "memory.limit_in_bytes"}) {
    if (f == limit) return true;
  }
  return false;
}

struct BenchTree {
  std::string dir;
  std::shared_ptr<PodIndex> index;
  PodsOptions pods;
  NodeOptions node;
  std::vector<std::string> floor_paths;           // the files the collector reads that exist
  std::vector<std::string> floor_without_limits;  // the same but the limit files
  size_t cgroups = 0;
  bool ok = false;

  explicit BenchTree(Shape shape) {
    dir = (std::filesystem::temp_directory_path() / ("lookout-pod-bench-" + std::to_string(shape)))
              .string();
    const std::string cmd = "/usr/bin/python3 " LOOKOUT_SOURCE_DIR
                            "/tests/fixtures/pods/generate.py --bench " +
                            dir + " " + std::to_string(kPods) + " " + std::to_string(kContainers) +
                            (shape == kNoPsiNoSwap ? " --no-psi-no-swap" : "");
    if (std::system(cmd.c_str()) != 0) return;
    auto text = ReadFileLimited(dir + "/pods.json", 64 << 20);
    if (!text.ok()) return;
    auto list = ParsePodList(*text);
    if (!list.ok()) return;
    auto snapshot = std::make_shared<const PodSnapshot>(std::move(*list));
    index = std::make_shared<StaticPodIndex>(snapshot);
    pods = DefaultConfig().pods;
    pods.cgroupfs = dir + "/cgroup";
    node = DefaultConfig().node;
    // The cgroups the containers collector reads, found as it finds them: pods the index knows
    // and their named containers, not the sandboxes.
    auto layout = DetectCgroupLayout(pods.cgroupfs);
    if (!layout.ok()) return;
    const auto add = [&](const std::string& rel) {
      ++cgroups;
      for (const char* f : kFiles) {
        const std::string path = pods.cgroupfs + rel + "/" + f;
        if (!std::filesystem::exists(path)) continue;
        floor_paths.push_back(path);
        if (!IsLimitFile(f)) floor_without_limits.push_back(path);
      }
    };
    for (const PodCgroup& pod_cg : ListPodCgroups(*layout, FindKubepodsCgroups(*layout, {}))) {
      const Pod* pod = snapshot->FindByUid(pod_cg.uid);
      if (pod == nullptr) continue;
      add(pod_cg.rel);
      for (const ContainerCgroup& c : pod_cg.containers) {
        if (snapshot->FindContainer(c.id).pod == pod) add(c.rel);
      }
    }
    ok = true;
  }
  ~BenchTree() { std::filesystem::remove_all(dir); }
};

BenchTree& Tree(int64_t shape) {
  static BenchTree all(kAllFiles);
  static BenchTree lean(kNoPsiNoSwap);
  return shape == kNoPsiNoSwap ? lean : all;
}

// The same pods as real cgroups: the generated tree's directories made (mkdir) in this host's
// cgroup v1 hierarchies (cpu, cpuacct, memory, blkio, pids), so the kernel generates every file
// as on a node (kernfs opens cost about twice a regular file's here). Needs root and
// LOOKOUT_BENCH_REAL_CGROUPS=1, as it writes to the host's cgroupfs: everything is made under
// /lookout-bench.slice and removed at exit. Values are the kernel's (idle cgroups, mostly 0).
struct RealCgroupTree {
  static constexpr const char* kRoot = "/sys/fs/cgroup";
  static constexpr const char* kTop = "/lookout-bench.slice";
  std::vector<std::string> made;  // in creation order
  PodsOptions pods;
  NodeOptions node;
  std::shared_ptr<PodIndex> index;
  std::vector<std::string> floor_paths;
  std::vector<std::string> floor_without_limits;
  size_t cgroups = 0;
  std::string skip;  // why it cannot run, else empty

  RealCgroupTree() {
    const char* opt_in = std::getenv("LOOKOUT_BENCH_REAL_CGROUPS");
    if (opt_in == nullptr || std::string_view(opt_in) != "1") {
      skip = "set LOOKOUT_BENCH_REAL_CGROUPS=1 (as root) to make real cgroups";
      return;
    }
    // One directory per hierarchy: cpu and cpuacct are often one (`cpu,cpuacct`, symlinked).
    std::vector<std::string> hierarchies;
    for (const char* c : {"cpu", "cpuacct", "memory", "blkio", "pids"}) {
      std::error_code ec;
      const auto real = std::filesystem::canonical(std::string(kRoot) + "/" + c, ec).string();
      if (ec || !std::filesystem::exists(real + "/cgroup.procs")) {
        skip = std::string("no cgroup v1 ") + c + " hierarchy at " + kRoot;
        return;
      }
      if (std::find(hierarchies.begin(), hierarchies.end(), real) == hierarchies.end()) {
        hierarchies.push_back(real);
      }
    }
    for (const auto& h : hierarchies) RemoveTree(h + kTop);  // left by a run that crashed
    BenchTree& generated = Tree(kAllFiles);
    if (!generated.ok) {
      skip = "could not generate the bench tree";
      return;
    }
    const std::string from = generated.pods.cgroupfs + "/kubepods.slice";
    std::vector<std::string> rels = {""};
    for (const auto& e : std::filesystem::recursive_directory_iterator(from)) {
      if (e.is_directory()) rels.push_back(e.path().string().substr(from.size()));
    }
    for (const auto& rel : rels) {
      for (const auto& h : hierarchies) {
        const std::string dir = h + kTop + rel;
        if (::mkdir(dir.c_str(), 0755) != 0) {
          skip = "mkdir " + dir + ": " + std::strerror(errno);
          return;
        }
        made.push_back(dir);
      }
    }
    pods = generated.pods;
    pods.cgroupfs = kRoot;
    pods.kubepods_cgroups = {kTop};
    node = generated.node;
    index = generated.index;
    // What the collector reads on v1 (cgroup_stats.cc ReadV1), per controller; blkio: the
    // deciding file of each of runc's groups, as none lists a device on idle cgroups.
    static const std::pair<const char*, std::vector<const char*>> kRead[] = {
        {"cpuacct", {"cpuacct.usage", "cpuacct.stat"}},
        {"cpu",
         {"cpu.stat", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares", "cgroup.procs"}},
        {"memory",
         {"memory.usage_in_bytes", "memory.limit_in_bytes", "memory.stat",
          "memory.memsw.usage_in_bytes", "memory.oom_control"}},
        {"blkio",
         {"blkio.bfq.io_serviced_recursive", "blkio.sectors_recursive",
          "blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced"}},
        {"pids", {"pids.current", "pids.max"}},
    };
    auto layout = DetectCgroupLayout(kRoot);
    if (!layout.ok()) {
      skip = layout.error().detail;
      return;
    }
    const auto snapshot = index->Snapshot();
    const auto add = [&](const std::string& rel) {
      ++cgroups;
      for (const auto& [controller, files] : kRead) {
        for (const char* f : files) {
          const std::string path = std::string(kRoot) + "/" + controller + rel + "/" + f;
          if (!std::filesystem::exists(path)) continue;
          floor_paths.push_back(path);
          if (!IsLimitFile(f)) floor_without_limits.push_back(path);
        }
      }
    };
    for (const PodCgroup& pod_cg : ListPodCgroups(*layout, {kTop})) {
      const Pod* pod = snapshot->FindByUid(pod_cg.uid);
      if (pod == nullptr) continue;
      add(pod_cg.rel);
      for (const ContainerCgroup& c : pod_cg.containers) {
        if (snapshot->FindContainer(c.id).pod == pod) add(c.rel);
      }
    }
  }
  ~RealCgroupTree() {
    for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
  }
  // rmdir of every directory below `top`, children first (cgroups without tasks only).
  static void RemoveTree(const std::string& top) {
    std::error_code ec;
    if (!std::filesystem::is_directory(top, ec)) return;
    std::vector<std::string> dirs = {top};
    for (const auto& e : std::filesystem::recursive_directory_iterator(top, ec)) {
      if (e.is_directory()) dirs.push_back(e.path().string());
    }
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
  }
};

RealCgroupTree& RealTree() {
  static RealCgroupTree t;
  return t;
}

double CpuSeconds() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Issue 18's floor: open, read and close every file the containers collector reads that exists,
// by path, with no parsing and no output.
void ReadFloorFiles(const std::vector<std::string>& paths) {
  char buf[8192];
  for (const auto& p : paths) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    benchmark::DoNotOptimize(::read(fd, buf, sizeof buf));
    ::close(fd);
  }
}

size_t SeriesIn(const std::vector<MetricFamily>& out) {
  size_t series = 0;
  for (const auto& f : out) series += f.samples.size();
  return series;
}

void BM_ContainersCollect(benchmark::State& state) {
  auto& t = Tree(state.range(0));
  if (!t.ok) return state.SkipWithError("could not generate the bench tree");
  auto c = NewContainersCollector(t.pods, t.node, t.index);
  std::vector<MetricFamily> out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(c->Collect(out));
  }
  state.counters["series"] = static_cast<double>(SeriesIn(out));
}
BENCHMARK(BM_ContainersCollect)->Arg(kAllFiles)->Arg(kNoPsiNoSwap)->Unit(benchmark::kMillisecond);

// What a Prometheus scrape of the pod part costs: collectors, gather, text encoding.
void BM_PodScrape(benchmark::State& state) {
  auto& t = Tree(state.range(0));
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
BENCHMARK(BM_PodScrape)->Arg(kAllFiles)->Arg(kNoPsiNoSwap)->Unit(benchmark::kMillisecond);

void BM_ReadSameFilesOnly(benchmark::State& state) {
  auto& t = Tree(state.range(0));
  if (!t.ok) return state.SkipWithError("could not generate the bench tree");
  for (auto _ : state) ReadFloorFiles(t.floor_paths);
  state.counters["cgroups"] = static_cast<double>(t.cgroups);
  state.counters["files"] = static_cast<double>(t.floor_paths.size());
}
BENCHMARK(BM_ReadSameFilesOnly)->Arg(kAllFiles)->Arg(kNoPsiNoSwap)->Unit(benchmark::kMillisecond);

// Issue 18's target in one benchmark: each iteration runs a collect and the floor one after the
// other, so both see the same machine; `ratio` is the collector's CPU over the floor's (target:
// at most 1.3). The first collect (descriptors opened, absent files found, limits read) is
// reported apart as `first_ms`: the steady state is what every later scrape costs.
void CollectAgainstFloor(benchmark::State& state, Collector& c,
                         const std::vector<std::string>& floor_paths,
                         const std::vector<std::string>& floor_without_limits) {
  std::vector<MetricFamily> out;
  const double first_start = CpuSeconds();
  benchmark::DoNotOptimize(c.Collect(out));
  const double first = CpuSeconds() - first_start;
  double collect = 0, floor = 0, lean = 0;
  for (auto _ : state) {
    out.clear();
    const double t0 = CpuSeconds();
    benchmark::DoNotOptimize(c.Collect(out));
    const double t1 = CpuSeconds();
    ReadFloorFiles(floor_paths);
    const double t2 = CpuSeconds();
    ReadFloorFiles(floor_without_limits);
    const double t3 = CpuSeconds();
    collect += t1 - t0;
    floor += t2 - t1;
    lean += t3 - t2;
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["collect_ms"] = collect / n * 1e3;
  state.counters["floor_ms"] = floor / n * 1e3;
  state.counters["ratio"] = floor > 0 ? collect / floor : 0;
  // Against the files it reads on every scrape once the limits are kept: what reading less does
  // not explain.
  state.counters["ratio_no_limits"] = lean > 0 ? collect / lean : 0;
  state.counters["first_ms"] = first * 1e3;
  state.counters["files"] = static_cast<double>(floor_paths.size());
  state.counters["series"] = static_cast<double>(SeriesIn(out));
}

void BM_CollectAgainstFloor(benchmark::State& state) {
  auto& t = Tree(state.range(0));
  if (!t.ok) return state.SkipWithError("could not generate the bench tree");
  CollectAgainstFloor(state, *NewContainersCollector(t.pods, t.node, t.index), t.floor_paths,
                      t.floor_without_limits);
}
BENCHMARK(BM_CollectAgainstFloor)->Arg(kAllFiles)->Arg(kNoPsiNoSwap)->Unit(benchmark::kMillisecond);

// The same on real cgroups (RealCgroupTree): the kernel's files, the kernel's costs.
void BM_CollectAgainstFloorOnCgroupfs(benchmark::State& state) {
  auto& t = RealTree();
  if (!t.skip.empty()) return state.SkipWithError(t.skip.c_str());
  CollectAgainstFloor(state, *NewContainersCollector(t.pods, t.node, t.index), t.floor_paths,
                      t.floor_without_limits);
}
BENCHMARK(BM_CollectAgainstFloorOnCgroupfs)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lookout

int main(int argc, char** argv) {
  lookout::TuneAllocator();  // as agent/main.cc does
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
