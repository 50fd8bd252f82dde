// schedstat: node_schedstat_{running,waiting}_seconds_total and node_schedstat_timeslices_total
// per CPU from /proc/schedstat (node_exporter 1.5). A kernel without CONFIG_SCHEDSTATS has no
// such file: no series (node_exporter: ErrNoData, a failed scrape; lookout: success, README).
#include "agent/collectors/node/schedstat.h"

#include <re2/re2.h>

#include <memory>
#include <unordered_set>
#include <utility>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/pattern.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::vector<SchedstatCpu> ParseSchedstat(std::string_view text) {
  // procfs's own regular expression, so lines that are not what the kernel writes are judged as
  // node_exporter judges them.
  static const RE2 kCpuLine(R"(cpu(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+))",
                            GoRegexOptions());
  std::vector<SchedstatCpu> out;
  std::unordered_set<std::string> seen;
  // A line over 64 KiB ends the scan quietly (procfs ignores the scanner's error).
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    if (line.find("cpu") == std::string_view::npos) continue;  // domainN, version, timestamp
    std::string cpu;
    re2::StringPiece running, waiting, slices;
    if (!RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), kCpuLine, &cpu, nullptr,
                           nullptr, nullptr, nullptr, nullptr, nullptr, &running, &waiting,
                           &slices)) {
      continue;
    }
    const auto r = ParseU64(std::string_view(running.data(), running.size()));
    const auto w = ParseU64(std::string_view(waiting.data(), waiting.size()));
    const auto s = ParseU64(std::string_view(slices.data(), slices.size()));
    if (!r || !w || !s) continue;
    // A repeated cpuN (never from a kernel) keeps its first line, as node_exporter's registry
    // keeps the first of two equal series.
    if (!seen.insert(cpu).second) continue;
    out.push_back({std::move(cpu), *r, *w, *s});
  }
  return out;
}

namespace {

class SchedstatCollector final : public Collector {
 public:
  explicit SchedstatCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), file_(cfg.paths.Proc("schedstat")) {}
  std::string_view Name() const override { return "schedstat"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) {
      if (IsMissing(text.error(), file_.path())) return Ok{};
      return text.error();
    }
    MetricFamily running{"node_schedstat_running_seconds_total",
                         "Number of seconds CPU spent running a process.",
                         MetricType::kCounter,
                         {},
                         {}};
    MetricFamily waiting{"node_schedstat_waiting_seconds_total",
                         "Number of seconds spent by processing waiting for this CPU.",
                         MetricType::kCounter,
                         {},
                         {}};
    MetricFamily slices{"node_schedstat_timeslices_total",
                        "Number of timeslices executed by CPU.",
                        MetricType::kCounter,
                        {},
                        {}};
    const std::vector<SchedstatCpu> cpus = ParseSchedstat(*text);
    if (cpus.empty()) return Ok{};
    for (const SchedstatCpu& c : cpus) {
      AddSample(running, static_cast<double>(c.running_nanoseconds) / 1e9, {{"cpu", c.cpu}});
      AddSample(waiting, static_cast<double>(c.waiting_nanoseconds) / 1e9, {{"cpu", c.cpu}});
      AddSample(slices, static_cast<double>(c.timeslices), {{"cpu", c.cpu}});
    }
    out.push_back(std::move(running));
    out.push_back(std::move(waiting));
    out.push_back(std::move(slices));
    return Ok{};
  }

 private:
  size_t max_;
  CachedFile file_;
};

}  // namespace

std::unique_ptr<Collector> NewSchedstatCollector(const NodeOptions& cfg) {
  return std::make_unique<SchedstatCollector>(cfg);
}

}  // namespace lookout
