// CPU cost per call of each node collector on this host's real /proc and /sys, of all of them
// through the CollectorSet, and of encoding the result (text and OpenMetrics). The scripted
// comparison with node_exporter is scrape_bench.py; this one says where the time goes.
#include <benchmark/benchmark.h>

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
