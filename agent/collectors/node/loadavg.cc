// loadavg: node_load1, node_load5, node_load15 from /proc/loadavg.
#include "agent/collectors/node/loadavg.h"

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<std::array<double, 3>> ParseLoadavg(std::string_view text) {
  std::vector<std::string_view> f;
  SplitFields(TrimSpace(text.substr(0, text.find('\n'))), f);
  if (f.size() < 3) return MakeError("parse", "/proc/loadavg has fewer than 3 fields");
  std::array<double, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    auto v = ParseDouble(f[i]);
    if (!v) return MakeError("parse", "bad load average in /proc/loadavg");
    out[i] = *v;
  }
  return out;
}

namespace {

class LoadavgCollector final : public Collector {
 public:
  explicit LoadavgCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "loadavg"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    auto l = ParseLoadavg(*text);
    if (!l.ok()) return l.error();
    AddSample(AddFamily(out, "node_load1", "1m load average.", MetricType::kGauge), (*l)[0]);
    AddSample(AddFamily(out, "node_load5", "5m load average.", MetricType::kGauge), (*l)[1]);
    AddSample(AddFamily(out, "node_load15", "15m load average.", MetricType::kGauge), (*l)[2]);
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("loadavg")};
};

}  // namespace

std::unique_ptr<Collector> NewLoadavgCollector(const NodeOptions& cfg) {
  return std::make_unique<LoadavgCollector>(cfg);
}

}  // namespace lookout
