// meminfo: node_memory_<Field>_bytes (and unitless node_memory_<Field>) from /proc/meminfo.
#include "agent/collectors/node/meminfo.h"

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<std::vector<MeminfoField>> ParseMeminfo(std::string_view text) {
  std::vector<MeminfoField> out;
  std::vector<std::string_view> f;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (bad || TrimSpace(line).empty()) return;
    SplitFields(line, f);
    if (f.size() < 2 || !f[0].ends_with(':')) {
      bad = true;
      return;
    }
    auto v = ParseU64(f[1]);
    if (!v) {
      bad = true;
      return;
    }
    MeminfoField m;
    std::string_view key = f[0].substr(0, f[0].size() - 1);
    m.name.reserve(key.size());
    for (char c : key) {
      if (c == '(') {
        m.name += '_';
      } else if (c != ')') {
        m.name += c;
      }
    }
    m.has_unit = f.size() >= 3 && f[2] == "kB";
    m.value = static_cast<double>(*v) * (m.has_unit ? 1024.0 : 1.0);
    out.push_back(std::move(m));
  });
  if (bad) return MakeError("parse", "malformed line in /proc/meminfo");
  if (out.empty()) return MakeError("parse", "/proc/meminfo is empty");
  return out;
}

namespace {

class MeminfoCollector final : public Collector {
 public:
  explicit MeminfoCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "meminfo"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    auto fields = ParseMeminfo(*text);
    if (!fields.ok()) return fields.error();
    for (const auto& m : *fields) {
      std::string name = "node_memory_" + m.name + (m.has_unit ? "_bytes" : "");
      if (!IsValidMetricName(name)) continue;  // a future kernel field we cannot name
      std::string help = "Memory information field " + m.name + (m.has_unit ? "_bytes." : ".");
      AddSample(AddFamily(out, std::move(name), std::move(help), MetricType::kGauge), m.value);
    }
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("meminfo")};
};

}  // namespace

std::unique_ptr<Collector> NewMeminfoCollector(const NodeOptions& cfg) {
  return std::make_unique<MeminfoCollector>(cfg);
}

}  // namespace lookout
