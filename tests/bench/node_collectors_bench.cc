// CPU cost per call of each node collector on this host's real /proc and /sys, of all of them
// through the CollectorSet, and of encoding the result (text and OpenMetrics). The scripted
// comparison with node_exporter is scrape_bench.py; this one says where the time goes.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "agent/collectors/collector_set.h"
#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/config/config.h"
#include "exporters/prometheus/metrics_renderer.h"
#include "exporters/prometheus/openmetrics_encoder.h"
#include "exporters/prometheus/text_encoder.h"

namespace lookout {
namespace {

void BM_Collector(benchmark::State& state, const std::string& name) {
  NodeOptions cfg = DefaultConfig().node;
  for (auto& [k, v] : cfg.enabled) v = (k == name);
  auto collectors = MakeNodeCollectors(cfg);
  if (collectors.size() != 1) {
    state.SkipWithError("collector not found");
    return;
  }
  std::vector<MetricFamily> out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(collectors[0]->Collect(out));
  }
}

void BM_AllCollectors(benchmark::State& state) {
  CollectorSet set(MakeNodeCollectors(DefaultConfig().node));
  std::vector<MetricFamily> out;
  for (auto _ : state) {
    out.clear();
    set.Collect(out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AllCollectors);

// The floor: just reading the files the collectors read (no parsing), opened each time...
constexpr const char* kScrapeFiles[] = {
    "/proc/stat",         "/proc/meminfo",         "/proc/loadavg",
    "/proc/diskstats",    "/proc/1/mounts",        "/proc/net/dev",
    "/proc/stat",         "/proc/vmstat",          "/proc/pressure/cpu",
    "/proc/pressure/io",  "/proc/pressure/memory", "/proc/sys/fs/file-nr",
    "/proc/net/sockstat", "/proc/net/sockstat6",   "/proc/net/netstat",
    "/proc/net/snmp",     "/proc/net/snmp6",       "/etc/os-release"};

void BM_ReadProcFilesOnly(benchmark::State& state) {
  for (auto _ : state) {
    for (const char* f : kScrapeFiles) benchmark::DoNotOptimize(ReadFileLimited(f, 1 << 22));
  }
}
BENCHMARK(BM_ReadProcFilesOnly);

// ... and kept open (what the collectors do now): the kernel's cost of generating them.
void BM_ReadProcFilesCached(benchmark::State& state) {
  std::vector<std::unique_ptr<CachedFile>> files;
  for (const char* f : kScrapeFiles) files.push_back(std::make_unique<CachedFile>(f));
  for (auto _ : state) {
    for (auto& f : files) benchmark::DoNotOptimize(f->Read(1 << 22));
  }
}
BENCHMARK(BM_ReadProcFilesCached);

// The floor of a scrape as scrape_bench.py measures it: open(2), read(2) to the end and
// close(2) of every file listed in $LOOKOUT_BENCH_FILES (one path per line: the regular files
// node_exporter opened during one scrape, taken with strace), into a stack buffer: no parsing,
// no allocation. Skipped when the variable is not set.
void BM_ReadListedFiles(benchmark::State& state) {
  const char* list = std::getenv("LOOKOUT_BENCH_FILES");
  if (list == nullptr) {
    state.SkipWithError("LOOKOUT_BENCH_FILES is not set");
    return;
  }
  auto text = ReadFileLimited(list, size_t{1} << 24);
  if (!text.ok()) {
    state.SkipWithError("cannot read LOOKOUT_BENCH_FILES");
    return;
  }
  std::vector<std::string> paths;
  ForEachLine(*text, [&](std::string_view l) {
    if (!l.empty()) paths.emplace_back(l);
  });
  char buf[16384];
  size_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& p : paths) {
      const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) bytes += static_cast<size_t>(n);
      ::close(fd);
    }
  }
  benchmark::DoNotOptimize(bytes);
  state.counters["files"] = static_cast<double>(paths.size());
}
BENCHMARK(BM_ReadListedFiles);

// The families of one real scrape (collectors on this host + self metrics), gathered once.
std::vector<MetricFamily> GatherOnce() {
  auto set = std::make_shared<CollectorSet>(MakeNodeCollectors(DefaultConfig().node));
  prometheus::MetricsRenderer handler;
  handler.Add(set);
  return handler.Gather();
}

void BM_RenderText(benchmark::State& state) {
  const auto families = GatherOnce();
  for (auto _ : state) {
    std::string out;
    out.reserve(size_t{64} * 1024);
    prometheus::EncodeText(families, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RenderText);

void BM_RenderOpenMetrics(benchmark::State& state) {
  const auto families = GatherOnce();
  for (auto _ : state) {
    std::string out;
    out.reserve(size_t{64} * 1024);
    prometheus::EncodeOpenMetrics(families, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RenderOpenMetrics);

// Whole scrape as the HTTP handler does it: gather, sort/merge, encode (no gzip).
void BM_FullScrape(benchmark::State& state) {
  auto set = std::make_shared<CollectorSet>(MakeNodeCollectors(DefaultConfig().node));
  prometheus::MetricsRenderer handler;
  handler.Add(set);
  for (auto _ : state) benchmark::DoNotOptimize(handler.Render("", "").body.size());
}
BENCHMARK(BM_FullScrape);

int Register() {
  for (const auto& info : NodeCollectorRegistry()) {
    const std::string name(info.name);
    benchmark::RegisterBenchmark(("BM_Collector/" + name).c_str(),
                                 [name](benchmark::State& s) { BM_Collector(s, name); });
  }
  return 0;
}
const int kRegistered = Register();

}  // namespace
}  // namespace lookout

BENCHMARK_MAIN();
