// stat: boot time, context switches, forks, running/blocked processes and interrupts from
// /proc/stat, with node_exporter's names.
#include "agent/collectors/node/stat.h"

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<ProcStat> ParseProcStat(std::string_view text) {
  ProcStat s;
  int seen = 0;  // bit per required field
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return;
    const std::string_view key = line.substr(0, sp);
    std::string_view rest = line.substr(sp + 1);
    // For intr only the first number (the total) is wanted; the per-IRQ list can be very long.
    const size_t sp2 = rest.find(' ');
    const std::string_view first = TrimSpace(rest.substr(0, sp2));
    struct Field {
      std::string_view key;
      double* dst;
      int bit;
    };
    const Field fields[] = {{"btime", &s.boot_time, 1},
                            {"ctxt", &s.context_switches, 2},
                            {"processes", &s.forks, 4},
                            {"procs_running", &s.procs_running, 8},
                            {"procs_blocked", &s.procs_blocked, 16},
                            {"intr", &s.interrupts, 32}};
    for (const auto& fd : fields) {
      if (key != fd.key) continue;
      auto v = ParseU64(first);
      if (!v) {
        bad = true;
        return;
      }
      *fd.dst = static_cast<double>(*v);
      seen |= fd.bit;
    }
  });
  if (bad) return MakeError("parse", "malformed value in /proc/stat");
  if ((seen & (1 | 2 | 4)) != (1 | 2 | 4)) {
    return MakeError("parse", "/proc/stat lacks btime, ctxt or processes (truncated?)");
  }
  return s;
}

namespace {

class StatCollector final : public Collector {
 public:
  explicit StatCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "stat"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    auto s = ParseProcStat(*text);
    if (!s.ok()) return s.error();
    AddSample(AddFamily(out, "node_boot_time_seconds", "Node boot time, in unixtime.",
                        MetricType::kGauge),
              s->boot_time);
    AddSample(AddFamily(out, "node_context_switches_total", "Total number of context switches.",
                        MetricType::kCounter),
              s->context_switches);
    AddSample(AddFamily(out, "node_forks_total", "Total number of forks.", MetricType::kCounter),
              s->forks);
    AddSample(AddFamily(out, "node_intr_total", "Total number of interrupts serviced.",
                        MetricType::kCounter),
              s->interrupts);
    AddSample(
        AddFamily(out, "node_procs_blocked",
                  "Number of processes blocked waiting for I/O to complete.", MetricType::kGauge),
        s->procs_blocked);
    AddSample(AddFamily(out, "node_procs_running", "Number of processes in runnable state.",
                        MetricType::kGauge),
              s->procs_running);
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("stat")};
};

}  // namespace

std::unique_ptr<Collector> NewStatCollector(const NodeOptions& cfg) {
  return std::make_unique<StatCollector>(cfg);
}

}  // namespace lookout
