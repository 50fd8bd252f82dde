// pressure: node_pressure_{cpu,io,memory}_{waiting,stalled}_seconds_total from PSI files.
// A kernel without PSI (no /proc/pressure) is not a failure: the collector reports success
// with no series (node_exporter reports success 0 there, which pages people for nothing).
#include "agent/collectors/node/pressure.h"

#include <unistd.h>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<PressureTotals> ParsePressure(std::string_view text) {
  PressureTotals t;
  std::vector<std::string_view> f;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (bad || TrimSpace(line).empty()) return;
    SplitFields(line, f);
    if (f.empty() || (f[0] != "some" && f[0] != "full")) {
      bad = true;
      return;
    }
    std::optional<double> total;
    for (size_t i = 1; i < f.size(); ++i) {
      if (f[i].starts_with("total=")) {
        if (auto v = ParseU64(f[i].substr(6))) total = static_cast<double>(*v);
      }
    }
    if (!total) {
      bad = true;
      return;
    }
    (f[0] == "some" ? t.some_us : t.full_us) = total;
  });
  if (bad || !t.some_us) return MakeError("parse", "malformed pressure file");
  return t;
}

namespace {

class PressureCollector final : public Collector {
 public:
  explicit PressureCollector(const NodeOptions& cfg)
      : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "pressure"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    if (::access(paths_.Proc("pressure").c_str(), F_OK) != 0) return Ok{};  // no PSI here
    struct Resource {
      const char* name;
      const char* waiting_help;
      const char* stalled_help;  // nullptr: "full" is not reported (cpu, as node_exporter 1.5)
    };
    const Resource kResources[] = {
        {"cpu", "Total time in seconds that processes have waited for CPU time", nullptr},
        {"io", "Total time in seconds that processes have waited due to IO congestion",
         "Total time in seconds no process could make progress due to IO congestion"},
        {"memory", "Total time in seconds that processes have waited for memory",
         "Total time in seconds no process could make progress due to memory congestion"},
    };
    for (const auto& r : kResources) {
      auto text = files_[&r - kResources].Read(max_);
      if (!text.ok()) {
        if (text.error().reason == "open") continue;  // e.g. PSI disabled for one resource
        return text.error();
      }
      auto t = ParsePressure(*text);
      if (!t.ok()) return t.error();
      const std::string base = std::string("node_pressure_") + r.name;
      AddSample(
          AddFamily(out, base + "_waiting_seconds_total", r.waiting_help, MetricType::kCounter),
          *t->some_us / 1e6);
      if (r.stalled_help != nullptr && t->full_us) {
        AddSample(
            AddFamily(out, base + "_stalled_seconds_total", r.stalled_help, MetricType::kCounter),
            *t->full_us / 1e6);
      }
    }
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile files_[3] = {CachedFile(paths_.Proc("pressure/cpu")),
                          CachedFile(paths_.Proc("pressure/io")),
                          CachedFile(paths_.Proc("pressure/memory"))};  // kResources order
};

}  // namespace

std::unique_ptr<Collector> NewPressureCollector(const NodeOptions& cfg) {
  return std::make_unique<PressureCollector>(cfg);
}

}  // namespace lookout
