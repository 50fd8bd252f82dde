// cpufreq: node_cpu_frequency_{,min_,max_}hertz and node_cpu_scaling_frequency_{,min_,max_}hertz
// per CPU from /sys/devices/system/cpu/cpu[0-9]*/cpufreq (node_exporter 1.5; kHz in the files,
// Hz in the series). A CPU without a cpufreq directory (offline, or no driver) has no series;
// a host where none has one has no series and no failure (node_exporter fails then).
//
// The files are kept open between scrapes (KeptFiles: one stat of each CPU's cpufreq directory,
// then a pread per file; six per CPU, 1,536 descriptors and about 6.7 MiB of kernel memory on a
// 256-CPU host, within the kept-file limit; beyond it they are opened per read). The
// values are read every scrape, none cached: intel_pstate changes cpuinfo_max_freq when turbo is
// switched off, so not even the limits are constant while the agent runs.
//
// Only the six files exposed are read. procfs also reads six node_exporter 1.5 does not expose
// (cpuinfo_transition_latency, scaling_driver, scaling_governor, scaling_available_governors,
// related_cpus, scaling_setspeed) and fails the whole collector when one is missing or not a
// number; reading them cost 40% of this collector's files, to reproduce a failure (README).
#include "agent/collectors/node/cpufreq.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/go_path.h"
#include "agent/common/kept_files.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<CpufreqValues> ParseCpufreqValues(const CpufreqContents& contents) {
  CpufreqValues v;
  for (size_t i = 0; i < contents.size(); ++i) {
    if (!contents[i]) continue;
    const auto n = ParseU64(TrimGoSpace(*contents[i]));
    if (!n) {
      return MakeError("parse", std::string(kCpufreqFiles[i]) + ": not an unsigned decimal number");
    }
    v[i] = *n;
  }
  return v;
}

namespace {

class CpufreqCollector final : public Collector {
 public:
  explicit CpufreqCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), dir_(cfg.paths.Sys("devices/system/cpu")) {}
  std::string_view Name() const override { return "cpufreq"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();  // first: a run that ends early still closes what it left
    // filepath.Glob, as procfs: sorted, and an unreadable directory gives no match.
    const std::vector<std::string> cpus = GoGlob(dir_ + "/cpu[0-9]*").value_or(kNone);
    if (cpus.empty() && ::access(dir_.c_str(), R_OK) != 0 && errno != ENOENT) {
      return MakeError("open", dir_ + ": " + std::strerror(errno));  // there, but not readable
    }

    struct Row {
      const char* name;
      const char* help;
      size_t file;
    };
    static constexpr Row kRows[] = {
        {"node_cpu_frequency_hertz", "Current cpu thread frequency in hertz.", kCpuinfoCurFreq},
        {"node_cpu_scaling_frequency_hertz", "Current scaled CPU thread frequency in hertz.",
         kScalingCurFreq},
        {"node_cpu_frequency_min_hertz", "Minimum cpu thread frequency in hertz.", kCpuinfoMinFreq},
        {"node_cpu_frequency_max_hertz", "Maximum cpu thread frequency in hertz.", kCpuinfoMaxFreq},
        {"node_cpu_scaling_frequency_min_hertz", "Minimum scaled CPU thread frequency in hertz.",
         kScalingMinFreq},
        {"node_cpu_scaling_frequency_max_hertz", "Maximum scaled CPU thread frequency in hertz.",
         kScalingMaxFreq},
    };
    std::vector<MetricFamily> fams;
    for (const Row& r : kRows) fams.push_back({r.name, r.help, MetricType::kGauge, {}, {}});

    for (const std::string& cpu_dir : cpus) {
      const std::string freq_dir = cpu_dir + "/cpufreq";
      if (const int err = kept_.StatDir(freq_dir); err != 0) {
        if (err == ENOENT) continue;  // offline, or no cpufreq driver
        return MakeError("open", freq_dir + ": " + std::strerror(err));
      }
      auto contents = ReadCpu(freq_dir);
      if (!contents.ok()) return contents.error();
      auto values = ParseCpufreqValues(*contents);
      if (!values.ok()) return MakeError("parse", freq_dir + ": " + values.error().detail);
      const std::string label = cpu_dir.substr(cpu_dir.rfind('/') + 1 + 3);  // cpuN -> N
      for (size_t r = 0; r < std::size(kRows); ++r) {
        const auto& v = (*values)[kRows[r].file];
        if (v) AddSample(fams[r], static_cast<double>(*v) * 1000.0, {{"cpu", label}});
      }
    }
    for (auto& f : fams) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    return Ok{};
  }

 private:
  // The six exposed files; one that is absent or not readable by this user has no value.
  Result<CpufreqContents> ReadCpu(const std::string& freq_dir) const {
    CpufreqContents contents;
    std::string path = freq_dir + "/";
    const size_t base = path.size();
    for (size_t i = 0; i < kCpufreqFiles.size(); ++i) {
      if (i == kCpuinfoTransitionLatency) continue;  // not exposed
      path.resize(base);
      path += kCpufreqFiles[i];
      SysfsValue v = kept_.ReadSysfsWhole(path, max_);
      if (v.err == 0) {
        contents[i] = std::move(v.text);
      } else if (!AbsentOrForbidden(v.err)) {
        return SysfsError(path, v);
      }
    }
    return contents;
  }

  inline static const std::vector<std::string> kNone;
  mutable KeptFiles kept_;  // read within Collect's Scrape
  size_t max_;
  std::string dir_;
};

}  // namespace

std::unique_ptr<Collector> NewCpufreqCollector(const NodeOptions& cfg) {
  return std::make_unique<CpufreqCollector>(cfg);
}

}  // namespace lookout
