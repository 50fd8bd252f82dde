// cpu: node_cpu_seconds_total{cpu,mode} and node_cpu_guest_seconds_total{cpu,mode} from
// /proc/stat, and thermal throttle counters from sysfs where the CPU driver exposes them.
#include "agent/collectors/node/cpu.h"

#include <dirent.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<std::vector<CpuTimes>> ParseProcStatCpus(std::string_view text, double user_hz) {
  std::vector<CpuTimes> out;
  std::vector<std::string_view> f;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (bad || !line.starts_with("cpu") || line.size() < 4 || line[3] < '0' || line[3] > '9') {
      return;  // "cpu " is the aggregate; node_exporter reports per CPU only
    }
    SplitFields(line, f);
    if (f.size() < 5) {
      bad = true;
      return;
    }
    CpuTimes t;
    t.cpu = std::string(f[0].substr(3));
    double* fields[] = {&t.user, &t.nice,    &t.system, &t.idle,  &t.iowait,
                        &t.irq,  &t.softirq, &t.steal,  &t.guest, &t.guest_nice};
    for (size_t i = 1; i < f.size() && i <= 10; ++i) {
      auto v = ParseU64(f[i]);
      if (!v) {
        bad = true;
        return;
      }
      *fields[i - 1] = static_cast<double>(*v) / user_hz;
    }
    out.push_back(std::move(t));
  });
  if (bad) return MakeError("parse", "malformed cpu line in /proc/stat");
  if (out.empty()) return MakeError("parse", "no per-CPU lines in /proc/stat");
  return out;
}

namespace {

class CpuCollector final : public Collector {
 public:
  explicit CpuCollector(const NodeOptions& cfg)
      : paths_(cfg.paths), max_bytes_(cfg.max_file_bytes), stat_(cfg.paths.Proc("stat")) {
    const long hz = sysconf(_SC_CLK_TCK);
    user_hz_ = hz > 0 ? static_cast<double>(hz) : 100.0;
  }
  std::string_view Name() const override { return "cpu"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = stat_.Read(max_bytes_);
    if (!text.ok()) return text.error();
    auto cpus = ParseProcStatCpus(*text, user_hz_);
    if (!cpus.ok()) return cpus.error();

    // Build both families before taking references: a second push_back into `out` may
    // reallocate it and leave a reference taken earlier dangling.
    MetricFamily secs{"node_cpu_seconds_total",
                      "Seconds the CPUs spent in each mode.",
                      MetricType::kCounter,
                      "",
                      {}};
    MetricFamily guest{"node_cpu_guest_seconds_total",
                       "Seconds the CPUs spent in guests (VMs) for each mode.",
                       MetricType::kCounter,
                       "",
                       {}};
    secs.samples.reserve(cpus->size() * 8);
    for (const auto& c : *cpus) {
      const std::pair<const char*, double> modes[] = {
          {"idle", c.idle},       {"iowait", c.iowait}, {"irq", c.irq},       {"nice", c.nice},
          {"softirq", c.softirq}, {"steal", c.steal},   {"system", c.system}, {"user", c.user}};
      for (const auto& [mode, v] : modes) AddSample(secs, v, {{"cpu", c.cpu}, {"mode", mode}});
      AddSample(guest, c.guest_nice, {{"cpu", c.cpu}, {"mode", "nice"}});
      AddSample(guest, c.guest, {{"cpu", c.cpu}, {"mode", "user"}});
    }
    out.push_back(std::move(secs));
    out.push_back(std::move(guest));
    CollectThrottles(*cpus, out);
    return Ok{};
  }

 private:
  // node_cpu_core_throttles_total{core,package} / node_cpu_package_throttles_total{package},
  // as node_exporter reports them: one series per physical core and per package.
  void CollectThrottles(const std::vector<CpuTimes>& cpus, std::vector<MetricFamily>& out) {
    std::map<std::pair<std::string, std::string>, double> cores;
    std::map<std::string, double> packages;
    for (const auto& c : cpus) {
      const std::string base = paths_.Sys("devices/system/cpu/cpu" + c.cpu);
      auto core_count = ReadFileLimited(base + "/thermal_throttle/core_throttle_count", 64);
      if (!core_count.ok()) continue;  // no thermal_throttle directory on this machine
      auto pkg = ReadFileLimited(base + "/topology/physical_package_id", 64);
      auto core = ReadFileLimited(base + "/topology/core_id", 64);
      if (!pkg.ok() || !core.ok()) continue;
      const std::string p(TrimSpace(*pkg)), k(TrimSpace(*core));
      if (auto v = ParseU64(TrimSpace(*core_count))) cores[{p, k}] = static_cast<double>(*v);
      if (!packages.count(p)) {
        auto pc = ReadFileLimited(base + "/thermal_throttle/package_throttle_count", 64);
        if (pc.ok()) {
          if (auto v = ParseU64(TrimSpace(*pc))) packages[p] = static_cast<double>(*v);
        }
      }
    }
    if (!cores.empty()) {
      auto& f =
          AddFamily(out, "node_cpu_core_throttles_total",
                    "Number of times this CPU core has been throttled.", MetricType::kCounter);
      for (const auto& [key, v] : cores) {
        AddSample(f, v, {{"core", key.second}, {"package", key.first}});
      }
    }
    if (!packages.empty()) {
      auto& f =
          AddFamily(out, "node_cpu_package_throttles_total",
                    "Number of times this CPU package has been throttled.", MetricType::kCounter);
      for (const auto& [p, v] : packages) AddSample(f, v, {{"package", p}});
    }
  }

  HostPaths paths_;
  size_t max_bytes_;
  double user_hz_;
  CachedFile stat_;
};

}  // namespace

std::unique_ptr<Collector> NewCpuCollector(const NodeOptions& cfg) {
  return std::make_unique<CpuCollector>(cfg);
}

}  // namespace lookout
