// filefd: node_filefd_allocated and node_filefd_maximum from /proc/sys/fs/file-nr.
#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

class FilefdCollector final : public Collector {
 public:
  explicit FilefdCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "filefd"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    std::vector<std::string_view> f;
    SplitFields(TrimSpace(*text), f);
    if (f.size() != 3) return MakeError("parse", "file-nr must have 3 fields");
    auto allocated = ParseU64(f[0]);
    auto maximum = ParseU64(f[2]);
    if (!allocated || !maximum) return MakeError("parse", "bad number in file-nr");
    AddSample(AddFamily(out, "node_filefd_allocated", "File descriptor statistics: allocated.",
                        MetricType::kGauge),
              static_cast<double>(*allocated));
    AddSample(AddFamily(out, "node_filefd_maximum", "File descriptor statistics: maximum.",
                        MetricType::kGauge),
              static_cast<double>(*maximum));
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("sys/fs/file-nr")};
};

}  // namespace

std::unique_ptr<Collector> NewFilefdCollector(const NodeOptions& cfg) {
  return std::make_unique<FilefdCollector>(cfg);
}

}  // namespace lookout
