// vmstat: node_vmstat_<field> for the /proc/vmstat fields matching the configured pattern
// (node_exporter's default subset: oom_kill, pgpg*, pswp*, pg*fault).
#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

class VmstatCollector final : public Collector {
 public:
  explicit VmstatCollector(const NodeOptions& cfg)
      : paths_(cfg.paths), max_(cfg.max_file_bytes), fields_(cfg.vmstat_fields) {}
  std::string_view Name() const override { return "vmstat"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    std::vector<std::string_view> f;
    bool bad = false;
    ForEachLine(*text, [&](std::string_view line) {
      if (bad || TrimSpace(line).empty()) return;
      SplitFields(line, f);
      if (f.size() != 2) {
        bad = true;
        return;
      }
      if (!fields_.Matches(f[0])) return;
      auto v = ParseI64(f[1]);
      std::string name = "node_vmstat_" + std::string(f[0]);
      if (!v || !IsValidMetricName(name)) {
        bad = true;
        return;
      }
      AddSample(AddFamily(out, std::move(name),
                          "/proc/vmstat information field " + std::string(f[0]) + ".",
                          MetricType::kUntyped),
                static_cast<double>(*v));
    });
    if (bad) return MakeError("parse", "malformed line in /proc/vmstat");
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("vmstat")};
  Pattern fields_;
};

}  // namespace

std::unique_ptr<Collector> NewVmstatCollector(const NodeOptions& cfg) {
  return std::make_unique<VmstatCollector>(cfg);
}

std::vector<Option<NodeOptions>> VmstatOptionRows() {
  return {option::Regex<NodeOptions>("fields", &NodeOptions::vmstat_fields,
                                     "^(oom_kill|pgpg|pswp|pg.*fault).*",
                                     "/proc/vmstat fields to report (node_exporter's default)")};
}

}  // namespace lookout
